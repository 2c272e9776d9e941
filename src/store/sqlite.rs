//! The embedded SQLite store: the register in one file, read through a small connection pool.
//!
//! Owns the pool of read connections and runs EP115 and EP116 (the statements of
//! `store::sql`); the file, its pragmas and its migrations are the database layer's
//! (`database::sqlite`). Input: a typed query about one person; output: the typed answer of
//! `model`. It never sees XML or HTTP.
//!
//! Every query starts at `persons_by_code` and follows `person_id` / `application_id`
//! indexes, so an answer costs the same on a register of ten persons or two million; queue
//! positions are range counts inside one queue (`queue_entries_by_queue`). A test runs
//! `EXPLAIN QUERY PLAN` on every statement issued here and rejects a scan.
//!
//! Queries run inline on the calling runtime thread (see `read`); a semaphore sized to the
//! CPUs bounds how many run at once, and each holds one pooled connection for the whole
//! answer (one read transaction, so the answer is a consistent snapshot).
//!
//! It must never put a personal code or a name into an error message or a log line: errors
//! name the query and the kind of failure only.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Row};
use tokio::sync::Semaphore;

use super::exits::{ExitCache, MonthlyExits, QueueKey};
use super::rows::{self, Narrowing};
use super::sql::*;
use super::StoreError;
use crate::database::sqlite::{describe, latest_version, open_reader};
use crate::model::*;
use crate::personal_code::PersonalCode;
use crate::database::sqlite::open_writer;

/// The file name of the register inside the data directory.
pub const DATABASE_FILE: &str = "spolis.sqlite3";

/// The register store. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Idle read connections. A std mutex: it is held only to push or pop, never across I/O.
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection that may exist; bounds concurrent queries to the CPUs.
    permits: Arc<Semaphore>,
    /// Each queue's exits, counted once per register version (EP116's estimated waits).
    exits: ExitCache,
}

impl SqliteStore {
    /// Opens the register at `path`, creating the file if it does not exist (its directory
    /// must), applying pending migrations and switching the file to WAL mode.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        drop(open_writer(path)?);
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 16);
        let first = open_reader(path)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(vec![first]),
                permits: Arc::new(Semaphore::new(readers)),
                exits: ExitCache::default(),
            }),
        })
    }

    /// EP115: the person's applications submitted within the period, ordered by submission
    /// date then number, each with its documents, document requests and decisions.
    pub async fn application_list(&self, q: ApplicationQuery) -> Result<ApplicationList, StoreError> {
        self.read(move |conn| application_list(conn, &q)).await
    }

    /// EP116: the person's queue events within the period (by date, then id) and their current
    /// queue positions, both narrowed by service kind and provider when asked.
    pub async fn queue_status_list(&self, q: QueueStatusQuery) -> Result<QueueStatusList, StoreError> {
        let inner = self.inner.clone();
        self.read(move |conn| queue_status_list(conn, &q, &inner)).await
    }

    /// GetQueueStatistics: the stored monthly cells of the period (see `statistics`).
    pub async fn queue_statistics(&self, q: QueueStatisticsQuery) -> Result<QueueStatistics, StoreError> {
        self.read(move |conn| queue_statistics(conn, q)).await
    }

    /// Whether the register can be read and carries a schema this program knows.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            let version: Option<i64> = conn
                .prepare_cached(SQL_SCHEMA_VERSION)
                .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
                .map_err(error("ping"))?;
            match version {
                Some(v) if v == latest_version() => Ok(()),
                _ => Err(StoreError::Unavailable("ping: the schema version is not the expected one".into())),
            }
        })
        .await
    }

    /// The `AsOf` of the last import, if any.
    pub async fn register_as_of(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.read(|conn| Ok(register_version(conn)?.map(|version| version.as_of))).await
    }

    /// How many persons the register holds. Counts the whole table: for start-up messages
    /// and the CLI, not for the request path. Blocks the calling thread.
    pub fn person_count(&self) -> Result<u64, StoreError> {
        let conn = self.inner.take()?;
        let count = conn
            .query_row("SELECT count(*) FROM persons", [], |row| row.get::<_, i64>(0))
            .map_err(error("person count"));
        self.inner.give_back(conn);
        Ok(u64::try_from(count?).unwrap_or(0))
    }

    /// The file this store reads.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a pooled connection, at most one per permit.
    ///
    /// Inline on the calling runtime thread, not on the blocking pool: every request query is
    /// an index search over a read-only register taking tens of microseconds, and handing it to
    /// another thread and back cost more than the query itself (BENCHMARKS.md). WAL readers
    /// never wait for a writer, so nothing here can stall a runtime thread for long.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        let conn = self.inner.take()?;
        let result = f(&conn);
        self.inner.give_back(conn);
        result
    }
}

