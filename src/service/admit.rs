//! Stage four, the last gate before the store is read: the consumer's and the operator's
//! rate limits and daily quotas, then no replay key may have been seen. Only a request that
//! is otherwise acceptable uses its keys up: one refused for its content may be corrected and
//! sent again with the same MessageID.

use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::error::{ErrorCode, ServiceError};
use crate::identity::Consumer;
use crate::soap::payload::Operator;
use crate::store::{MessageIdCheck, QuotaCharge, StoreError};
use crate::soap::replay;

use super::secure::ReplayKey;
use super::Services;

impl Services {
    /// On PostgreSQL the daily quotas and the replay keys are kept in the database, for every
    /// instance on it; if that cannot be done the call fails closed (`StoreUnavailable`), as
    /// it would at the store a moment later. The in-memory minute buckets are charged only
    /// once the shared quotas have admitted the call.
    pub(super) async fn admit(&self, consumer: &Consumer, operator: &Operator, replay_keys: &[ReplayKey], now: DateTime<Utc>) -> Result<(), ServiceError> {
        // The canonical form (digits only) the quotas are keyed by. A consumer registered
        // for bulk requests has one person preparing its batches: the per-operator limits
        // would stop the batch, so only the consumer's own apply.
        let operator = operator.person_code.digits().to_string();
        let operator = (!consumer.makes_bulk_requests()).then_some(operator.as_str());
        let consumer = consumer.id.as_str();
        let today = now.date_naive();
        let admission = self.quotas.judge(consumer, operator, Instant::now(), today)?;
        let shared = self.quotas.shared_daily(consumer, operator);
        if !shared.is_empty() {
            let charges: Vec<(&str, u32)> = shared.iter().map(|quota| (quota.subject.as_str(), quota.per_day)).collect();
            if let QuotaCharge::UsedUp(used_up) = self.store.charge_daily_quotas(&charges, today).await.map_err(store_failure)? {
                return Err(shared[used_up].refusal());
            }
        }
        admission.charge();
        if self.security.replays.window().is_zero() {
            return Ok(());
        }
        for ReplayKey { key, window } in replay_keys {
            match self.store.remember_message_id(consumer, key, *window).await.map_err(store_failure)? {
                MessageIdCheck::First => {}
                MessageIdCheck::Replayed => return Err(replay::replayed(*window)),
                MessageIdCheck::KeptInProcess => self.security.replays.check_and_remember_for(consumer, key, *window, Instant::now())?,
            }
        }
        Ok(())
    }
}

/// A store failure becomes `StoreUnavailable` (retry may help) or `InternalError` (it will
/// not); the cause is logged here, without personal data, and not shown to the caller.
pub(crate) fn store_failure(error: StoreError) -> ServiceError {
    tracing::error!(%error, "store failure");
    match error {
        StoreError::Unavailable(_) => ServiceError::new(ErrorCode::StoreUnavailable),
        StoreError::Corrupt(_) => ServiceError::new(ErrorCode::InternalError),
    }
}
