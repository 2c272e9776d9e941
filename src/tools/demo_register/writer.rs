//! The row writer: prepared inserts for every person table, the row ids and the per-year
//! application and decision numbers, and the queue entries a person holds until they are
//! finished. Knows rows, not stories: the generator decides what happens.

use rusqlite::{Connection, Statement};

use super::random::{Dates, Day, FIRST_DAY};
use super::reference::{provider_id, GRUPU_DZ, MUNICIPALITIES};
use crate::personal_code::PersonalCode;
use crate::store::sqlite::error;
use crate::store::StoreError;

/// What has been written, for the report.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counts {
    pub(super) persons: u64,
    pub(super) applications: u64,
    pub(super) queue_events: u64,
}

/// Row ids and per-year sequence numbers. Ids are assigned here, not by SQLite, so that
/// children can reference their parent without a round trip.
#[derive(Default)]
struct Ids {
    representative: i64,
    application: i64,
    document: i64,
    request: i64,
    grant: i64,
    queue_decision: i64,
    refusal: i64,
    event: i64,
    entry: i64,
    application_seq: [u32; 16],
}

/// Writes rows through statements prepared once, in the bulk-load transaction.
pub(super) struct Writer<'t> {
    dates: &'t Dates,
    pub(super) counts: Counts,
    ids: Ids,
    persons: Statement<'t>,
    representatives: Statement<'t>,
    applications: Statement<'t>,
    documents: Statement<'t>,
    requests: Statement<'t>,
    grants: Statement<'t>,
    queue_decisions: Statement<'t>,
    refusals: Statement<'t>,
    events: Statement<'t>,
    entries: Statement<'t>,
    issuers: Statement<'t>,
}

/// The person being written, and what belongs to them until they are finished.
pub(super) struct Subject {
    pub(super) id: i64,
    /// The day of birth (negative: before the register's first day).
    pub(super) born: Day,
    pub(super) municipality: usize,
    /// The client group (problēmas būtība) of the person's applications, a `CLIENT_GROUPS` index.
    pub(super) group: usize,
    pub(super) representative: Option<i64>,
    pub(super) entries: Vec<Entry>,
}

/// A queue entry of the subject; written when the subject is finished, with its final state.
pub(super) struct Entry {
    application: i64,
    provider: usize,
    kind: usize,
    since: Day,
    active: bool,
}

/// An application being written: its id and the queue it asks for.
#[derive(Clone, Copy)]
pub(super) struct App {
    pub(super) id: i64,
    pub(super) kind: usize,
    pub(super) provider: usize,
}

impl Subject {
    /// A person with no queue entries yet.
    pub(super) fn new(id: i64, born: Day, municipality: usize, group: usize, representative: Option<i64>) -> Subject {
        Subject { id, born, municipality, group, representative, entries: Vec::new() }
    }

    /// Whether the subject still waits in a queue of `app`.
    pub(super) fn waits_for(&self, app: &App) -> bool {
        self.entries.iter().any(|e| e.application == app.id && e.active)
    }
}

