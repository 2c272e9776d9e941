//! The record of one call, assembled once when it is answered from what its stages learnt,
//! and the audit record made of it.

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{record::canonical_person_code, AuditRecord};
use crate::contract::ServiceContract;
use crate::error::ServiceError;
use crate::contract::Environment;
use crate::identity::{CertificateIdentity, Consumer};
use crate::soap::ivis::IvisHeader;
use crate::soap::payload::AsSent;
use crate::soap::SoapVersion;

use super::{Peer, RequestStyle};

/// Everything known about one call once it is answered: the material of the audit record.
/// Personal data (`as_sent`, the IVIS sender) is here and must only ever reach the audit.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// Unique id of the call: the fault's `ErrorId`, the IVISResponse `MessageID`, the log key.
    pub call_id: Uuid,
    pub received_at: DateTime<Utc>,
    pub client: SocketAddr,
    pub certificate: CertificateIdentity,
    /// The consumer the call is made for: the certificate's, or the one an intermediary
    /// forwards for.
    pub consumer: Option<Consumer>,
    /// The intermediary (the VISS bus) that forwarded the call, when one did.
    pub intermediary: Option<Consumer>,
    /// The service of the path called; `None` when the path names none.
    pub contract: Option<&'static ServiceContract>,
    pub soap_version: Option<SoapVersion>,
    pub style: Option<RequestStyle>,
    /// WS-Addressing MessageID header, if sent.
    pub ws_addressing_message_id: Option<String>,
    pub ivis: Option<IvisHeader>,
    pub as_sent: AsSent,
    /// The number of records answered (applications, or events + positions), or the error.
    pub outcome: Result<usize, ServiceError>,
    pub elapsed_micros: u64,
}

/// What the request said of itself, as far as it was read: a refused call's record keeps it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Heard {
    pub soap_version: Option<SoapVersion>,
    pub style: Option<RequestStyle>,
    pub ws_addressing_message_id: Option<String>,
    pub ivis: Option<IvisHeader>,
    /// Who asked about whom, collected before the payload is judged.
    pub as_sent: AsSent,
}

impl Heard {
    /// The MessageID a replay is recognised by: the IVIS one, else WS-Addressing's.
    pub(crate) fn message_id(&self) -> Option<&str> {
        self.ivis.as_ref().and_then(|h| h.message_id.as_deref()).or(self.ws_addressing_message_id.as_deref())
    }
}

/// Who the call is made for, once the client certificate is identified.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The registered consumer whose rights apply: the certificate's, or the Sender an
    /// intermediary forwards for.
    pub consumer: Consumer,
    /// The intermediary that forwarded the call, when one did.
    pub intermediary: Option<Consumer>,
}

/// What the stages before a call's end learnt of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Known {
    pub heard: Heard,
    pub caller: Option<Caller>,
}

/// A call refused at some stage, with what was learnt before the refusal.
#[derive(Debug)]
pub(crate) struct Refused {
    pub error: ServiceError,
    pub known: Known,
}

/// The identity of a call, fixed when it arrives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    pub call_id: Uuid,
    pub received_at: DateTime<Utc>,
}

impl Arrival {
    pub(crate) fn at(now: DateTime<Utc>) -> Arrival {
        // Time-ordered (v7): audit records are appended in id order, so the unique index
        // on the id grows at its end instead of dirtying a random page per call.
        Arrival { call_id: Uuid::now_v7(), received_at: now }
    }
}

impl CallRecord {
    pub(crate) fn assemble(
        arrival: Arrival,
        peer: &Peer,
        contract: Option<&'static ServiceContract>,
        known: Known,
        outcome: Result<usize, ServiceError>,
        elapsed_micros: u64,
    ) -> CallRecord {
        let Known { heard, caller } = known;
        let (consumer, intermediary) = match caller {
            Some(caller) => (Some(caller.consumer), caller.intermediary),
            None => (None, None),
        };
        CallRecord {
            call_id: arrival.call_id,
            received_at: arrival.received_at,
            client: peer.address,
            certificate: peer.certificate.clone(),
            consumer,
            intermediary,
            contract,
            soap_version: heard.soap_version,
            style: heard.style,
            ws_addressing_message_id: heard.ws_addressing_message_id,
            ivis: heard.ivis,
            as_sent: heard.as_sent,
            outcome,
            elapsed_micros,
        }
    }

    /// The audit record of the finished call.
    pub(crate) fn to_audit(&self, environment: Environment) -> AuditRecord {
        let ivis = self.ivis.as_ref();
        let nonempty = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        AuditRecord {
            seq: 0,
            record_id: self.call_id,
            received_at: self.received_at,
            message_id: ivis.and_then(|h| h.message_id.clone()).or_else(|| self.ws_addressing_message_id.clone()),
            transaction_id: ivis.and_then(|h| h.transaction_id.clone()),
            correlation_id: ivis.and_then(|h| h.correlation_id.clone()),
            consumer_id: self.consumer.as_ref().map(|c| c.id.clone()),
            consumer_name: self.consumer.as_ref().map(|c| c.name.clone()),
            certificate_sha256: self.certificate.sha256_fingerprint.clone(),
            certificate_subject: self.certificate.subject.clone(),
            client_ip: self.client.ip().to_string(),
            environment: environment.to_string(),
            operator_first_name: nonempty(&self.as_sent.operator_first_name),
            operator_surname: nonempty(&self.as_sent.operator_surname),
            operator_person_code: nonempty(&self.as_sent.operator_person_code).map(|code| canonical_person_code(&code)),
            // The Sender as sent; a forwarded call names its intermediary beside it (both kept in
            // this field so that the record's canonical encoding, and its hash chain, stay as they are).
            ivis_sender: match (ivis.and_then(|h| h.sender.clone()), &self.intermediary) {
                (Some(sender), Some(intermediary)) => Some(format!("{sender} (forwarded by {})", intermediary.id)),
                (sender, _) => sender,
            },
            service: self.contract.map_or("-", |c| c.service.code()).to_string(),
            request_style: self.style.map(|s| s.label().to_string()),
            soap_version: self.soap_version.map(|v| v.label().to_string()),
            person_code: nonempty(&self.as_sent.person_code).map(|code| canonical_person_code(&code)),
            outcome: match &self.outcome {
                Ok(_) => "ok".to_string(),
                Err(error) => error.code.name().to_string(),
            },
            records_returned: self.outcome.as_ref().map_or(0, |n| i64::try_from(*n).unwrap_or(i64::MAX)),
            processing_micros: i64::try_from(self.elapsed_micros).unwrap_or(i64::MAX),
            purpose_legal_basis: nonempty(&self.as_sent.purpose_legal_basis),
            purpose_case_number: nonempty(&self.as_sent.purpose_case_number),
            bulk_prepared_by: self.consumer.as_ref().and_then(|c| c.bulk_requests.as_ref()).map(|bulk| bulk.prepared_by.clone()),
            administrative: None,
            version: crate::audit::record::RecordVersion::CURRENT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_is_recognised_by_the_ivis_message_id_before_the_ws_addressing_one() {
        let mut heard = Heard { ws_addressing_message_id: Some("urn:uuid:a".into()), ..Heard::default() };
        assert_eq!(heard.message_id(), Some("urn:uuid:a"));
        heard.ivis = Some(IvisHeader { message_id: Some("b".into()), ..IvisHeader::default() });
        assert_eq!(heard.message_id(), Some("b"));
        heard.ivis = Some(IvisHeader::default());
        assert_eq!(heard.message_id(), Some("urn:uuid:a"), "an IVIS header without one falls back");
    }
}