impl Inner {
    /// An idle connection, or a new one: the permits bound how many exist.
    fn take(&self) -> Result<Connection, StoreError> {
        // A poisoned lock only means a thread panicked while pushing or popping; the Vec is intact.
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => Ok(open_reader(&self.path)?),
        }
    }

    /// Pools `conn` again, unless a read transaction was left open on it (its COMMIT failed):
    /// such a connection is closed, never lent out mid-transaction.
    fn give_back(&self, conn: Connection) {
        if conn.is_autocommit() {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
    }
}

/// One read transaction, so that an answer's queries see one snapshot of the register.
/// BEGIN and COMMIT are cached prepared statements: rusqlite's own transaction parses its SQL
/// text on every call, a measurable share of a short answer (BENCHMARKS.md). Ends on drop,
/// whatever path the answer took; for a read transaction COMMIT and ROLLBACK are the same.
struct ReadSnapshot<'c> {
    conn: &'c Connection,
}

impl<'c> ReadSnapshot<'c> {
    fn begin(conn: &'c Connection, what: &'static str) -> Result<Self, StoreError> {
        conn.prepare_cached("BEGIN").and_then(|mut begin| begin.execute([])).map_err(error(what))?;
        Ok(ReadSnapshot { conn })
    }
}

impl std::ops::Deref for ReadSnapshot<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for ReadSnapshot<'_> {
    fn drop(&mut self) {
        // A failure leaves the transaction open; `give_back` then closes the connection.
        let _ = self.conn.prepare_cached("COMMIT").and_then(|mut commit| commit.execute([]));
    }
}

// ---------------------------------------------------------------------------------------
// The answers, on a blocking thread.

fn application_list(conn: &Connection, q: &ApplicationQuery) -> Result<ApplicationList, StoreError> {
    let tx = ReadSnapshot::begin(conn, "begin EP115")?;
    let register_as_of = register_version(&tx)?.map(|r| r.as_of);
    let Some((person_id, person)) = find_person(&tx, &q.person_code)? else {
        return Ok(ApplicationList { register_as_of, person: None, applications: Vec::new() });
    };
    let (from, till) = period_bounds(&q.period);
    let as_of = as_of_bound(q.as_of);
    let params = (person_id, from.as_str(), till.as_str(), as_of.as_str());

    let mut applications = rows::Applications::default();
    for_each_row(&tx, SQL_APPLICATIONS, params, "EP115 applications", |r| applications.add(r, &person))?;
    if !applications.is_empty() {
        for_each_row(&tx, SQL_DOCUMENTS, params, "EP115 documents", |r| applications.add_document(r))?;
        let reordered = (as_of.as_str(), person_id, from.as_str(), till.as_str());
        for_each_row(&tx, SQL_DOCUMENT_REQUESTS, reordered, "EP115 document requests", |r| applications.add_document_request(r))?;
        for_each_row(&tx, SQL_GRANT_DECISIONS, params, "EP115 grant decisions", |r| applications.add_grant_decision(r))?;
        for_each_row(&tx, SQL_QUEUE_DECISIONS, params, "EP115 queue decisions", |r| applications.add_queue_decision(r))?;
        for_each_row(&tx, SQL_REFUSAL_DECISIONS, params, "EP115 refusal decisions", |r| applications.add_refusal_decision(r))?;
        for_each_row(&tx, SQL_APPLICATION_EVENTS, params, "EP115 application events", |r| applications.add_event(r))?;
    }
    Ok(ApplicationList { register_as_of, person: Some(person), applications: applications.into_vec() })
}

