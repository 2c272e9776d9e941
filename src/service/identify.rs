//! Stage two: who is calling. The client certificate's registered consumer, its environment
//! and network, and — for an intermediary's IVIS call — the consumer its Sender names, whose
//! services, environment, signature duty and quotas then apply.

use std::net::IpAddr;

use crate::contract::ServiceContract;
use crate::error::{ErrorCode, ServiceError};
use crate::contract::Environment;
use crate::identity::{sender_institution, Consumer, ConsumerRegistry};

use super::record::{Caller, Heard};
use super::{Peer, RequestStyle};

/// Why a caller is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdentifyError {
    #[error("The client certificate is not registered to any consumer.")]
    NotRegistered,
    #[error("The certificate is registered for the {registered} environment; this service is {served}.")]
    OtherEnvironment { registered: Environment, served: Environment },
    #[error("Address {0} is not in its allowed networks.")]
    NetworkNotAllowed(IpAddr),
    #[error("A forwarded call must name its Sender.")]
    SenderMissing,
    #[error("Consumer {intermediary} does not forward for the institution the Sender names.")]
    NotForwardedFor { intermediary: String },
    #[error("The Sender names another institution than the client certificate's.")]
    SenderOtherInstitution,
    #[error("The consumer may not call {0}.")]
    ServiceNotAllowed(&'static str),
}

impl From<IdentifyError> for ServiceError {
    fn from(error: IdentifyError) -> ServiceError {
        let code = match &error {
            // The table's message says it all.
            IdentifyError::NotRegistered => return ServiceError::new(ErrorCode::ConsumerNotRegistered),
            IdentifyError::OtherEnvironment { .. } => ErrorCode::ConsumerNotRegistered,
            IdentifyError::NetworkNotAllowed(_) => ErrorCode::NetworkNotAllowed,
            IdentifyError::SenderMissing | IdentifyError::NotForwardedFor { .. } | IdentifyError::SenderOtherInstitution => {
                ErrorCode::SenderIncorrect
            }
            IdentifyError::ServiceNotAllowed(_) => ErrorCode::ServiceNotAllowed,
        };
        ServiceError::with_detail(code, error.to_string())
    }
}

/// Identifies the caller of a call whose envelope said `heard`. A refusal carries the
/// caller as far as it was identified, for the audit.
pub(crate) fn identify(
    registry: &ConsumerRegistry,
    environment: Environment,
    peer: &Peer,
    contract: &ServiceContract,
    heard: &Heard,
) -> Result<Caller, (Option<Caller>, IdentifyError)> {
    let certificate_holder = registry.identify(&peer.certificate).ok_or((None, IdentifyError::NotRegistered))?;
    let direct = Caller { consumer: certificate_holder.clone(), intermediary: None };
    let refuse = |caller: &Caller, error| (Some(caller.clone()), error);
    check_environment(certificate_holder, environment).map_err(|e| refuse(&direct, e))?;
    if !certificate_holder.may_connect_from(peer.address.ip()) {
        return Err(refuse(&direct, IdentifyError::NetworkNotAllowed(peer.address.ip())));
    }
    let sender = heard.ivis.as_ref().and_then(|header| header.sender.as_deref());
    let caller = match heard.style {
        Some(RequestStyle::Ivis) if certificate_holder.is_intermediary() => {
            let sender = sender.ok_or_else(|| refuse(&direct, IdentifyError::SenderMissing))?;
            let forwarded = registry.forwarded_sender(certificate_holder, sender).ok_or_else(|| {
                refuse(&direct, IdentifyError::NotForwardedFor { intermediary: certificate_holder.id.clone() })
            })?;
            let caller = Caller { consumer: forwarded.clone(), intermediary: Some(certificate_holder.clone()) };
            check_environment(forwarded, environment).map_err(|e| refuse(&caller, e))?;
            caller
        }
        Some(RequestStyle::Ivis) if sender.is_some_and(|sender| !certificate_holder.is_named_by(sender_institution(sender))) => {
            return Err(refuse(&direct, IdentifyError::SenderOtherInstitution));
        }
        _ => direct,
    };
    if !caller.consumer.may_call(contract.service) {
        return Err(refuse(&caller, IdentifyError::ServiceNotAllowed(contract.service.code())));
    }
    Ok(caller)
}

/// A consumer registered for the other environment is not registered here.
fn check_environment(consumer: &Consumer, served: Environment) -> Result<(), IdentifyError> {
    match consumer.environment == served {
        true => Ok(()),
        false => Err(IdentifyError::OtherEnvironment { registered: consumer.environment, served }),
    }
}
