//! The import on the embedded store. A full import empties and refills the register in one
//! write transaction: WAL readers — the running service's pooled connections — keep reading
//! the last committed register until the COMMIT and see the whole new one after it, never a
//! mix; nothing is swapped on disk, so no connection can be left on a stale file. Its
//! secondary indexes are dropped for the load and rebuilt before the commit (as `seed-demo`
//! does; building once is ~40% faster). A delta is one write transaction too. Either way the
//! queue statistics are rebuilt in the same transaction, after the rows are in.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::format::{self, Link, CLASSIFIERS, ENTITIES, ENTITY_COUNT};
use super::load::{Lookup, Sink, Value};
use super::sql;
use super::{ImportRecord, RegisterState};
use crate::database::sqlite::open_writer;
use crate::store::sqlite::error;
use crate::store::{StoreError, PERSON_TABLES, REGISTER_TABLES};

/// Writes rows through prepared statements on the import's connection, each entity's insert
/// and update prepared once and kept (no SQL text hashed or copied per row).
pub(crate) struct SqliteSink<'c> {
    conn: &'c Connection,
    inserts: Vec<Option<rusqlite::Statement<'c>>>,
    updates: Vec<Option<rusqlite::Statement<'c>>>,
}

impl<'c> SqliteSink<'c> {
    fn new(conn: &'c Connection) -> Self {
        conn.set_prepared_statement_cache_capacity(64);
        let none = || (0..ENTITIES.len()).map(|_| None).collect();
        SqliteSink { conn, inserts: none(), updates: none() }
    }

    fn run(&self, statement: &str, values: &[Value<'_>], what: &'static str) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(statement).map_err(error(what))?;
        execute(&mut stmt, values, what)
    }
}

/// Binds `values` in order and runs `stmt` once.
fn execute(stmt: &mut rusqlite::Statement<'_>, values: &[Value<'_>], what: &'static str) -> Result<(), StoreError> {
    for (i, value) in values.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, value).map_err(error(what))?;
    }
    stmt.raw_execute().map_err(error(what))?;
    Ok(())
}

/// The statement kept in `slot`, prepared from `sql()` the first time.
fn kept<'s, 'c>(conn: &'c Connection, slot: &'s mut Option<rusqlite::Statement<'c>>, sql: impl FnOnce() -> String, what: &'static str) -> Result<&'s mut rusqlite::Statement<'c>, StoreError> {
    if slot.is_none() {
        *slot = Some(conn.prepare(&sql()).map_err(error(what))?);
    }
    slot.as_mut().ok_or_else(|| StoreError::Unavailable(format!("{what}: no statement")))
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::from(rusqlite::types::Null),
            Value::Int(i) => ToSqlOutput::from(*i),
            Value::Text(text) => ToSqlOutput::from(*text),
        })
    }
}

impl Sink for SqliteSink<'_> {
    fn insert(&mut self, entity: usize, values: &[Value<'_>]) -> Result<(), StoreError> {
        let what = "import: insert";
        let stmt = kept(self.conn, &mut self.inserts[entity], || sql::insert(entity, |n| format!("?{n}")), what)?;
        execute(stmt, values, what)
    }

    fn update(&mut self, entity: usize, values: &[Value<'_>]) -> Result<(), StoreError> {
        let what = "import: update";
        let stmt = kept(self.conn, &mut self.updates[entity], || sql::update(entity, |n| format!("?{n}")), what)?;
        execute(stmt, values, what)
    }

    fn find(&mut self, lookup: Lookup, key: &str) -> Result<Option<i64>, StoreError> {
        let statement = match lookup {
            Lookup::Person => sql::FIND_PERSON,
            Lookup::Application => sql::FIND_APPLICATION,
        };
        self.conn
            .prepare_cached(statement)
            .and_then(|mut stmt| stmt.query_row([key], |row| row.get(0)).optional())
            .map_err(error("import: look up a key"))
    }

    fn clear_person(&mut self, person_id: i64, with_person: bool) -> Result<(), StoreError> {
        let representatives = self.ids(sql::PERSON_REPRESENTATIVES, person_id)?;
        for statement in sql::CLEAR_PERSON {
            self.run(statement, &[Value::Int(person_id)], "import: replace a person")?;
        }
        for id in representatives {
            self.run(sql::DELETE_REPRESENTATIVE, &[Value::Int(id)], "import: replace a person")?;
        }
        if with_person {
            self.run(sql::DELETE_PERSON, &[Value::Int(person_id)], "import: delete a person")?;
        }
        Ok(())
    }

    fn delete_application(&mut self, application_id: i64) -> Result<(), StoreError> {
        let representatives = self.ids(sql::APPLICATION_REPRESENTATIVE, application_id)?;
        for statement in sql::DELETE_APPLICATION {
            self.run(statement, &[Value::Int(application_id)], "import: delete an application")?;
        }
        for id in representatives {
            self.run(sql::DELETE_REPRESENTATIVE, &[Value::Int(id)], "import: delete an application")?;
        }
        Ok(())
    }

    fn delete_row(&mut self, entity: usize, id: i64) -> Result<(), StoreError> {
        self.run(&format!("DELETE FROM {} WHERE id = ?1", ENTITIES[entity].table), &[Value::Int(id)], "import: delete by id")
    }
}

impl SqliteSink<'_> {
    fn ids(&self, statement: &str, id: i64) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(statement).map_err(error("import: look up"))?;
        let ids = stmt.query_map([id], |row| row.get(0)).and_then(Iterator::collect).map_err(error("import: look up"))?;
        Ok(ids)
    }
}

