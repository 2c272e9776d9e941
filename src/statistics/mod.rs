//! The queues' monthly statistics behind GetQueueStatistics: computed from the register when
//! it is imported, stored as aggregates (`queue_statistics`), read per call without touching
//! a person's rows.
//!
//! One pass over the register, person by person (queue entries and events in person order):
//! each person adds themselves at most once to each (queue, municipality, month, count) —
//! the counts are of distinct persons — and their waits to the months they were granted in.
//! Then, queue by queue, the numbers are laid out month by month, protected
//! ([`suppress`]) and the cells that hold anything are stored, with the queue's own row
//! (municipality 0) beside its municipalities'.
//!
//! How the register's events become the counts (docs/CONTRACT.md repeats it):
//! - an event counts for the queue of its service kind and *preferred* provider (the queue
//!   the person waits in; events with no preferred provider count nowhere), under the
//!   municipality of its application (events of no application count in the queue's row only);
//! - admitted: kinds 1, 9, 11; offered: 6; declined: 7; granted: 5, 10, 12, 13; refused: 14.
//!   Kind 8 (restored to the queue) admits nobody new: the person's waiting went on. Kinds 2,
//!   3, 4 and 15 (documents, an application to change institution, a letter) are not queue
//!   movement and count nowhere;
//! - waiting at a month's end: a queue entry waits from its `queued_since` until the first grant
//!   or refusal (5, 10, 12, 13, 14) of its application on or after that day, as EP116 counts on
//!   an `AsOf` day; an entry no longer active without such a decision left on its application's
//!   last decline (7) — EP116 counts it on no day, having no date for its end — and one
//!   without that either is counted on no day;
//! - removed: an entry whose waiting ended in the month by a refusal or by that decline;
//! - the wait of a person granted in a month: days from the `queued_since` of their
//!   application's latest queue entry up to the grant (else its latest admission event) to the
//!   grant; the median and the 90th percentile by nearest rank (the ⌈n/2⌉-th and ⌈0.9 n⌉-th
//!   smallest). Each stored cell's percentiles are computed here, once: an answer never
//!   combines cells (its rows and months are the stored ones), so the distribution itself is
//!   not kept.

pub(crate) mod postgres;
pub(crate) mod sqlite;
pub mod suppress;

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::model::{Measure, Month};
pub use suppress::MINIMUM_COUNT;
use suppress::Grid;

/// A queue (service kind × provider) and the municipality of its part (0: the whole queue).
type CellKey = (i64, i64, i64);

/// One queue entry as the pass reads it.
#[derive(Debug, Clone)]
pub(crate) struct EntryRow {
    pub application_id: Option<i64>,
    pub service_kind_id: i64,
    pub provider_id: i64,
    pub municipality_id: Option<i64>,
    pub queued_since: NaiveDate,
    pub active: bool,
}

/// One queue event as the pass reads it (only the kinds that count, see the module).
#[derive(Debug, Clone)]
pub(crate) struct EventRow {
    pub application_id: Option<i64>,
    pub kind: u8,
    pub date: NaiveDate,
    pub service_kind_id: i64,
    pub provider_id: Option<i64>,
    pub municipality_id: Option<i64>,
}

/// The event kinds the pass reads.
pub(crate) const COUNTED_KINDS: &str = "1, 5, 6, 7, 9, 10, 11, 12, 13, 14";

const GRANTS: [u8; 4] = [5, 10, 12, 13];
const REFUSAL: u8 = 14;
const DECLINE: u8 = 7;
const ADMISSIONS: [u8; 3] = [1, 9, 11];

/// A stored cell of `queue_statistics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredCell {
    pub month: i32,
    pub service_kind_id: i64,
    pub provider_id: i64,
    /// 0: the whole queue.
    pub municipality_id: i64,
    /// Indexed by [`Measure`].
    pub counts: [u32; 7],
    pub median_wait_days: Option<u32>,
    pub percentile90_wait_days: Option<u32>,
    /// Bit `m` withholds measure `m`; bit [`PERCENTILES_BIT`] withholds both percentiles.
    pub suppressed: u8,
}

/// The bit of [`StoredCell::suppressed`] that withholds the waiting-time percentiles.
pub(crate) const PERCENTILES_BIT: u8 = 7;

/// Why waiting in a queue ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Grant,
    /// A refusal, or declining a place without being restored.
    Removal,
}

