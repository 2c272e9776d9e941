//! The import on PostgreSQL, with several instances serving while it runs.
//!
//! A full import loads a second set of tables (`register_next_*`, same columns, indexes
//! and foreign keys) with `COPY`, while the instances go on reading the current ones; then
//! one short transaction drops the current tables and renames the new ones (and their
//! indexes) into their place. A reader's statement names tables, never their storage, so
//! it sees either the old register or the new one, never a mix; a query that arrives during
//! the switch waits for its locks (milliseconds), and prepared statements are re-planned
//! against the new tables by PostgreSQL itself. A delta is one ordinary transaction. Either
//! way the queue statistics are rebuilt inside it (`statistics::postgres`).
//!
//! The loader is synchronous; it reaches the async driver through a current-thread runtime
//! of its own, and must not be called from inside another runtime.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use tokio::runtime::Runtime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Transaction};

use super::format::{Kind, Link, CLASSIFIERS, ENTITIES, ENTITY_COUNT};
use super::load::{columns, Loader, Lookup, Sink, Value};
use super::{sql, Counts, ImportRecord, RegisterState};
use crate::database::postgres::{connect, migrate, PostgresOptions};
use crate::store::postgres::error;
use crate::store::{StoreError, REGISTER_TABLES};

/// The prefix of the tables a full import loads before the switch.
const NEXT: &str = "register_next_";

fn runtime() -> Result<Runtime, StoreError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Unavailable(format!("cannot start a runtime: {e}")))
}

fn open(rt: &Runtime, url: &str, options: &PostgresOptions) -> Result<Client, StoreError> {
    rt.block_on(async {
        let mut client = connect(url, options).await?;
        migrate(&mut client).await?;
        Ok(client)
    })
}

/// The PostgreSQL type a value of `kind` is cast to from text.
fn sql_type(kind: Option<Kind>) -> &'static str {
    match kind {
        None | Some(Kind::Id | Kind::EventCode | Kind::Code(_) | Kind::ApplicationRef) => "BIGINT",
        Some(Kind::Date) => "DATE",
        Some(Kind::Boolean) => "BOOLEAN",
        Some(Kind::Text | Kind::PersonCode) => "TEXT",
    }
}

/// The kind of each column of `entity` as [`columns`] lists them (`None`: an id or link).
fn column_kinds(entity: usize) -> Vec<Option<Kind>> {
    columns(entity).iter().map(|c| ENTITIES[entity].fields.iter().find(|f| f.column == *c).map(|f| f.kind)).collect()
}

/// Rows for a full import go to one temporary file per table in `COPY`'s text format, and
/// are copied table by table (parents first) when the load is complete; a delta's rows are
/// statements in its transaction.
pub(crate) struct PgSink<'a> {
    rt: &'a Runtime,
    tx: &'a Transaction<'a>,
    copies: Option<Vec<(PathBuf, BufWriter<File>)>>,
    kinds: Vec<Vec<Option<Kind>>>,
}

impl Drop for PgSink<'_> {
    fn drop(&mut self) {
        for (path, _) in self.copies.take().unwrap_or_default() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn io(error: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("import: a temporary file: {error}"))
}

