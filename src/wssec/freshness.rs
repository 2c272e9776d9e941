//! Is a request fresh? Its WS-Security `wsu:Timestamp` must not be created in the future
//! beyond the allowed clock skew, nor be older than the maximum age, nor have expired; a signed
//! request's Timestamp must have an `Expires` no further than the maximum validity after its
//! `Created`. Its MessageID (IVIS `MessageID`, else WS-Addressing `MessageID`) and, if it is
//! signed, what its signature covers must not have been seen from the same consumer within
//! the replay window.
//!
//! Replay keys are canonical ([`replay_key`]): a UUID counts as the same id however it is
//! written (case, `urn:uuid:`, braces, hyphens); any other id is compared as sent, trimmed.
//!
//! On the embedded store the keys are remembered in memory ([`ReplayCache`]): bounded
//! (oldest forgotten first), entries expire after their window. On PostgreSQL, where several
//! instances serve one address, they are remembered in the database for all of them
//! (`store::postgres`, table `seen_message_ids`), so a replay sent to another instance is
//! refused too.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::error::{ErrorCode, ServiceError};
use crate::xml::Element;

use super::profile::addressed_to_us;
use super::{WSSE_NS, WSU_NS};

/// A request's `wsse:Security/wsu:Timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub created: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
}

/// How fresh a request must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Allowed either way between our clock and the sender's.
    pub skew: chrono::Duration,
    /// `now − Created` at most this (plus the skew).
    pub max_age: chrono::Duration,
    /// `Expires − Created` at most this.
    pub max_validity: chrono::Duration,
}

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

/// The one `wsse:Security` header block addressed to us (no `actor`/`role`, or the "next" or
/// "ultimateReceiver" one), if the request has one. Blocks for other roles are not ours to
/// read. Two addressed to us are refused (`InvalidSecurityHeader`): which one would count
/// is exactly what an attacker would like to choose.
pub fn security_header(headers: &[Element]) -> Result<Option<&Element>, ServiceError> {
    let mut ours = headers.iter().filter(|h| {
        h.is(WSSE_NS, "Security") && addressed_to_us(h.attribute(Some(SOAP11), "actor").or_else(|| h.attribute(Some(SOAP12), "role")))
    });
    let first = ours.next();
    if ours.next().is_some() {
        return Err(ServiceError::with_detail(ErrorCode::InvalidSecurityHeader, "More than one WS-Security header is addressed to this service."));
    }
    Ok(first)
}

fn invalid(detail: &str) -> ServiceError {
    ServiceError::with_detail(ErrorCode::InvalidTimestamp, detail.to_string())
}

/// Reads the Timestamp of a request's headers: `Ok(None)` when there is none; an
/// `InvalidTimestamp` refusal when there are several or one cannot be read.
pub fn timestamp(headers: &[Element]) -> Result<Option<Timestamp>, ServiceError> {
    let Some(security) = security_header(headers)? else { return Ok(None) };
    let mut timestamps = security.children.iter().filter(|c| c.is(WSU_NS, "Timestamp"));
    let Some(element) = timestamps.next() else { return Ok(None) };
    if timestamps.next().is_some() {
        return Err(invalid("The Security header holds more than one Timestamp."));
    }
    let texts = |name: &str| element.children.iter().filter(|c| c.is(WSU_NS, name)).map(|c| c.text.clone()).collect::<Vec<_>>();
    timestamp_from(&texts("Created"), &texts("Expires")).map(Some)
}

/// A Timestamp from the texts of its `Created` and `Expires` children (one Created, at most
/// one Expires), e.g. as the signature verifier read them from the signed Timestamp.
pub fn timestamp_from(created: &[String], expires: &[String]) -> Result<Timestamp, ServiceError> {
    let field = |name: &str, values: &[String]| -> Result<Option<DateTime<Utc>>, ServiceError> {
        match values {
            [] => Ok(None),
            [value] => parse_utc(value.trim()).map(Some).ok_or_else(|| invalid(&format!("{name} is not an xs:dateTime with a time zone."))),
            _ => Err(invalid(&format!("The Timestamp holds more than one {name}."))),
        }
    };
    let created = field("Created", created)?.ok_or_else(|| invalid("The Timestamp has no Created."))?;
    let expires = field("Expires", expires)?;
    if expires.is_some_and(|expires| expires < created) {
        return Err(invalid("The Timestamp expires before it was created."));
    }
    Ok(Timestamp { created, expires })
}

