//! The register on PostgreSQL: EP115 and EP116 read through a bounded pool, on the replica
//! when one is configured, for deployments with several adapter instances. Connections,
//! TLS and migrations are the database layer's (`database::postgres`); the statements are
//! shared with SQLite (`store::sql`) and so is the row → model mapping (`store::rows`).
//!
//! Every answer runs in one `REPEATABLE READ READ ONLY` transaction (a consistent snapshot)
//! and as a whole within the configured timeout: when the database is down or does not
//! answer, the call fails with [`StoreError::Unavailable`] in bounded time, and the pool
//! replaces broken connections on the next call, so the service recovers without a restart.
//!
//! It must never put a personal code or a name into an error message or a log line: errors
//! name the query, the kind of failure and PostgreSQL's SQLSTATE, never a value.

use std::future::Future;
use std::time::Duration;

use chrono::NaiveDate;
use deadpool_postgres::Pool;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{IsolationLevel, Row};

use super::exits::{ExitCache, MonthlyExits, QueueKey};
use super::rows::{self, Columns as _, Narrowing};
use super::shared_counters::SharedCounters;
use super::sql::*;
use super::StoreError;
use crate::database::postgres::{build_pool, connection_config, latest_version, pool_error};
use crate::database::DatabaseError;
use crate::model::*;
use crate::personal_code::PersonalCode;
use crate::database::postgres::{connect, describe, migrate, PostgresOptions};
use crate::database::runtime::block_on;

/// The register store on PostgreSQL. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    /// Read connections: to the replica when one is configured, else to the primary.
    pool: Pool,
    timeout: Duration,
    /// The MessageIDs and daily quotas every instance shares, on the primary.
    pub(crate) counters: SharedCounters,
    /// Each queue's exits, counted once per register version (EP116's estimated waits).
    exits: std::sync::Arc<ExitCache>,
}

impl PostgresStore {
    /// Connects to the primary at `url` and applies pending migrations there; then builds
    /// the read pool on `replica_url` (or the primary). Blocks the calling thread while it
    /// migrates. Fails when the primary cannot be reached: the service never starts on a
    /// database it has not checked.
    pub fn open(url: &str, replica_url: Option<&str>, options: &PostgresOptions) -> Result<Self, StoreError> {
        block_on(|| async {
            let mut client = connect(url, options).await?;
            tokio::time::timeout(options.timeout.max(Duration::from_secs(30)), migrate(&mut client))
                .await
                .map_err(|_| DatabaseError::Unavailable("migrating the database timed out".into()))?
        })?;
        let pool = build_pool(connection_config(replica_url.unwrap_or(url), options)?, options, options.max_connections)?;
        Ok(PostgresStore { pool, timeout: options.timeout, counters: SharedCounters::open(url, options)?, exits: Default::default() })
    }

    /// EP115: the person's applications submitted within the period, ordered by submission
    /// date then number, each with its documents, document requests and decisions.
    pub async fn application_list(&self, q: ApplicationQuery) -> Result<ApplicationList, StoreError> {
        self.bounded("EP115", self.application_list_unbounded(q)).await
    }

    /// EP116: the person's queue events within the period (by date, then id) and their current
    /// queue positions, both narrowed by service kind and provider when asked.
    pub async fn queue_status_list(&self, q: QueueStatusQuery) -> Result<QueueStatusList, StoreError> {
        self.bounded("EP116", self.queue_status_list_unbounded(q)).await
    }

    /// GetQueueStatistics: the stored monthly cells of the period (see `statistics`).
    pub async fn queue_statistics(&self, q: QueueStatisticsQuery) -> Result<QueueStatistics, StoreError> {
        self.bounded("statistics", self.queue_statistics_unbounded(q)).await
    }