fn queue_status_list(conn: &Connection, q: &QueueStatusQuery, inner: &Arc<Inner>) -> Result<QueueStatusList, StoreError> {
    let exits = &inner.exits;
    let tx = ReadSnapshot::begin(conn, "begin EP116")?;
    let register = register_version(&tx)?;
    if let Some(version) = register.map(|r| r.seq).filter(|&v| exits.start_warming(Some(v))) {
        let inner = inner.clone();
        let spawned = std::thread::Builder::new().name("queue-exits".into()).spawn(move || {
            if let Err(error) = warm_exits(&inner.path, &inner.exits, version) {
                tracing::warn!(%error, "counting the queues' exits ahead of the requests failed; answers count them as asked");
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot start counting the queues' exits ahead of the requests");
        }
    }
    let Some((person_id, person)) = find_person(&tx, &q.person_code)? else {
        return Ok(rows::no_queue_status(register.as_ref(), None));
    };
    let service_kind = code_id(&tx, SQL_SERVICE_KIND_ID, q.service_kind_code.as_deref(), "EP116 service kind")?;
    let provider = code_id(&tx, SQL_PROVIDER_ID, q.provider_code.as_deref(), "EP116 provider")?;
    let Some((service_kind_id, provider_id)) = Narrowing::both(service_kind, provider) else {
        return Ok(rows::no_queue_status(register.as_ref(), Some(person)));
    };
    let (from, till) = period_bounds(&q.period.until(q.as_of));

    let mut events = Vec::new();
    for_each_row(&tx, SQL_QUEUE_EVENTS, (person_id, from.as_str(), till.as_str(), service_kind_id, provider_id), "EP116 queue events", |r| {
        events.push(rows::queue_event(r)?);
        Ok(())
    })?;
    let mut positions = Vec::new();
    let mut position = |r: &Cols<'_>| {
        positions.push(rows::queue_position(r)?);
        Ok(())
    };
    match q.as_of {
        None => for_each_row(&tx, SQL_QUEUE_POSITIONS, (person_id, service_kind_id, provider_id), "EP116 queue positions", &mut position)?,
        Some(day) => {
            let params = (iso_date(day), person_id, service_kind_id, provider_id);
            for_each_row(&tx, SQL_QUEUE_POSITIONS_AS_OF, params, "EP116 queue positions as of a day", &mut position)?
        }
    }
    let window = rows::estimate_window(q, register.as_ref());
    let version = register.map(|r| r.seq);
    let mut estimated = Vec::with_capacity(positions.len());
    for (mut position, queue) in positions {
        let exits = match exits.get(version, queue) {
            Some(exits) => exits,
            None => exits.keep(version, queue, count_exits(&tx, queue)?),
        };
        rows::add_estimate(&mut position, &exits, window);
        estimated.push(position);
    }
    Ok(QueueStatusList { register_as_of: register.map(|r| r.as_of), person: Some(person), events, positions: estimated })
}

/// One queue's exits by month (`SQL_QUEUE_EXITS`).
fn count_exits(conn: &Connection, queue: QueueKey) -> Result<MonthlyExits, StoreError> {
    let mut counted = MonthlyExits::default();
    for_each_row(conn, SQL_QUEUE_EXITS, [queue.0, queue.1], "EP116 queue exits", |r| rows::add_exits(&mut counted, r))?;
    Ok(counted)
}

/// Counts the exits of every queue of register `version` into `exits`, on a connection of its
/// own, in one snapshot: run on a thread of its own when an answer first meets the version.
/// Stops at once if another import has come since. Returns the queues looked at.
fn warm_exits(path: &Path, exits: &ExitCache, version: i64) -> Result<usize, StoreError> {
    use rows::Columns as _;
    let conn = open_reader(path)?;
    let tx = ReadSnapshot::begin(&conn, "count queue exits")?;
    if register_version(&tx)?.map(|r| r.seq) != Some(version) {
        return Ok(0);
    }
    let mut queues = Vec::new();
    for_each_row(&tx, SQL_ALL_QUEUES, [], "all queues", |r| {
        queues.push((r.int(0)?, r.int(1)?));
        Ok(())
    })?;
    for &queue in &queues {
        if exits.get(Some(version), queue).is_none() {
            exits.keep(Some(version), queue, count_exits(&tx, queue)?);
        }
    }
    Ok(queues.len())
}

/// The newest import's sequence number and as-of time; `None` before the first import.
fn register_version(conn: &Connection) -> Result<Option<rows::RegisterVersion>, StoreError> {
    let what = "register version";
    let row: Option<(i64, String)> = conn
        .prepare_cached(SQL_REGISTER_VERSION)
        .and_then(|mut stmt| stmt.query_row([], |row| Ok((row.get(0)?, row.get(1)?))).optional())
        .map_err(error(what))?;
    let Some((seq, as_of)) = row else { return Ok(None) };
    let as_of = chrono::DateTime::parse_from_rfc3339(&as_of)
        .map_err(|_| StoreError::Corrupt(format!("{what}: an as-of time that is not RFC 3339")))?
        .with_timezone(&chrono::Utc);
    Ok(Some(rows::RegisterVersion { seq, as_of }))
}

fn queue_statistics(conn: &Connection, q: QueueStatisticsQuery) -> Result<QueueStatistics, StoreError> {
    let tx = ReadSnapshot::begin(conn, "begin statistics")?;
    let what = "statistics horizon";
    let horizon: Option<i64> = tx
        .prepare_cached(SQL_STATISTICS_HORIZON)
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)).optional())
        .map_err(error(what))?;
    let horizon = Month(horizon.and_then(|h| i32::try_from(h).ok()).unwrap_or(q.till.0));
    let narrowing = [
        code_id(&tx, SQL_SERVICE_KIND_ID, q.service_kind_code.as_deref(), "statistics service kind")?,
        code_id(&tx, SQL_PROVIDER_ID, q.provider_code.as_deref(), "statistics provider")?,
        code_id(&tx, SQL_MUNICIPALITY_ID, q.municipality_code.as_deref(), "statistics municipality")?,
    ];
    let by_municipality = i64::from(q.by_municipality || q.municipality_code.is_some());
    let mut rows = rows::StatisticsRows::new(q, horizon);
    let [Some(kind), Some(provider), Some(municipality)] = narrowing.map(Narrowing::id) else {
        return Ok(rows.finish());
    };
    let (from, till) = rows.months_to_read();
    let params = (i64::from(from.0), i64::from(till.0), by_municipality, kind, provider, municipality);
    for_each_row(&tx, SQL_QUEUE_STATISTICS, params, "statistics", |r| rows.add(r))?;
    Ok(rows.finish())
}