/// Judges a Timestamp at `now`. A signed request's Timestamp must carry `Expires`, since the
/// signature makes it the sender's promise; an unsigned one may omit it, and `Created` bounds
/// its age either way.
pub fn check_timestamp(timestamp: &Timestamp, now: DateTime<Utc>, rules: &Freshness, signed: bool) -> Result<(), ServiceError> {
    // Differences of two instants cannot overflow; an instant plus a configured bound could.
    let ahead = timestamp.created.signed_duration_since(now);
    if ahead > rules.skew {
        return Err(ServiceError::with_detail(
            ErrorCode::InvalidTimestamp,
            format!("Created lies {} s in the future (more than the allowed clock skew).", ahead.num_seconds()),
        ));
    }
    match timestamp.expires {
        Some(expires) if expires.signed_duration_since(timestamp.created) > rules.max_validity => {
            return Err(ServiceError::with_detail(
                ErrorCode::InvalidTimestamp,
                format!("Expires lies more than {} s after Created.", rules.max_validity.num_seconds()),
            ));
        }
        None if signed => return Err(invalid("A signed request's Timestamp must have Expires.")),
        _ => {}
    }
    let oldest = rules.max_age.checked_add(&rules.skew).unwrap_or(chrono::Duration::MAX);
    if now.signed_duration_since(timestamp.created) > oldest {
        return Err(ServiceError::with_detail(
            ErrorCode::MessageExpired,
            format!("The Timestamp was created more than {} s ago.", rules.max_age.num_seconds()),
        ));
    }
    if let Some(expires) = timestamp.expires {
        let past = now.signed_duration_since(expires);
        if past > rules.skew {
            return Err(ServiceError::with_detail(ErrorCode::MessageExpired, format!("The Timestamp expired {} s ago.", past.num_seconds())));
        }
    }
    Ok(())
}

fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|moment| moment.with_timezone(&Utc))
}

/// The replay key of a MessageID: `uuid:` and the UUID in its canonical form when it parses
/// as one (hyphenated or not, braces, `urn:uuid:`, any case), else `id:` and the text as
/// sent, trimmed. `None` for an empty id, which is never a key.
pub fn replay_key(message_id: &str) -> Option<String> {
    let trimmed = message_id.trim();
    if trimmed.is_empty() {
        return None;
    }
    // `Uuid::parse_str` takes hyphenated, simple, braced and `urn:uuid:` forms; the URN
    // prefix is matched case-insensitively here since URN schemes are.
    let unprefixed = match trimmed.get(..9) {
        Some(prefix) if prefix.eq_ignore_ascii_case("urn:uuid:") => &trimmed[9..],
        _ => trimmed,
    };
    Some(match uuid::Uuid::parse_str(unprefixed) {
        Ok(uuid) => format!("uuid:{}", uuid.hyphenated()),
        Err(_) => format!("id:{trimmed}"),
    })
}

/// The replay key of a signed request: what its signature covers.
pub fn signature_replay_key(digest_hash: &str) -> String {
    format!("sig:{digest_hash}")
}

/// The refusal of a MessageID already received within `window`.
pub fn replayed(window: Duration) -> ServiceError {
    ServiceError::with_detail(ErrorCode::MessageReplayed, format!("This message was already received within the last {} s.", window.as_secs()))
}

/// Replay keys seen recently, per consumer.
#[derive(Debug)]
pub struct ReplayCache {
    window: Duration,
    capacity: usize,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// (consumer id, replay key) pairs currently remembered, with when each is forgotten.
    keys: HashMap<(String, String), Instant>,
    /// The same pairs in the order they were first seen, with when each is forgotten. Keys
    /// of longer windows (signatures) can hold shorter ones behind them for a while; the
    /// map's expiry decides, and the capacity bounds the memory either way.
    order: VecDeque<(Instant, (String, String))>,
}

