//! The row → model mapping, written once for both stores. The SQLite and PostgreSQL
//! statements of EP115 and EP116 return the same columns in the same order (each store keeps
//! its SQL beside its queries); each store implements [`Columns`] over its own row type and
//! hands its rows to the functions here. Errors name the query, never a value.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::exits::{MonthlyExits, QueueKey};
use super::StoreError;
use crate::model::*;
use crate::personal_code::PersonalCode;

/// Typed access to the columns of one row; a value of the wrong type is [`StoreError::Corrupt`].
pub(crate) trait Columns {
    /// The query the row came from, for error messages.
    fn what(&self) -> &'static str;
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, StoreError>;

    fn corrupt(&self, why: &str) -> StoreError {
        StoreError::Corrupt(format!("{}: {why}", self.what()))
    }

    fn date(&self, i: usize) -> Result<NaiveDate, StoreError> {
        self.opt_date(i)?.ok_or_else(|| self.corrupt("a value of the wrong type"))
    }

    fn count(&self, i: usize) -> Result<u32, StoreError> {
        u32::try_from(self.int(i)?).map_err(|_| self.corrupt("a count out of range"))
    }

    /// A provider from a code and a name column; absent when the code is NULL.
    fn opt_provider(&self, code: usize, name: usize) -> Result<Option<Provider>, StoreError> {
        Ok(match self.opt_text(code)? {
            None => None,
            Some(code) => Some(Provider { code, name: self.text(name)? }),
        })
    }

    /// A classifier value from a code and a name column; absent when the code is NULL.
    fn opt_classifier(&self, code: usize, name: usize) -> Result<Option<Classifier>, StoreError> {
        Ok(match self.opt_text(code)? {
            None => None,
            Some(code) => Some(Classifier { code, name: self.text(name)? }),
        })
    }

    fn personal_code(&self, digits: &str) -> Result<PersonalCode, StoreError> {
        PersonalCode::parse(digits).map_err(|_| self.corrupt("a personal code in the register is not valid"))
    }
}

/// An EP116 narrowing by service kind or provider code, as found in the register.
pub(crate) enum Narrowing {
    /// Not asked for.
    Any,
    /// Asked for a code the register does not know: the answer narrows to nothing.
    Unknown,
    Id(i64),
}

impl Narrowing {
    /// The ids (NULL for "any") that EP116's statements narrow by, or `None` when either
    /// code is unknown to the register: the answer then narrows to nothing.
    pub fn both(service_kind: Narrowing, provider: Narrowing) -> Option<(Option<i64>, Option<i64>)> {
        Some((service_kind.id()?, provider.id()?))
    }

    /// The id to narrow by (NULL for "any"), or `None` when the code is unknown.
    pub fn id(self) -> Option<Option<i64>> {
        match self {
            Narrowing::Any => Some(None),
            Narrowing::Unknown => None,
            Narrowing::Id(id) => Some(Some(id)),
        }
    }
}

/// An EP116 answer with no events and no positions, for `person` (or no person).
pub(crate) fn no_queue_status(register: Option<&RegisterVersion>, person: Option<Person>) -> QueueStatusList {
    QueueStatusList { register_as_of: register.map(|r| r.as_of), person, events: Vec::new(), positions: Vec::new() }
}

/// The register as the newest import left it (`SQL_REGISTER_VERSION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RegisterVersion {
    /// The import's sequence number: changes with every import, and only then.
    pub seq: i64,
    /// When SPOLIS extracted the data.
    pub as_of: chrono::DateTime<chrono::Utc>,
}

/// `SQL_PERSON`: the person's row id and name.
pub(crate) fn person(r: &impl Columns) -> Result<(i64, Person), StoreError> {
    let person = Person { person_code: r.personal_code(&r.text(1)?)?, first_name: r.text(2)?, surname: r.text(3)? };
    Ok((r.int(0)?, person))
}