impl PgSink<'_> {
    /// Runs `statement` (placeholders cast from text, see `placeholders`) with `values`.
    fn execute(&self, statement: &str, values: &[Value<'_>], what: &'static str) -> Result<(), StoreError> {
        let params: Vec<Option<String>> = values
            .iter()
            .map(|v| match v {
                Value::Null => None,
                Value::Int(i) => Some(i.to_string()),
                Value::Text(t) => Some((*t).to_owned()),
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.rt.block_on(self.tx.execute(statement, &refs)).map_err(error(what))?;
        Ok(())
    }

    fn placeholders(&self, entity: usize) -> impl Fn(usize) -> String + '_ {
        move |n| format!("CAST(CAST(${n} AS TEXT) AS {})", sql_type(self.kinds[entity][n - 1]))
    }

    /// Copies every temporary file into its `register_next_*` table.
    fn copy_all(&mut self) -> Result<(), StoreError> {
        use futures_util::SinkExt;
        let Some(copies) = self.copies.take() else { return Ok(()) };
        let mut paths = Vec::new();
        let result = (|| {
            for (entity, (path, writer)) in copies.into_iter().enumerate() {
                paths.push(path.clone());
                writer.into_inner().map_err(|e| io(e.into_error()))?.sync_all().map_err(io)?;
                let statement = format!("COPY {NEXT}{} ({}) FROM STDIN", ENTITIES[entity].table, columns(entity).join(", "));
                self.rt.block_on(async {
                    let sink = self.tx.copy_in(&statement).await.map_err(error("import: copy"))?;
                    futures_util::pin_mut!(sink);
                    let mut file = File::open(&path).map_err(io)?;
                    let mut buffer = vec![0u8; 1 << 20];
                    loop {
                        let n = file.read(&mut buffer).map_err(io)?;
                        if n == 0 {
                            break;
                        }
                        sink.send(bytes::Bytes::copy_from_slice(&buffer[..n])).await.map_err(error("import: copy"))?;
                    }
                    sink.finish().await.map_err(error("import: copy"))?;
                    Ok::<_, StoreError>(())
                })?;
            }
            Ok(())
        })();
        for path in paths {
            let _ = std::fs::remove_file(path);
        }
        result
    }
}

/// One value in `COPY`'s text format.
fn copy_value(out: &mut impl Write, value: &Value<'_>, kind: Option<Kind>) -> std::io::Result<()> {
    match (value, kind) {
        (Value::Null, _) => out.write_all(b"\\N"),
        (Value::Int(i), Some(Kind::Boolean)) => out.write_all(if *i != 0 { b"t" } else { b"f" }),
        (Value::Int(i), _) => write!(out, "{i}"),
        (Value::Text(text), _) => {
            for &byte in text.as_bytes() {
                match byte {
                    b'\\' => out.write_all(b"\\\\")?,
                    b'\t' => out.write_all(b"\\t")?,
                    b'\n' => out.write_all(b"\\n")?,
                    b'\r' => out.write_all(b"\\r")?,
                    other => out.write_all(&[other])?,
                }
            }
            Ok(())
        }
    }
}

impl Sink for PgSink<'_> {
    fn insert(&mut self, entity: usize, values: &[Value<'_>]) -> Result<(), StoreError> {
        if let Some(copies) = &mut self.copies {
            let out = &mut copies[entity].1;
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    out.write_all(b"\t").map_err(io)?;
                }
                copy_value(out, value, self.kinds[entity][i]).map_err(io)?;
            }
            return out.write_all(b"\n").map_err(io);
        }
        let statement = sql::insert(entity, self.placeholders(entity));
        self.execute(&statement, values, "import: insert")
    }

    fn update(&mut self, entity: usize, values: &[Value<'_>]) -> Result<(), StoreError> {
        let statement = sql::update(entity, self.placeholders(entity));
        self.execute(&statement, values, "import: update")
    }

    fn find(&mut self, lookup: Lookup, key: &str) -> Result<Option<i64>, StoreError> {
        let statement = match lookup {
            Lookup::Person => sql::FIND_PERSON,
            Lookup::Application => sql::FIND_APPLICATION,
        };
        let row = self.rt.block_on(self.tx.query_opt(statement, &[&key])).map_err(error("import: look up a key"))?;
        row.map(|r| r.try_get(0)).transpose().map_err(error("import: look up a key"))
    }

    fn clear_person(&mut self, person_id: i64, with_person: bool) -> Result<(), StoreError> {
        let representatives = self.ids(sql::PERSON_REPRESENTATIVES, person_id)?;
        for statement in sql::CLEAR_PERSON {
            self.by_id(statement, person_id)?;
        }
        for id in representatives {
            self.by_id(sql::DELETE_REPRESENTATIVE, id)?;
        }
        if with_person {
            self.by_id(sql::DELETE_PERSON, person_id)?;
        }
        Ok(())
    }

    fn delete_application(&mut self, application_id: i64) -> Result<(), StoreError> {
        let representatives = self.ids(sql::APPLICATION_REPRESENTATIVE, application_id)?;
        for statement in sql::DELETE_APPLICATION {
            self.by_id(statement, application_id)?;
        }
        for id in representatives {
            self.by_id(sql::DELETE_REPRESENTATIVE, id)?;
        }
        Ok(())
    }

    fn delete_row(&mut self, entity: usize, id: i64) -> Result<(), StoreError> {
        self.by_id(&format!("DELETE FROM {} WHERE id = $1", ENTITIES[entity].table), id)
    }
}

