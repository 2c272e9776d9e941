//! The counters every instance on one PostgreSQL database shares, on the primary (a replica
//! is read-only): the MessageIDs seen within the replay window (`seen_message_ids`) and the
//! calls charged to the daily quotas (`daily_quota_usage`). The SQLite store has none: its
//! one instance keeps both in memory (`wssec::ReplayCache`, `quotas::Quotas`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use deadpool_postgres::Pool;

use super::postgres::error;
use super::StoreError;
use crate::database::postgres::{build_pool, connection_config, describe, pool_error, PostgresOptions};

/// The shared counters' connections and sweeping. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub(crate) struct SharedCounters {
    /// A few connections to the primary.
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

impl SharedCounters {
    /// A small pool on the primary at `url`. The counters commit without waiting for the WAL
    /// flush: a crash may forget their last few milliseconds (as a restart forgets an
    /// in-memory count), and every call need not wait for an fsync of a counter.
    pub(crate) fn open(url: &str, options: &PostgresOptions) -> Result<Self, StoreError> {
        let mut config = connection_config(url, options)?;
        let relaxed = format!("{} -c synchronous_commit=off", config.get_options().unwrap_or_default());
        config.options(relaxed.trim());
        Ok(SharedCounters { primary: build_pool(config, options, 2)?, timeout: options.timeout, remembered: Arc::default() })
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
    pub(crate) async fn charge_daily_quotas(&self, quotas: &[(&str, u32)], day: NaiveDate) -> Result<Option<usize>, StoreError> {
        let what = "charge a daily quota";
        let work = async {
            let client = self.primary.get().await.map_err(|e| StoreError::from(pool_error(e)))?;
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
    pub(crate) async fn remember_message_id(&self, consumer: &str, message_id: &str, window: Duration) -> Result<bool, StoreError> {
        let what = "remember a MessageID";
        let work = async {
            let client = self.primary.get().await.map_err(|e| StoreError::from(pool_error(e)))?;
            let statement = client.prepare_cached(SQL_REMEMBER_MESSAGE_ID).await.map_err(error(what))?;
            let rows = client.query(&statement, &[&consumer, &message_id, &window.as_secs_f64()]).await.map_err(error(what))?;
            if self.remembered.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
                client.execute(SQL_SWEEP_MESSAGE_IDS, &[]).await.map_err(error("sweep expired MessageIDs"))?;
            }
            Ok(!rows.is_empty())
        };
        tokio::time::timeout(self.timeout, work).await.map_err(|_| StoreError::Unavailable(format!("{what}: timed out")))?
    }
}
