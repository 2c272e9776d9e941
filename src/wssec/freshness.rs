//! Is a request fresh? Its WS-Security `wsu:Timestamp` (if it sends one) must not be created
//! in the future beyond the allowed clock skew nor have expired, and its MessageID (IVIS
//! `MessageID`, else WS-Addressing `MessageID`) must not have been seen from the same
//! consumer within the replay window.
//!
//! On the embedded store the MessageIDs are remembered in memory ([`ReplayCache`]): bounded
//! (oldest forgotten first), entries expire after the window. On PostgreSQL, where several
//! instances serve one address, they are remembered in the database for all of them
//! (`store::postgres`, table `seen_message_ids`), so a replay sent to another instance is
//! refused too.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::error::{ErrorCode, ServiceError};
use crate::xml::Element;

use super::{WSSE_NS, WSU_NS};

/// A request's `wsse:Security/wsu:Timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub created: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
}

/// The `wsse:Security` header block, if the request has one.
pub fn security_header(headers: &[Element]) -> Option<&Element> {
    headers.iter().find(|h| h.is(WSSE_NS, "Security"))
}

/// Reads the Timestamp of a request's headers: `Ok(None)` when there is none; an
/// `InvalidTimestamp` refusal when there are several or one cannot be read.
pub fn timestamp(headers: &[Element]) -> Result<Option<Timestamp>, ServiceError> {
    let Some(security) = security_header(headers) else { return Ok(None) };
    let mut timestamps = security.children.iter().filter(|c| c.is(WSU_NS, "Timestamp"));
    let Some(element) = timestamps.next() else { return Ok(None) };
    let invalid = |detail: &str| ServiceError::with_detail(ErrorCode::InvalidTimestamp, detail.to_string());
    if timestamps.next().is_some() {
        return Err(invalid("The Security header holds more than one Timestamp."));
    }
    let field = |name: &str| -> Result<Option<DateTime<Utc>>, ServiceError> {
        let mut found = element.children.iter().filter(|c| c.is(WSU_NS, name));
        let value = found.next();
        if found.next().is_some() {
            return Err(invalid(&format!("The Timestamp holds more than one {name}.")));
        }
        value
            .map(|v| parse_utc(v.text.trim()).ok_or_else(|| invalid(&format!("{name} is not an xs:dateTime with a time zone."))))
            .transpose()
    };
    let created = field("Created")?.ok_or_else(|| invalid("The Timestamp has no Created."))?;
    let expires = field("Expires")?;
    if expires.is_some_and(|expires| expires < created) {
        return Err(invalid("The Timestamp expires before it was created."));
    }
    Ok(Some(Timestamp { created, expires }))
}

/// Judges a Timestamp at `now`, allowing `skew` either way.
pub fn check_timestamp(timestamp: &Timestamp, now: DateTime<Utc>, skew: chrono::Duration) -> Result<(), ServiceError> {
    if timestamp.created > now + skew {
        return Err(ServiceError::with_detail(
            ErrorCode::InvalidTimestamp,
            format!("Created lies {} s in the future (more than the allowed clock skew).", (timestamp.created - now).num_seconds()),
        ));
    }
    if let Some(expires) = timestamp.expires {
        if expires + skew < now {
            return Err(ServiceError::with_detail(
                ErrorCode::MessageExpired,
                format!("The Timestamp expired {} s ago.", (now - expires).num_seconds()),
            ));
        }
    }
    Ok(())
}

fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|moment| moment.with_timezone(&Utc))
}

/// The refusal of a MessageID already received within `window`.
pub fn replayed(window: Duration) -> ServiceError {
    ServiceError::with_detail(ErrorCode::MessageReplayed, format!("This MessageID was already received within the last {} s.", window.as_secs()))
}

/// MessageIDs seen recently, per consumer.
#[derive(Debug)]
pub struct ReplayCache {
    window: Duration,
    capacity: usize,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// (consumer id, MessageID) pairs currently remembered.
    keys: HashSet<(String, String)>,
    /// The same pairs in the order they were first seen, with when: since the window is the
    /// same for all, this is also the order in which they expire.
    order: VecDeque<(Instant, (String, String))>,
}

impl ReplayCache {
    pub fn new(window: Duration, capacity: usize) -> ReplayCache {
        ReplayCache { window, capacity: capacity.max(1), seen: Mutex::new(Seen::default()) }
    }