/// What a delta needs to know of the register: classifier ids by code, the largest row ids.
fn register_keys(conn: &Connection) -> Result<super::load::RegisterKeys, StoreError> {
    let mut codes: [HashMap<String, i64>; CLASSIFIERS] = Default::default();
    for (index, entity) in ENTITIES.iter().enumerate() {
        if let Link::Classifier(classifier) = entity.link {
            let mut stmt = conn.prepare(&format!("SELECT code, id FROM {}", entity.table)).map_err(error("import: read the classifiers"))?;
            let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).map_err(error("import: read the classifiers"))?;
            for row in rows {
                let (code, id) = row.map_err(error("import: read the classifiers"))?;
                codes[classifier as usize].insert(code, id);
            }
            debug_assert_eq!(index, format::classifier_entity(classifier));
        }
    }
    let mut max_ids = [0i64; ENTITY_COUNT];
    for (index, table) in REGISTER_TABLES.iter().enumerate() {
        max_ids[index] = conn
            .query_row(&format!("SELECT coalesce(max(id), 0) FROM {table}"), [], |row| row.get(0))
            .map_err(error("import: read the largest ids"))?;
    }
    Ok((codes, max_ids))
}

/// The classifier codes the register holds (for validating a delta). Creates the store.
pub(crate) fn classifier_codes(path: &Path) -> Result<[HashMap<String, i64>; CLASSIFIERS], StoreError> {
    let conn = open_writer(path)?;
    Ok(register_keys(&conn)?.0)
}

/// The register's state: as-of time, last import, counts.
pub(crate) fn state(path: &Path) -> Result<RegisterState, StoreError> {
    let conn = open_writer(path)?;
    let last = conn
        .query_row(&sql::last_import(false), [], |row| {
            Ok(ImportRecord {
                batch_id: row.get(0)?,
                kind: row.get(1)?,
                as_of: row.get(2)?,
                file_digest: row.get(3)?,
                files: row.get(4)?,
                counts: super::Counts {
                    persons: row.get::<_, i64>(5)? as u64,
                    applications: row.get::<_, i64>(6)? as u64,
                    queue_events: row.get::<_, i64>(7)? as u64,
                    queue_entries: row.get::<_, i64>(8)? as u64,
                    deletions: row.get::<_, i64>(9)? as u64,
                },
                imported_at: row.get(10)?,
                duration_ms: row.get::<_, i64>(11)? as u64,
            })
        })
        .optional()
        .map_err(error("status: read the last import"))?;
    let mut counts = Vec::new();
    for table in REGISTER_TABLES {
        let count: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).map_err(error("status: count"))?;
        counts.push((table, count as u64));
    }
    Ok(RegisterState { last, counts })
}