    /// Whether the register can be read and carries a schema this program knows.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.bounded("ping", async {
            let client = self.connection().await?;
            let version: Option<i64> = client
                .query_one(SQL_SCHEMA_VERSION, &[])
                .await
                .map_err(error("ping"))?
                .try_get(0)
                .map_err(error("ping"))?;
            match version {
                Some(v) if v >= 1 && v <= latest_version() => Ok(()),
                _ => Err(StoreError::Unavailable("ping: the schema version is not the expected one".into())),
            }
        })
        .await
    }

    /// The `AsOf` of the last import, if any.
    pub async fn register_as_of(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.bounded("register as-of", async {
            let what = "register as-of";
            let client = self.connection().await?;
            let row = client.query_opt(SQL_REGISTER_VERSION, &[]).await.map_err(error(what))?;
            row.map(|row| Cols { row: &row, what }.get(1)).transpose()
        })
        .await
    }

    /// `work`, or `Unavailable` once the timeout has passed.
    async fn bounded<T>(&self, what: &str, work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable(format!("{what}: no answer from PostgreSQL within {:?}", self.timeout))))
    }

    async fn connection(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| pool_error(e).into())
    }

    async fn application_list_unbounded(&self, q: ApplicationQuery) -> Result<ApplicationList, StoreError> {
        let mut client = self.connection().await?;
        let tx = snapshot(&mut client, "begin EP115").await?;
        let (register, found) = futures_util::future::try_join(register_version(&tx), find_person(&tx, &q.person_code)).await?;
        let register_as_of = register.map(|r| r.as_of);
        let Some((person_id, person)) = found else {
            return Ok(ApplicationList { register_as_of, person: None, applications: Vec::new() });
        };
        let (from, till) = period_bounds(&q.period);
        let as_of = period_bounds(&Period { from: None, till: q.as_of }).1;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [&person_id, &from, &till, &as_of];

        let mut applications = rows::Applications::default();
        let what = "EP115 applications";
        for row in query(&tx, SQL_APPLICATIONS, &params, what).await? {
            applications.add(&Cols { row: &row, what }, &person)?;
        }
        if !applications.is_empty() {
            // The six child queries are pipelined on the one connection: one round trip.
            let ((documents, requests, grants), (queue_decisions, refusals, events)) = futures_util::future::try_join(
                futures_util::future::try_join3(
                    query(&tx, SQL_DOCUMENTS, &params, "EP115 documents"),
                    query(&tx, SQL_DOCUMENT_REQUESTS, &[&as_of, &person_id, &from, &till], "EP115 document requests"),
                    query(&tx, SQL_GRANT_DECISIONS, &params, "EP115 grant decisions"),
                ),
                futures_util::future::try_join3(
                    query(&tx, SQL_QUEUE_DECISIONS, &params, "EP115 queue decisions"),
                    query(&tx, SQL_REFUSAL_DECISIONS, &params, "EP115 refusal decisions"),
                    query(&tx, SQL_APPLICATION_EVENTS, &params, "EP115 application events"),
                ),
            )
            .await?;
            for row in &documents {
                applications.add_document(&Cols { row, what: "EP115 documents" })?;
            }
            for row in &requests {
                applications.add_document_request(&Cols { row, what: "EP115 document requests" })?;
            }
            for row in &grants {
                applications.add_grant_decision(&Cols { row, what: "EP115 grant decisions" })?;
            }
            for row in &queue_decisions {
                applications.add_queue_decision(&Cols { row, what: "EP115 queue decisions" })?;
            }
            for row in &refusals {
                applications.add_refusal_decision(&Cols { row, what: "EP115 refusal decisions" })?;
            }
            for row in &events {
                applications.add_event(&Cols { row, what: "EP115 application events" })?;
            }
        }
        tx.commit().await.map_err(error("end EP115"))?;
        Ok(ApplicationList { register_as_of, person: Some(person), applications: applications.into_vec() })
    }

    async fn queue_status_list_unbounded(&self, q: QueueStatusQuery) -> Result<QueueStatusList, StoreError> {
        let mut client = self.connection().await?;
        let tx = snapshot(&mut client, "begin EP116").await?;
        let (register, found) = futures_util::future::try_join(register_version(&tx), find_person(&tx, &q.person_code)).await?;
        if let Some(version) = register.map(|r| r.seq).filter(|&v| self.exits.start_warming(Some(v))) {
            let store = self.clone();
            tokio::spawn(async move {
                if let Err(error) = store.warm_exits(version).await {
                    tracing::warn!(%error, "counting the queues' exits ahead of the requests failed; answers count them as asked");
                }
            });
        }
        let Some((person_id, person)) = found else {
            return Ok(rows::no_queue_status(register.as_ref(), None));
        };
        let service_kind = code_id(&tx, SQL_SERVICE_KIND_ID, q.service_kind_code.as_deref(), "EP116 service kind").await?;
        let provider = code_id(&tx, SQL_PROVIDER_ID, q.provider_code.as_deref(), "EP116 provider").await?;
        let Some((service_kind_id, provider_id)) = Narrowing::both(service_kind, provider) else {
            return Ok(rows::no_queue_status(register.as_ref(), Some(person)));
        };
        let (from, till) = period_bounds(&q.period.until(q.as_of));
        let positions = async {
            match q.as_of {
                None => query(&tx, SQL_QUEUE_POSITIONS, &[&person_id, &service_kind_id, &provider_id], "EP116 queue positions").await,
                Some(day) => {
                    let day = period_bounds(&Period { from: None, till: Some(day) }).1;
                    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [&day, &person_id, &service_kind_id, &provider_id];
                    query(&tx, SQL_QUEUE_POSITIONS_AS_OF, &params, "EP116 queue positions as of a day").await
                }
            }
        };

        // Events and positions are pipelined on the one connection: one round trip.
        let (event_rows, position_rows) = futures_util::future::try_join(
            query(&tx, SQL_QUEUE_EVENTS, &[&person_id, &from, &till, &service_kind_id, &provider_id], "EP116 queue events"),
            positions,
        )
        .await?;
        let events = event_rows
            .iter()
            .map(|row| rows::queue_event(&Cols { row, what: "EP116 queue events" }))
            .collect::<Result<Vec<_>, _>>()?;
        let positions = position_rows
            .iter()
            .map(|row| rows::queue_position(&Cols { row, what: "EP116 queue positions" }))
            .collect::<Result<Vec<_>, _>>()?;
        let window = rows::estimate_window(&q, register.as_ref());
        let version = register.map(|r| r.seq);
        let mut estimated = Vec::with_capacity(positions.len());
        for (mut position, queue) in positions {
            let exits = match self.exits.get(version, queue) {
                Some(exits) => exits,
                None => self.exits.keep(version, queue, count_exits(&tx, queue).await?),
            };
            rows::add_estimate(&mut position, &exits, window);
            estimated.push(position);
        }
        tx.commit().await.map_err(error("end EP116"))?;
        Ok(QueueStatusList { register_as_of: register.map(|r| r.as_of), person: Some(person), events, positions: estimated })
    }
}

