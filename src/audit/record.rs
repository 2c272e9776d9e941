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
    /// The request's stated legal basis (`Purpose/LegalBasis`), as sent. Version 2 on.
    pub purpose_legal_basis: Option<String>,
    /// The municipal social service's case number (`Purpose/CaseNumber`), as sent. Version 2 on.
    pub purpose_case_number: Option<String>,
    /// For a consumer registered for bulk requests ("Masveida pieprasījums"): who prepares
    /// them, as registered. Marks the call as bulk. Version 2 on.
    pub bulk_prepared_by: Option<String>,
    /// For an administrative record — something done to the service, not a call to it (a
    /// register import, `service` = [`REGISTER_IMPORT`]) — what was done, as one JSON object.
    /// `None` for a call. Version 3 on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub administrative: Option<String>,
    /// The version of the canonical encoding the record is chained in: new records are
    /// [`RecordVersion::CURRENT`], records read back keep the version they were written in.
    #[serde(skip)]
    pub version: RecordVersion,
}

/// The versions of the canonical encoding. Each later version appends fields to the one
/// before and hashes under a domain naming it, so a record can never be passed off as one of
/// another version: the hash tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordVersion {
    /// The 23 fields up to `processing_micros`.
    V1,
    /// Version 1 and the request's purpose (`purpose_legal_basis`, `purpose_case_number`),
    /// and the bulk mark (`bulk_prepared_by`).
    V2,
    /// Version 2 and an administrative record's details (`administrative`).
    #[default]
    V3,
}

/// The `service` of the administrative record each register import leaves.
pub const REGISTER_IMPORT: &str = "register-import";

impl RecordVersion {
    /// The version new records are written in.
    pub const CURRENT: RecordVersion = RecordVersion::V3;

    /// Its number, as PostgreSQL's `record_version` column stores it.
    pub fn number(self) -> i16 {
        match self {
            RecordVersion::V1 => 1,
            RecordVersion::V2 => 2,
            RecordVersion::V3 => 3,
        }
    }

    pub fn from_number(number: i16) -> Option<RecordVersion> {
        match number {
            1 => Some(RecordVersion::V1),
            2 => Some(RecordVersion::V2),
            3 => Some(RecordVersion::V3),
            _ => None,
        }
    }

    /// The kinds of its fields, in canonical order.
    pub fn field_kinds(self) -> &'static [FieldKind] {
        match self {
            RecordVersion::V1 => &FIELD_KINDS[..FIELDS_V1],
            RecordVersion::V2 => &FIELD_KINDS[..FIELDS_V2],
            RecordVersion::V3 => &FIELD_KINDS,
        }
    }

    fn domain(self) -> &'static [u8] {
        match self {
            RecordVersion::V1 => b"spolis-adapter audit record v1",
            RecordVersion::V2 => b"spolis-adapter audit record v2",
            RecordVersion::V3 => b"spolis-adapter audit record v3",
        }
    }
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

// Domain separation: a chain hash can never be mistaken for any other SHA-256 of ours, nor
// for the hash of another version's record (`RecordVersion::domain`).

/// How a field is encoded: integers as 8 bytes big endian, the record id as its 16 bytes,
/// text as a 4-byte big-endian length and its UTF-8 bytes; an absent optional text as the
/// length 0xFFFFFFFF. No two different records encode the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Integer,
    Uuid,
    Text,
    OptionalText,
}

/// How many fields version 1 has, version 2, and version 3 ([`FIELDS`]).
pub const FIELDS_V1: usize = 23;
pub const FIELDS_V2: usize = 26;
pub const FIELDS: usize = 27;

/// The kind of every field of the current version, in canonical order — which is also the
/// order of PostgreSQL's columns ([`FIELD_COLUMNS`], then [`PURPOSE_COLUMNS`]), so a row can
/// be hashed without building a record. Version 1 is the first [`FIELDS_V1`] of them.
pub const FIELD_KINDS: [FieldKind; FIELDS] = {
    use FieldKind::*;
    [
        Integer, Uuid, Integer, OptionalText, OptionalText, OptionalText, OptionalText, OptionalText, Text, Text, Text, Text,
        OptionalText, OptionalText, OptionalText, OptionalText, Text, OptionalText, OptionalText, OptionalText, Text, Integer,
        Integer, OptionalText, OptionalText, OptionalText, OptionalText,
    ]
};

