//! The PostgreSQL store: the register in a shared database, read through a bounded pool, for
//! deployments with several adapter instances (and read replicas).
//!
//! Owns the PostgreSQL schema (`migrations/postgres/*.sql`, applied once each by [`migrate`]
//! at start-up, serialized between processes by an advisory lock), the connection settings
//! and timeouts, the pool of read connections (on the replica when one is configured) and
//! the SQL of EP115 and EP116 in PostgreSQL's dialect. The queries are those of the SQLite
//! store, index-driven in the same way; answers are built into the same `model` types, so
//! both backends give the same answer to the same request.
//!
//! Every answer runs in one `REPEATABLE READ READ ONLY` transaction (a consistent snapshot)
//! and as a whole within the configured timeout: when the database is down or does not
//! answer, the call fails with [`StoreError::Unavailable`] in bounded time, and the pool
//! replaces broken connections on the next call, so the service recovers without a restart.
//!
//! It must never put a personal code or a name into an error message or a log line: errors
//! name the query, the kind of failure and PostgreSQL's SQLSTATE, never a value.

use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls::ClientConfig;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, IsolationLevel, NoTls, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::rows::{self, Columns as _, Narrowing};
use super::sql::*;
use super::StoreError;
use crate::model::*;
use crate::personal_code::PersonalCode;

/// Whether a database URL names PostgreSQL (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Pool size, timeouts and TLS.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Most connections the read pool opens (per instance).
    pub max_connections: usize,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for one whole answer (waiting for a pooled connection included), and for one
    /// audit batch: past it the call fails with `StoreUnavailable` / `AuditUnavailable`.
    pub timeout: Duration,
    /// TLS to PostgreSQL (`[database] tls_ca`): every connection is encrypted, the server's
    /// certificate must chain to the configured CA and name the host of the URL, and a
    /// server that does not offer TLS is refused. `None`: plaintext, for a database on the
    /// same host or a network the operator vouches for.
    pub tls: Option<Arc<ClientConfig>>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions { max_connections: 16, connect_timeout: Duration::from_secs(5), timeout: Duration::from_secs(5), tls: None }
    }
}

/// One schema migration: applied once, in a transaction, in the order of [`MIGRATIONS`].
struct Migration {
    version: i64,
    sql: &'static str,
}

/// The schema of the register and the audit log, oldest first. Append new ones at the end.
const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../../migrations/postgres/0001_register.sql") },
    Migration { version: 2, sql: include_str!("../../migrations/postgres/0002_audit.sql") },
    Migration { version: 3, sql: include_str!("../../migrations/postgres/0003_seen_message_ids.sql") },
    Migration { version: 4, sql: include_str!("../../migrations/postgres/0004_daily_quota_usage.sql") },
    Migration { version: 5, sql: include_str!("../../migrations/postgres/0005_audit_prune_markers.sql") },
];

/// Key of the advisory lock that serializes migrations between processes starting at once.
const MIGRATION_LOCK: i64 = 0x5350_4f4c_4953_0001;

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    let reason = match e {
        deadpool_postgres::PoolError::Timeout(_) => "timed out".to_owned(),
        deadpool_postgres::PoolError::Backend(e) => describe(&e),
        _ => "the pool is closed".to_owned(),
    };
    StoreError::Unavailable(format!("no connection to PostgreSQL: {reason}"))
}

