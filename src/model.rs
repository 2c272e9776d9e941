//! The register's answers as typed values: what EP115 and EP116 return, independent of XML,
//! HTTP and storage. Handlers build the XML from these; stores fill them.
//!
//! Field names follow DOMAIN.md ("what an application carries", point 12 of Cabinet
//! Regulation No. 587, and the EP116 event list); the Latvian term is in each doc line.

use chrono::{DateTime, NaiveDate, Utc};

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

/// A decision of refusal (lēmums par atteikumu, event 14) with its reason (Regulation
/// No. 587 point 10.9: "kādu iemeslu dēļ tika atteikts").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalDecision {
    pub decided_on: NaiveDate,
    pub document_number: String,
    pub reason: String,
}

/// Where an application stands (iesnieguma statuss), derived from its queue events so that
/// the register holds one truth: the status is the one set by the application's latest
/// event whose kind sets one ([`QueueEventKind::sets_status`]), or `Submitted` when none has.
/// The codes and labels are the contract's `ApplicationStatusCodeType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationStatus {
    /// No event yet, or only an application to change institution (4).
    Submitted,
    /// A letter asked for documents (15) before any decision.
    DocumentsRequested,
    /// Admitted (1, 9, 11) or restored (8) to the queue; renewals (2, 3) keep it there.
    InQueue,
    /// A free place was offered (6).
    PlaceOffered,
    /// The person declined the offered place (7) and has not been restored (8).
    OfferDeclined,
    /// The service was granted (5, 10, 12, 13).
    Granted,
    /// The service was refused (14).
    Refused,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 7] = [
        Self::Submitted,
        Self::DocumentsRequested,
        Self::InQueue,
        Self::PlaceOffered,
        Self::OfferDeclined,
        Self::Granted,
        Self::Refused,
    ];

    /// The code carried on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::DocumentsRequested => "documents-requested",
            Self::InQueue => "in-queue",
            Self::PlaceOffered => "place-offered",
            Self::OfferDeclined => "offer-declined",
            Self::Granted => "granted",
            Self::Refused => "refused",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.code() == code)
    }

    /// The Latvian label (the status word of the printout's "Notikuma statuss").
    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "Iesniegums saņemts",
            Self::DocumentsRequested => "Pieprasīti dokumenti",
            Self::InQueue => "Uzņemts rindā",
            Self::PlaceOffered => "Piedāvāta brīvā vieta",
            Self::OfferDeclined => "Atteicies no piedāvātās vietas",
            Self::Granted => "Pakalpojums piešķirts",
            Self::Refused => "Pakalpojums atteikts",
        }
    }

    /// The status after `kinds`, the application's events in date order.
    pub fn after(kinds: impl IntoIterator<Item = QueueEventKind>) -> Self {
        kinds.into_iter().fold(Self::Submitted, |status, kind| kind.sets_status().unwrap_or(status))
    }
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
    /// Where the application stands (iesnieguma statuss), derived from its events.
    pub status: ApplicationStatus,
    /// 12.1 the kind of social service asked for (sociālā pakalpojuma veids).
    pub service_kind: Classifier,
    /// The nature of the person's problem (problēmas būtība): the client group the service is
    /// for, e.g. adults with severe mental disorders. `None` where the register lacks it.
    pub problem_nature: Option<Classifier>,
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
    /// Decisions of refusal (event 14), with their reasons.
    pub refusal_decisions: Vec<RefusalDecision>,
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

    /// The status an event of this kind puts its application in; `None` for the kinds that
    /// leave it as it was: document renewal (2, 3) and an application to change institution (4).
    pub fn sets_status(self) -> Option<ApplicationStatus> {
        use ApplicationStatus::*;
        match self {
            Self::DocumentRenewalRequested | Self::DocumentsRenewed | Self::InstitutionChangeApplied => None,
            Self::AdmittedToQueue
            | Self::RestoredToQueue
            | Self::AdmittedToQueueForProviderChange
            | Self::AdmittedToQueueForServiceKindChange => Some(InQueue),
            Self::PlaceOffered => Some(PlaceOffered),
            Self::InstitutionDeclined => Some(OfferDeclined),
            Self::ServiceGranted | Self::ProviderChanged | Self::HalfwayHouseGranted | Self::ServiceKindChanged => Some(Granted),
            Self::Refused => Some(Refused),
            Self::ReviewLetterAndDocumentRequest => Some(DocumentsRequested),
        }
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
    /// Problēmas būtība: the client group of the event's application.
    pub problem_nature: Option<Classifier>,
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
    /// How long the person can expect to wait, from the queue's recent throughput
    /// (`crate::estimate`). `None` only where no estimate was asked for (a client reading an
    /// answer without one).
    pub estimated_wait: Option<EstimatedWait>,
}