/// EP115's applications, gathered row by row, and the child rows (documents, requests,
/// decisions) attached to the application whose id is their column 0.
#[derive(Default)]
pub(crate) struct Applications {
    list: Vec<Application>,
    by_id: HashMap<i64, usize>,
}

impl Applications {
    /// `SQL_APPLICATIONS`: one application of `applicant`, without its children yet.
    pub fn add(&mut self, r: &impl Columns, applicant: &Person) -> Result<(), StoreError> {
        let legal_representative = match r.opt_text(13)? {
            None => None,
            Some(first_name) => Some(LegalRepresentative {
                first_name,
                surname: r.text(14)?,
                person_code: r.opt_text(15)?.map(|code| r.personal_code(&code)).transpose()?,
                address: r.opt_text(16)?,
                contacts: Contacts { phone: r.opt_text(17)?, email: r.opt_text(18)? },
            }),
        };
        self.by_id.insert(r.int(0)?, self.list.len());
        self.list.push(Application {
            application_number: r.text(1)?,
            submitted_on: r.date(2)?,
            application_kind: r.text(3)?,
            status: ApplicationStatus::Submitted,
            service_kind: Classifier { code: r.text(4)?, name: r.text(5)? },
            problem_nature: r.opt_classifier(19, 20)?,
            preferred_provider: r.opt_provider(6, 7)?,
            applicant: applicant.clone(),
            legal_representative,
            municipality: Municipality {
                code: r.text(8)?,
                name: r.text(9)?,
                address: r.text(10)?,
                contacts: Contacts { phone: r.opt_text(11)?, email: r.opt_text(12)? },
            },
            submitted_documents: Vec::new(),
            document_requests: Vec::new(),
            grant_decisions: Vec::new(),
            queue_decisions: Vec::new(),
            refusal_decisions: Vec::new(),
        });
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// `SQL_DOCUMENTS`
    pub fn add_document(&mut self, r: &impl Columns) -> Result<(), StoreError> {
        let document = SubmittedDocument { title: r.text(1)?, submitted_on: r.date(2)? };
        self.parent(r)?.submitted_documents.push(document);
        Ok(())
    }

    /// `SQL_DOCUMENT_REQUESTS`
    pub fn add_document_request(&mut self, r: &impl Columns) -> Result<(), StoreError> {
        let request =
            DocumentRequest { requested_on: r.date(1)?, description: r.text(2)?, due_on: r.opt_date(3)?, fulfilled_on: r.opt_date(4)? };
        self.parent(r)?.document_requests.push(request);
        Ok(())
    }

    /// `SQL_GRANT_DECISIONS`
    pub fn add_grant_decision(&mut self, r: &impl Columns) -> Result<(), StoreError> {
        let decision = GrantDecision {
            decided_on: r.date(1)?,
            document_number: r.text(2)?,
            provider: Provider { code: r.text(3)?, name: r.text(4)? },
            granted_from: r.date(5)?,
        };
        self.parent(r)?.grant_decisions.push(decision);
        Ok(())
    }

    /// `SQL_QUEUE_DECISIONS`
    pub fn add_queue_decision(&mut self, r: &impl Columns) -> Result<(), StoreError> {
        let decision = QueueDecision {
            decided_on: r.date(1)?,
            document_number: r.text(2)?,
            provider: Provider { code: r.text(3)?, name: r.text(4)? },
            queued_from: r.date(5)?,
        };
        self.parent(r)?.queue_decisions.push(decision);
        Ok(())
    }

    /// `SQL_REFUSAL_DECISIONS`
    pub fn add_refusal_decision(&mut self, r: &impl Columns) -> Result<(), StoreError> {
        let decision = RefusalDecision { decided_on: r.date(1)?, document_number: r.text(2)?, reason: r.text(3)? };
        self.parent(r)?.refusal_decisions.push(decision);
        Ok(())
    }

    /// `SQL_APPLICATION_EVENTS`, in date order: each moves its application's status on.
    pub fn add_event(&mut self, r: &impl Columns) -> Result<(), StoreError> {
        let kind = event_kind(r, 1)?;
        let application = self.parent(r)?;
        application.status = kind.sets_status().unwrap_or(application.status);
        Ok(())
    }

    pub fn into_vec(self) -> Vec<Application> {
        self.list
    }

    /// The application a child row (column 0: application id) belongs to.
    fn parent(&mut self, r: &impl Columns) -> Result<&mut Application, StoreError> {
        let id = r.int(0)?;
        self.by_id
            .get(&id)
            .and_then(|&i| self.list.get_mut(i))
            .ok_or_else(|| r.corrupt("a row of an application not in the answer"))
    }
}

/// `SQL_QUEUE_EVENTS`: one queue event.
pub(crate) fn queue_event(r: &impl Columns) -> Result<QueueEvent, StoreError> {
    let kind = event_kind(r, 0)?;
    let offered_place = match r.opt_provider(7, 8)? {
        None => None,
        Some(provider) => Some(OfferedPlace { provider, address: r.opt_text(9)?.unwrap_or_default() }),
    };
    Ok(QueueEvent {
        kind,
        event_date: r.date(1)?,
        decision_number: r.opt_text(2)?,
        service_kind: Classifier { code: r.text(3)?, name: r.text(4)? },
        problem_nature: r.opt_classifier(12, 13)?,
        preferred_provider: r.opt_provider(5, 6)?,
        offered_place,
        granted_on: r.opt_date(10)?,
        application_number: r.opt_text(11)?,
    })
}

/// An event kind column; a code outside 1..=15 is corrupt.
fn event_kind(r: &impl Columns, i: usize) -> Result<QueueEventKind, StoreError> {
    u8::try_from(r.int(i)?)
        .ok()
        .and_then(QueueEventKind::from_code)
        .ok_or_else(|| r.corrupt("an event kind outside 1..=15"))
}

/// `SQL_QUEUE_POSITIONS`: one queue the person waits in, and where; with the queue's key,
/// for its exits (the estimate is added once they are known).
pub(crate) fn queue_position(r: &impl Columns) -> Result<(QueuePosition, QueueKey), StoreError> {
    let position = QueuePosition {
        service_kind: Classifier { code: r.text(0)?, name: r.text(1)? },
        provider: Provider { code: r.text(2)?, name: r.text(3)? },
        queued_since: r.date(4)?,
        places_ahead: r.count(5)?,
        queue_length: r.count(6)?,
        estimated_wait: None,
    };
    Ok((position, (r.int(7)?, r.int(8)?)))
}

/// `SQL_QUEUE_EXITS`: the exits of one day (none for the row of those still waiting).
pub(crate) fn add_exits(exits: &mut MonthlyExits, r: &impl Columns) -> Result<(), StoreError> {
    if let Some(day) = r.opt_date(0)? {
        exits.add(day, r.count(1)?);
    }
    Ok(())
}

/// The window the estimates of an answer count exits in: before the request's `AsOf` (or the
/// call's day), but never after the register's as-of day (`estimate::reference_day`).
pub(crate) fn estimate_window(q: &QueueStatusQuery, register: Option<&RegisterVersion>) -> (NaiveDate, NaiveDate) {
    let today = q.today.unwrap_or_else(|| crate::estimate::latvian_day(chrono::Utc::now()));
    crate::estimate::window(crate::estimate::reference_day(q.as_of, today, register.map(|r| r.as_of)))
}

/// The position's estimated wait, from its queue's exits in the window `from`..=`till`.
pub(crate) fn add_estimate(position: &mut QueuePosition, exits: &MonthlyExits, (from, till): (NaiveDate, NaiveDate)) {
    position.estimated_wait = Some(crate::estimate::estimate(position.places_ahead, exits.window(from), from, till));
}

/// GetQueueStatistics's rows gathered from the stored cells (in row, then month order) and
/// laid out over every month of the period.
pub(crate) struct StatisticsRows {
    query: QueueStatisticsQuery,
    /// The last month the statistics reach; after it waiting stays as it was.
    horizon: Month,
    rows: Vec<QueueStatisticsRow>,
}

impl StatisticsRows {
    pub fn new(query: QueueStatisticsQuery, horizon: Month) -> Self {
        StatisticsRows { query, horizon, rows: Vec::new() }
    }