/// A pool of at most `size` connections made with `config`, created on demand, with our timeouts.
fn build_pool(config: tokio_postgres::Config, options: &PostgresOptions, size: usize) -> Result<Pool, StoreError> {
    let recycling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
    let manager = match &options.tls {
        Some(tls) => Manager::from_config(config, MakeRustlsConnect::new(ClientConfig::clone(tls)), recycling),
        None => Manager::from_config(config, NoTls, recycling),
    };
    Pool::builder(manager)
        .max_size(size.max(1))
        .wait_timeout(Some(options.timeout))
        .create_timeout(Some(options.connect_timeout))
        .recycle_timeout(Some(options.timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Unavailable(format!("cannot build the connection pool: {e}")))
}

/// The connection settings of `url`, with our timeouts and keepalives added. The URL may
/// carry a password: it is never logged and never part of an error message.
pub fn connection_config(url: &str, options: &PostgresOptions) -> Result<tokio_postgres::Config, StoreError> {
    let mut config = tokio_postgres::Config::from_str(url)
        .map_err(|_| StoreError::Unavailable("the database URL is not a valid PostgreSQL URL".into()))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.connect_timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("spolis-adapter");
    }
    if config.get_options().is_none() {
        // Not "relation … already exists, skipping" at every start.
        config.options("-c client_min_messages=warning");
    }
    // A dead peer is noticed by the kernel, not only by our timeouts.
    config.keepalives(true).keepalives_idle(Duration::from_secs(30));
    match (&options.tls, config.get_ssl_mode()) {
        (Some(_), SslMode::Disable) => {
            return Err(StoreError::Unavailable("the database URL says sslmode=disable, but [database] tls_ca asks for TLS".into()))
        }
        // With a CA configured, TLS is required, never merely preferred.
        (Some(_), _) => {
            config.ssl_mode(SslMode::Require);
        }
        (None, SslMode::Require) => {
            return Err(StoreError::Unavailable(
                "the database URL says sslmode=require: set [database] tls_ca to the CA that signed PostgreSQL's certificate".into(),
            ))
        }
        (None, _) => {}
    }
    Ok(config)
}

/// Whether connections to `url` would cross a network in plaintext: no TLS configured and a
/// host that is not this machine. The service then warns at start-up (personal data and the
/// audit log travel on that connection).
pub fn is_plaintext_over_network(url: &str, options: &PostgresOptions) -> bool {
    let Ok(config) = tokio_postgres::Config::from_str(url) else { return false };
    options.tls.is_none()
        && config.get_hosts().iter().any(|host| match host {
            Host::Tcp(name) => {
                name != "localhost" && !name.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback())
            }
            Host::Unix(_) => false,
        })
}

/// Opens one connection (not pooled: migrations, the audit writer, the CLI) and drives it
/// on the current runtime.
pub async fn connect(url: &str, options: &PostgresOptions) -> Result<Client, StoreError> {
    let config = connection_config(url, options)?;
    match &options.tls {
        Some(tls) => drive(config.connect(MakeRustlsConnect::new(ClientConfig::clone(tls))), options).await,
        None => drive(config.connect(NoTls), options).await,
    }
}

/// Waits (bounded) for a connection being made and drives it on the current runtime.
async fn drive<S, T>(
    connecting: impl Future<Output = Result<(Client, tokio_postgres::Connection<S, T>), tokio_postgres::Error>>,
    options: &PostgresOptions,
) -> Result<Client, StoreError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = tokio::time::timeout(options.connect_timeout, connecting)
        .await
        .map_err(|_| StoreError::Unavailable(format!("connecting to PostgreSQL timed out after {:?}", options.connect_timeout)))?
        .map_err(error("connect to PostgreSQL"))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(error = %describe(&error), "a PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// Runs `work` with a runtime of its own, on a thread of its own, and waits for it: for the
/// synchronous parts of start-up (migrations), the audit commands and scheduled pruning,
/// which may be called from inside another runtime. Blocks the calling thread.
pub fn on_own_runtime<T, F>(work: F) -> Result<T, StoreError>
where
    T: Send,
    F: FnOnce(&tokio::runtime::Runtime) -> Result<T, StoreError> + Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StoreError::Unavailable(format!("cannot start a runtime: {e}")))?;
                work(&runtime)
            })
            .join()
            .unwrap_or_else(|_| Err(StoreError::Unavailable("a database worker stopped unexpectedly".into())))
    })
}