/// The person's row id and name, or `None` when the register does not know the code.
fn find_person(conn: &Connection, code: &PersonalCode) -> Result<Option<(i64, Person)>, StoreError> {
    let what = "person";
    let mut stmt = conn.prepare_cached(SQL_PERSON).map_err(error(what))?;
    let mut rows = stmt.query([code.digits()]).map_err(error(what))?;
    let Some(row) = rows.next().map_err(error(what))? else {
        return Ok(None);
    };
    rows::person(&Cols { row, what }).map(Some)
}

fn code_id(conn: &Connection, sql: &str, code: Option<&str>, what: &'static str) -> Result<Narrowing, StoreError> {
    let Some(code) = code else {
        return Ok(Narrowing::Any);
    };
    let id: Option<i64> = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row([code], |row| row.get(0)).optional())
        .map_err(error(what))?;
    Ok(id.map_or(Narrowing::Unknown, Narrowing::Id))
}

/// Runs one query of an answer and hands each row to `each`.
fn for_each_row(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    what: &'static str,
    mut each: impl FnMut(&Cols<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(error(what))?;
    let mut rows = stmt.query(params).map_err(error(what))?;
    while let Some(row) = rows.next().map_err(error(what))? {
        each(&Cols { row, what })?;
    }
    Ok(())
}

/// The period as inclusive ISO date bounds; an open end becomes the widest date.
fn period_bounds(period: &Period) -> (String, String) {
    (
        period.from.map_or_else(|| "0000-01-01".to_owned(), iso_date),
        period.till.map_or_else(|| "9999-12-31".to_owned(), iso_date),
    )
}

/// The as-of day as the EP115 statements' bound; "now" is the widest date.
fn as_of_bound(as_of: Option<NaiveDate>) -> String {
    as_of.map_or_else(|| "9999-12-31".to_owned(), iso_date)
}

/// `YYYY-MM-DD`, the form dates are stored in. Years outside 0..=9999 are clamped so that
/// text comparison stays date comparison.
pub(crate) fn iso_date(date: NaiveDate) -> String {
    use chrono::Datelike;
    match date.year() {
        ..0 => "0000-01-01".to_owned(),
        10000.. => "9999-12-31".to_owned(),
        year => format!("{year:04}-{:02}-{:02}", date.month(), date.day()),
    }
}

/// Typed access to the columns of one row, turning bad values into [`StoreError::Corrupt`].
struct Cols<'r> {
    row: &'r Row<'r>,
    what: &'static str,
}

