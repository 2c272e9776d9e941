//! The wall clock the services read: once per call, so that the audit's `received_at`, the
//! freshness check, the daily quota's day and the answer's Timestamp agree. Tests may fix it.

use chrono::{DateTime, Utc};

/// Where a call's `now` comes from.
#[derive(Debug, Clone, Copy, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A fixed instant, for tests of time-dependent rules.
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(instant) => instant,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_always_reads_its_instant() {
        let instant = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(Clock::Fixed(instant).now(), instant);
        assert_eq!(Clock::Fixed(instant).now(), Clock::Fixed(instant).now());
    }
}