/// The pass over the register: fed person by person, then [`Builder::finish`]ed.
#[derive(Default)]
pub(crate) struct Builder {
    cells: HashMap<CellKey, usize>,
    keys: Vec<CellKey>,
    /// Distinct persons per (cell, month, measure), waiting excepted.
    flows: HashMap<(usize, i32), [u32; 7]>,
    /// Waiting as changes: +1 in the month a person's waiting starts, −1 in the month it ends.
    waiting_changes: HashMap<(usize, i32), i64>,
    /// Days waited by those granted, per (cell, month).
    waits: HashMap<(usize, i32), Vec<u32>>,
    latest_month: i32,
    // Scratch, reused from person to person.
    flow_keys: Vec<(usize, i32, usize)>,
    intervals: Vec<(usize, i32, i32)>,
    person_waits: Vec<(usize, i32, u32)>,
}

impl Builder {
    fn cells_of(&mut self, service_kind_id: i64, provider_id: i64, municipality_id: Option<i64>) -> [Option<usize>; 2] {
        let mut cell = |key: CellKey| {
            let next = self.keys.len();
            *self.cells.entry(key).or_insert_with(|| {
                self.keys.push(key);
                next
            })
        };
        let queue = cell((service_kind_id, provider_id, 0));
        let part = municipality_id.filter(|&m| m != 0).map(|m| cell((service_kind_id, provider_id, m)));
        [Some(queue), part]
    }

    /// Adds one person: all their queue entries and counted events.
    pub fn person(&mut self, entries: &[EntryRow], events: &[EventRow]) {
        self.flow_keys.clear();
        self.intervals.clear();
        self.person_waits.clear();
        for entry in entries {
            let ending = ending(entry, events);
            let start = Month::of(entry.queued_since).0;
            let (end, removed) = match ending {
                Ended::Never => continue,
                Ended::Open => (i32::MAX, None),
                Ended::At(date, how) => {
                    let month = Month::of(date).0;
                    (month, (how == Ending::Removal).then_some(month))
                }
            };
            self.latest_month = self.latest_month.max(start).max(removed.unwrap_or(start));
            for cell in self.cells_of(entry.service_kind_id, entry.provider_id, entry.municipality_id).into_iter().flatten() {
                if end > start {
                    self.intervals.push((cell, start, end));
                }
                if let Some(month) = removed {
                    self.flow_keys.push((cell, month, Measure::Removed as usize));
                }
            }
        }
        for event in events {
            let Some(provider_id) = event.provider_id else { continue };
            let measure = match event.kind {
                kind if ADMISSIONS.contains(&kind) => Measure::Admitted,
                6 => Measure::Offered,
                DECLINE => Measure::Declined,
                kind if GRANTS.contains(&kind) => Measure::Granted,
                REFUSAL => Measure::Refused,
                _ => continue,
            };
            let month = Month::of(event.date).0;
            self.latest_month = self.latest_month.max(month);
            let wait = (measure == Measure::Granted).then(|| admitted_on(event, entries, events)).flatten();
            for cell in self.cells_of(event.service_kind_id, provider_id, event.municipality_id).into_iter().flatten() {
                self.flow_keys.push((cell, month, measure as usize));
                if let Some(admitted) = wait {
                    let days = (event.date - admitted).num_days().max(0) as u32;
                    self.person_waits.push((cell, month, days));
                }
            }
        }
        // Each person once per cell, month and measure.
        self.flow_keys.sort_unstable();
        self.flow_keys.dedup();
        for &(cell, month, measure) in &self.flow_keys {
            self.flows.entry((cell, month)).or_default()[measure] += 1;
        }
        // The first wait of the person's grants in a cell and month.
        self.person_waits.sort_by_key(|&(cell, month, _)| (cell, month));
        self.person_waits.dedup_by_key(|&mut (cell, month, _)| (cell, month));
        for &(cell, month, days) in &self.person_waits {
            self.waits.entry((cell, month)).or_default().push(days);
        }
        // Overlapping waits of one person in one cell are one person waiting.
        self.intervals.sort_unstable();
        let mut merged: Option<(usize, i32, i32)> = None;
        for &(cell, start, end) in &self.intervals {
            match &mut merged {
                Some((c, _, e)) if *c == cell && start <= *e => *e = (*e).max(end),
                _ => {
                    if let Some(done) = merged.take() {
                        add_interval(&mut self.waiting_changes, done);
                    }
                    merged = Some((cell, start, end));
                }
            }
        }
        if let Some(done) = merged {
            add_interval(&mut self.waiting_changes, done);
        }
    }