impl PostgresStore {
    /// Counts the exits of every queue of register `version` into the cache, on a pooled
    /// connection in one snapshot: spawned when an answer first meets the version. Stops at
    /// once if another import has come since.
    async fn warm_exits(&self, version: i64) -> Result<(), StoreError> {
        let mut client = self.connection().await?;
        let tx = snapshot(&mut client, "count queue exits").await?;
        if register_version(&tx).await?.map(|r| r.seq) != Some(version) {
            return Ok(());
        }
        let what = "all queues";
        let queues = query(&tx, SQL_ALL_QUEUES, &[], what)
            .await?
            .iter()
            .map(|row| {
                let r = Cols { row, what };
                Ok((r.int(0)?, r.int(1)?))
            })
            .collect::<Result<Vec<QueueKey>, StoreError>>()?;
        for queue in queues {
            if self.exits.get(Some(version), queue).is_none() {
                let counted = count_exits(&tx, queue).await?;
                self.exits.keep(Some(version), queue, counted);
            }
        }
        tx.commit().await.map_err(error("end counting queue exits"))
    }

    async fn queue_statistics_unbounded(&self, q: QueueStatisticsQuery) -> Result<QueueStatistics, StoreError> {
        let mut client = self.connection().await?;
        let tx = snapshot(&mut client, "begin statistics").await?;
        let horizon = query(&tx, SQL_STATISTICS_HORIZON, &[], "statistics horizon").await?;
        let horizon = match horizon.first() {
            Some(row) => Month(i32::try_from(Cols { row, what: "statistics horizon" }.int(0)?).unwrap_or(q.till.0)),
            None => q.till,
        };
        let narrowing = [
            code_id(&tx, SQL_SERVICE_KIND_ID, q.service_kind_code.as_deref(), "statistics service kind").await?,
            code_id(&tx, SQL_PROVIDER_ID, q.provider_code.as_deref(), "statistics provider").await?,
            code_id(&tx, SQL_MUNICIPALITY_ID, q.municipality_code.as_deref(), "statistics municipality").await?,
        ];
        let by_municipality = i64::from(q.by_municipality || q.municipality_code.is_some());
        let mut rows = rows::StatisticsRows::new(q, horizon);
        let [Some(kind), Some(provider), Some(municipality)] = narrowing.map(Narrowing::id) else {
            return Ok(rows.finish());
        };
        let (from, till) = rows.months_to_read();
        let (from, till) = (i64::from(from.0), i64::from(till.0));
        let found = query(&tx, SQL_QUEUE_STATISTICS, &[&from, &till, &by_municipality, &kind, &provider, &municipality], "statistics").await?;
        for row in &found {
            rows.add(&Cols { row, what: "statistics" })?;
        }
        tx.commit().await.map_err(error("end statistics"))?;
        Ok(rows.finish())
    }
}