/// [`on_own_runtime`] for one future.
pub fn block_on<T, F, Fut>(make: F) -> Result<T, StoreError>
where
    T: Send,
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = Result<T, StoreError>>,
{
    on_own_runtime(|runtime| runtime.block_on(make()))
}

fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies every migration not yet recorded in `schema_migrations`, all under one advisory
/// lock so that several instances starting together apply each exactly once. Refuses a
/// database migrated by a newer program.
pub async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let what = "migrate";
    let tx = client.transaction().await.map_err(error(what))?;
    // First the lock, then even the bookkeeping table: DDL is transactional here, and two
    // first starts at once must not both create it.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(error(what))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(error(what))?;
    let newest: Option<i64> =
        tx.query_one(SQL_SCHEMA_VERSION, &[]).await.map_err(error(what))?.try_get(0).map_err(error(what))?;
    if newest.is_some_and(|v| v > latest_version()) {
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {} but this program knows only up to {}",
            newest.unwrap_or_default(),
            latest_version()
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| newest.is_none_or(|v| m.version > v)) {
        tx.batch_execute(migration.sql)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration {} failed: {}", migration.version, describe(&e))))?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&migration.version])
            .await
            .map_err(error(what))?;
    }
    tx.commit().await.map_err(error(what))
}

/// The register store on PostgreSQL. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    /// Read connections: to the replica when one is configured, else to the primary.
    pool: Pool,
    /// A few connections to the primary, for the shared MessageID memory (a replica is read-only).
    primary: Pool,
    timeout: Duration,
    /// Calls that wrote to the shared tables, to sweep expired rows every so often.
    remembered: Arc<AtomicU64>,
}

/// Expired MessageIDs and past days' quotas are swept after every this many writes.
const SWEEP_EVERY: u64 = 1024;