/// The expected wait for a place (paredzamais gaidīšanas laiks) in one queue, from how many
/// persons left it per month over a window of whole months (`crate::estimate` has the method).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimatedWait {
    pub outcome: WaitOutcome,
    /// Persons who left the queue within the window: places granted and refusals.
    pub basis_exits: u32,
    /// Months in the window.
    pub basis_months: u32,
    /// The window's first and last day.
    pub basis_from: NaiveDate,
    pub basis_till: NaiveDate,
    /// The basis in Latvian, for a person to read.
    pub basis: String,
}

/// An estimate, or the statement that the queue moved too little to make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Expected months until a place, and the range the month-to-month throughput implies;
    /// `high` is `None` when in at least a quarter of the months nobody left (no upper bound).
    Estimated { months: Tenths, low: Tenths, high: Option<Tenths> },
    /// Fewer exits in the window than an estimate needs: no number is guessed.
    InsufficientData,
}

/// A non-negative number with one decimal, kept as tenths (45 = 4.5) so that it is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tenths(pub u64);

impl Tenths {
    /// Reads `4.5`, `4`, `4.50` (at most one non-zero decimal).
    pub fn parse(text: &str) -> Option<Tenths> {
        let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        let fraction = fraction.trim_end_matches('0');
        let whole: u64 = whole.parse().ok()?;
        let tenth = match fraction {
            "" => 0,
            digit if digit.len() == 1 => digit.parse::<u64>().ok()?,
            _ => return None,
        };
        whole.checked_mul(10)?.checked_add(tenth).map(Tenths)
    }

    /// The Latvian way: a decimal comma (4,5).
    pub fn latvian(self) -> String {
        format!("{},{}", self.0 / 10, self.0 % 10)
    }
}

impl std::fmt::Display for Tenths {
    /// The `xs:decimal` form: `4.5`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
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
    /// The day of the call (Latvian time), set by the service: it ends the estimated waits'
    /// window when neither `as_of` nor the register's as-of time does. `None`: the system
    /// clock's day.
    pub today: Option<NaiveDate>,
}

/// EP115's answer. `person` is `None` when the register holds nothing about the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationList {
    /// When SPOLIS extracted the data the register holds (dati uz): the `AsOf` of the last
    /// import. `None` when nothing was ever imported (an empty register).
    pub register_as_of: Option<DateTime<Utc>>,
    pub person: Option<Person>,
    pub applications: Vec<Application>,
}

/// EP116's answer. `person` is `None` when the register holds nothing about the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatusList {
    /// As [`ApplicationList::register_as_of`].
    pub register_as_of: Option<DateTime<Utc>>,
    pub person: Option<Person>,
    pub events: Vec<QueueEvent>,
    pub positions: Vec<QueuePosition>,
}

/// A calendar month (mēnesis), counted from January of year 0: `year × 12 + month − 1`, so
/// that months compare, subtract and are stored as one integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub i32);

impl Month {
    /// The month a day falls in.
    pub fn of(date: NaiveDate) -> Month {
        use chrono::Datelike;
        Month(date.year() * 12 + date.month0() as i32)
    }

    pub fn from_parts(year: i32, month: u32) -> Option<Month> {
        (1..=12).contains(&month).then_some(Month(year * 12 + month as i32 - 1))
    }

    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// 1 to 12.
    pub fn number(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    /// The month `n` months later (earlier, for a negative `n`).
    pub fn plus(self, n: i32) -> Month {
        Month(self.0 + n)
    }

    /// Reads `YYYY-MM` (`xs:gYearMonth` without a time zone, four-digit years).
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 || !year.bytes().chain(month.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        Month::from_parts(year.parse().ok()?, month.parse().ok()?)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.number())
    }
}

/// What GetQueueStatistics asks the store: whole months, optionally narrowed, by
/// municipality or not. No person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatisticsQuery {
    pub from: Month,
    pub till: Month,
    pub service_kind_code: Option<String>,
    pub provider_code: Option<String>,
    /// Only this municipality's persons; the answer is then by municipality.
    pub municipality_code: Option<String>,
    /// One row per queue and municipality (else one per queue).
    pub by_municipality: bool,
}

/// One published number of the statistics: a value, or withheld. Never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    Value(u32),
    /// Describes 1–4 persons, or would let such a number be computed (see `statistics`).
    Suppressed,
}

