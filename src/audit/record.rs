//! One audit record: who (consumer, certificate, client address, operator) asked what
//! (service, style, SOAP version, personal code) when, with which ids, and what came of it.
//! Plus the record's canonical encoding, the input of the hash chain.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::personal_code::PersonalCode;

/// The fields of an audit record, as stored and exported. Personal codes are kept in their
/// canonical eleven digits when they parse (so that a search finds every spelling), else as
/// sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1, gapless; assigned by the writer.
    pub seq: i64,
    /// The call's id: the `ErrorId` of a fault, the `MessageID` of an IVISResponse.
    pub record_id: Uuid,
    /// When the call arrived (UTC, microseconds).
    #[serde(serialize_with = "rfc3339_micros")]
    pub received_at: DateTime<Utc>,
    /// The IVIS `MessageID`, else the WS-Addressing `MessageID`.
    pub message_id: Option<String>,
    pub transaction_id: Option<String>,
    pub correlation_id: Option<String>,
    /// The registered consumer, if the certificate is registered.
    pub consumer_id: Option<String>,
    pub consumer_name: Option<String>,
    pub certificate_sha256: String,
    pub certificate_subject: String,
    pub client_ip: String,
    /// The environment the service runs in (`test` / `production`).
    pub environment: String,
    pub operator_first_name: Option<String>,
    pub operator_surname: Option<String>,
    pub operator_person_code: Option<String>,
    /// The IVIS `Sender`, one line.
    pub ivis_sender: Option<String>,
    /// `EP115`, `EP116`, or `-` when the path named no service.
    pub service: String,
    /// `plain` or `ivis`, when known.
    pub request_style: Option<String>,
    /// `1.1` or `1.2`, when known.
    pub soap_version: Option<String>,
    /// The personal code asked about.
    pub person_code: Option<String>,
    /// `ok`, or the error code's name.
    pub outcome: String,
    pub records_returned: i64,
    pub processing_micros: i64,
}

/// The canonical form a personal code is stored and searched in.
pub fn canonical_person_code(sent: &str) -> String {
    PersonalCode::parse(sent).map(|code| code.digits().to_string()).unwrap_or_else(|_| sent.trim().to_string())
}

fn rfc3339_micros<S: serde::Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_time(time))
}

/// `2026-11-23T10:15:30.123456Z`.
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Domain separation: a chain hash can never be mistaken for any other SHA-256 of ours.
const CHAIN_DOMAIN: &[u8] = b"spolis-adapter audit record v1";

impl AuditRecord {
    /// `SHA-256(domain ‖ previous hash ‖ canonical encoding)`.
    pub fn chain_hash(&self, previous: &[u8; 32]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(CHAIN_DOMAIN);
        hasher.update(previous);
        hasher.update(self.canonical_encoding());
        hasher.finalize().into()
    }

    /// An unambiguous encoding of every field in a fixed order: integers as 8 bytes big
    /// endian, strings as a 4-byte big-endian length and their UTF-8 bytes, an absent value
    /// as the length 0xFFFFFFFF. No two different records encode the same.
    pub fn canonical_encoding(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        let integer = |out: &mut Vec<u8>, value: i64| out.extend_from_slice(&value.to_be_bytes());
        let text = |out: &mut Vec<u8>, value: &str| {
            out.extend_from_slice(&u32::try_from(value.len()).unwrap_or(u32::MAX - 1).to_be_bytes());
            out.extend_from_slice(value.as_bytes());
        };
        let optional = |out: &mut Vec<u8>, value: &Option<String>| match value {
            Some(value) => text(out, value),
            None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        };
        integer(&mut out, self.seq);
        out.extend_from_slice(self.record_id.as_bytes());
        integer(&mut out, self.received_at.timestamp_micros());
        optional(&mut out, &self.message_id);
        optional(&mut out, &self.transaction_id);
        optional(&mut out, &self.correlation_id);
        optional(&mut out, &self.consumer_id);
        optional(&mut out, &self.consumer_name);
        text(&mut out, &self.certificate_sha256);
        text(&mut out, &self.certificate_subject);
        text(&mut out, &self.client_ip);
        text(&mut out, &self.environment);
        optional(&mut out, &self.operator_first_name);
        optional(&mut out, &self.operator_surname);
        optional(&mut out, &self.operator_person_code);
        optional(&mut out, &self.ivis_sender);
        text(&mut out, &self.service);
        optional(&mut out, &self.request_style);
        optional(&mut out, &self.soap_version);
        optional(&mut out, &self.person_code);
        text(&mut out, &self.outcome);
        integer(&mut out, self.records_returned);
        integer(&mut out, self.processing_micros);
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn example(seq: i64) -> AuditRecord {
        AuditRecord {
            seq,
            record_id: Uuid::from_u128(seq as u128),
            received_at: DateTime::from_timestamp_micros(1_795_000_000_123_456 + seq).unwrap(),
            message_id: Some("6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a13".into()),
            transaction_id: None,
            correlation_id: None,
            consumer_id: Some("90011524360".into()),
            consumer_name: Some("Rīgas Sociālais dienests".into()),
            certificate_sha256: "aa".repeat(32),
            certificate_subject: "CN=SOPA".into(),
            client_ip: "127.0.0.1".into(),
            environment: "test".into(),
            operator_first_name: Some("Anna".into()),
            operator_surname: Some("Liepiņa".into()),
            operator_person_code: Some("12037910015".into()),
            ivis_sender: None,
            service: "EP115".into(),
            request_style: Some("plain".into()),
            soap_version: Some("1.1".into()),
            person_code: Some("15034210121".into()),
            outcome: "ok".into(),
            records_returned: 3,
            processing_micros: 812,
        }
    }

    #[test]
    fn absent_and_empty_values_encode_differently() {
        let mut a = example(1);
        let mut b = example(1);
        a.transaction_id = None;
        b.transaction_id = Some(String::new());
        assert_ne!(a.canonical_encoding(), b.canonical_encoding());
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut a = example(1);
        let mut b = example(1);
        a.operator_first_name = Some("AnnaL".into());
        a.operator_surname = Some("iepiņa".into());
        b.operator_first_name = Some("Anna".into());
        b.operator_surname = Some("Liepiņa".into());
        assert_ne!(a.chain_hash(&[0; 32]), b.chain_hash(&[0; 32]));
    }

    #[test]
    fn personal_codes_are_searched_in_canonical_form() {
        assert_eq!(canonical_person_code(" 150342-10121 "), "15034210121");
        assert_eq!(canonical_person_code("not a code"), "not a code");
    }
}
