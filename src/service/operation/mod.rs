//! The operations the service answers, one module each: a typed request in, the register's
//! model out. The XML of their requests and answers lives beside the SOAP code
//! (`soap::payload`); this is where a request becomes a store query.

mod get_application_list;
mod get_queue_status_list;

use crate::contract::Service;
use crate::soap::payload::{self, GetApplicationList, GetQueueStatusList, Operator};
use crate::store::{Store, StoreError};
use crate::xml::Element;

/// One call's operation, parsed and checked against the contract.
#[derive(Debug, Clone)]
pub(crate) enum Operation {
    GetApplicationList(GetApplicationList),
    GetQueueStatusList(GetQueueStatusList),
}

/// An operation's answer: the payload for the SOAP Body and how many records it holds.
pub(crate) struct Answered {
    pub payload: String,
    /// Applications, or queue events and positions: the audit's `records_returned`.
    pub records: usize,
}

impl Operation {
    /// Reads the payload as the request of `service`'s operation.
    pub(crate) fn parse(service: Service, payload: &Element) -> Result<Operation, crate::error::ServiceError> {
        Ok(match service {
            Service::Ep115 => Operation::GetApplicationList(GetApplicationList::parse(payload)?),
            Service::Ep116 => Operation::GetQueueStatusList(GetQueueStatusList::parse(payload)?),
        })
    }

    /// The person using the calling system, as the request names them (for quotas).
    pub(crate) fn operator(&self) -> &Operator {
        match self {
            Operation::GetApplicationList(request) => &request.operator,
            Operation::GetQueueStatusList(request) => &request.operator,
        }
    }

    /// Reads the register and writes the answer.
    pub(crate) async fn apply(self, store: &Store) -> Result<Answered, StoreError> {
        Ok(match self {
            Operation::GetApplicationList(request) => {
                let found = get_application_list::apply(store, request).await?;
                Answered { records: found.applications.len(), payload: payload::get_application_list::render(&found) }
            }
            Operation::GetQueueStatusList(request) => {
                let found = get_queue_status_list::apply(store, request).await?;
                Answered { records: found.events.len() + found.positions.len(), payload: payload::get_queue_status_list::render(&found) }
            }
        })
    }
}
