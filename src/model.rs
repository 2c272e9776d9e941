//! The register's answers as typed values: what EP115 and EP116 return, independent of XML,
//! HTTP and storage. Handlers build the XML from these; stores fill them.
//!
//! Field names follow DOMAIN.md ("what an application carries", point 12 of Cabinet
//! Regulation No. 587, and the EP116 event list); the Latvian term is in each doc line.

use chrono::NaiveDate;

use crate::personal_code::PersonalCode;

/// A value of a classifier: a stable code and its Latvian name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classifier {
    pub code: String,
    pub name: String,
}

/// A person as the register knows them (persona).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub person_code: PersonalCode,
    pub first_name: String,
    pub surname: String,
}

/// Phone and e-mail (tālrunis, kontaktinformācija).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contacts {
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A service provider (pakalpojuma sniedzējs): a state social care centre (VSAC) or a
/// contract organisation (līgumorganizācija).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Registration code of the provider in the SPOLIS provider register.
    pub code: String,
    pub name: String,
}

/// 12.2 The applicant's legal representative (likumiskais pārstāvis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalRepresentative {
    pub first_name: String,
    pub surname: String,
    pub person_code: Option<PersonalCode>,
    pub address: Option<String>,
    pub contacts: Contacts,
}

/// 12.3 The municipality (pašvaldība) whose social service assessed the need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipality {
    pub code: String,
    pub name: String,
    pub address: String,
    pub contacts: Contacts,
}

/// 12.4 A document submitted with the application (iesniegtais dokuments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedDocument {
    pub title: String,
    pub submitted_on: NaiveDate,
}

/// 12.5 A request for additional documents (papildu dokumentu pieprasījums).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRequest {
    pub requested_on: NaiveDate,
    pub description: String,
    pub due_on: Option<NaiveDate>,
    pub fulfilled_on: Option<NaiveDate>,
}

/// 12.6 Decision to grant the service (lēmums par pakalpojuma piešķiršanu).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantDecision {
    pub decided_on: NaiveDate,
    pub document_number: String,
    pub provider: Provider,
    pub granted_from: NaiveDate,
}

/// 12.7 Decision to admit to the queue (lēmums par uzņemšanu rindā).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDecision {
    pub decided_on: NaiveDate,
    pub document_number: String,
    pub provider: Provider,
    pub queued_from: NaiveDate,
}

/// One application (iesniegums) with everything point 12 asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// The register's number of the application.
    pub application_number: String,
    /// 12.1 submission date (iesnieguma datums).
    pub submitted_on: NaiveDate,
    /// 12.1 application kind (iesnieguma veids), e.g. "Sociālās aprūpes un rehabilitācijas pakalpojums".
    pub application_kind: String,
    /// 12.1 the kind of social service asked for (sociālā pakalpojuma veids).
    pub service_kind: Classifier,
    /// 12.1 the preferred provider (vēlamais pakalpojuma sniedzējs).
    pub preferred_provider: Option<Provider>,
    /// 12.1 the applicant (iesniedzējs).
    pub applicant: Person,
    pub legal_representative: Option<LegalRepresentative>,
    pub municipality: Municipality,
    pub submitted_documents: Vec<SubmittedDocument>,
    pub document_requests: Vec<DocumentRequest>,
    pub grant_decisions: Vec<GrantDecision>,
    pub queue_decisions: Vec<QueueDecision>,
}

/// The 15 queue event kinds of EP116, exactly as `seeds/000_…txt` 5.2 lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueEventKind {
    AdmittedToQueue = 1,
    DocumentRenewalRequested = 2,
    DocumentsRenewed = 3,
    InstitutionChangeApplied = 4,
    ServiceGranted = 5,
    PlaceOffered = 6,
    InstitutionDeclined = 7,
    RestoredToQueue = 8,
    AdmittedToQueueForProviderChange = 9,
    ProviderChanged = 10,
    AdmittedToQueueForServiceKindChange = 11,
    HalfwayHouseGranted = 12,
    ServiceKindChanged = 13,
    Refused = 14,
    ReviewLetterAndDocumentRequest = 15,
}

impl QueueEventKind {
    pub const ALL: [QueueEventKind; 15] = [
        Self::AdmittedToQueue,
        Self::DocumentRenewalRequested,
        Self::DocumentsRenewed,
        Self::InstitutionChangeApplied,
        Self::ServiceGranted,
        Self::PlaceOffered,
        Self::InstitutionDeclined,
        Self::RestoredToQueue,
        Self::AdmittedToQueueForProviderChange,
        Self::ProviderChanged,
        Self::AdmittedToQueueForServiceKindChange,
        Self::HalfwayHouseGranted,
        Self::ServiceKindChanged,
        Self::Refused,
        Self::ReviewLetterAndDocumentRequest,
    ];

