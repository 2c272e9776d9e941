//! No mass copying: per-consumer and per-operator rate limits (calls per minute, a token
//! bucket) and daily quotas (calls per UTC day), enforced in the pipeline after a request
//! is judged well-formed and before the store is read.
//!
//! - **Owns:** the `[quotas]` configuration and the in-memory counters.
//! - **Input → output:** (consumer id, operator's personal code, now) → admitted, or a
//!   `RateLimited` / `QuotaExceeded` refusal.
//! - **Never:** keeps an operator's personal code: operators are counted under a SHA-256 of
//!   it. Minute buckets are per instance and start full at restart (documented in README).
//!   Daily quotas are counted here too on the embedded store; on PostgreSQL, where several
//!   instances serve one address, they are counted in the database for all of them
//!   ([`Quotas::shared_daily`], `store::postgres`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use chrono::NaiveDate;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, ServiceError};

/// `[quotas]`: limits per consumer and per operator; 0 switches one off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    /// Calls per minute of one consumer (all its operators together); bursts up to this.
    pub consumer_per_minute: u32,
    /// Calls per UTC day of one consumer.
    pub consumer_per_day: u32,
    /// Calls per minute of one operator (social worker) of a consumer.
    pub operator_per_minute: u32,
    /// Calls per UTC day of one operator.
    pub operator_per_day: u32,
}

impl Default for QuotaConfig {
    /// A social worker looks up a few persons an hour, a municipality's system a few
    /// thousand a day: the defaults leave ample room for that and none for copying the
    /// register.
    fn default() -> Self {
        QuotaConfig { consumer_per_minute: 600, consumer_per_day: 50_000, operator_per_minute: 30, operator_per_day: 1_000 }
    }
}

impl QuotaConfig {
    /// Every limit switched off.
    pub fn off() -> QuotaConfig {
        QuotaConfig { consumer_per_minute: 0, consumer_per_day: 0, operator_per_minute: 0, operator_per_day: 0 }
    }
}

/// Counters above this many are pruned of idle ones, so memory stays bounded.
const PRUNE_ABOVE: usize = 100_000;

/// The counters of all consumers and operators.
#[derive(Debug)]
pub struct Quotas {
    config: QuotaConfig,
    counters: Mutex<HashMap<Key, Counter>>,
    /// Daily quotas are counted by the shared store, not here.
    daily_shared: bool,
}

/// A call judged within the in-memory limits and not yet charged to them: it is charged
/// only once every other limit (the shared daily quotas) has admitted it too.
#[must_use]
pub struct Admission<'q> {
    quotas: &'q Quotas,
    keys: Vec<(Key, u32)>,
}

/// One daily quota counted in the shared store: its subject (never a personal code) and limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedDailyQuota {
    /// `consumer:<id>` or `operator:<consumer id>:<hex SHA-256 of the code>`.
    pub subject: String,
    pub per_day: u32,
    whose: &'static str,
}

impl SharedDailyQuota {
    /// The refusal of a call beyond this quota.
    pub fn refusal(&self) -> ServiceError {
        quota_exceeded(self.whose, self.per_day)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Consumer(String),
    /// Consumer id and SHA-256 of the operator's canonical personal code.
    Operator(String, [u8; 32]),
}

#[derive(Debug, Clone)]
struct Counter {
    /// Tokens left in the minute bucket, and when it was last refilled.
    tokens: f64,
    refilled: Instant,
    day: NaiveDate,
    calls_today: u32,
}

impl Quotas {
    /// Counters kept here for every limit.
    pub fn new(config: QuotaConfig) -> Quotas {
        Quotas { config, counters: Mutex::new(HashMap::new()), daily_shared: false }
    }

    /// Minute buckets kept here; the daily quotas left to a store all instances share.
    pub fn with_shared_daily(config: QuotaConfig) -> Quotas {
        Quotas { daily_shared: true, ..Quotas::new(config) }
    }

    /// Admits one call of `consumer` by `operator` (canonical personal code, if known), or
    /// refuses it. `now` and `today` are passed in so tests need not wait.
    pub fn admit(&self, consumer: &str, operator: Option<&str>, now: Instant, today: NaiveDate) -> Result<(), ServiceError> {
        self.judge(consumer, operator, now, today).map(Admission::charge)
    }