    /// Lays the numbers out queue by queue up to the register's last month (the horizon,
    /// after which nobody moves and waiting stays as it was), protects them and returns the
    /// cells that hold anything, with the horizon. Not the month of the import: the same
    /// register gives the same statistics whenever it is imported.
    pub fn finish(self) -> (Vec<StoredCell>, Month) {
        let horizon = self.latest_month;
        let mut queues: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        for (cell, &(kind, provider, municipality)) in self.keys.iter().enumerate() {
            let grains = queues.entry((kind, provider)).or_default();
            if municipality == 0 {
                grains.insert(0, cell);
            } else {
                grains.push(cell);
            }
        }
        let mut first_month: HashMap<usize, i32> = HashMap::new();
        for &(cell, month) in self.flows.keys().chain(self.waiting_changes.keys()) {
            let first = first_month.entry(cell).or_insert(month);
            *first = (*first).min(month);
        }
        let mut stored = Vec::new();
        let mut ordered: Vec<_> = queues.into_iter().collect();
        ordered.sort_unstable_by_key(|(queue, _)| *queue);
        for ((kind, provider), mut grains) in ordered {
            grains[1..].sort_unstable_by_key(|&cell| self.keys[cell].2);
            let Some(start) = grains.iter().filter_map(|cell| first_month.get(cell)).min().copied() else { continue };
            let months = (horizon - start + 1).max(1) as usize;
            let mut grid = Grid::new(grains.len(), months);
            for (g, &cell) in grains.iter().enumerate() {
                let mut waiting: i64 = 0;
                for t in 0..months {
                    let month = start + t as i32;
                    waiting += self.waiting_changes.get(&(cell, month)).copied().unwrap_or(0);
                    let i = grid.index(g, t, Measure::Waiting as usize);
                    grid.values[i] = waiting.max(0) as u32;
                    if let Some(flows) = self.flows.get(&(cell, month)) {
                        for measure in Measure::ALL.into_iter().skip(1) {
                            let i = grid.index(g, t, measure as usize);
                            grid.values[i] = flows[measure as usize];
                        }
                    }
                }
            }
            grid.protect();
            for (g, &cell) in grains.iter().enumerate() {
                for t in 0..months {
                    let month = start + t as i32;
                    let mut counts = [0u32; 7];
                    let mut suppressed = 0u8;
                    for measure in Measure::ALL {
                        let i = grid.index(g, t, measure as usize);
                        counts[measure as usize] = grid.values[i];
                        if grid.suppressed[i] {
                            suppressed |= 1 << measure as u8;
                        }
                    }
                    let waits = self.waits.get(&(cell, month)).map(Vec::as_slice).unwrap_or_default();
                    let granted_withheld = suppressed & (1 << Measure::Granted as u8) != 0;
                    if granted_withheld || (1..MINIMUM_COUNT as usize).contains(&waits.len()) {
                        suppressed |= 1 << PERCENTILES_BIT;
                    }
                    let (median, percentile90) = percentiles(waits);
                    if counts.iter().all(|&c| c == 0) && suppressed == 0 && median.is_none() {
                        continue;
                    }
                    stored.push(StoredCell {
                        month,
                        service_kind_id: kind,
                        provider_id: provider,
                        municipality_id: self.keys[cell].2,
                        counts,
                        median_wait_days: median,
                        percentile90_wait_days: percentile90,
                        suppressed,
                    });
                }
            }
        }
        (stored, Month(horizon))
    }
}

fn add_interval(changes: &mut HashMap<(usize, i32), i64>, (cell, start, end): (usize, i32, i32)) {
    *changes.entry((cell, start)).or_default() += 1;
    if end != i32::MAX {
        *changes.entry((cell, end)).or_default() -= 1;
    }
}

/// When a queue entry stopped waiting.
enum Ended {
    /// It waits still.
    Open,
    At(NaiveDate, Ending),
    /// It is counted on no day.
    Never,
}

fn ending(entry: &EntryRow, events: &[EventRow]) -> Ended {
    let of_entry = |event: &&EventRow| entry.application_id.is_some() && event.application_id == entry.application_id && event.date >= entry.queued_since;
    let decision = events
        .iter()
        .filter(of_entry)
        .filter(|event| GRANTS.contains(&event.kind) || event.kind == REFUSAL)
        .map(|event| (event.date, if event.kind == REFUSAL { Ending::Removal } else { Ending::Grant }))
        // The earliest; on one day a grant before a refusal.
        .min_by_key(|&(date, how)| (date, how == Ending::Removal));
    match (decision, entry.active) {
        (Some((date, how)), _) => Ended::At(date, how),
        (None, true) => Ended::Open,
        (None, false) => match events.iter().filter(of_entry).filter(|event| event.kind == DECLINE).map(|event| event.date).max() {
            Some(date) => Ended::At(date, Ending::Removal),
            None => Ended::Never,
        },
    }
}

