//! Replays: a request's MessageID (IVIS `MessageID`, else WS-Addressing `MessageID`) and,
//! if it is signed, what its signature covers must not have been seen from the same consumer
//! within the replay window.
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

use crate::error::{ErrorCode, ServiceError};

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