impl PgSink<'_> {
    fn by_id(&self, statement: &str, id: i64) -> Result<(), StoreError> {
        self.rt.block_on(self.tx.execute(statement, &[&id])).map_err(error("import: delete"))?;
        Ok(())
    }

    fn ids(&self, statement: &str, id: i64) -> Result<Vec<i64>, StoreError> {
        let rows = self.rt.block_on(self.tx.query(statement, &[&id])).map_err(error("import: look up"))?;
        rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>().map_err(error("import: look up"))
    }
}

async fn register_keys(client: &Client) -> Result<super::load::RegisterKeys, StoreError> {
    let mut codes: [HashMap<String, i64>; CLASSIFIERS] = Default::default();
    for entity in ENTITIES.iter() {
        if let Link::Classifier(classifier) = entity.link {
            let rows = client.query(&format!("SELECT code, id FROM {}", entity.table), &[]).await.map_err(error("import: read the classifiers"))?;
            for row in rows {
                codes[classifier as usize].insert(row.try_get(0).map_err(error("import: read the classifiers"))?, row.try_get(1).map_err(error("import: read the classifiers"))?);
            }
        }
    }
    let mut max_ids = [0i64; ENTITY_COUNT];
    for (index, table) in REGISTER_TABLES.iter().enumerate() {
        let row = client.query_one(&format!("SELECT coalesce(max(id), 0)::BIGINT FROM {table}"), &[]).await.map_err(error("import: read the largest ids"))?;
        max_ids[index] = row.try_get(0).map_err(error("import: read the largest ids"))?;
    }
    Ok((codes, max_ids))
}

pub(crate) fn classifier_codes(url: &str, options: &PostgresOptions) -> Result<[HashMap<String, i64>; CLASSIFIERS], StoreError> {
    let rt = runtime()?;
    let client = open(&rt, url, options)?;
    Ok(rt.block_on(register_keys(&client))?.0)
}

pub(crate) fn state(url: &str, options: &PostgresOptions) -> Result<RegisterState, StoreError> {
    let rt = runtime()?;
    let client = open(&rt, url, options)?;
    rt.block_on(async {
        let what = "status: read the last import";
        let last = match client.query_opt(&sql::last_import(true), &[]).await.map_err(error(what))? {
            None => None,
            Some(row) => {
                let n = |i: usize| row.try_get::<_, i64>(i).map(|v| v as u64).map_err(error(what));
                Some(ImportRecord {
                    batch_id: row.try_get(0).map_err(error(what))?,
                    kind: row.try_get(1).map_err(error(what))?,
                    as_of: row.try_get(2).map_err(error(what))?,
                    file_digest: row.try_get(3).map_err(error(what))?,
                    files: row.try_get(4).map_err(error(what))?,
                    counts: Counts { persons: n(5)?, applications: n(6)?, queue_events: n(7)?, queue_entries: n(8)?, deletions: n(9)? },
                    imported_at: row.try_get(10).map_err(error(what))?,
                    duration_ms: n(11)?,
                })
            }
        };
        let mut counts = Vec::new();
        for table in REGISTER_TABLES {
            let row = client.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.map_err(error("status: count"))?;
            counts.push((table, row.try_get::<_, i64>(0).map_err(error("status: count"))? as u64));
        }
        Ok(RegisterState { last, counts })
    })
}

/// An index of a register table: its name and definition.
struct IndexDef {
    name: String,
    definition: String,
}

async fn indexes(client: &Transaction<'_>, table: &str) -> Result<Vec<IndexDef>, StoreError> {
    let rows = client
        .query("SELECT indexname::TEXT, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname", &[&table])
        .await
        .map_err(error("import: read the indexes"))?;
    rows.iter()
        .map(|r| Ok(IndexDef { name: r.try_get(0)?, definition: r.try_get(1)? }))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(error("import: read the indexes"))
}