/// One queue's exits by month (`SQL_QUEUE_EXITS`).
async fn count_exits(tx: &deadpool_postgres::Transaction<'_>, queue: QueueKey) -> Result<MonthlyExits, StoreError> {
    let what = "EP116 queue exits";
    let mut counted = MonthlyExits::default();
    for row in query(tx, SQL_QUEUE_EXITS, &[&queue.0, &queue.1], what).await? {
        rows::add_exits(&mut counted, &Cols { row: &row, what })?;
    }
    Ok(counted)
}

/// One read-only snapshot for the whole answer.
async fn snapshot<'a>(
    client: &'a mut deadpool_postgres::Object,
    what: &'static str,
) -> Result<deadpool_postgres::Transaction<'a>, StoreError> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(error(what))
}

async fn query(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    what: &'static str,
) -> Result<Vec<Row>, StoreError> {
    let statement = tx.prepare_cached(sql).await.map_err(error(what))?;
    tx.query(&statement, params).await.map_err(error(what))
}

/// The newest import's sequence number and as-of time; `None` before the first import.
/// Pipelined with the person's look-up: no round trip of its own.
async fn register_version(tx: &deadpool_postgres::Transaction<'_>) -> Result<Option<rows::RegisterVersion>, StoreError> {
    let what = "register version";
    let rows = query(tx, SQL_REGISTER_VERSION, &[], what).await?;
    let Some(row) = rows.first() else { return Ok(None) };
    let cols = Cols { row, what };
    Ok(Some(rows::RegisterVersion { seq: cols.get(0)?, as_of: cols.get(1)? }))
}

/// The person's row id and name, or `None` when the register does not know the code.
async fn find_person(tx: &deadpool_postgres::Transaction<'_>, code: &PersonalCode) -> Result<Option<(i64, Person)>, StoreError> {
    let what = "person";
    let digits = code.digits();
    let rows = query(tx, SQL_PERSON, &[&digits], what).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    rows::person(&Cols { row, what }).map(Some)
}

async fn code_id(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    code: Option<&str>,
    what: &'static str,
) -> Result<Narrowing, StoreError> {
    let Some(code) = code else {
        return Ok(Narrowing::Any);
    };
    let rows = query(tx, sql, &[&code], what).await?;
    match rows.first() {
        None => Ok(Narrowing::Unknown),
        Some(row) => Ok(Narrowing::Id(Cols { row, what }.int(0)?)),
    }
}

/// The period as inclusive date bounds; an open end becomes the widest date. Clamped to the
/// four-digit years, as the SQLite store does, so both backends select the same rows.
fn period_bounds(period: &Period) -> (NaiveDate, NaiveDate) {
    let earliest = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    let latest = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    (
        period.from.map_or(earliest, |d| d.clamp(earliest, latest)),
        period.till.map_or(latest, |d| d.clamp(earliest, latest)),
    )
}


/// Typed access to the columns of one row, turning bad values into [`StoreError::Corrupt`].
struct Cols<'r> {
    row: &'r Row,
    what: &'static str,
}

impl Cols<'_> {
    fn get<'a, T: FromSql<'a>>(&'a self, i: usize) -> Result<T, StoreError> {
        self.row
            .try_get(i)
            .map_err(|_| StoreError::Corrupt(format!("{}: a value of the wrong type in column {i}", self.what)))
    }
}

impl rows::Columns for Cols<'_> {
    fn what(&self) -> &'static str {
        self.what
    }

    /// Ids and counts are BIGINT, the event kind INTEGER.
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.row.columns().get(i).map(|column| column.type_()) {
            Some(&Type::INT4) => self.get::<i32>(i).map(i64::from),
            _ => self.get::<i64>(i),
        }
    }

    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.get(i)
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.get(i)
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.row.columns().get(i).map(|column| column.type_()) {
            Some(&Type::INT4) => self.get::<Option<i32>>(i).map(|v| v.map(i64::from)),
            _ => self.get::<Option<i64>>(i),
        }
    }

    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
        self.get(i)
    }}

/// Maps a tokio-postgres error met while doing `what`: the register cannot be read.
pub(crate) fn error(what: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::Unavailable(format!("{what}: {}", describe(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_period_ends_are_the_widest_dates_postgresql_accepts() {
        let (from, till) = period_bounds(&Period::default());
        assert_eq!((from.to_string(), till.to_string()), ("0001-01-01".to_owned(), "9999-12-31".to_owned()));
    }
}