impl rows::Columns for Cols<'_> {
    fn what(&self) -> &'static str {
        self.what
    }

    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.row.get(i).map_err(error(self.what))
    }

    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.row.get(i).map_err(error(self.what))
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.row.get(i).map_err(error(self.what))
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.row.get(i).map_err(error(self.what))
    }

    /// Read in place from SQLite's buffer: dates are the most frequent column of an answer.
    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
        match self.row.get_ref(i).map_err(error(self.what))? {
            rusqlite::types::ValueRef::Null => Ok(None),
            rusqlite::types::ValueRef::Text(text) => parse_date(text, self.what).map(Some),
            _ => Err(StoreError::Corrupt(format!("{}: a value of the wrong type", self.what))),
        }
    }
}

/// `YYYY-MM-DD` exactly, the form dates are stored in. By hand: chrono's format-string parser
/// was a measurable share of an answer's store time (BENCHMARKS.md).
fn parse_date(text: &[u8], what: &str) -> Result<NaiveDate, StoreError> {
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let date = match text {
        [y @ .., b'-', m1, m2, b'-', d1, d2] if y.len() == 4 => {
            match (number(y), number(&[*m1, *m2]), number(&[*d1, *d2])) {
                (Some(year), Some(month), Some(day)) => NaiveDate::from_ymd_opt(year as i32, month, day),
                _ => None,
            }
        }
        _ => None,
    };
    date.ok_or_else(|| StoreError::Corrupt(format!("{what}: a date that is not YYYY-MM-DD")))
}