/// When the person granted by `grant` was admitted to the queue: the `queued_since` of the
/// application's latest entry up to the grant, else its latest admission event up to it.
fn admitted_on(grant: &EventRow, entries: &[EntryRow], events: &[EventRow]) -> Option<NaiveDate> {
    let application = grant.application_id?;
    entries
        .iter()
        .filter(|entry| entry.application_id == Some(application) && entry.queued_since <= grant.date)
        .map(|entry| entry.queued_since)
        .max()
        .or_else(|| {
            events
                .iter()
                .filter(|event| event.application_id == Some(application) && ADMISSIONS.contains(&event.kind) && event.date <= grant.date)
                .map(|event| event.date)
                .max()
        })
}

/// Median and 90th percentile by nearest rank; `None` for no waits.
fn percentiles(waits: &[u32]) -> (Option<u32>, Option<u32>) {
    if waits.is_empty() {
        return (None, None);
    }
    let mut sorted = waits.to_vec();
    sorted.sort_unstable();
    let rank = |share: usize| sorted[(sorted.len() * share).div_ceil(100).max(1) - 1];
    (Some(rank(50)), Some(rank(90)))
}

/// A register date read back as text.
pub(crate) fn parse_date(text: &str, what: &'static str) -> Result<NaiveDate, crate::store::StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| crate::store::StoreError::Corrupt(format!("{what}: a date is not YYYY-MM-DD")))
}

/// Feeds rows read in person order to the builder, one person at a time.
pub(crate) struct PersonGrouper {
    pub builder: Builder,
    person: Option<i64>,
    entries: Vec<EntryRow>,
    events: Vec<EventRow>,
}

impl PersonGrouper {
    pub fn new() -> Self {
        PersonGrouper { builder: Builder::default(), person: None, entries: Vec::new(), events: Vec::new() }
    }

    /// Hands over the rows of the person before `person`, if `person` is another.
    fn turn(&mut self, person: i64) {
        if self.person != Some(person) {
            self.flush();
            self.person = Some(person);
        }
    }

    pub fn entry(&mut self, person: i64, row: EntryRow) {
        self.turn(person);
        self.entries.push(row);
    }

    pub fn event(&mut self, person: i64, row: EventRow) {
        self.turn(person);
        self.events.push(row);
    }

    /// Ends the current person.
    pub fn flush(&mut self) {
        if !self.entries.is_empty() || !self.events.is_empty() {
            self.builder.person(&self.entries, &self.events);
        }
        self.entries.clear();
        self.events.clear();
    }
}

/// The statement reading the queue entries of the register tables named with `prefix`
/// (`""`, or the tables a full PostgreSQL import loads before its switch), in person order:
/// person, application, service kind, provider, municipality, queued since, active (0/1).
pub(crate) fn entries_sql(prefix: &str) -> String {
    format!(
        "SELECT q.person_id, q.application_id, q.service_kind_id, q.provider_id, a.municipality_id, \
         CAST(q.queued_since AS TEXT), CASE WHEN q.active = TRUE THEN 1 ELSE 0 END \
         FROM {prefix}queue_entries q LEFT JOIN {prefix}applications a ON a.id = q.application_id \
         ORDER BY q.person_id"
    )
}

/// The counted events, likewise: person, application, kind, date, service kind, preferred
/// provider, municipality.
pub(crate) fn events_sql(prefix: &str) -> String {
    format!(
        "SELECT e.person_id, e.application_id, e.kind, CAST(e.event_date AS TEXT), e.service_kind_id, \
         e.preferred_provider_id, a.municipality_id \
         FROM {prefix}queue_events e LEFT JOIN {prefix}applications a ON a.id = e.application_id \
         WHERE e.kind IN ({COUNTED_KINDS}) ORDER BY e.person_id"
    )
}

/// The tables the statistics are stored in.
pub(crate) const TABLES: [&str; 2] = ["queue_statistics", "queue_statistics_horizon"];

/// Replaces the stored statistics (in the caller's transaction).
pub(crate) const DELETE_CELLS: &str = "DELETE FROM queue_statistics";
pub(crate) const DELETE_HORIZON: &str = "DELETE FROM queue_statistics_horizon";
pub(crate) const INSERT_HORIZON: &str = "INSERT INTO queue_statistics_horizon (id, last_month, built_at) VALUES (1, $1, $2)";

