//! The embedded register file: opening it for writing (created private to its owner, WAL,
//! pragmas, migrations from `migrations/sqlite/*.sql`) or for reading on the request path.
//! Errors name the step and SQLite's reason, never a value.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::{DatabaseError, Migration, SQL_SCHEMA_VERSION};

/// How long a connection waits for a lock held by another before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The register's schema, oldest first. Append new migrations at the end with the next version.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../../migrations/sqlite/0001_register.sql") },
    Migration { version: 2, sql: include_str!("../../migrations/sqlite/0002_refusal_decisions.sql") },
    Migration { version: 3, sql: include_str!("../../migrations/sqlite/0003_client_groups.sql") },
    Migration { version: 4, sql: include_str!("../../migrations/sqlite/0004_register_imports.sql") },
    Migration { version: 5, sql: include_str!("../../migrations/sqlite/0005_queue_statistics.sql") },
];

/// The schema version this program migrates the register file to.
pub(crate) fn latest_version() -> i64 {
    super::latest_version(MIGRATIONS)
}

/// Opens (creating if needed) the register for writing, applies pending migrations and
/// switches it to WAL. For the store's start, importers and the demo seeder; the request
/// path only reads.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, DatabaseError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    // Personal data: the owner's only (SQLite gives its -wal and -shm the main file's mode).
    crate::private_files::ensure_file(path)
        .and_then(|()| crate::private_files::tighten_database(path))
        .map_err(|e| DatabaseError::Unavailable(format!("cannot create {}: {e}", path.display())))?;
    let mut conn = Connection::open_with_flags(path, flags).map_err(error("open the register"))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(error("open the register"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(error("switch to WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(DatabaseError::Unavailable(format!("the register cannot use WAL (journal mode {mode})")));
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .map_err(error("configure the register"))?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// A connection for the request path: may read, may not write.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, DatabaseError> {
    // Not SQLITE_OPEN_CREATE: the file was created and migrated by `open_writer`.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(error("open a read connection"))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(error("open a read connection"))?;
    // Memory-mapped reads: pages come straight from the OS page cache instead of being
    // copied by pread into each connection's cache (measured in BENCHMARKS.md).
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 2147418112;")
        .map_err(error("configure a read connection"))?;
    Ok(conn)
}

/// Applies every migration not yet recorded in `schema_migrations`, each in its own
/// immediate transaction (so two processes opening a new file at once do not race).
fn migrate(conn: &mut Connection) -> Result<(), DatabaseError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(error("migrate"))?;
    let newest: Option<i64> = conn
        .query_row(SQL_SCHEMA_VERSION, [], |row| row.get(0))
        .map_err(error("migrate"))?;
    super::refuse_newer_schema(newest, MIGRATIONS, "register")?;
    for migration in MIGRATIONS {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(error("migrate"))?;
        let applied: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                [migration.version],
                |row| row.get(0),
            )
            .map_err(error("migrate"))?;
        if !applied {
            tx.execute_batch(migration.sql).map_err(|e| {
                DatabaseError::Unavailable(format!("migration {} failed: {}", migration.version, describe(&e)))
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                [migration.version],
            )
            .map_err(error("migrate"))?;
        }
        tx.commit().map_err(error("migrate"))?;
    }
    Ok(())
}

/// Maps a rusqlite error met while doing `what`: the database cannot be used.
fn error(what: &'static str) -> impl Fn(rusqlite::Error) -> DatabaseError {
    move |e| DatabaseError::Unavailable(format!("{what}: {}", describe(&e)))
}

/// SQLite's own reason for a failure; its messages name tables and columns, not values.
pub(crate) fn describe(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(code, Some(message)) => format!("{message} ({:?})", code.code),
        rusqlite::Error::SqliteFailure(code, None) => format!("{code}"),
        rusqlite::Error::QueryReturnedNoRows => "no row".to_owned(),
        _ => "unexpected database error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_twice_applies_each_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("register.sqlite3");
        drop(open_writer(&path).unwrap());
        drop(open_writer(&path).unwrap());
        let conn = open_reader(&path).unwrap();
        let count: i64 = conn.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0)).unwrap();
        assert_eq!(count, MIGRATIONS.len() as i64);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_register_from_a_newer_program_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("register.sqlite3");
        let conn = open_writer(&path).unwrap();
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'later')", []).unwrap();
        drop(conn);
        assert!(matches!(open_writer(&path), Err(DatabaseError::Unavailable(_))));
    }

    #[test]
    fn read_connections_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("register.sqlite3");
        drop(open_writer(&path).unwrap());
        assert!(open_reader(&path).unwrap().execute("DELETE FROM persons", []).is_err());
    }
}