    /// The numeric code (1–15) carried on the wire and in the store.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// The Latvian label, verbatim from the seed document.
    pub fn label(self) -> &'static str {
        match self {
            Self::AdmittedToQueue => "lēmums par uzņemšanu rindā",
            Self::DocumentRenewalRequested => "pieprasījums dokumentu atjaunošanai",
            Self::DocumentsRenewed => "dokumenti atjaunoti",
            Self::InstitutionChangeApplied => "iesniegums iestādes maiņai",
            Self::ServiceGranted => "lēmums par pakalpojumu piešķiršanu",
            Self::PlaceOffered => "piedāvāta brīvā vieta",
            Self::InstitutionDeclined => "atsakās no konkrētās iestādes",
            Self::RestoredToQueue => "lēmums par personas atjaunošanu rindā",
            Self::AdmittedToQueueForProviderChange => "lēmums par uzņemšanu rindā pakalpojumu sniedzēju maiņai",
            Self::ProviderChanged => "lēmums par pakalpojumu sniedzēju maiņu",
            Self::AdmittedToQueueForServiceKindChange => "lēmums par uzņemšanu rindā pakalpojumu veida maiņai",
            Self::HalfwayHouseGranted => "lēmumi par pusceļa mājas piešķiršanu",
            Self::ServiceKindChanged => "lēmums par pakalpojuma veida maiņu",
            Self::Refused => "lēmums par atteikumu",
            Self::ReviewLetterAndDocumentRequest => "vēstule par iesnieguma izskatīšanu un dokumentu pieprasīšanu",
        }
    }
}

/// A place offered to the person (piedāvātā vieta un adrese).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedPlace {
    pub provider: Provider,
    pub address: String,
}

/// One queue event (rindas notikums) of EP116.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEvent {
    pub kind: QueueEventKind,
    /// Notikuma datums.
    pub event_date: NaiveDate,
    /// Lēmuma Nr., for events that are decisions.
    pub decision_number: Option<String>,
    /// Pakalpojuma veids.
    pub service_kind: Classifier,
    /// Vēlamais VSAC / SAC.
    pub preferred_provider: Option<Provider>,
    /// Piedāvātā vieta un adrese.
    pub offered_place: Option<OfferedPlace>,
    /// Piešķiršanas datums.
    pub granted_on: Option<NaiveDate>,
    /// The application the event belongs to.
    pub application_number: Option<String>,
}

/// Where the person stands now in one queue (rindas virzība): one provider × service kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePosition {
    pub service_kind: Classifier,
    pub provider: Provider,
    /// The date from which the person is queued (rindā no).
    pub queued_since: NaiveDate,
    /// How many persons wait ahead of this one in the same queue.
    pub places_ahead: u32,
    /// How many persons wait in this queue now, this one included.
    pub queue_length: u32,
}

/// An optional period; both ends inclusive. `from <= till` is checked when parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub till: Option<NaiveDate>,
}

impl Period {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| date >= from) && self.till.is_none_or(|till| date <= till)
    }

    /// The period ending no later than `as_of` (what an as-of answer may show).
    pub fn until(self, as_of: Option<NaiveDate>) -> Period {
        let till = match (self.till, as_of) {
            (Some(till), Some(as_of)) => Some(till.min(as_of)),
            (till, as_of) => till.or(as_of),
        };
        Period { from: self.from, till }
    }
}

/// What EP115 asks the store: one person's applications submitted within the period.
#[derive(Debug, Clone)]
pub struct ApplicationQuery {
    pub person_code: PersonalCode,
    pub period: Period,
    /// The register as it stood at the end of this day: applications, documents, requests
    /// and decisions dated later are left out (and a document request fulfilled later is
    /// unfulfilled). `None`: as it stands now.
    pub as_of: Option<NaiveDate>,
}

/// What EP116 asks the store: one person's queue events within the period, and their
/// queue positions, optionally narrowed to a service kind or a provider.
#[derive(Debug, Clone)]
pub struct QueueStatusQuery {
    pub person_code: PersonalCode,
    pub period: Period,
    pub service_kind_code: Option<String>,
    pub provider_code: Option<String>,
    /// The queues as they stood at the end of this day: events dated later are left out, and
    /// positions are counted over who waited that day (see `store::sql`). `None`: now.
    pub as_of: Option<NaiveDate>,
}

/// EP115's answer. `person` is `None` when the register holds nothing about the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationList {
    pub person: Option<Person>,
    pub applications: Vec<Application>,
}

/// EP116's answer. `person` is `None` when the register holds nothing about the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatusList {
    pub person: Option<Person>,
    pub events: Vec<QueueEvent>,
    pub positions: Vec<QueuePosition>,
}