/// The fields of version 1 as columns, in canonical order: PostgreSQL's `audit_records`
/// stores a record so, and so did layout 1 of the SQLite log.
pub const FIELD_COLUMNS: &str = "seq, record_id, received_at_micros, message_id, transaction_id, correlation_id, \
     consumer_id, consumer_name, certificate_sha256, certificate_subject, client_ip, environment, \
     operator_first_name, operator_surname, operator_person_code, ivis_sender, service, request_style, \
     soap_version, person_code, outcome, records_returned, processing_micros";

/// The fields version 2 adds, as PostgreSQL's columns (migration 0006), in canonical order.
pub const PURPOSE_COLUMNS: &str = "purpose_legal_basis, purpose_case_number, bulk_prepared_by";

/// The field version 3 adds, as PostgreSQL's column (migration 0010).
pub const ADMINISTRATIVE_COLUMN: &str = "administrative";

/// One field's value, borrowed. Text is carried as its UTF-8 bytes: hashing needs no more,
/// and a verifier reading the store's buffers need not re-validate them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue<'a> {
    Integer(i64),
    Uuid(&'a [u8; 16]),
    Text(Option<&'a [u8]>),
}

/// Feeds the canonical encoding of one field to `sink`. A value of the wrong kind (a NULL in a
/// mandatory column, say) is refused, so it can never hash like a valid record.
pub fn encode_field(kind: FieldKind, value: FieldValue<'_>, sink: &mut impl FnMut(&[u8])) -> Result<(), FieldKind> {
    match (kind, value) {
        (FieldKind::Integer, FieldValue::Integer(number)) => sink(&number.to_be_bytes()),
        (FieldKind::Uuid, FieldValue::Uuid(bytes)) => sink(bytes),
        (FieldKind::Text | FieldKind::OptionalText, FieldValue::Text(Some(text))) => {
            sink(&u32::try_from(text.len()).unwrap_or(u32::MAX - 1).to_be_bytes());
            sink(text);
        }
        (FieldKind::OptionalText, FieldValue::Text(None)) => sink(&u32::MAX.to_be_bytes()),
        (kind, _) => return Err(kind),
    }
    Ok(())
}

/// `SHA-256(version's domain ‖ previous hash ‖ canonical encoding of the version's fields)`.
pub fn chain_hash_of<'a>(version: RecordVersion, previous: &[u8; 32], fields: impl IntoIterator<Item = FieldValue<'a>>) -> Result<[u8; 32], FieldKind> {
    use sha2::{Digest, Sha256};
    let kinds = version.field_kinds();
    let mut hasher = Sha256::new();
    hasher.update(version.domain());
    hasher.update(previous);
    let mut sink = |bytes: &[u8]| hasher.update(bytes);
    let mut count = 0;
    for (kind, value) in kinds.iter().zip(fields) {
        encode_field(*kind, value, &mut sink)?;
        count += 1;
    }
    if count != kinds.len() {
        return Err(kinds[count.min(kinds.len() - 1)]);
    }
    Ok(hasher.finalize().into())
}

/// `SHA-256(version's domain ‖ previous hash ‖ encoded)`, for a record already in the
/// canonical encoding of `version`: the same hash [`chain_hash_of`] gives over its fields.
pub fn chain_hash_of_encoded(version: RecordVersion, previous: &[u8; 32], encoded: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(version.domain());
    hasher.update(previous);
    hasher.update(encoded);
    hasher.finalize().into()
}

/// Why stored bytes are not the canonical encoding of a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field} {reason}")]
pub struct DecodeError {
    /// The field's place in canonical order (23 or 25: after the last field).
    pub field: usize,
    pub reason: &'static str,
}

