//! The database layer under the register store and the audit log: connections, TLS, pools,
//! schema migrations and the bridge from synchronous callers to the async drivers, for both
//! backends. What the store and the audit ask of the database (their queries) lives with
//! them; this layer knows no table but `schema_migrations`.
//!
//! - [`postgres`]: connection settings, TLS, pools and the migrations of the shared database.
//! - [`sqlite`]: opening the embedded register file (WAL, pragmas) and its migrations.
//! - [`runtime`]: a runtime of its own for start-up, the CLI and the audit commands.

pub mod postgres;
pub mod runtime;
pub(crate) mod sqlite;

/// Why the database could not be used. Never carries a password or personal data.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The database could not be opened, reached, configured or migrated.
    // The wording predates this layer: check-config, logs and the audit keep their messages.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// One schema migration: applied once, in a transaction, in the order of its list.
pub(crate) struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// The newest version of `migrations` (0 when empty).
fn latest_version(migrations: &[Migration]) -> i64 {
    migrations.last().map_or(0, |m| m.version)
}

/// Refuses a database migrated by a newer program (its `newest` applied version).
fn refuse_newer_schema(newest: Option<i64>, migrations: &[Migration], database: &str) -> Result<(), DatabaseError> {
    match newest {
        Some(version) if version > latest_version(migrations) => Err(DatabaseError::Unavailable(format!(
            "the {database} has schema version {version} but this program knows only up to {}",
            latest_version(migrations)
        ))),
        _ => Ok(()),
    }
}

pub(crate) const SQL_SCHEMA_VERSION: &str = "SELECT max(version) FROM schema_migrations";

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_listed_in_ascending_order_from_one() {
        for migrations in [super::postgres::MIGRATIONS, super::sqlite::MIGRATIONS] {
            assert!(migrations.windows(2).all(|w| w[0].version < w[1].version));
            assert_eq!(migrations[0].version, 1);
        }
    }
}
