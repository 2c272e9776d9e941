//! EP115 GetApplicationList: one person's applications for long-term social care and
//! rehabilitation, with every field of point 12 of Cabinet Regulation No. 587 and the
//! decisions taken (`GetApplicationList` → `GetApplicationListResponse`).

use crate::contract::SPOLIS_NS;
use crate::model::{Application, ApplicationList, ApplicationQuery, Contacts, Provider};
use crate::xml::{Element, XmlWriter};

use super::render::{classifier, person, provider, register_as_of};
use super::{as_of, operator, period, person_code, purpose, Children, Operator, PayloadError, Purpose};

/// The request, parsed and checked.
#[derive(Debug, Clone)]
pub struct GetApplicationList {
    pub query: ApplicationQuery,
    pub purpose: Purpose,
    pub operator: Operator,
}

impl GetApplicationList {
    /// Reads `GetApplicationList`: `PersonCode`, `Period`?, `AsOf`?, `Purpose`, `Operator`.
    pub fn parse(payload: &Element) -> Result<Self, PayloadError> {
        const PATH: &str = "GetApplicationList";
        let mut children = Children::of(payload, PATH)?;
        let person_code = person_code(children.required("PersonCode")?, "GetApplicationList/PersonCode")?;
        let period = period(children.optional("Period")?, "GetApplicationList/Period")?;
        let as_of = as_of(&mut children, PATH)?;
        let purpose = purpose(&mut children, PATH)?;
        let operator = operator(&mut children, PATH)?;
        children.end()?;
        Ok(GetApplicationList { query: ApplicationQuery { person_code, period, as_of }, purpose, operator })
    }
}

/// Writes `GetApplicationListResponse` (namespace declared on it).
pub(crate) fn render(answer: &ApplicationList) -> String {
    let mut w = XmlWriter::with_capacity(512 + answer.applications.len() * 2048);
    w.open_with("GetApplicationListResponse", &[("xmlns", SPOLIS_NS)]);
    register_as_of(&mut w, answer.register_as_of);
    if let Some(found) = &answer.person {
        person(&mut w, "Person", found);
    }
    w.open("Applications");
    for application in &answer.applications {
        render_application(&mut w, application);
    }
    w.close("Applications").close("GetApplicationListResponse");
    w.finish()
}

fn render_application(w: &mut XmlWriter, application: &Application) {
    w.open("Application")
        .leaf("ApplicationNumber", &application.application_number)
        .date("SubmissionDate", application.submitted_on)
        .leaf("ApplicationKind", &application.application_kind)
        .open("Status")
        .leaf("Code", application.status.code())
        .leaf("Name", application.status.label())
        .close("Status");
    classifier(w, "ServiceKind", &application.service_kind);
    if let Some(nature) = &application.problem_nature {
        classifier(w, "ProblemNature", nature);
    }
    if let Some(preferred) = &application.preferred_provider {
        provider(w, "PreferredProvider", preferred);
    }
    person(w, "Applicant", &application.applicant);
    if let Some(representative) = &application.legal_representative {
        w.open("LegalRepresentative")
            .leaf("FirstName", &representative.first_name)
            .leaf("Surname", &representative.surname)
            .leaf_opt("PersonCode", representative.person_code.map(|c| c.to_string()).as_deref())
            .leaf_opt("Address", representative.address.as_deref());
        contacts(w, &representative.contacts);
        w.close("LegalRepresentative");
    }
    let municipality = &application.municipality;
    w.open("Municipality")
        .leaf("Code", &municipality.code)
        .leaf("Name", &municipality.name)
        .leaf("Address", &municipality.address);
    contacts(w, &municipality.contacts);
    w.close("Municipality");

    w.open("SubmittedDocuments");
    for document in &application.submitted_documents {
        w.open("Document").leaf("Title", &document.title).date("SubmissionDate", document.submitted_on).close("Document");
    }
    w.close("SubmittedDocuments").open("DocumentRequests");
    for request in &application.document_requests {
        w.open("DocumentRequest")
            .date("RequestDate", request.requested_on)
            .leaf("Description", &request.description)
            .date_opt("DueDate", request.due_on)
            .date_opt("FulfilledDate", request.fulfilled_on)
            .close("DocumentRequest");
    }
    w.close("DocumentRequests").open("GrantDecisions");
    for decision in &application.grant_decisions {
        decision_head(w, "GrantDecision", decision.decided_on, &decision.document_number, &decision.provider);
        w.date("GrantedFrom", decision.granted_from).close("GrantDecision");
    }
    w.close("GrantDecisions").open("QueueDecisions");
    for decision in &application.queue_decisions {
        decision_head(w, "QueueDecision", decision.decided_on, &decision.document_number, &decision.provider);
        w.date("QueuedFrom", decision.queued_from).close("QueueDecision");
    }
    w.close("QueueDecisions").open("RefusalDecisions");
    for decision in &application.refusal_decisions {
        w.open("RefusalDecision")
            .date("DecisionDate", decision.decided_on)
            .leaf("DocumentNumber", &decision.document_number)
            .leaf("Reason", &decision.reason)
            .close("RefusalDecision");
    }
    w.close("RefusalDecisions").close("Application");
}

fn decision_head(w: &mut XmlWriter, tag: &str, decided_on: chrono::NaiveDate, number: &str, decided_provider: &Provider) {
    w.open(tag).date("DecisionDate", decided_on).leaf("DocumentNumber", number);
    provider(w, "Provider", decided_provider);
}

/// `Contacts`? — omitted when there is neither phone nor e-mail.
fn contacts(w: &mut XmlWriter, contacts: &Contacts) {
    if contacts.phone.is_none() && contacts.email.is_none() {
        return;
    }
    w.open("Contacts")
        .leaf_opt("Phone", contacts.phone.as_deref())
        .leaf_opt("Email", contacts.email.as_deref())
        .close("Contacts");
}