    /// Remembers `message_id` from `consumer` at `now`; refuses it as `MessageReplayed` if
    /// it was already seen within the window. A zero window turns the check off.
    pub fn check_and_remember(&self, consumer: &str, message_id: &str, now: Instant) -> Result<(), ServiceError> {
        if self.window.is_zero() {
            return Ok(());
        }
        // A poisoned lock only means another call panicked mid-update; the set is still a
        // set of remembered ids, so go on with it.
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while let Some((at, _)) = seen.order.front() {
            if now.saturating_duration_since(*at) < self.window {
                break;
            }
            if let Some((_, key)) = seen.order.pop_front() {
                seen.keys.remove(&key);
            }
        }
        let key = (consumer.to_string(), message_id.trim().to_string());
        if seen.keys.contains(&key) {
            return Err(replayed(self.window));
        }
        if seen.keys.len() >= self.capacity {
            if let Some((_, oldest)) = seen.order.pop_front() {
                seen.keys.remove(&oldest);
                tracing::warn!(capacity = self.capacity, "replay cache full: forgetting the oldest MessageID early");
            }
        }
        seen.keys.insert(key.clone());
        seen.order.push_back((now, key));
        Ok(())
    }

    /// How many MessageIDs are remembered now.
    pub fn len(&self) -> usize {
        self.seen.lock().map_or(0, |seen| seen.keys.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How long a MessageID is remembered; zero when the check is off.
    pub fn window(&self) -> Duration {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, XmlLimits};

    fn headers(timestamp: &str) -> Vec<Element> {
        let text = format!(r#"<H><wsse:Security xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}">{timestamp}</wsse:Security></H>"#);
        parse(text.as_bytes(), &XmlLimits::default()).unwrap().children
    }

    fn at(text: &str) -> DateTime<Utc> {
        parse_utc(text).unwrap()
    }

    #[test]
    fn reads_and_judges_timestamps() {
        let h = headers("<wsu:Timestamp><wsu:Created>2026-01-01T10:00:00Z</wsu:Created><wsu:Expires>2026-01-01T10:05:00.5+00:00</wsu:Expires></wsu:Timestamp>");
        let ts = timestamp(&h).unwrap().unwrap();
        let skew = chrono::Duration::seconds(60);
        assert!(check_timestamp(&ts, at("2026-01-01T10:01:00Z"), skew).is_ok());
        assert!(check_timestamp(&ts, at("2026-01-01T09:59:30Z"), skew).is_ok(), "within the skew");
        assert_eq!(check_timestamp(&ts, at("2026-01-01T09:58:00Z"), skew).unwrap_err().code, ErrorCode::InvalidTimestamp);
        assert_eq!(check_timestamp(&ts, at("2026-01-01T10:07:00Z"), skew).unwrap_err().code, ErrorCode::MessageExpired);
        assert_eq!(timestamp(&headers("")).unwrap(), None);
        assert_eq!(timestamp(&[]).unwrap(), None);
    }

    #[test]
    fn refuses_unreadable_timestamps() {
        for bad in [
            "<wsu:Timestamp><wsu:Expires>2026-01-01T10:05:00Z</wsu:Expires></wsu:Timestamp>",
            "<wsu:Timestamp><wsu:Created>2026-01-01T10:00:00</wsu:Created></wsu:Timestamp>",
            "<wsu:Timestamp><wsu:Created>yesterday</wsu:Created></wsu:Timestamp>",
            "<wsu:Timestamp><wsu:Created>2026-01-01T10:00:00Z</wsu:Created><wsu:Expires>2026-01-01T09:00:00Z</wsu:Expires></wsu:Timestamp>",
            "<wsu:Timestamp><wsu:Created>2026-01-01T10:00:00Z</wsu:Created></wsu:Timestamp><wsu:Timestamp><wsu:Created>2026-01-01T10:00:00Z</wsu:Created></wsu:Timestamp>",
        ] {
            assert_eq!(timestamp(&headers(bad)).unwrap_err().code, ErrorCode::InvalidTimestamp, "{bad}");
        }
    }

    #[test]
    fn a_message_id_is_refused_again_within_the_window_only() {
        let cache = ReplayCache::new(Duration::from_secs(300), 10);
        let start = Instant::now();
        cache.check_and_remember("riga", "m1", start).unwrap();
        assert_eq!(cache.check_and_remember("riga", "m1", start + Duration::from_secs(10)).unwrap_err().code, ErrorCode::MessageReplayed);
        // Another consumer's ids are its own.
        cache.check_and_remember("talsi", "m1", start).unwrap();
        cache.check_and_remember("riga", "m1", start + Duration::from_secs(301)).unwrap();
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = ReplayCache::new(Duration::from_secs(300), 3);
        let now = Instant::now();
        for i in 0..10 {
            cache.check_and_remember("riga", &format!("m{i}"), now).unwrap();
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.check_and_remember("riga", "m9", now).is_err());
    }
}