/// Merges two streams of rows, each in person order, into the grouper: whichever's next
/// row has the lower person goes first.
pub(crate) fn merge<E, V, Err>(
    grouper: &mut PersonGrouper,
    mut next_entry: impl FnMut() -> Result<Option<(i64, E)>, Err>,
    mut next_event: impl FnMut() -> Result<Option<(i64, V)>, Err>,
    entry: impl Fn(E) -> EntryRow,
    event: impl Fn(V) -> EventRow,
) -> Result<(), Err> {
    let mut pending_entry = next_entry()?;
    let mut pending_event = next_event()?;
    loop {
        match (pending_entry.take(), pending_event.take()) {
            (None, None) => break,
            (Some((person, row)), other) if other.as_ref().is_none_or(|(p, _)| person <= *p) => {
                grouper.entry(person, entry(row));
                pending_event = other;
                pending_entry = next_entry()?;
            }
            (mine, Some((person, row))) => {
                grouper.event(person, event(row));
                pending_entry = mine;
                pending_event = next_event()?;
            }
            (Some(_), None) => unreachable!("an entry with no event after it is taken by the first arm"),
        }
    }
    grouper.flush();
    Ok(())
}

/// Rebuilds the statistics of the register file at `path` in one write transaction, as an
/// import does (for `examples/statistics_probe.rs` and after an upgrade that adds them to a
/// register imported before). Returns the cells stored.
pub fn rebuild_sqlite_file(path: &std::path::Path) -> Result<usize, crate::store::StoreError> {
    let mut conn = crate::database::sqlite::open_writer(path)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(crate::store::sqlite::error("statistics: begin"))?;
    let cells = sqlite::rebuild(&tx)?;
    tx.commit().map_err(crate::store::sqlite::error("statistics: commit"))?;
    Ok(cells)
}


#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn event(application: i64, kind: u8, date: &str) -> EventRow {
        EventRow { application_id: Some(application), kind, date: day(date), service_kind_id: 1, provider_id: Some(1), municipality_id: Some(7) }
    }

    #[test]
    fn percentiles_are_by_nearest_rank() {
        assert_eq!(percentiles(&[]), (None, None));
        assert_eq!(percentiles(&[10]), (Some(10), Some(10)));
        assert_eq!(percentiles(&[5, 1, 4, 2, 3]), (Some(3), Some(5)));
        let hundred: Vec<u32> = (1..=100).collect();
        assert_eq!(percentiles(&hundred), (Some(50), Some(90)));
    }

    #[test]
    fn one_person_waits_from_admission_to_grant_and_is_counted_once() {
        let mut builder = Builder::default();
        let entry = EntryRow { application_id: Some(1), service_kind_id: 1, provider_id: 1, municipality_id: Some(7), queued_since: day("2025-01-10"), active: false };
        // Offered twice in March: one person offered.
        let events = [event(1, 1, "2025-01-10"), event(1, 6, "2025-03-01"), event(1, 6, "2025-03-20"), event(1, 5, "2025-04-02")];
        builder.person(&[entry], &events);
        let (cells, horizon) = builder.finish();
        assert_eq!(horizon.to_string(), "2025-04", "the month of the last event");
        let queue: Vec<_> = cells.iter().filter(|c| c.municipality_id == 0).collect();
        let month = |m: &str| queue.iter().find(|c| c.month == Month::parse(m).unwrap().0).unwrap();
        assert_eq!(month("2025-01").counts, [1, 1, 0, 0, 0, 0, 0]);
        assert_eq!(month("2025-03").counts, [1, 0, 1, 0, 0, 0, 0]);
        assert_eq!(month("2025-04").counts, [0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(month("2025-04").median_wait_days, Some(82));
        // Every count here is 1: all withheld, and the wait too.
        assert_ne!(month("2025-04").suppressed & (1 << PERCENTILES_BIT), 0);
        assert!(queue.iter().all(|c| c.month <= horizon.0));
    }

    #[test]
    fn an_entry_left_after_a_decline_is_removed_then() {
        let mut builder = Builder::default();
        let entry = EntryRow { application_id: Some(1), service_kind_id: 1, provider_id: 1, municipality_id: None, queued_since: day("2025-01-10"), active: false };
        builder.person(&[entry], &[event(1, 1, "2025-01-10"), event(1, 6, "2025-02-01"), event(1, 7, "2025-02-03")]);
        let (cells, _) = builder.finish();
        let february = cells.iter().find(|c| c.month == Month::parse("2025-02").unwrap().0).unwrap();
        assert_eq!(february.counts, [0, 0, 1, 1, 0, 0, 1]);
    }
}