    /// Judges one call against the limits counted here without charging it; charge the
    /// admission once every other limit has admitted the call too.
    pub fn judge(&self, consumer: &str, operator: Option<&str>, now: Instant, today: NaiveDate) -> Result<Admission<'_>, ServiceError> {
        let mut counters = self.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if counters.len() > PRUNE_ABOVE {
            counters.retain(|_, counter| counter.day == today && now.saturating_duration_since(counter.refilled).as_secs() < 60);
        }
        let per_day = |limit: u32| if self.daily_shared { 0 } else { limit };
        let mut keys = vec![(Key::Consumer(consumer.to_string()), self.config.consumer_per_minute, per_day(self.config.consumer_per_day), "consumer")];
        if let Some(operator) = operator {
            let key = Key::Operator(consumer.to_string(), Sha256::digest(operator.as_bytes()).into());
            keys.push((key, self.config.operator_per_minute, per_day(self.config.operator_per_day), "operator"));
        }
        // All counters are judged before any is charged: a call refused for the operator does
        // not use up the consumer's allowance, nor the other way round.
        for (key, per_minute, per_day, whose) in &keys {
            let counter = counters.entry(key.clone()).or_insert(Counter { tokens: f64::from(*per_minute), refilled: now, day: today, calls_today: 0 });
            judge(counter, *per_minute, *per_day, now, today, whose)?;
        }
        Ok(Admission { quotas: self, keys: keys.into_iter().map(|(key, per_minute, _, _)| (key, per_minute)).collect() })
    }

    /// The daily quotas the shared store must count for this call (none when they are
    /// counted here, or switched off).
    pub fn shared_daily(&self, consumer: &str, operator: Option<&str>) -> Vec<SharedDailyQuota> {
        if !self.daily_shared {
            return Vec::new();
        }
        let mut quotas = vec![SharedDailyQuota { subject: format!("consumer:{consumer}"), per_day: self.config.consumer_per_day, whose: "consumer" }];
        if let Some(operator) = operator {
            let hash = hex::encode(Sha256::digest(operator.as_bytes()));
            quotas.push(SharedDailyQuota { subject: format!("operator:{consumer}:{hash}"), per_day: self.config.operator_per_day, whose: "operator" });
        }
        quotas.retain(|quota| quota.per_day > 0);
        quotas
    }
}

impl Admission<'_> {
    /// Charges the call to the counters it was judged against.
    pub fn charge(self) {
        let mut counters = self.quotas.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (key, per_minute) in &self.keys {
            if let Some(counter) = counters.get_mut(key) {
                if *per_minute > 0 {
                    counter.tokens -= 1.0;
                }
                counter.calls_today += 1;
            }
        }
    }
}

fn quota_exceeded(whose: &str, per_day: u32) -> ServiceError {
    ServiceError::with_detail(ErrorCode::QuotaExceeded, format!("The {whose} quota is {per_day} calls per day."))
}