/// Maps a rusqlite error met while doing `what`. Values of the wrong type are data that
/// breaks the model (`Corrupt`); everything else means the register cannot be read.
/// The text names the query and SQLite's reason, never a value.
pub(crate) fn error(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..) => StoreError::Corrupt(format!("{what}: a value of the wrong type")),
        other => StoreError::Unavailable(format!("{what}: {}", describe(&other))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_the_stored_form_only() {
        let date = |text: &str| parse_date(text.as_bytes(), "test").ok();
        assert_eq!(date("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(date("0001-01-01"), NaiveDate::from_ymd_opt(1, 1, 1));
        for bad in ["2023-02-29", "2024-13-01", "2024-1-01", "24-01-01", "2024/01/01", "2024-01-01 ", "+024-01-01", ""] {
            assert_eq!(date(bad), None, "{bad:?}");
        }
    }

    /// Every statement of the request path, with its name for the assertion message.
    pub(crate) const STATEMENTS: &[(&str, &str)] = &[
        ("schema version", SQL_SCHEMA_VERSION),
        ("register version", SQL_REGISTER_VERSION),
        ("person", SQL_PERSON),
        ("service kind id", SQL_SERVICE_KIND_ID),
        ("provider id", SQL_PROVIDER_ID),
        ("applications", SQL_APPLICATIONS),
        ("documents", SQL_DOCUMENTS),
        ("document requests", SQL_DOCUMENT_REQUESTS),
        ("grant decisions", SQL_GRANT_DECISIONS),
        ("queue decisions", SQL_QUEUE_DECISIONS),
        ("refusal decisions", SQL_REFUSAL_DECISIONS),
        ("application events", SQL_APPLICATION_EVENTS),
        ("queue events", SQL_QUEUE_EVENTS),
        ("queue positions", SQL_QUEUE_POSITIONS),
        ("queue positions as of a day", SQL_QUEUE_POSITIONS_AS_OF),
        ("queue exits", SQL_QUEUE_EXITS),
    ];

    /// Positional binding is right only if parameter `i` is named `$i` (or `?i`): SQLite numbers
    /// `$N` parameters in the order they first appear, not by N.
    #[test]
    fn every_statement_numbers_its_parameters_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join(DATABASE_FILE)).unwrap();
        let conn = store.inner.take().unwrap();
        for (name, sql) in STATEMENTS {
            let stmt = conn.prepare(sql).unwrap();
            for i in 1..=stmt.parameter_count() {
                let found = stmt.parameter_name(i).unwrap_or_default();
                assert!(found == format!("${i}") || found == format!("?{i}"), "{name}: parameter {i} is {found:?}");
            }
        }
    }

    /// The plan lines of `sql`, e.g. `SEARCH e USING INDEX queue_events_by_person (...)`.
    pub(crate) fn query_plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // Parameters stay unbound (NULL): the plan does not depend on their values.
        let mut rows = stmt.raw_query();
        let mut plan = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            plan.push(row.get::<_, String>(3).unwrap());
        }
        plan
    }

    /// Asserts that no statement scans a table: each step searches by an index or rowid.
    pub(crate) fn assert_no_scans(conn: &Connection) {
        for (name, sql) in STATEMENTS {
            let plan = query_plan(conn, sql);
            for line in &plan {
                let line = line.trim();
                let acceptable = line.starts_with("SEARCH ")
                    || line.starts_with("CORRELATED SCALAR SUBQUERY")
                    // Run once per statement (the register version's max(seq)), then a SEARCH.
                    || line.starts_with("SCALAR SUBQUERY")
                    || line.starts_with("USE TEMP B-TREE FOR ORDER BY")
                    // The queue exits' count by day, over one queue's rows.
                    || line.starts_with("USE TEMP B-TREE FOR GROUP BY")
                    // max(version) over the primary key reads one end of the b-tree.
                    || (*name == "schema version" && line.starts_with("SEARCH schema_migrations"));
                assert!(acceptable, "{name}: `{line}` in plan {plan:#?}");
            }
        }
    }

    fn person(digits: &str) -> PersonalCode {
        PersonalCode::parse(digits).unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// The tiny register of the store's tests, on SQLite.
    fn tiny_register(dir: &Path) -> SqliteStore {
        let path = dir.join(DATABASE_FILE);
        let store = SqliteStore::open(&path).unwrap();
        crate::store::tests::write_tiny_register(&path);
        store
    }

    #[test]
    fn opening_twice_applies_each_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        drop(SqliteStore::open(&path).unwrap());
        let store = SqliteStore::open(&path).unwrap();
        let conn = open_reader(store.path()).unwrap();
        let count: i64 = conn.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0)).unwrap();
        // Versions ascend but may leave gaps (a number kept for another branch's migration).
        assert_eq!(count, crate::database::sqlite::MIGRATIONS.len() as i64);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(store.person_count().unwrap(), 0);
    }

    #[test]
    fn a_register_from_a_newer_program_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        let conn = open_writer(&path).unwrap();
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'later')", []).unwrap();
        drop(conn);
        assert!(matches!(SqliteStore::open(&path), Err(StoreError::Unavailable(_))));
    }

    #[test]
    fn a_missing_directory_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join(DATABASE_FILE);
        assert!(matches!(SqliteStore::open(&path), Err(StoreError::Unavailable(_))));
    }

    #[test]
    fn read_connections_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join(DATABASE_FILE)).unwrap();
        let conn = open_reader(store.path()).unwrap();
        assert!(conn.execute("DELETE FROM persons", []).is_err());
    }

    #[test]
    fn no_statement_scans_a_table_on_an_empty_register() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join(DATABASE_FILE)).unwrap();
        assert_no_scans(&open_reader(store.path()).unwrap());
    }

    #[tokio::test]
    async fn ping_answers_on_a_migrated_register() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join(DATABASE_FILE)).unwrap();
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn an_event_kind_outside_the_list_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = tiny_register(dir.path());
        let conn = open_writer(store.path()).unwrap();
        conn.execute_batch("PRAGMA ignore_check_constraints = ON; UPDATE queue_events SET kind = 16 WHERE id = 3;")
            .unwrap();
        let err = store
            .queue_status_list(QueueStatusQuery {
                person_code: person("020761-12340"),
                period: Period::default(),
                service_kind_code: None,
                provider_code: None,
                as_of: None,
                today: None,
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    }

    #[tokio::test]
    async fn a_bad_personal_code_in_the_register_is_corrupt_and_not_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let store = tiny_register(dir.path());
        let conn = open_writer(store.path()).unwrap();
        // 99 is no day of a month: the representative's code cannot parse.
        conn.execute_batch(
            "INSERT INTO legal_representatives VALUES (1, 'Inese', 'Kalniņa', '99999999999', NULL, NULL, NULL);
             UPDATE applications SET legal_representative_id = 1 WHERE id = 3;",
        )
        .unwrap();
        let err = store
            .application_list(ApplicationQuery { person_code: person("020761-12340"), period: Period::default(), as_of: None })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
        assert!(!err.to_string().contains("99999999999"));
    }

    #[tokio::test]
    async fn after_an_import_every_queue_is_counted_ahead_of_the_requests() {
        let dir = tempfile::tempdir().unwrap();
        let store = tiny_register(dir.path());
        let conn = open_writer(store.path()).unwrap();
        conn.execute(
            "INSERT INTO register_imports VALUES (1, 'b', 'full', '2026-01-01T00:00:00Z', 'd', 'f', 0, 0, 0, 0, 0, '2026-01-01T00:00:00Z', 0)",
            [],
        )
        .unwrap();
        let cache = ExitCache::default();
        // Two providers × one service kind; queue P1 holds Līga's exit of 2024-06-15.
        assert_eq!(warm_exits(store.path(), &cache, 1).unwrap(), 2);
        let p1 = cache.get(Some(1), (1, 1)).expect("P1 counted");
        assert_eq!(p1.window(date("2024-01-01"))[5], 1, "June 2024");
        assert!(cache.get(Some(1), (2, 1)).is_some(), "P2 counted, though nobody left it");
        assert_eq!(warm_exits(store.path(), &ExitCache::default(), 2).unwrap(), 0, "another version: nothing counted");
    }

    #[test]
    fn dates_outside_four_digit_years_are_clamped() {
        assert_eq!(iso_date(date("2024-03-05")), "2024-03-05");
        assert_eq!(iso_date(NaiveDate::from_ymd_opt(12000, 1, 1).unwrap()), "9999-12-31");
        assert_eq!(iso_date(NaiveDate::from_ymd_opt(-5, 1, 1).unwrap()), "0000-01-01");
        assert_eq!(iso_date(NaiveDate::from_ymd_opt(33, 1, 1).unwrap()), "0033-01-01");
    }
}