/// Runs one import on the register at `path` (created if absent): `load` feeds every item
/// to the loader; the import's record is written and everything committed only when it
/// returns `Ok`. A full import empties the register first.
pub(crate) fn import(
    path: &Path,
    full: bool,
    load: &mut dyn FnMut(&mut super::load::Loader<SqliteSink<'_>>) -> Result<(), StoreError>,
    record: &mut dyn FnMut(&super::Counts) -> ImportRecord,
    provenance: &mut super::Provenance<'_>,
) -> Result<super::Counts, StoreError> {
    let mut conn = open_writer(path)?;
    let what = "import: settings";
    conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA temp_store = FILE;").map_err(error(what))?;
    // Off for the load: every reference was checked before, and DELETE without WHERE can
    // then empty a table at once instead of row by row.
    conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(error(what))?;
    let (codes, max_ids) = match full {
        true => (Default::default(), [0; ENTITY_COUNT]),
        false => register_keys(&conn)?,
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(error("import: begin"))?;
    let indexes = match full {
        true => {
            for table in REGISTER_TABLES.iter().rev() {
                tx.execute_batch(&format!("DELETE FROM {table}")).map_err(error("import: empty the register"))?;
            }
            drop_indexes(&tx)?
        }
        false => Vec::new(),
    };
    let mut loader = super::load::Loader::new(SqliteSink::new(&tx), full, codes, max_ids);
    load(&mut loader)?;
    let counts = loader.counts;
    drop(loader);
    for sql in &indexes {
        tx.execute_batch(sql).map_err(error("import: rebuild the indexes"))?;
    }
    crate::statistics::sqlite::rebuild(&tx)?;
    register_changed(&tx, &record(&counts), provenance)?;
    tx.commit().map_err(error("import: commit"))?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA analysis_limit = 1000; ANALYZE;").map_err(error("import: analyze"))?;
    Ok(counts)
}

/// The one place an import's change of the register is finalised, inside its transaction,
/// just before the commit: the import's `register_imports` row (whose `as_of` is the
/// register's as-of time), then its provenance (the audit record). Whatever must change with
/// the register in the same transaction (derived tables) belongs here.
fn register_changed(tx: &rusqlite::Transaction<'_>, entry: &ImportRecord, provenance: &mut super::Provenance<'_>) -> Result<(), StoreError> {
    let counts = &entry.counts;
    tx.execute(
        sql::RECORD_IMPORT_SQLITE,
        rusqlite::params![
            entry.batch_id,
            entry.kind,
            entry.as_of,
            entry.file_digest,
            entry.files,
            counts.persons as i64,
            counts.applications as i64,
            counts.queue_events as i64,
            counts.queue_entries as i64,
            counts.deletions as i64,
            entry.imported_at,
            entry.duration_ms as i64,
        ],
    )
    .map_err(error("import: record the import"))?;
    provenance(entry)
}

/// Drops the secondary indexes of the person tables and returns the SQL that recreates them.
fn drop_indexes(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let what = error("import: drop the indexes for the load");
    let mut stmt = conn
        .prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY rowid")
        .map_err(&what)?;
    let indexes: Vec<(String, String, String)> =
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?))).and_then(Iterator::collect).map_err(&what)?;
    let mut recreate = Vec::new();
    for (name, table, sql) in indexes {
        if PERSON_TABLES.contains(&table.as_str()) {
            conn.execute_batch(&format!("DROP INDEX \"{name}\"")).map_err(&what)?;
            recreate.push(sql);
        }
    }
    Ok(recreate)
}

/// Streams the register, entity by entity in person order, for the export.
pub(crate) fn export(path: &Path, write: &mut dyn FnMut(&mut dyn super::export::Source) -> Result<(), StoreError>) -> Result<(), StoreError> {
    let conn = open_writer(path)?;
    conn.execute_batch("BEGIN").map_err(error("export: begin"))?;
    let mut statements = Vec::new();
    for entity in 0..ENTITIES.len() {
        statements.push(conn.prepare(&sql::export(entity, false)).map_err(error("export: prepare"))?);
    }
    let mut cursors = Vec::new();
    for statement in statements.iter_mut() {
        cursors.push(statement.query([]).map_err(error("export: read"))?);
    }
    let mut source = SqliteSource { cursors };
    let result = write(&mut source);
    drop(source);
    drop(statements);
    let _ = conn.execute_batch("COMMIT");
    result
}

struct SqliteSource<'s> {
    cursors: Vec<rusqlite::Rows<'s>>,
}

impl super::export::Source for SqliteSource<'_> {
    fn next(&mut self, entity: usize) -> Result<Option<super::export::Row>, StoreError> {
        let Some(row) = self.cursors[entity].next().map_err(error("export: read"))? else { return Ok(None) };
        let count = row.as_ref().column_count();
        let mut values = Vec::with_capacity(count);
        for i in 0..count {
            values.push(row.get::<_, Option<String>>(i).map_err(error("export: read"))?);
        }
        super::export::Row::from_columns(values)
    }
}
