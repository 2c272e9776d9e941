//! Is a request fresh? Its WS-Security `wsu:Timestamp` must not be created in the future
//! beyond the allowed clock skew, nor be older than the maximum age, nor have expired; a signed
//! request's Timestamp must have an `Expires` no further than the maximum validity after its
//! `Created`. Replays (a MessageID, or what a signature covers, seen again) are judged in
//! `soap::replay`; the key of what a signature covers is made here.


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

/// The replay key of a signed request: what its signature covers.
pub fn signature_replay_key(digest_hash: &str) -> String {
    format!("sig:{digest_hash}")
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

}