    /// The months the store must read: the period's, and the horizon's when the period
    /// reaches past it (its waiting carries on).
    pub fn months_to_read(&self) -> (Month, Month) {
        let till = self.query.till.min(self.horizon);
        (self.query.from.min(till), till)
    }

    /// One stored cell: month, service kind, provider, municipality (code, name or NULLs),
    /// the seven counts, the two percentiles, the withheld bits.
    pub fn add(&mut self, r: &impl Columns) -> Result<(), StoreError> {
        let month = Month(i32::try_from(r.int(0)?).map_err(|_| r.corrupt("a month out of range"))?);
        let service_kind = Classifier { code: r.text(1)?, name: r.text(2)? };
        let provider = Provider { code: r.text(3)?, name: r.text(4)? };
        let municipality = r.opt_classifier(5, 6)?;
        let suppressed = r.int(16)?;
        let withheld = |bit: u32| suppressed & (1 << bit) != 0;
        let mut counts = [Statistic::Value(0); 7];
        for (m, count) in counts.iter_mut().enumerate() {
            *count = if withheld(m as u32) { Statistic::Suppressed } else { Statistic::Value(r.count(7 + m)?) };
        }
        let percentile = |i: usize| -> Result<Option<Statistic>, StoreError> {
            let value = match r.opt_int(i)? {
                None => None,
                Some(days) => Some(u32::try_from(days).map_err(|_| r.corrupt("a percentile out of range"))?),
            };
            Ok(match (withheld(crate::statistics::PERCENTILES_BIT as u32), value) {
                (true, _) => Some(Statistic::Suppressed),
                (false, value) => value.map(Statistic::Value),
            })
        };
        let cell = MonthStatistics { month, counts, median_wait_days: percentile(14)?, percentile90_wait_days: percentile(15)? };
        let same_row = self.rows.last().is_some_and(|last| {
            last.service_kind.code == service_kind.code && last.provider.code == provider.code && last.municipality == municipality
        });
        if !same_row {
            self.rows.push(QueueStatisticsRow { service_kind, provider, municipality, months: Vec::new() });
        }
        if let Some(row) = self.rows.last_mut() {
            row.months.push(cell);
        }
        Ok(())
    }