/// The foreign keys of `table`, as `ALTER TABLE … ADD` clauses pointing at the next tables.
async fn foreign_keys(client: &Transaction<'_>, table: &str) -> Result<Vec<String>, StoreError> {
    let rows = client
        .query(
            "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
             WHERE c.contype = 'f' AND t.relname = $1 AND t.relnamespace = current_schema()::regnamespace ORDER BY c.conname",
            &[&table],
        )
        .await
        .map_err(error("import: read the foreign keys"))?;
    let mut clauses = Vec::new();
    for row in rows {
        let definition: String = row.try_get(0).map_err(error("import: read the foreign keys"))?;
        let mut pointed = definition.clone();
        for parent in REGISTER_TABLES {
            pointed = pointed.replace(&format!("REFERENCES {parent}("), &format!("REFERENCES {NEXT}{parent}("));
        }
        clauses.push(pointed);
    }
    Ok(clauses)
}

/// Runs one import (see the module's description); `load` feeds every item to the loader.
pub(crate) fn import(
    url: &str,
    options: &PostgresOptions,
    full: bool,
    load: &mut dyn FnMut(&mut Loader<PgSink<'_>>) -> Result<(), StoreError>,
    record: &mut dyn FnMut(&Counts) -> ImportRecord,
    provenance: &mut super::Provenance<'_>,
) -> Result<Counts, StoreError> {
    let rt = runtime()?;
    let mut client = open(&rt, url, options)?;
    let what = "import";
    let (codes, max_ids) = match full {
        true => (Default::default(), [0; ENTITY_COUNT]),
        false => rt.block_on(register_keys(&client))?,
    };
    let kinds: Vec<Vec<Option<Kind>>> = (0..ENTITIES.len()).map(column_kinds).collect();
    let tx = rt.block_on(client.transaction()).map_err(error(what))?;
    let mut saved_indexes = Vec::new();
    let copies = match full {
        false => None,
        true => {
            // Only one full import at a time; instances keep reading the current tables.
            rt.block_on(tx.batch_execute("SELECT pg_advisory_xact_lock(5350504)")).map_err(error(what))?;
            let mut files = Vec::new();
            for table in REGISTER_TABLES {
                rt.block_on(tx.batch_execute(&format!(
                    "DROP TABLE IF EXISTS {NEXT}{table} CASCADE; CREATE TABLE {NEXT}{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                )))
                .map_err(error(what))?;
                let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
                let path = std::env::temp_dir().join(format!("spolis-import-{}-{nanos}-{table}.copy", std::process::id()));
                let file = crate::private_files::create(&path).map_err(io)?;
                files.push((path, BufWriter::with_capacity(1 << 20, file)));
            }
            Some(files)
        }
    };
    let counts = {
        let sink = PgSink { rt: &rt, tx: &tx, copies, kinds };
        let mut loader = Loader::new(sink, full, codes, max_ids);
        load(&mut loader)?;
        let counts = loader.counts;
        loader.sink.copy_all()?;
        counts
    };
    if full {
        for table in REGISTER_TABLES {
            let defs = rt.block_on(indexes(&tx, table))?;
            for def in &defs {
                let definition = def
                    .definition
                    .replacen(&format!("INDEX {} ON", def.name), &format!("INDEX {NEXT}{} ON", def.name), 1)
                    .replace(&format!(" ON public.{table} "), &format!(" ON public.{NEXT}{table} "))
                    .replace(&format!(" ON {table} "), &format!(" ON {NEXT}{table} "));
                rt.block_on(tx.batch_execute(&definition)).map_err(error("import: build the indexes"))?;
                if def.name.ends_with("_pkey") {
                    let name = format!("{NEXT}{}", def.name);
                    rt.block_on(tx.batch_execute(&format!("ALTER TABLE {NEXT}{table} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name}")))
                        .map_err(error("import: build the indexes"))?;
                }
            }
            saved_indexes.push((table, defs));
        }
        for table in REGISTER_TABLES {
            for clause in rt.block_on(foreign_keys(&tx, table))? {
                rt.block_on(tx.batch_execute(&format!("ALTER TABLE {NEXT}{table} ADD {clause}"))).map_err(error("import: check the references"))?;
            }
            rt.block_on(tx.batch_execute(&format!("ANALYZE {NEXT}{table}"))).map_err(error(what))?;
        }
        // Before the switch, so that its locks are held no longer for them.
        crate::statistics::postgres::rebuild(&rt, &tx, NEXT)?;
        // The switch: the current tables go, the next ones take their names.
        for table in REGISTER_TABLES.iter().rev() {
            rt.block_on(tx.batch_execute(&format!("DROP TABLE {table}"))).map_err(error("import: switch"))?;
        }
        for (table, defs) in &saved_indexes {
            rt.block_on(tx.batch_execute(&format!("ALTER TABLE {NEXT}{table} RENAME TO {table}"))).map_err(error("import: switch"))?;
            for def in defs {
                rt.block_on(tx.batch_execute(&format!("ALTER INDEX {NEXT}{} RENAME TO {}", def.name, def.name))).map_err(error("import: switch"))?;
            }
        }
    }
    if !full {
        crate::statistics::postgres::rebuild(&rt, &tx, "")?;
    }
    register_changed(&rt, &tx, &record(&counts), provenance)?;
    rt.block_on(tx.commit()).map_err(error("import: commit"))?;
    Ok(counts)
}

/// The one place an import's change of the register is finalised, inside its transaction,
/// just before the commit (after a full import's switch of tables): the import's
/// `register_imports` row (whose `as_of` is the register's as-of time), then its provenance
/// (the audit record). Whatever must change with the register in the same transaction
/// (derived tables) belongs here. `provenance` runs outside the runtime: it may block.
fn register_changed(rt: &Runtime, tx: &Transaction<'_>, entry: &ImportRecord, provenance: &mut super::Provenance<'_>) -> Result<(), StoreError> {
    let counts = &entry.counts;
    let n = |v: u64| v as i64;
    rt.block_on(tx.execute(
        sql::RECORD_IMPORT_POSTGRES,
        &[
            &entry.batch_id,
            &entry.kind,
            &entry.as_of,
            &entry.file_digest,
            &entry.files,
            &n(counts.persons),
            &n(counts.applications),
            &n(counts.queue_events),
            &n(counts.queue_entries),
            &n(counts.deletions),
            &entry.imported_at,
            &n(entry.duration_ms),
        ],
    ))
    .map_err(error("import: record the import"))?;
    provenance(entry)
}

/// Streams the register for the export through one portal per entity, in one snapshot.
pub(crate) fn export(url: &str, options: &PostgresOptions, write: &mut dyn FnMut(&mut dyn super::export::Source) -> Result<(), StoreError>) -> Result<(), StoreError> {
    let rt = runtime()?;
    let mut client = open(&rt, url, options)?;
    let tx = rt
        .block_on(client.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true).start())
        .map_err(error("export: begin"))?;
    let mut portals = Vec::new();
    for entity in 0..ENTITIES.len() {
        let portal = rt.block_on(tx.bind(&sql::export(entity, true), &[])).map_err(error("export: read"))?;
        portals.push(portal);
    }
    let mut source = PgSource { rt: &rt, tx: &tx, portals, buffered: (0..ENTITIES.len()).map(|_| std::collections::VecDeque::new()).collect(), done: vec![false; ENTITIES.len()] };
    write(&mut source)
}

struct PgSource<'a> {
    rt: &'a Runtime,
    tx: &'a Transaction<'a>,
    portals: Vec<tokio_postgres::Portal>,
    buffered: Vec<std::collections::VecDeque<tokio_postgres::Row>>,
    done: Vec<bool>,
}

impl super::export::Source for PgSource<'_> {
    fn next(&mut self, entity: usize) -> Result<Option<super::export::Row>, StoreError> {
        if self.buffered[entity].is_empty() && !self.done[entity] {
            let rows = self.rt.block_on(self.tx.query_portal(&self.portals[entity], 5000)).map_err(error("export: read"))?;
            self.done[entity] = rows.len() < 5000;
            self.buffered[entity].extend(rows);
        }
        let Some(row) = self.buffered[entity].pop_front() else { return Ok(None) };
        let values = (0..row.len()).map(|i| row.try_get::<_, Option<String>>(i)).collect::<Result<Vec<_>, _>>().map_err(error("export: read"))?;
        super::export::Row::from_columns(values)
    }
}