/// Splits a canonical encoding into its version and fields, borrowed: the inverse of
/// [`encode_field`] over the version's kinds. Anything but exactly one encoding of the 23
/// fields of version 1, the 26 of version 2 or the 27 of version 3 is refused; an earlier
/// version's later fields are absent. (Each field's length is in its encoding, so where a
/// version ends is plain.)
pub fn decode_fields(encoded: &[u8]) -> Result<(RecordVersion, [FieldValue<'_>; FIELDS]), DecodeError> {
    let mut fields = [FieldValue::Integer(0); FIELDS];
    fields[FIELDS_V1..].fill(FieldValue::Text(None));
    let mut rest = encoded;
    let mut version = RecordVersion::V3;
    for (index, (kind, field)) in FIELD_KINDS.iter().zip(fields.iter_mut()).enumerate() {
        if rest.is_empty() && (index == FIELDS_V1 || index == FIELDS_V2) {
            version = if index == FIELDS_V1 { RecordVersion::V1 } else { RecordVersion::V2 };
            break;
        }
        let cut_short = DecodeError { field: index, reason: "is cut short" };
        *field = match kind {
            FieldKind::Integer => {
                let (bytes, tail) = rest.split_first_chunk::<8>().ok_or(cut_short)?;
                rest = tail;
                FieldValue::Integer(i64::from_be_bytes(*bytes))
            }
            FieldKind::Uuid => {
                let (bytes, tail) = rest.split_first_chunk::<16>().ok_or(cut_short)?;
                rest = tail;
                FieldValue::Uuid(bytes)
            }
            FieldKind::Text | FieldKind::OptionalText => {
                let (length, tail) = rest.split_first_chunk::<4>().ok_or(cut_short.clone())?;
                let length = u32::from_be_bytes(*length);
                if length == u32::MAX {
                    if *kind == FieldKind::Text {
                        return Err(DecodeError { field: index, reason: "is absent, but mandatory" });
                    }
                    rest = tail;
                    FieldValue::Text(None)
                } else {
                    let length = usize::try_from(length).map_err(|_| cut_short.clone())?;
                    if tail.len() < length {
                        return Err(cut_short);
                    }
                    let (text, tail) = tail.split_at(length);
                    rest = tail;
                    FieldValue::Text(Some(text))
                }
            }
        };
    }
    if !rest.is_empty() {
        return Err(DecodeError { field: FIELDS, reason: "is followed by more bytes" });
    }
    Ok((version, fields))
}

impl AuditRecord {
    /// The record a canonical encoding holds (the SQLite log stores records so).
    pub fn decode(encoded: &[u8]) -> Result<AuditRecord, DecodeError> {
        let (version, fields) = decode_fields(encoded)?;
        let integer = |index: usize| match fields[index] {
            FieldValue::Integer(number) => number,
            _ => 0,
        };
        let optional = |index: usize| match fields[index] {
            FieldValue::Text(Some(bytes)) => String::from_utf8(bytes.to_vec())
                .map(Some)
                .map_err(|_| DecodeError { field: index, reason: "is not UTF-8" }),
            _ => Ok(None),
        };
        let text = |index: usize| optional(index).map(Option::unwrap_or_default);
        let FieldValue::Uuid(record_id) = fields[1] else { return Err(DecodeError { field: 1, reason: "is not a UUID" }) };
        Ok(AuditRecord {
            seq: integer(0),
            record_id: Uuid::from_bytes(*record_id),
            received_at: DateTime::from_timestamp_micros(integer(2))
                .ok_or(DecodeError { field: 2, reason: "is a time out of range" })?,
            message_id: optional(3)?,
            transaction_id: optional(4)?,
            correlation_id: optional(5)?,
            consumer_id: optional(6)?,
            consumer_name: optional(7)?,
            certificate_sha256: text(8)?,
            certificate_subject: text(9)?,
            client_ip: text(10)?,
            environment: text(11)?,
            operator_first_name: optional(12)?,
            operator_surname: optional(13)?,
            operator_person_code: optional(14)?,
            ivis_sender: optional(15)?,
            service: text(16)?,
            request_style: optional(17)?,
            soap_version: optional(18)?,
            person_code: optional(19)?,
            outcome: text(20)?,
            records_returned: integer(21),
            processing_micros: integer(22),
            purpose_legal_basis: optional(23)?,
            purpose_case_number: optional(24)?,
            bulk_prepared_by: optional(25)?,
            administrative: optional(26)?,
            version,
        })
    }

    /// The fields of the current version in canonical order; a version-1 record encodes and
    /// hashes the first [`FIELDS_V1`] of them.
    pub fn fields(&self) -> [FieldValue<'_>; FIELDS] {
        [
            FieldValue::Integer(self.seq),
            FieldValue::Uuid(self.record_id.as_bytes()),
            FieldValue::Integer(self.received_at.timestamp_micros()),
            optional(&self.message_id),
            optional(&self.transaction_id),
            optional(&self.correlation_id),
            optional(&self.consumer_id),
            optional(&self.consumer_name),
            text(&self.certificate_sha256),
            text(&self.certificate_subject),
            text(&self.client_ip),
            text(&self.environment),
            optional(&self.operator_first_name),
            optional(&self.operator_surname),
            optional(&self.operator_person_code),
            optional(&self.ivis_sender),
            text(&self.service),
            optional(&self.request_style),
            optional(&self.soap_version),
            optional(&self.person_code),
            text(&self.outcome),
            FieldValue::Integer(self.records_returned),
            FieldValue::Integer(self.processing_micros),
            optional(&self.purpose_legal_basis),
            optional(&self.purpose_case_number),
            optional(&self.bulk_prepared_by),
            optional(&self.administrative),
        ]
    }

    /// Whether the record holds a value its version has no field for (a version-1 record
    /// with a purpose, an earlier one with administrative details): such a value is not
    /// covered by its hash, so it cannot be genuine.
    pub fn holds_more_than_its_version(&self) -> bool {
        let purpose = self.purpose_legal_basis.is_some() || self.purpose_case_number.is_some() || self.bulk_prepared_by.is_some();
        (self.version == RecordVersion::V1 && purpose) || (self.version != RecordVersion::V3 && self.administrative.is_some())
    }
}

fn text(value: &String) -> FieldValue<'_> {
    FieldValue::Text(Some(value.as_bytes()))
}