const SQL_REMEMBER_MESSAGE_ID: &str = "\
INSERT INTO seen_message_ids (consumer_id, message_id, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))
ON CONFLICT (consumer_id, message_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE seen_message_ids.expires_at <= now()
RETURNING 1";

const SQL_SWEEP_MESSAGE_IDS: &str = "DELETE FROM seen_message_ids WHERE expires_at <= now()";

/// One more call of $1 on day $2, unless it has had $3 already: no row comes back then.
const SQL_CHARGE_DAILY_QUOTA: &str = "\
INSERT INTO daily_quota_usage (subject, day, calls) VALUES ($1, $2, 1)
ON CONFLICT (subject, day) DO UPDATE SET calls = daily_quota_usage.calls + 1
    WHERE daily_quota_usage.calls < $3
RETURNING calls";

const SQL_UNCHARGE_DAILY_QUOTA: &str = "UPDATE daily_quota_usage SET calls = calls - 1 WHERE subject = $1 AND day = $2";

const SQL_SWEEP_DAILY_QUOTAS: &str = "DELETE FROM daily_quota_usage WHERE day < $1";

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
                .map_err(|_| StoreError::Unavailable("migrating the database timed out".into()))?
        })?;
        let pool = build_pool(connection_config(replica_url.unwrap_or(url), options)?, options, options.max_connections)?;
        // The shared MessageIDs and quota counts commit without waiting for the WAL flush: a
        // crash may forget their last few milliseconds (as a restart forgets an in-memory
        // count), and every call need not wait for an fsync of a counter.
        let mut shared = connection_config(url, options)?;
        let relaxed = format!("{} -c synchronous_commit=off", shared.get_options().unwrap_or_default());
        shared.options(relaxed.trim());
        let primary = build_pool(shared, options, 2)?;
        Ok(PostgresStore { pool, primary, timeout: options.timeout, remembered: Arc::default() })
    }

    /// Charges one call on `day` to each of `quotas` (subject, calls allowed per day), all or
    /// none, on the primary for every instance on this database. `Some(i)` when quota `i` is
    /// used up; whatever was charged for the call is then taken back.
    ///
    /// The charges are single statements, pipelined on one connection: one round trip, and
    /// each subject's row is locked only for its own statement. (One transaction around them
    /// held a consumer's row across four round trips, serializing all of its calls: a third
    /// of the throughput on PostgreSQL, BENCHMARKS.md.) Between a charge and its taking back
    /// another call may see the count one higher, so at the very limit it errs on refusing.
    pub async fn charge_daily_quotas(&self, quotas: &[(&str, u32)], day: NaiveDate) -> Result<Option<usize>, StoreError> {
        let what = "charge a daily quota";
        let work = async {
            let client = self.primary.get().await.map_err(pool_error)?;
            let charge = client.prepare_cached(SQL_CHARGE_DAILY_QUOTA).await.map_err(error(what))?;
            let limits: Vec<i64> = quotas.iter().map(|(_, per_day)| i64::from(*per_day)).collect();
            let params: Vec<[&(dyn tokio_postgres::types::ToSql + Sync); 3]> =
                quotas.iter().zip(&limits).map(|((subject, _), per_day)| [subject as _, &day as _, per_day as _]).collect();
            let charged = futures_util::future::join_all(params.iter().map(|params| client.query(&charge, params))).await;
            let refused = charged.iter().position(|rows| rows.as_ref().is_ok_and(Vec::is_empty));
            let failed = charged.iter().find_map(|rows| rows.as_ref().err().map(|e| StoreError::Unavailable(format!("{what}: {}", describe(e)))));
            if refused.is_some() || failed.is_some() {
                for ((subject, _), rows) in quotas.iter().zip(&charged) {
                    if rows.as_ref().is_ok_and(|rows| !rows.is_empty()) {
                        client.execute(SQL_UNCHARGE_DAILY_QUOTA, &[subject, &day]).await.map_err(error("take back a daily quota charge"))?;
                    }
                }
            }
            if let Some(failure) = failed {
                return Err(failure);
            }
            if refused.is_none() && self.remembered.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
                let yesterday = day.pred_opt().unwrap_or(day);
                client.execute(SQL_SWEEP_DAILY_QUOTAS, &[&yesterday]).await.map_err(error("sweep past daily quotas"))?;
            }
            Ok(refused)
        };
        tokio::time::timeout(self.timeout, work).await.map_err(|_| StoreError::Unavailable(format!("{what}: timed out")))?
    }

    /// Remembers `message_id` from `consumer` for `window` on the primary, for every instance
    /// on this database; `false` when it was already remembered and has not expired (a
    /// replay). One statement, so two instances receiving the same id at once cannot both
    /// take it: the primary key decides.
    pub async fn remember_message_id(&self, consumer: &str, message_id: &str, window: Duration) -> Result<bool, StoreError> {
        let what = "remember a MessageID";
        let work = async {
            let client = self.primary.get().await.map_err(pool_error)?;
            let statement = client.prepare_cached(SQL_REMEMBER_MESSAGE_ID).await.map_err(error(what))?;
            let rows = client.query(&statement, &[&consumer, &message_id, &window.as_secs_f64()]).await.map_err(error(what))?;
            if self.remembered.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
                client.execute(SQL_SWEEP_MESSAGE_IDS, &[]).await.map_err(error("sweep expired MessageIDs"))?;
            }
            Ok(!rows.is_empty())
        };
        tokio::time::timeout(self.timeout, work).await.map_err(|_| StoreError::Unavailable(format!("{what}: timed out")))?
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

    /// How many persons the register holds (start-up messages, the CLI).
    pub async fn person_count(&self) -> Result<u64, StoreError> {
        self.bounded("person count", async {
            let client = self.connection().await?;
            let count: i64 = client
                .query_one("SELECT count(*) FROM persons", &[])
                .await
                .map_err(error("person count"))?
                .try_get(0)
                .map_err(error("person count"))?;
            Ok(u64::try_from(count).unwrap_or(0))
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
        self.pool.get().await.map_err(pool_error)
    }

    async fn application_list_unbounded(&self, q: ApplicationQuery) -> Result<ApplicationList, StoreError> {
        let mut client = self.connection().await?;
        let tx = snapshot(&mut client, "begin EP115").await?;
        let Some((person_id, person)) = find_person(&tx, &q.person_code).await? else {
            return Ok(ApplicationList { person: None, applications: Vec::new() });
        };
        let (from, till) = period_bounds(&q.period);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&person_id, &from, &till];

        let mut applications = rows::Applications::default();
        let what = "EP115 applications";
        for row in query(&tx, SQL_APPLICATIONS, &params, what).await? {
            applications.add(&Cols { row: &row, what }, &person)?;
        }
        if !applications.is_empty() {
            // The four child queries are pipelined on the one connection: one round trip.
            let (documents, requests, grants, queue_decisions) = futures_util::future::try_join4(
                query(&tx, SQL_DOCUMENTS, &params, "EP115 documents"),
                query(&tx, SQL_DOCUMENT_REQUESTS, &params, "EP115 document requests"),
                query(&tx, SQL_GRANT_DECISIONS, &params, "EP115 grant decisions"),
                query(&tx, SQL_QUEUE_DECISIONS, &params, "EP115 queue decisions"),
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
        }
        tx.commit().await.map_err(error("end EP115"))?;
        Ok(ApplicationList { person: Some(person), applications: applications.into_vec() })
    }

    async fn queue_status_list_unbounded(&self, q: QueueStatusQuery) -> Result<QueueStatusList, StoreError> {
        let mut client = self.connection().await?;
        let tx = snapshot(&mut client, "begin EP116").await?;
        let Some((person_id, person)) = find_person(&tx, &q.person_code).await? else {
            return Ok(QueueStatusList { person: None, events: Vec::new(), positions: Vec::new() });
        };
        let nothing = |person| Ok(QueueStatusList { person: Some(person), events: Vec::new(), positions: Vec::new() });
        // A code the register does not know narrows to nothing.
        let service_kind_id = match code_id(&tx, SQL_SERVICE_KIND_ID, q.service_kind_code.as_deref(), "EP116 service kind").await? {
            Narrowing::Unknown => return nothing(person),
            Narrowing::Any => None,
            Narrowing::Id(id) => Some(id),
        };
        let provider_id = match code_id(&tx, SQL_PROVIDER_ID, q.provider_code.as_deref(), "EP116 provider").await? {
            Narrowing::Unknown => return nothing(person),
            Narrowing::Any => None,
            Narrowing::Id(id) => Some(id),
        };
        let (from, till) = period_bounds(&q.period);

        // Events and positions are pipelined on the one connection: one round trip.
        let (event_rows, position_rows) = futures_util::future::try_join(
            query(&tx, SQL_QUEUE_EVENTS, &[&person_id, &from, &till, &service_kind_id, &provider_id], "EP116 queue events"),
            query(&tx, SQL_QUEUE_POSITIONS, &[&person_id, &service_kind_id, &provider_id], "EP116 queue positions"),
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
        tx.commit().await.map_err(error("end EP116"))?;
        Ok(QueueStatusList { person: Some(person), events, positions })
    }
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

    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
        self.get(i)
    }
}

/// Maps a tokio-postgres error met while doing `what`: the register cannot be read.
pub fn error(what: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::Unavailable(format!("{what}: {}", describe(&e)))
}

/// PostgreSQL's reason for a failure without any value: the SQLSTATE, and the message only
/// for classes whose messages name objects rather than data (not 22 data exceptions, not 23
/// constraint violations, whose texts may quote a value).
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code.starts_with("22") || code.starts_with("23") {
            return format!("database error SQLSTATE {code}");
        }
        return format!("{} (SQLSTATE {code})", db.message());
    }
    if e.is_closed() {
        return "the connection to PostgreSQL is closed".to_owned();
    }
    // Connection and protocol errors: "error connecting to server: Connection refused …".
    let mut text = e.to_string();
    if let Some(source) = std::error::Error::source(e) {
        if !text.contains(&source.to_string()) {
            text = format!("{text}: {source}");
        }
    }
    text
}

