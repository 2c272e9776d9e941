//! EP116 GetQueueStatusList: one person's queue events (the 15 kinds of the seeds, with their
//! Latvian labels) and, for each queue they wait in now, their position in it
//! (`GetQueueStatusList` → `GetQueueStatusListResponse`).

use crate::contract::SPOLIS_NS;
use crate::model::{EstimatedWait, QueueStatusList, QueueStatusQuery, WaitOutcome};
use crate::xml::{Element, XmlWriter};

use super::render::{classifier, person, provider, register_as_of};
use super::{as_of, leaf_text, operator, period, person_code, purpose, Children, Operator, PayloadError, Purpose};

/// The request, parsed and checked.
#[derive(Debug, Clone)]
pub struct GetQueueStatusList {
    pub query: QueueStatusQuery,
    pub purpose: Purpose,
    pub operator: Operator,
}

impl GetQueueStatusList {
    /// Reads `GetQueueStatusList`: `PersonCode`, `Period`?, `AsOf`?, `ServiceKindCode`?,
    /// `ProviderCode`?, `Purpose`, `Operator`.
    pub fn parse(payload: &Element) -> Result<Self, PayloadError> {
        const PATH: &str = "GetQueueStatusList";
        let mut children = Children::of(payload, PATH)?;
        let person_code = person_code(children.required("PersonCode")?, "GetQueueStatusList/PersonCode")?;
        let period = period(children.optional("Period")?, "GetQueueStatusList/Period")?;
        let as_of = as_of(&mut children, PATH)?;
        let service_kind_code = children
            .optional("ServiceKindCode")?
            .map(|e| leaf_text(e, "GetQueueStatusList/ServiceKindCode", 20).map(str::to_string))
            .transpose()?;
        let provider_code = children
            .optional("ProviderCode")?
            .map(|e| leaf_text(e, "GetQueueStatusList/ProviderCode", 20).map(str::to_string))
            .transpose()?;
        let purpose = purpose(&mut children, PATH)?;
        let operator = operator(&mut children, PATH)?;
        children.end()?;
        Ok(GetQueueStatusList {
            query: QueueStatusQuery { person_code, period, service_kind_code, provider_code, as_of, today: None },
            purpose,
            operator,
        })
    }
}

/// Writes `GetQueueStatusListResponse` (namespace declared on it).
pub(crate) fn render(answer: &QueueStatusList) -> String {
    let mut w = XmlWriter::with_capacity(512 + answer.events.len() * 700 + answer.positions.len() * 400);
    w.open_with("GetQueueStatusListResponse", &[("xmlns", SPOLIS_NS)]);
    register_as_of(&mut w, answer.register_as_of);
    if let Some(found) = &answer.person {
        person(&mut w, "Person", found);
    }
    w.open("QueueEvents");
    for event in &answer.events {
        w.open("QueueEvent")
            .open("EventKind")
            .number("Code", event.kind.code())
            .leaf("Name", event.kind.label())
            .close("EventKind")
            .date("EventDate", event.event_date)
            .leaf_opt("DecisionNumber", event.decision_number.as_deref());
        classifier(&mut w, "ServiceKind", &event.service_kind);
        if let Some(nature) = &event.problem_nature {
            classifier(&mut w, "ProblemNature", nature);
        }
        if let Some(preferred) = &event.preferred_provider {
            provider(&mut w, "PreferredProvider", preferred);
        }
        if let Some(place) = &event.offered_place {
            w.open("OfferedPlace");
            provider(&mut w, "Provider", &place.provider);
            w.leaf("Address", &place.address).close("OfferedPlace");
        }
        w.date_opt("GrantDate", event.granted_on)
            .leaf_opt("ApplicationNumber", event.application_number.as_deref())
            .close("QueueEvent");
    }
    w.close("QueueEvents").open("QueuePositions");
    for position in &answer.positions {
        w.open("QueuePosition");
        classifier(&mut w, "ServiceKind", &position.service_kind);
        provider(&mut w, "Provider", &position.provider);
        w.date("QueuedSince", position.queued_since)
            .number("PlacesAhead", position.places_ahead)
            .number("QueueLength", position.queue_length);
        if let Some(wait) = &position.estimated_wait {
            estimated_wait(&mut w, wait);
        }
        w.close("QueuePosition");
    }
    w.close("QueuePositions").close("GetQueueStatusListResponse");
    w.finish()
}

/// `EstimatedWaitStructure`: `InsufficientData`, and when false the months to expect with
/// their range; then the basis (exits, months, the window, the Latvian text).
fn estimated_wait(w: &mut XmlWriter, wait: &EstimatedWait) {
    w.open("EstimatedWait");
    match wait.outcome {
        WaitOutcome::Estimated { months, low, high } => {
            w.leaf("InsufficientData", "false").number("Months", months).number("MonthsLow", low);
            if let Some(high) = high {
                w.number("MonthsHigh", high);
            }
        }
        WaitOutcome::InsufficientData => {
            w.leaf("InsufficientData", "true");
        }
    }
    w.number("BasisExits", wait.basis_exits)
        .number("BasisMonths", wait.basis_months)
        .date("BasisFrom", wait.basis_from)
        .date("BasisTill", wait.basis_till)
        .leaf("Basis", &wait.basis)
        .close("EstimatedWait");
}
