//! The operations the service answers, one module each: a typed request in, the register's
//! model out. The XML of their requests and answers lives beside the SOAP code
//! (`soap::payload`); this is where a request becomes a store query.

mod get_application_list;
mod get_queue_statistics;
mod get_queue_status_list;

use crate::contract::Service;
use crate::model::QueueStatisticsQuery;
use crate::soap::payload::{self, GetApplicationList, GetQueueStatistics, GetQueueStatusList, Operator};
use crate::store::{Store, StoreError};
use crate::xml::Element;

/// One call's operation, parsed and checked against the contract.
#[derive(Debug, Clone)]
pub(crate) enum Operation {
    GetApplicationList(GetApplicationList),
    GetQueueStatusList(GetQueueStatusList),
    /// The request and its months, fixed by the day of the call.
    GetQueueStatistics(GetQueueStatistics, QueueStatisticsQuery),
}

/// An operation's answer: the payload for the SOAP Body and how many records it holds.
pub(crate) struct Answered {
    pub payload: String,
    /// Applications, queue events and positions, or statistics months (one queue's month
    /// each): the audit's `records_returned`.
    pub records: usize,
}

impl Operation {
    /// Reads the payload as the request of `service`'s operation, made on `today` (which
    /// fixes the months of a statistics period).
    pub(crate) fn parse(service: Service, payload: &Element, today: chrono::NaiveDate) -> Result<Operation, crate::error::ServiceError> {
        Ok(match service {
            Service::Ep115 => Operation::GetApplicationList(GetApplicationList::parse(payload)?),
            Service::Ep116 => Operation::GetQueueStatusList(GetQueueStatusList::parse(payload)?),
            Service::QueueStatistics => {
                let request = GetQueueStatistics::parse(payload)?;
                let query = request.query(today)?;
                Operation::GetQueueStatistics(request, query)
            }
        })
    }

    /// The person using the calling system, as the request names them (for quotas).
    pub(crate) fn operator(&self) -> &Operator {
        match self {
            Operation::GetApplicationList(request) => &request.operator,
            Operation::GetQueueStatusList(request) => &request.operator,
            Operation::GetQueueStatistics(request, _) => &request.operator,
        }
    }

    /// The day the request asks the register to be shown as of, if any.
    pub(crate) fn as_of(&self) -> Option<chrono::NaiveDate> {
        match self {
            Operation::GetApplicationList(request) => request.query.as_of,
            Operation::GetQueueStatusList(request) => request.query.as_of,
            Operation::GetQueueStatistics(..) => None,
        }
    }

    /// Refuses an `AsOf` after `today`, the day of the call: the register knows no tomorrow.
    pub(crate) fn as_of_not_after(&self, today: chrono::NaiveDate) -> Result<(), crate::error::ServiceError> {
        match self.as_of() {
            Some(as_of) if as_of > today => {
                let operation = match self {
                    Operation::GetApplicationList(_) => "GetApplicationList",
                    Operation::GetQueueStatusList(_) => "GetQueueStatusList",
                    Operation::GetQueueStatistics(..) => "GetQueueStatistics",
                };
                let detail = format!("{operation}/AsOf {as_of} is after the day of the call, {today}.");
                Err(crate::error::ServiceError::with_detail(crate::error::ErrorCode::AsOfInFuture, detail))
            }
            _ => Ok(()),
        }
    }

    /// Reads the register and writes the answer; `today` is the day of the call.
    pub(crate) async fn apply(self, store: &Store, today: chrono::NaiveDate) -> Result<Answered, StoreError> {
        Ok(match self {
            Operation::GetApplicationList(request) => {
                let found = get_application_list::apply(store, request).await?;
                Answered { records: found.applications.len(), payload: payload::get_application_list::render(&found) }
            }
            Operation::GetQueueStatusList(request) => {
                let found = get_queue_status_list::apply(store, request, today).await?;
                Answered { records: found.events.len() + found.positions.len(), payload: payload::get_queue_status_list::render(&found) }
            }
            Operation::GetQueueStatistics(_, query) => {
                let found = get_queue_statistics::apply(store, query).await?;
                let records = found.queues.iter().map(|queue| queue.months.len()).sum();
                Answered { records, payload: payload::get_queue_statistics::render(&found) }
            }
        })
    }
}