impl Seen {
    fn forget(&mut self, expiry: Instant, key: &(String, String)) {
        // Only if the map still holds this very entry, not a later one of the same key.
        if self.keys.get(key) == Some(&expiry) {
            self.keys.remove(key);
        }
    }
}

impl ReplayCache {
    pub fn new(window: Duration, capacity: usize) -> ReplayCache {
        ReplayCache { window, capacity: capacity.max(1), seen: Mutex::new(Seen::default()) }
    }

    /// Remembers `key` from `consumer` at `now` for the configured window; refuses it as
    /// `MessageReplayed` if it was already seen within the window. A zero window turns the
    /// check off.
    pub fn check_and_remember(&self, consumer: &str, key: &str, now: Instant) -> Result<(), ServiceError> {
        self.check_and_remember_for(consumer, key, self.window, now)
    }

    /// The same for `window` (a signed request is remembered as long as its Timestamp could
    /// be accepted). A zero configured window still turns every check off.
    pub fn check_and_remember_for(&self, consumer: &str, key: &str, window: Duration, now: Instant) -> Result<(), ServiceError> {
        if self.window.is_zero() {
            return Ok(());
        }
        // A poisoned lock only means another call panicked mid-update; the map is still a
        // map of remembered keys, so go on with it.
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while let Some((expiry, _)) = seen.order.front() {
            if *expiry > now {
                break;
            }
            if let Some((expiry, key)) = seen.order.pop_front() {
                seen.forget(expiry, &key);
            }
        }
        let key = (consumer.to_string(), key.to_string());
        if seen.keys.get(&key).is_some_and(|expiry| *expiry > now) {
            return Err(replayed(window));
        }
        while seen.keys.len() >= self.capacity {
            let Some((expiry, oldest)) = seen.order.pop_front() else { break };
            seen.forget(expiry, &oldest);
            tracing::warn!(capacity = self.capacity, "replay cache full: forgetting the oldest MessageID early");
        }
        // A window past what an Instant can hold (only from an absurd configuration) is a
        // century: remembered for good, not a panic.
        let expiry = now.checked_add(window).or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400))).unwrap_or(now);
        seen.keys.insert(key.clone(), expiry);
        seen.order.push_back((expiry, key));
        Ok(())
    }

    /// How many keys are remembered now.
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

    fn rules() -> Freshness {
        Freshness { skew: chrono::Duration::seconds(60), max_age: chrono::Duration::minutes(5), max_validity: chrono::Duration::minutes(15) }
    }

    #[test]
    fn reads_and_judges_timestamps() {
        let h = headers("<wsu:Timestamp><wsu:Created>2026-01-01T10:00:00Z</wsu:Created><wsu:Expires>2026-01-01T10:05:00.5+00:00</wsu:Expires></wsu:Timestamp>");
        let ts = timestamp(&h).unwrap().unwrap();
        let rules = rules();
        assert!(check_timestamp(&ts, at("2026-01-01T10:01:00Z"), &rules, true).is_ok());
        assert!(check_timestamp(&ts, at("2026-01-01T09:59:30Z"), &rules, true).is_ok(), "within the skew");
        assert_eq!(check_timestamp(&ts, at("2026-01-01T09:58:00Z"), &rules, true).unwrap_err().code, ErrorCode::InvalidTimestamp);
        assert_eq!(check_timestamp(&ts, at("2026-01-01T10:07:00Z"), &rules, true).unwrap_err().code, ErrorCode::MessageExpired);
        assert_eq!(timestamp(&headers("")).unwrap(), None);
        assert_eq!(timestamp(&[]).unwrap(), None);
    }

    #[test]
    fn created_bounds_the_age_and_expires_the_validity() {
        let rules = rules();
        let now = at("2026-01-01T10:00:00Z");
        let stamp = |created: &str, expires: Option<&str>| Timestamp { created: at(created), expires: expires.map(at) };
        // Without Expires: fine unsigned while young, refused signed, expired when old.
        let young = stamp("2026-01-01T09:58:00Z", None);
        assert!(check_timestamp(&young, now, &rules, false).is_ok());
        assert_eq!(check_timestamp(&young, now, &rules, true).unwrap_err().code, ErrorCode::InvalidTimestamp);
        let old = stamp("2020-01-01T10:00:00Z", None);
        assert_eq!(check_timestamp(&old, now, &rules, false).unwrap_err().code, ErrorCode::MessageExpired);
        // The age bound holds even when Expires is far away (within the validity bound).
        let aged = stamp("2026-01-01T09:53:59Z", Some("2026-01-01T10:08:59Z"));
        assert_eq!(check_timestamp(&aged, now, &rules, true).unwrap_err().code, ErrorCode::MessageExpired);
        let edge = stamp("2026-01-01T09:54:00Z", Some("2026-01-01T10:09:00Z"));
        assert!(check_timestamp(&edge, now, &rules, true).is_ok(), "max age + skew is still fresh");
        // Expires − Created beyond the maximum validity.
        let long = stamp("2026-01-01T09:59:00Z", Some("2026-01-01T10:14:01Z"));
        assert_eq!(check_timestamp(&long, now, &rules, false).unwrap_err().code, ErrorCode::InvalidTimestamp);
    }

    #[test]
    fn only_a_security_header_addressed_to_us_counts_and_only_one() {
        let text = |blocks: &str| format!(r#"<H xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}">{blocks}</H>"#);
        let parsed = |blocks: &str| parse(text(blocks).as_bytes(), &XmlLimits::default()).unwrap().children;
        let stamp = "<wsu:Timestamp><wsu:Created>2026-01-01T10:00:00Z</wsu:Created></wsu:Timestamp>";
        let two = parsed(&format!("<wsse:Security>{stamp}</wsse:Security><wsse:Security/>"));
        assert_eq!(timestamp(&two).unwrap_err().code, ErrorCode::InvalidSecurityHeader);
        let other_role = parsed(&format!(r#"<wsse:Security s:role="urn:example:bus">{stamp}</wsse:Security><wsse:Security/>"#));
        assert_eq!(timestamp(&other_role).unwrap(), None, "the other role's Timestamp is not read");
        let next = parsed(&format!(r#"<wsse:Security s:role="http://www.w3.org/2003/05/soap-envelope/role/next">{stamp}</wsse:Security>"#));
        assert!(timestamp(&next).unwrap().is_some());
    }

    #[test]
    fn uuids_are_one_key_however_written_and_empty_ids_are_none() {
        let canonical = replay_key("6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a13").unwrap();
        assert_eq!(canonical, "uuid:6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a13");
        for variant in [
            "6F1C2A7E-3B8D-4E21-9A5F-0C4D2E8B7A13",
            "urn:uuid:6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a13",
            "URN:UUID:6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a13",
            "{6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a13}",
            "6f1c2a7e3b8d4e219a5f0c4d2e8b7a13",
            "  6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a13\n",
        ] {
            assert_eq!(replay_key(variant).as_deref(), Some(canonical.as_str()), "{variant}");
        }
        assert_eq!(replay_key("MSG-0001").as_deref(), Some("id:MSG-0001"));
        assert_ne!(replay_key("msg-0001"), replay_key("MSG-0001"), "other ids are compared as sent");
        assert_eq!(replay_key(" \t"), None);
        assert_eq!(replay_key(""), None);
    }

    #[test]
    fn keys_of_longer_windows_do_not_keep_shorter_ones_alive() {
        let cache = ReplayCache::new(Duration::from_secs(300), 10);
        let start = Instant::now();
        cache.check_and_remember_for("riga", "sig:a", Duration::from_secs(420), start).unwrap();
        cache.check_and_remember("riga", "id:m", start).unwrap();
        let later = start + Duration::from_secs(301);
        cache.check_and_remember("riga", "id:m", later).unwrap();
        assert!(cache.check_and_remember_for("riga", "sig:a", Duration::from_secs(420), later).is_err());
        // The re-remembered id is not forgotten with its first entry.
        assert!(cache.check_and_remember("riga", "id:m", later + Duration::from_secs(200)).is_err());
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