impl<'t> Writer<'t> {
    pub(super) fn new(conn: &'t Connection, dates: &'t Dates) -> Result<Self, StoreError> {
        conn.execute_batch(
            "CREATE TEMP TABLE decision_issuers (event_id INTEGER PRIMARY KEY, issuer TEXT NOT NULL, suffix TEXT NOT NULL)",
        )
        .map_err(error("seed: prepare"))?;
        let prepare = |sql: &str| conn.prepare(sql).map_err(error("seed: prepare"));
        Ok(Writer {
            dates,
            counts: Counts::default(),
            ids: Ids::default(),
            persons: prepare("INSERT INTO persons VALUES (?1, ?2, ?3, ?4)")?,
            representatives: prepare("INSERT INTO legal_representatives VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?,
            applications: prepare("INSERT INTO applications VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?,
            documents: prepare("INSERT INTO submitted_documents VALUES (?1, ?2, ?3, ?4)")?,
            requests: prepare("INSERT INTO document_requests VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            grants: prepare("INSERT INTO grant_decisions VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            queue_decisions: prepare("INSERT INTO queue_decisions VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            refusals: prepare("INSERT INTO refusal_decisions VALUES (?1, ?2, ?3, ?4, ?5)")?,
            events: prepare("INSERT INTO queue_events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?,
            entries: prepare("INSERT INTO queue_entries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?,
            issuers: prepare("INSERT INTO decision_issuers VALUES (?1, ?2, ?3)")?,
        })
    }

    pub(super) fn person(&mut self, code: &PersonalCode, first_name: &str, surname: &str) -> Result<i64, StoreError> {
        self.counts.persons += 1;
        let id = self.counts.persons as i64;
        self.persons
            .execute((id, code.digits(), first_name, surname))
            .map_err(error("seed: persons"))?;
        Ok(id)
    }

    pub(super) fn representative(
        &mut self,
        first_name: &str,
        surname: &str,
        code: &PersonalCode,
        address: &str,
        phone: &str,
        email: Option<&str>,
    ) -> Result<i64, StoreError> {
        self.ids.representative += 1;
        let id = self.ids.representative;
        self.representatives
            .execute((id, first_name, surname, code.digits(), address, phone, email))
            .map_err(error("seed: legal representatives"))?;
        Ok(id)
    }

    pub(super) fn application(
        &mut self,
        subject: &Subject,
        submitted: Day,
        kind_text: &str,
        kind: usize,
        provider: usize,
    ) -> Result<App, StoreError> {
        let dates = self.dates;
        self.ids.application += 1;
        self.counts.applications += 1;
        let id = self.ids.application;
        let year = dates.year(submitted);
        let seq = &mut self.ids.application_seq[(year - FIRST_DAY.0) as usize];
        *seq += 1;
        let number = format!("SPOLIS-IES-{year}-{seq:06}");
        self.applications
            .execute((
                id,
                subject.id,
                number,
                dates.text(submitted),
                kind_text,
                kind as i64 + 1,
                provider_id(provider),
                subject.municipality as i64 + 1,
                subject.representative,
                subject.group as i64 + 1,
            ))
            .map_err(error("seed: applications"))?;
        Ok(App { id, kind, provider })
    }

    pub(super) fn document(&mut self, app: &App, title: &str, on: Day) -> Result<(), StoreError> {
        self.ids.document += 1;
        self.documents
            .execute((self.ids.document, app.id, title, self.dates.text(on)))
            .map_err(error("seed: submitted documents"))?;
        Ok(())
    }

    pub(super) fn request(
        &mut self,
        app: &App,
        requested: Day,
        description: &str,
        due: Day,
        fulfilled: Option<Day>,
    ) -> Result<(), StoreError> {
        let dates = self.dates;
        self.ids.request += 1;
        self.requests
            .execute((
                self.ids.request,
                app.id,
                dates.text(requested),
                description,
                dates.text(due),
                fulfilled.map(|d| dates.text(d)),
            ))
            .map_err(error("seed: document requests"))?;
        Ok(())
    }

    /// Notes the issuer of the decision event `event_id` and returns a placeholder number
    /// (`#<event id>`) that [`number_decisions`] replaces once every decision is written. The
    /// ministry (`LM`) decides on state-funded care; a group apartment is the municipality's
    /// decision (Regulation No. 587 point 13.3.2), `<municipality code>-SD`.
    fn decision_number(&mut self, subject: &Subject, app: &App, event_id: i64, kind: u8) -> Result<String, StoreError> {
        let issuer = if app.kind == GRUPU_DZ { format!("{}-SD", MUNICIPALITIES[subject.municipality].0) } else { "LM".to_string() };
        let suffix = match kind {
            5 | 10 | 12 | 13 => "P",
            14 => "A",
            _ => "R",
        };
        self.issuers.execute((event_id, issuer, suffix)).map_err(error("seed: decision issuers"))?;
        Ok(format!("#{event_id}"))
    }

    /// Writes one queue event; returns its decision number when the kind is a decision.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        subject: &Subject,
        app: &App,
        kind: u8,
        on: Day,
        service_kind: usize,
        preferred: Option<usize>,
        offered: Option<usize>,
        granted_on: Option<Day>,
    ) -> Result<Option<String>, StoreError> {
        let is_decision = matches!(kind, 1 | 5 | 8 | 9 | 10 | 11 | 12 | 13 | 14);
        self.ids.event += 1;
        let number = if is_decision { Some(self.decision_number(subject, app, self.ids.event, kind)?) } else { None };
        let dates = self.dates;
        self.counts.queue_events += 1;
        self.events
            .execute((
                self.ids.event,
                subject.id,
                app.id,
                kind,
                dates.text(on),
                number.as_deref(),
                service_kind as i64 + 1,
                preferred.map(provider_id),
                offered.map(provider_id),
                None::<&str>,
                granted_on.map(|d| dates.text(d)),
            ))
            .map_err(error("seed: queue events"))?;
        Ok(number)
    }

    /// A plain event about the application's own queue.
    pub(super) fn note(&mut self, subject: &Subject, app: &App, kind: u8, on: Day) -> Result<(), StoreError> {
        self.event(subject, app, kind, on, app.kind, Some(app.provider), None, None).map(drop)
    }

    /// An offer of a place (6) or the refusal of one (7).
    pub(super) fn offer(&mut self, subject: &Subject, app: &App, kind: u8, on: Day, place: usize) -> Result<(), StoreError> {
        self.event(subject, app, kind, on, app.kind, Some(app.provider), Some(place), None).map(drop)
    }

    /// A decision to admit to the queue (1, 9 or 11): the event, the application's
    /// queue decision and an active queue entry from that day.
    pub(super) fn admit(&mut self, subject: &mut Subject, app: &App, kind: u8, on: Day) -> Result<(), StoreError> {
        let number = self.event(subject, app, kind, on, app.kind, Some(app.provider), None, None)?;
        let dates = self.dates;
        self.ids.queue_decision += 1;
        self.queue_decisions
            .execute((
                self.ids.queue_decision,
                app.id,
                dates.text(on),
                number.as_deref().unwrap_or_default(),
                provider_id(app.provider),
                dates.text(on),
            ))
            .map_err(error("seed: queue decisions"))?;
        subject.entries.push(Entry { application: app.id, provider: app.provider, kind: app.kind, since: on, active: true });
        Ok(())
    }

    /// A decision granting a place (5, 10, 12 or 13): the event, the application's grant
    /// decision, and the end of waiting in the application's queues.
    pub(super) fn grant(
        &mut self,
        subject: &mut Subject,
        app: &App,
        kind: u8,
        on: Day,
        place: usize,
        from: Day,
    ) -> Result<(), StoreError> {
        let number = self.event(subject, app, kind, on, app.kind, Some(app.provider), Some(place), Some(from))?;
        let dates = self.dates;
        self.ids.grant += 1;
        self.grants
            .execute((
                self.ids.grant,
                app.id,
                dates.text(on),
                number.as_deref().unwrap_or_default(),
                provider_id(place),
                dates.text(from),
            ))
            .map_err(error("seed: grant decisions"))?;
        leave_queues(subject, app);
        Ok(())
    }

    /// A decision of refusal (14) for `reason`: the event and the application's refusal
    /// decision; the application no longer waits.
    pub(super) fn refuse(&mut self, subject: &mut Subject, app: &App, on: Day, reason: &str) -> Result<(), StoreError> {
        let number = self.event(subject, app, 14, on, app.kind, Some(app.provider), None, None)?;
        self.ids.refusal += 1;
        self.refusals
            .execute((self.ids.refusal, app.id, self.dates.text(on), number.as_deref().unwrap_or_default(), reason))
            .map_err(error("seed: refusal decisions"))?;
        leave_queues(subject, app);
        Ok(())
    }

    /// The subject leaves the application's queues without a decision (declined a place and
    /// was not restored).
    pub(super) fn withdraw(&mut self, subject: &mut Subject, app: &App) {
        leave_queues(subject, app);
    }

    /// Writes the subject's queue entries with their final state.
    pub(super) fn finish(&mut self, subject: Subject) -> Result<(), StoreError> {
        let dates = self.dates;
        for entry in subject.entries {
            self.ids.entry += 1;
            self.entries
                .execute((
                    self.ids.entry,
                    subject.id,
                    entry.application,
                    provider_id(entry.provider),
                    entry.kind as i64 + 1,
                    dates.text(entry.since),
                    i64::from(entry.active),
                ))
                .map_err(error("seed: queue entries"))?;
        }
        Ok(())
    }
}

/// Gives every decision its number `<issuer>-<year>/<n>-<R|P|A>` (queue, grant, refusal), `n`
/// counting each issuer's decisions of a year in date order, so that numbers ascend with their
/// dates as a register's do (generation follows one person at a time, not the calendar), and
/// puts it in place of the placeholder in the event and its decision row.
pub(super) fn number_decisions(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TEMP TABLE decision_numbers AS
         SELECT d.event_id, d.issuer || '-' || substr(e.event_date, 1, 4) || '/' ||
                row_number() OVER (PARTITION BY d.issuer, substr(e.event_date, 1, 4) ORDER BY e.event_date, e.id)
                || '-' || d.suffix AS number
         FROM decision_issuers d JOIN queue_events e ON e.id = d.event_id;
         CREATE UNIQUE INDEX temp.decision_numbers_by_event ON decision_numbers (event_id);
         UPDATE queue_events SET decision_number =
             (SELECT number FROM decision_numbers WHERE event_id = queue_events.id) WHERE decision_number IS NOT NULL;
         UPDATE grant_decisions SET document_number =
             (SELECT number FROM decision_numbers WHERE event_id = CAST(substr(grant_decisions.document_number, 2) AS INTEGER));
         UPDATE queue_decisions SET document_number =
             (SELECT number FROM decision_numbers WHERE event_id = CAST(substr(queue_decisions.document_number, 2) AS INTEGER));
         UPDATE refusal_decisions SET document_number =
             (SELECT number FROM decision_numbers WHERE event_id = CAST(substr(refusal_decisions.document_number, 2) AS INTEGER));
         DROP TABLE decision_numbers;
         DROP TABLE decision_issuers;",
    )
    .map_err(error("seed: number the decisions"))
}

fn leave_queues(subject: &mut Subject, app: &App) {
    for entry in subject.entries.iter_mut().filter(|e| e.application == app.id) {
        entry.active = false;
    }
}