fn optional(value: &Option<String>) -> FieldValue<'_> {
    FieldValue::Text(value.as_deref().map(str::as_bytes))
}

impl AuditRecord {

    /// `SHA-256(domain ‖ previous hash ‖ canonical encoding)`.
    pub fn chain_hash(&self, previous: &[u8; 32]) -> [u8; 32] {
        // A record's own fields always have the right kinds.
        chain_hash_of(self.version, previous, self.fields()).unwrap_or_default()
    }

    /// The canonical encoding of every field in order (see [`FieldKind`]).
    pub fn canonical_encoding(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        let mut sink = |bytes: &[u8]| out.extend_from_slice(bytes);
        for (kind, value) in self.version.field_kinds().iter().zip(self.fields()) {
            let _ = encode_field(*kind, value, &mut sink);
        }
        out
    }
}

impl AuditRecord {
    /// A realistic record: an EP115 call by a registered consumer's operator, with a purpose,
    /// numbered `seq`. For tests, probes and benchmarks, which vary it with `..example(seq)`.
    pub fn example(seq: i64) -> AuditRecord {
        AuditRecord {
            seq,
            record_id: Uuid::from_u128(seq as u128),
            received_at: DateTime::from_timestamp_micros(1_795_000_000_123_456 + seq).unwrap_or_default(),
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
            purpose_legal_basis: Some("Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants".into()),
            purpose_case_number: Some("SD-2026/1417".into()),
            bulk_prepared_by: Some("Jānis Bērziņš".into()),
            administrative: None,
            version: RecordVersion::V2,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The tests' short name for [`AuditRecord::example`].
    pub fn example(seq: i64) -> AuditRecord {
        AuditRecord::example(seq)
    }

    /// An administrative record of version 3: a register import, no call.
    pub fn example_v3(seq: i64) -> AuditRecord {
        AuditRecord {
            message_id: None,
            consumer_id: None,
            consumer_name: None,
            certificate_sha256: String::new(),
            certificate_subject: String::new(),
            client_ip: "local".into(),
            operator_first_name: None,
            operator_surname: None,
            operator_person_code: None,
            service: REGISTER_IMPORT.into(),
            request_style: None,
            soap_version: None,
            person_code: None,
            purpose_legal_basis: None,
            purpose_case_number: None,
            bulk_prepared_by: None,
            administrative: Some(r#"{"batch_id":"0190d5e2-0000-7000-8000-000000000001","kind":"full","persons":2000}"#.into()),
            version: RecordVersion::V3,
            ..example(seq)
        }
    }

    /// A record as version 1 wrote it: no purpose, no bulk mark.
    pub fn example_v1(seq: i64) -> AuditRecord {
        AuditRecord { purpose_legal_basis: None, purpose_case_number: None, bulk_prepared_by: None, version: RecordVersion::V1, ..example(seq) }
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
    fn the_field_kinds_match_the_record() {
        let record = example(7);
        assert!(chain_hash_of(RecordVersion::V2, &[1; 32], record.fields()).is_ok());
        // A NULL where a mandatory text belongs cannot hash.
        let mut fields = record.fields();
        fields[8] = FieldValue::Text(None);
        assert_eq!(chain_hash_of(RecordVersion::V2, &[1; 32], fields), Err(FieldKind::Text));
        assert_eq!(chain_hash_of(RecordVersion::V2, &[1; 32], record.fields().into_iter().take(22)), Err(FieldKind::Integer));
        assert_eq!(chain_hash_of(RecordVersion::V2, &[1; 32], record.fields().into_iter().take(24)), Err(FieldKind::OptionalText));
        assert!(chain_hash_of(RecordVersion::V1, &[1; 32], record.fields()).is_ok(), "version 1 hashes its 23 fields");
    }

    #[test]
    fn a_record_of_either_version_decodes_as_itself_and_no_other() {
        for record in [
            example_v1(4),
            example(4),
            AuditRecord { purpose_legal_basis: None, purpose_case_number: None, bulk_prepared_by: None, ..example(4) },
            example_v3(4),
            AuditRecord { version: RecordVersion::V3, ..example(4) },
        ] {
            let encoded = record.canonical_encoding();
            let (version, _) = decode_fields(&encoded).unwrap();
            assert_eq!(version, record.version);
            assert_eq!(AuditRecord::decode(&encoded), Ok(record.clone()));
            assert_eq!(chain_hash_of_encoded(version, &[3; 32], &encoded), record.chain_hash(&[3; 32]));
        }
        // A version-2 record without a purpose is not a version-1 record: the hash tells.
        let without = AuditRecord { purpose_legal_basis: None, purpose_case_number: None, bulk_prepared_by: None, ..example(4) };
        assert_ne!(without.chain_hash(&[0; 32]), example_v1(4).chain_hash(&[0; 32]));
        assert_ne!(without.canonical_encoding(), example_v1(4).canonical_encoding());
        // Cut back to its version-1 fields, a version-2 encoding hashes differently.
        let encoded = example(4).canonical_encoding();
        let v1_length = example_v1(4).canonical_encoding().len();
        assert_ne!(chain_hash_of_encoded(RecordVersion::V1, &[0; 32], &encoded[..v1_length]), example(4).chain_hash(&[0; 32]));
        assert!(!example_v1(4).holds_more_than_its_version());
        assert!(AuditRecord { version: RecordVersion::V1, ..example(4) }.holds_more_than_its_version());
        assert!(AuditRecord { bulk_prepared_by: Some("J".into()), ..example_v1(4) }.holds_more_than_its_version());
        // Administrative details in a version-2 record are covered by no hash.
        assert!(AuditRecord { version: RecordVersion::V2, ..example_v3(4) }.holds_more_than_its_version());
        assert!(!example_v3(4).holds_more_than_its_version());
        // A version-3 record is no version-2 record, with or without details.
        let plain = AuditRecord { version: RecordVersion::V3, ..example(4) };
        assert_ne!(plain.chain_hash(&[0; 32]), example(4).chain_hash(&[0; 32]));
    }

    #[test]
    fn an_encoding_decodes_to_its_record_and_hashes_like_its_fields() {
        let mut record = example(9);
        record.transaction_id = Some(String::new());
        let encoded = record.canonical_encoding();
        assert_eq!(AuditRecord::decode(&encoded), Ok(record.clone()));
        assert_eq!(chain_hash_of_encoded(RecordVersion::V2, &[3; 32], &encoded), record.chain_hash(&[3; 32]));
    }

    #[test]
    fn anything_but_one_whole_encoding_is_refused() {
        let encoded = example(9).canonical_encoding();
        for cut in [0, 7, 8, 30, encoded.len() - 1] {
            assert_eq!(decode_fields(&encoded[..cut]).map(|_| ()).unwrap_err().reason, "is cut short", "cut at {cut}");
        }
        let mut longer = encoded.clone();
        longer.push(0);
        assert_eq!(decode_fields(&longer).map(|_| ()).unwrap_err(), DecodeError { field: FIELDS_V2, reason: "is cut short" });
        let mut longer = example_v3(9).canonical_encoding();
        longer.push(0);
        assert_eq!(decode_fields(&longer).map(|_| ()).unwrap_err().field, FIELDS);
        // Version 1 followed by a byte is neither version.
        let mut longer = example_v1(9).canonical_encoding();
        longer.push(0);
        assert_eq!(decode_fields(&longer).map(|_| ()).unwrap_err().reason, "is cut short");
        // certificate_sha256 (field 8) marked absent.
        let mut record = example(9);
        record.message_id = None;
        record.consumer_id = None;
        record.consumer_name = None;
        let mut absent = record.canonical_encoding();
        let at = 8 + 16 + 8 + 5 * 4;
        absent.splice(at..at + 4 + 64, u32::MAX.to_be_bytes());
        assert_eq!(decode_fields(&absent).map(|_| ()).unwrap_err(), DecodeError { field: 8, reason: "is absent, but mandatory" });
        let mut not_utf8 = example(9).canonical_encoding();
        let surname = not_utf8.windows(4).position(|w| w == b"Liep").unwrap();
        not_utf8[surname] = 0xFF;
        assert_eq!(AuditRecord::decode(&not_utf8).unwrap_err(), DecodeError { field: 13, reason: "is not UTF-8" });
    }

    #[test]
    fn personal_codes_are_searched_in_canonical_form() {
        assert_eq!(canonical_person_code(" 150342-10121 "), "15034210121");
        assert_eq!(canonical_person_code("not a code"), "not a code");
    }
}

#[cfg(test)]
mod golden {
    use super::tests::{example, example_v1, example_v3};

    /// The chain encoding is a format: logs written today must verify in two years. If this
    /// fails, the change breaks every existing log — add a `RecordVersion` instead.
    #[test]
    fn the_chain_hash_of_a_known_record_never_changes() {
        let hash = example_v1(1).chain_hash(&[0; 32]);
        assert_eq!(hex::encode(hash), GOLDEN_V1);
        let hash = example(1).chain_hash(&[0; 32]);
        assert_eq!(hex::encode(hash), GOLDEN_V2);
        let hash = example_v3(1).chain_hash(&[0; 32]);
        assert_eq!(hex::encode(hash), GOLDEN_V3);
    }

    const GOLDEN_V1: &str = "dd8723c5f67a498501ebab580908a4dce6a1962d2c9f88d50a21a20eac9fb923";
    const GOLDEN_V2: &str = "f1b69a0dbdd7310c7a18d341d963d525d74af7f35557a001084555cd06535769";
    const GOLDEN_V3: &str = "32363948c472d58033a2260a0918c0492810ad719b20d8dec1f427dcb9cdd048";
}