/// Brings a counter up to `now` and says whether one more call fits.
fn judge(counter: &mut Counter, per_minute: u32, per_day: u32, now: Instant, today: NaiveDate, whose: &str) -> Result<(), ServiceError> {
    if counter.day != today {
        counter.day = today;
        counter.calls_today = 0;
    }
    if per_minute > 0 {
        let elapsed = now.saturating_duration_since(counter.refilled).as_secs_f64();
        counter.tokens = (counter.tokens + elapsed * f64::from(per_minute) / 60.0).min(f64::from(per_minute));
        counter.refilled = now;
        if counter.tokens < 1.0 {
            return Err(ServiceError::with_detail(ErrorCode::RateLimited, format!("The {whose} limit is {per_minute} calls per minute.")));
        }
    }
    if per_day > 0 && counter.calls_today >= per_day {
        return Err(quota_exceeded(whose, per_day));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn the_operator_rate_refills_over_the_minute() {
        let quotas = Quotas::new(QuotaConfig { operator_per_minute: 3, ..Default::default() });
        let start = Instant::now();
        for _ in 0..3 {
            quotas.admit("riga", Some("120379-10015"), start, day(1)).unwrap();
        }
        assert_eq!(quotas.admit("riga", Some("120379-10015"), start, day(1)).unwrap_err().code, ErrorCode::RateLimited);
        // Another operator of the same consumer is counted apart.
        quotas.admit("riga", Some("010101-10000"), start, day(1)).unwrap();
        // One token back every 20 s.
        assert!(quotas.admit("riga", Some("120379-10015"), start + Duration::from_secs(10), day(1)).is_err());
        quotas.admit("riga", Some("120379-10015"), start + Duration::from_secs(21), day(1)).unwrap();
    }

    #[test]
    fn the_daily_quota_resets_with_the_utc_day() {
        let quotas = Quotas::new(QuotaConfig { consumer_per_day: 2, consumer_per_minute: 0, ..Default::default() });
        let now = Instant::now();
        quotas.admit("riga", None, now, day(1)).unwrap();
        quotas.admit("riga", None, now, day(1)).unwrap();
        assert_eq!(quotas.admit("riga", None, now, day(1)).unwrap_err().code, ErrorCode::QuotaExceeded);
        quotas.admit("talsi", None, now, day(1)).unwrap();
        quotas.admit("riga", None, now, day(2)).unwrap();
    }

    #[test]
    fn a_call_refused_for_the_operator_does_not_use_up_the_consumer() {
        let quotas = Quotas::new(QuotaConfig { consumer_per_day: 2, consumer_per_minute: 0, operator_per_minute: 1, operator_per_day: 0 });
        let now = Instant::now();
        quotas.admit("riga", Some("a"), now, day(1)).unwrap();
        assert_eq!(quotas.admit("riga", Some("a"), now, day(1)).unwrap_err().code, ErrorCode::RateLimited);
        quotas.admit("riga", Some("b"), now, day(1)).unwrap();
        assert_eq!(quotas.admit("riga", Some("c"), now, day(1)).unwrap_err().code, ErrorCode::QuotaExceeded);
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let quotas = Quotas::new(QuotaConfig { consumer_per_minute: 0, consumer_per_day: 0, operator_per_minute: 0, operator_per_day: 0 });
        let now = Instant::now();
        for _ in 0..10_000 {
            quotas.admit("riga", Some("120379-10015"), now, day(1)).unwrap();
        }
    }

    #[test]
    fn shared_daily_quotas_are_left_to_the_store_and_name_no_personal_code() {
        let config = QuotaConfig { consumer_per_minute: 0, consumer_per_day: 1, operator_per_minute: 2, operator_per_day: 1 };
        let quotas = Quotas::with_shared_daily(config.clone());
        let now = Instant::now();
        // The day is not counted here…
        quotas.admit("riga", Some("120379-10015"), now, day(1)).unwrap();
        quotas.admit("riga", Some("120379-10015"), now, day(1)).unwrap();
        // …but the minute still is.
        assert_eq!(quotas.admit("riga", Some("120379-10015"), now, day(1)).unwrap_err().code, ErrorCode::RateLimited);
        let shared = quotas.shared_daily("riga", Some("120379-10015"));
        assert_eq!(shared.iter().map(|q| (q.subject.split(':').next().unwrap(), q.per_day)).collect::<Vec<_>>(), [("consumer", 1), ("operator", 1)]);
        assert!(shared.iter().all(|q| !q.subject.contains("120379")), "{shared:?}");
        assert_eq!(shared[1].refusal().code, ErrorCode::QuotaExceeded);
        // Counted here, nothing is left to a store; a limit of 0 is never charged anywhere.
        assert!(Quotas::new(config).shared_daily("riga", None).is_empty());
        assert!(Quotas::with_shared_daily(QuotaConfig::off()).shared_daily("riga", Some("x")).is_empty());
    }

    #[test]
    fn a_judged_call_is_charged_only_when_admitted_everywhere() {
        let quotas = Quotas::new(QuotaConfig { consumer_per_minute: 1, consumer_per_day: 0, operator_per_minute: 0, operator_per_day: 0 });
        let now = Instant::now();
        drop(quotas.judge("riga", None, now, day(1)).unwrap());
        // Not charged: still admitted.
        quotas.judge("riga", None, now, day(1)).unwrap().charge();
        assert_eq!(quotas.admit("riga", None, now, day(1)).unwrap_err().code, ErrorCode::RateLimited);
    }
}
