//! No mass copying: per-consumer and per-operator rate limits (calls per minute, a token
//! bucket) and daily quotas (calls per UTC day), enforced in the pipeline after a request
//! is judged well-formed and before the store is read.
//!
//! - **Owns:** the `[quotas]` configuration and the in-memory counters.
//! - **Input → output:** (consumer id, operator's personal code, now) → admitted, or a
//!   `RateLimited` / `QuotaExceeded` refusal.
//! - **Never:** keeps an operator's personal code: operators are counted under a SHA-256 of
//!   it. Counters are per instance and start from zero at restart (documented in README).

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
    pub fn new(config: QuotaConfig) -> Quotas {
        Quotas { config, counters: Mutex::new(HashMap::new()) }
    }

    /// Admits one call of `consumer` by `operator` (canonical personal code, if known), or
    /// refuses it. `now` and `today` are passed in so tests need not wait.
    pub fn admit(&self, consumer: &str, operator: Option<&str>, now: Instant, today: NaiveDate) -> Result<(), ServiceError> {
        let mut counters = self.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if counters.len() > PRUNE_ABOVE {
            counters.retain(|_, counter| counter.day == today && now.saturating_duration_since(counter.refilled).as_secs() < 60);
        }
        let mut keys = vec![(Key::Consumer(consumer.to_string()), self.config.consumer_per_minute, self.config.consumer_per_day, "consumer")];
        if let Some(operator) = operator {
            let key = Key::Operator(consumer.to_string(), Sha256::digest(operator.as_bytes()).into());
            keys.push((key, self.config.operator_per_minute, self.config.operator_per_day, "operator"));
        }
        // All counters are judged before any is charged: a call refused for the operator does
        // not use up the consumer's allowance, nor the other way round.
        for (key, per_minute, per_day, whose) in &keys {
            let counter = counters.entry(key.clone()).or_insert(Counter { tokens: f64::from(*per_minute), refilled: now, day: today, calls_today: 0 });
            judge(counter, *per_minute, *per_day, now, today, whose)?;
        }
        for (key, per_minute, _, _) in &keys {
            if let Some(counter) = counters.get_mut(key) {
                if *per_minute > 0 {
                    counter.tokens -= 1.0;
                }
                counter.calls_today += 1;
            }
        }
        Ok(())
    }
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
        return Err(ServiceError::with_detail(ErrorCode::QuotaExceeded, format!("The {whose} quota is {per_day} calls per day.")));
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
}
