//! The register store: answers EP115 and EP116 queries for one person, and
//! GetQueueStatistics from the aggregates the import keeps (`statistics`).
//!
//! One interface, one implementation per backend: the embedded SQLite store (the default)
//! and PostgreSQL (several instances on one database, optional read replica). Both run the
//! same statements (`sql`) and map rows to the same `model` types (`rows`), so the same
//! request gives the same answer on either; connections and migrations are the database
//! layer's (`crate::database`). Every query is driven by the index on the personal code, so
//! an answer costs the same on a register of ten persons or two million. Stores never see
//! XML or HTTP.
//!
//! - [`sqlite`], [`postgres`]: the register queries (EP115, EP116) on each backend.
//! - `exits`: each queue's exits by month, kept per register version, for the estimated waits.
//! - `shared_counters`: the MessageIDs and daily quotas several PostgreSQL instances share.
//! - [`import`]: the register copied from a SQLite file into PostgreSQL.

mod exits;
pub mod import;
pub mod postgres;
mod rows;
mod shared_counters;
mod sql;
pub mod sqlite;

use std::path::Path;

use crate::database::postgres::PostgresOptions;
use crate::database::DatabaseError;
use crate::model::{ApplicationList, ApplicationQuery, QueueStatistics, QueueStatisticsQuery, QueueStatusList, QueueStatusQuery};

/// The register's tables in an order that satisfies the foreign keys: the classifiers
/// (service kinds, providers, municipalities, client groups) first, then what refers to them.
pub(crate) const REGISTER_TABLES: [&str; 14] = [
    "service_kinds",
    "providers",
    "municipalities",
    "client_groups",
    "persons",
    "legal_representatives",
    "applications",
    "submitted_documents",
    "document_requests",
    "grant_decisions",
    "queue_decisions",
    "refusal_decisions",
    "queue_events",
    "queue_entries",
];

/// The tables that hold persons and their history, as opposed to the classifiers.
pub(crate) const PERSON_TABLES: &[&str] = REGISTER_TABLES.split_at(4).1;

/// Why the store could not answer. Never carries personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, reached or read.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The database holds something the schema does not allow (a bug or a bad import).
    #[error("store holds inconsistent data: {0}")]
    Corrupt(String),
}

impl From<DatabaseError> for StoreError {
    fn from(error: DatabaseError) -> Self {
        match error {
            DatabaseError::Unavailable(reason) => StoreError::Unavailable(reason),
        }
    }
}

/// What became of a call charged to the daily quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotaCharge {
    /// Charged to every quota in the database shared by the instances.
    Charged,
    /// Quota `i` of those asked for is used up; nothing stays charged.
    UsedUp(usize),
    /// This store shares no counters (SQLite): the process counts its quotas itself.
    KeptInProcess,
}

/// Whether a MessageID was seen before within the replay window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageIdCheck {
    /// First seen now, remembered in the database shared by the instances.
    First,
    /// Seen already and not yet expired: a replay.
    Replayed,
    /// This store shares no memory of MessageIDs (SQLite): the process keeps its own.
    KeptInProcess,
}

/// The store behind the services. An enum rather than a trait object: the set of backends is
/// closed and known, and async methods stay simple.
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PostgresStore),
}

impl Store {
    /// Opens (creating and migrating if needed) the embedded store in `data_dir`.
    pub fn open_sqlite(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(Store::Sqlite(sqlite::SqliteStore::open(&data_dir.join(sqlite::DATABASE_FILE))?))
    }

    /// Connects to PostgreSQL at `url` (the primary), applies pending migrations there and
    /// reads from `replica_url` when given. Blocks the calling thread while it migrates.
    pub fn open_postgres(url: &str, replica_url: Option<&str>, options: &PostgresOptions) -> Result<Self, StoreError> {
        Ok(Store::Postgres(postgres::PostgresStore::open(url, replica_url, options)?))
    }

    /// EP115: the person's applications submitted within the period, oldest first.
    pub async fn application_list(&self, query: ApplicationQuery) -> Result<ApplicationList, StoreError> {
        match self {
            Store::Sqlite(store) => store.application_list(query).await,
            Store::Postgres(store) => store.application_list(query).await,
        }
    }

    /// EP116: the person's queue events within the period (oldest first) and current positions.
    pub async fn queue_status_list(&self, query: QueueStatusQuery) -> Result<QueueStatusList, StoreError> {
        match self {
            Store::Sqlite(store) => store.queue_status_list(query).await,
            Store::Postgres(store) => store.queue_status_list(query).await,
        }
    }

    /// GetQueueStatistics: the stored monthly cells of the period, no person's rows.
    pub async fn queue_statistics(&self, query: QueueStatisticsQuery) -> Result<QueueStatistics, StoreError> {
        match self {
            Store::Sqlite(store) => store.queue_statistics(query).await,
            Store::Postgres(store) => store.queue_statistics(query).await,
        }
    }

    /// Remembers `message_id` from `consumer` for `window` in the memory every instance on
    /// this store shares (PostgreSQL); on SQLite the one instance keeps it in its own
    /// process (`wssec::ReplayCache`).
    pub(crate) async fn remember_message_id(&self, consumer: &str, message_id: &str, window: std::time::Duration) -> Result<MessageIdCheck, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(MessageIdCheck::KeptInProcess),
            Store::Postgres(store) => Ok(match store.counters.remember_message_id(consumer, message_id, window).await? {
                true => MessageIdCheck::First,
                false => MessageIdCheck::Replayed,
            }),
        }
    }

    /// Charges one call to each of `quotas` (subject, calls allowed per day) in the counts
    /// every instance on this store shares (PostgreSQL); on SQLite the one instance counts
    /// them in memory (`quotas::Quotas`).
    pub(crate) async fn charge_daily_quotas(&self, quotas: &[(&str, u32)], day: chrono::NaiveDate) -> Result<QuotaCharge, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(QuotaCharge::KeptInProcess),
            Store::Postgres(store) => Ok(match store.counters.charge_daily_quotas(quotas, day).await? {
                None => QuotaCharge::Charged,
                Some(used_up) => QuotaCharge::UsedUp(used_up),
            }),
        }
    }

    /// Whether the store is shared by several instances (PostgreSQL): the replay window and
    /// the daily quotas are then kept in it.
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// The register's as-of time — the `AsOf` of its last import — or `None` for a register
    /// never imported (for `/metrics` and `/ready`).
    pub async fn register_as_of(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        match self {
            Store::Sqlite(store) => store.register_as_of().await,
            Store::Postgres(store) => store.register_as_of().await,
        }
    }

    /// Whether the store answers at all (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => store.ping().await,
            Store::Postgres(store) => store.ping().await,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