/// The seven counts of a queue's month, in answer order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    /// Persons waiting at the month's end (gaida rindā mēneša beigās).
    Waiting = 0,
    /// Admitted to the queue (uzņemti rindā): event kinds 1, 9, 11.
    Admitted = 1,
    /// Offered a place (piedāvāta vieta): 6.
    Offered = 2,
    /// Declined an offered place (atteikušies no vietas): 7.
    Declined = 3,
    /// Granted the service (piešķirts): 5, 10, 12, 13.
    Granted = 4,
    /// Refused (atteikts): 14.
    Refused = 5,
    /// Stopped waiting without a grant (izslēgti no rindas).
    Removed = 6,
}

impl Measure {
    pub const ALL: [Measure; 7] =
        [Measure::Waiting, Measure::Admitted, Measure::Offered, Measure::Declined, Measure::Granted, Measure::Refused, Measure::Removed];

    /// The answer's element name.
    pub fn element(self) -> &'static str {
        match self {
            Measure::Waiting => "Waiting",
            Measure::Admitted => "Admitted",
            Measure::Offered => "Offered",
            Measure::Declined => "Declined",
            Measure::Granted => "Granted",
            Measure::Refused => "Refused",
            Measure::Removed => "Removed",
        }
    }

    /// The Latvian column heading of the client's table and CSV.
    pub fn label_lv(self) -> &'static str {
        match self {
            Measure::Waiting => "Gaida mēneša beigās",
            Measure::Admitted => "Uzņemti rindā",
            Measure::Offered => "Piedāvāta vieta",
            Measure::Declined => "Atteikušies",
            Measure::Granted => "Piešķirts",
            Measure::Refused => "Atteikts",
            Measure::Removed => "Izslēgti no rindas",
        }
    }
}

/// One queue's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthStatistics {
    pub month: Month,
    /// Indexed by [`Measure`].
    pub counts: [Statistic; 7],
    /// Days from admission to grant of those granted this month: median and 90th percentile;
    /// `None` when nobody was.
    pub median_wait_days: Option<Statistic>,
    pub percentile90_wait_days: Option<Statistic>,
}

/// One queue (a service kind at a provider), optionally of one municipality's persons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatisticsRow {
    pub service_kind: Classifier,
    pub provider: Provider,
    pub municipality: Option<Classifier>,
    /// Every month of the period, in order.
    pub months: Vec<MonthStatistics>,
}

/// GetQueueStatistics's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatistics {
    pub from: Month,
    pub till: Month,
    /// Counts of 1 to `minimum_count − 1` persons are never published.
    pub minimum_count: u32,
    pub queues: Vec<QueueStatisticsRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_event_that_sets_a_status_decides_it() {
        use ApplicationStatus::{DocumentsRequested, Granted, InQueue, OfferDeclined, Submitted};
        use QueueEventKind::*;
        assert_eq!(ApplicationStatus::after([]), Submitted);
        assert_eq!(ApplicationStatus::after([InstitutionChangeApplied]), Submitted);
        assert_eq!(ApplicationStatus::after([ReviewLetterAndDocumentRequest]), DocumentsRequested);
        assert_eq!(ApplicationStatus::after([AdmittedToQueue, DocumentRenewalRequested, DocumentsRenewed]), InQueue);
        assert_eq!(ApplicationStatus::after([AdmittedToQueue, PlaceOffered]), ApplicationStatus::PlaceOffered);
        assert_eq!(ApplicationStatus::after([AdmittedToQueue, PlaceOffered, InstitutionDeclined]), OfferDeclined);
        assert_eq!(ApplicationStatus::after([AdmittedToQueue, PlaceOffered, InstitutionDeclined, RestoredToQueue]), InQueue);
        assert_eq!(ApplicationStatus::after([AdmittedToQueueForServiceKindChange, HalfwayHouseGranted]), Granted);
        assert_eq!(ApplicationStatus::after([ReviewLetterAndDocumentRequest, Refused]), ApplicationStatus::Refused);
    }

    #[test]
    fn every_kind_but_renewals_and_institution_change_sets_a_status() {
        let silent: Vec<u8> = QueueEventKind::ALL.into_iter().filter(|k| k.sets_status().is_none()).map(|k| k.code()).collect();
        assert_eq!(silent, [2, 3, 4]);
    }

    #[test]
    fn months_read_write_and_count() {
        let month = Month::parse("2026-01").unwrap();
        assert_eq!((month.year(), month.number(), month.to_string()), (2026, 1, "2026-01".to_string()));
        assert_eq!(month.plus(-1).to_string(), "2025-12");
        assert_eq!(Month::of(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()).to_string(), "2026-12");
        for bad in ["2026-13", "2026-00", "26-01", "2026-1", "2026-01Z", "2026/01", "２０２６-01"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn status_codes_read_back_and_are_distinct() {
        for status in ApplicationStatus::ALL {
            assert_eq!(ApplicationStatus::from_code(status.code()), Some(status));
        }
        assert_eq!(ApplicationStatus::from_code("closed"), None);
    }
}