    /// Every month of the period for every row: a month without a stored cell is zeros, and
    /// a month after the horizon has the horizon's waiting and no movement. A row with
    /// nothing in the period is left out.
    pub fn finish(self) -> QueueStatistics {
        let StatisticsRows { query, horizon, rows } = self;
        let empty = |month| MonthStatistics { month, counts: [Statistic::Value(0); 7], median_wait_days: None, percentile90_wait_days: None };
        let waiting = Measure::Waiting as usize;
        let queues = rows
            .into_iter()
            .map(|row| {
                let mut stored = row.months.into_iter().peekable();
                let mut months = Vec::new();
                let mut at_horizon = None;
                let mut month = query.from.min(query.till.min(horizon));
                while month <= query.till {
                    let cell = match stored.next_if(|cell| cell.month == month) {
                        Some(cell) => cell,
                        None if month > horizon => {
                            let mut carried = empty(month);
                            carried.counts[waiting] = at_horizon.unwrap_or(Statistic::Value(0));
                            carried
                        }
                        None => empty(month),
                    };
                    if month == horizon {
                        at_horizon = Some(cell.counts[waiting]);
                    }
                    if month >= query.from {
                        months.push(cell);
                    }
                    month = month.plus(1);
                }
                QueueStatisticsRow { months, ..row }
            })
            .filter(|row| row.months.iter().any(|m| m != &empty(m.month)))
            .collect();
        QueueStatistics { from: query.from, till: query.till, minimum_count: crate::statistics::MINIMUM_COUNT, queues }
    }
}