// ---------------------------------------------------------------------------------------
// Import: the register copied from a SQLite file (the demo seeder, migrations of data).

/// Migrates the PostgreSQL database at `url` and copies the SQLite register at
/// `sqlite_path` into it (see [`import_from_sqlite`]). Blocks the calling thread.
pub fn import_sqlite_register(url: &str, options: &PostgresOptions, sqlite_path: &Path) -> Result<u64, StoreError> {
    block_on(|| async {
        let mut client = connect(url, options).await?;
        migrate(&mut client).await?;
        import_from_sqlite(&mut client, sqlite_path).await
    })
}

/// Whether the PostgreSQL register at `url` holds persons (migrating it first if needed).
/// Blocks the calling thread.
pub fn holds_persons(url: &str, options: &PostgresOptions) -> Result<bool, StoreError> {
    block_on(|| async {
        let mut client = connect(url, options).await?;
        migrate(&mut client).await?;
        let what = "check the register is empty";
        client
            .query_one("SELECT EXISTS (SELECT 1 FROM persons)", &[])
            .await
            .map_err(error(what))?
            .try_get(0)
            .map_err(error(what))
    })
}


/// Copies every register row of the SQLite register at `sqlite_path` into the (migrated,
/// empty) PostgreSQL register, with the same ids and text, in one transaction (`COPY`).
/// Refuses a register that already holds persons. Returns the rows copied.
pub async fn import_from_sqlite(client: &mut Client, sqlite_path: &Path) -> Result<u64, StoreError> {
    use futures_util::SinkExt;

    let what = "import";
    let source = rusqlite::Connection::open_with_flags(sqlite_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(super::sqlite::error("import: open the SQLite register"))?;
    let tx = client.transaction().await.map_err(error(what))?;
    let holds_persons: bool =
        tx.query_one("SELECT EXISTS (SELECT 1 FROM persons)", &[]).await.map_err(error(what))?.try_get(0).map_err(error(what))?;
    if holds_persons {
        return Err(StoreError::Unavailable("import: the PostgreSQL register already holds persons".into()));
    }
    let mut rows = 0u64;
    for table in super::REGISTER_TABLES {
        let sink = tx.copy_in(&format!("COPY {table} FROM STDIN")).await.map_err(error(what))?;
        futures_util::pin_mut!(sink);
        let mut statement = source
            .prepare(&format!("SELECT * FROM {table} ORDER BY id"))
            .map_err(super::sqlite::error("import: read the SQLite register"))?;
        let columns = statement.column_count();
        let mut buffer = Vec::with_capacity(1 << 20);
        let mut cursor = statement.query([]).map_err(super::sqlite::error("import: read the SQLite register"))?;
        while let Some(row) = cursor.next().map_err(super::sqlite::error("import: read the SQLite register"))? {
            for i in 0..columns {
                if i > 0 {
                    buffer.push(b'\t');
                }
                let value = row.get_ref(i).map_err(super::sqlite::error("import: read the SQLite register"))?;
                copy_text_value(&mut buffer, value);
            }
            buffer.push(b'\n');
            rows += 1;
            if buffer.len() >= 1 << 20 {
                sink.send(bytes::Bytes::from(std::mem::take(&mut buffer))).await.map_err(error(what))?;
            }
        }
        if !buffer.is_empty() {
            sink.send(bytes::Bytes::from(buffer)).await.map_err(error(what))?;
        }
        sink.finish().await.map_err(error(what))?;
    }
    tx.batch_execute("ANALYZE").await.map_err(error(what))?;
    tx.commit().await.map_err(error(what))?;
    Ok(rows)
}

/// One value in `COPY … FROM STDIN`'s text format: `\N` for NULL, text with backslash,
/// tab and line breaks escaped.
fn copy_text_value(out: &mut Vec<u8>, value: rusqlite::types::ValueRef<'_>) {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Real(f) => out.extend_from_slice(f.to_string().as_bytes()),
        ValueRef::Text(text) | ValueRef::Blob(text) => {
            for &byte in text {
                match byte {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    other => out.push(other),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// EP116's statements in PostgreSQL's dialect (booleans, typed NULL parameters); the others
// are shared with SQLite (`store::sql`).

/// $1 person id, $2 $3 the period, $4 service kind id or NULL, $5 provider id or NULL.
const SQL_QUEUE_EVENTS: &str = "\
SELECT e.kind, e.event_date, e.decision_number, sk.code, sk.name,
       pp.code, pp.name, op.code, op.name, coalesce(e.offered_address, op.address),
       e.granted_on, a.application_number
FROM queue_events e
JOIN service_kinds sk ON sk.id = e.service_kind_id
LEFT JOIN providers pp ON pp.id = e.preferred_provider_id
LEFT JOIN providers op ON op.id = e.offered_provider_id
LEFT JOIN applications a ON a.id = e.application_id
WHERE e.person_id = $1 AND e.event_date BETWEEN $2 AND $3
  AND ($4::bigint IS NULL OR e.service_kind_id = $4::bigint)
  AND ($5::bigint IS NULL OR e.preferred_provider_id = $5::bigint OR e.offered_provider_id = $5::bigint)
ORDER BY e.event_date, e.id";

/// $1 person id, $2 service kind id or NULL, $3 provider id or NULL.
const SQL_QUEUE_POSITIONS: &str = "\
SELECT sk.code, sk.name, p.code, p.name, e.queued_since,
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id
           AND o.active AND (o.queued_since, o.id) < (e.queued_since, e.id)),
       (SELECT count(*) FROM queue_entries o
         WHERE o.provider_id = e.provider_id AND o.service_kind_id = e.service_kind_id
           AND o.active)
FROM queue_entries e
JOIN service_kinds sk ON sk.id = e.service_kind_id
JOIN providers p ON p.id = e.provider_id
WHERE e.person_id = $1 AND e.active
  AND ($2::bigint IS NULL OR e.service_kind_id = $2::bigint)
  AND ($3::bigint IS NULL OR e.provider_id = $3::bigint)
ORDER BY e.queued_since, e.id";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_listed_in_ascending_order() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert_eq!(MIGRATIONS[0].version, 1);
    }

    #[test]
    fn urls_name_the_backend() {
        assert!(is_postgres_url("postgres://root@127.0.0.1/spolis"));
        assert!(is_postgres_url("postgresql://root@127.0.0.1/spolis"));
        assert!(!is_postgres_url("sqlite:data/demo"));
    }

    #[test]
    fn a_bad_url_is_refused_without_repeating_it() {
        let err = connection_config("postgres://user:s3cret@[bad", &PostgresOptions::default()).unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn copy_values_are_escaped() {
        let mut out = Vec::new();
        copy_text_value(&mut out, rusqlite::types::ValueRef::Text(b"a\tb\\c\nd"));
        out.push(b'|');
        copy_text_value(&mut out, rusqlite::types::ValueRef::Null);
        assert_eq!(out, b"a\\tb\\\\c\\nd|\\N");
    }

    #[test]
    fn open_period_ends_are_the_widest_dates_postgresql_accepts() {
        let (from, till) = period_bounds(&Period::default());
        assert_eq!((from.to_string(), till.to_string()), ("0001-01-01".to_owned(), "9999-12-31".to_owned()));
    }
}
