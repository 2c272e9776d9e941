//! How many persons left each queue, by month, kept per register version: what the estimated
//! waits (`crate::estimate`) are computed from. Counting one queue's exits reads every entry
//! the queue ever had (`SQL_QUEUE_EXITS`), far too much for every request on a register of
//! millions, so each queue is counted once per register version and kept here; the version is
//! the newest import's sequence number, read in each answer's own snapshot, so an import makes
//! the next answer count afresh. A register never imported has no version (nothing would mark
//! its changes): its queues are counted on every request. The first answer that meets a new
//! version also starts counting every queue in the background (`start_warming`), so that after
//! an import no caller waits for a large queue to be counted.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{Datelike, NaiveDate};

use crate::estimate::{self, WINDOW_MONTHS};

/// A queue: (provider id, service kind id).
pub(crate) type QueueKey = (i64, i64);

/// Exits by month (the month's first day).
#[derive(Debug, Default)]
pub(crate) struct MonthlyExits(BTreeMap<NaiveDate, u32>);

impl MonthlyExits {
    /// Adds `count` exits on `day` (a row of `SQL_QUEUE_EXITS`).
    pub fn add(&mut self, day: NaiveDate, count: u32) {
        let month = day.with_day(1).unwrap_or(day);
        let total = self.0.entry(month).or_default();
        *total = total.saturating_add(count);
    }

    /// The exits of each month of the window starting at `from`, oldest first.
    pub fn window(&self, from: NaiveDate) -> [u32; WINDOW_MONTHS as usize] {
        let mut counts = [0; WINDOW_MONTHS as usize];
        for (count, month) in counts.iter_mut().zip(estimate::window_months(from)) {
            *count = self.0.get(&month).copied().unwrap_or(0);
        }
        counts
    }
}

/// The queues counted for the current register version.
#[derive(Default)]
pub(crate) struct ExitCache {
    /// A std mutex: held only to look up or insert, never across I/O.
    inner: Mutex<Counted>,
}

#[derive(Default)]
struct Counted {
    version: Option<i64>,
    queues: HashMap<QueueKey, Arc<MonthlyExits>>,
    /// The newest version whose queues are being (or were) counted ahead of the requests.
    warmed: Option<i64>,
}

impl ExitCache {
    /// The exits of `queue` counted for register `version`, if they were.
    pub fn get(&self, version: Option<i64>, queue: QueueKey) -> Option<Arc<MonthlyExits>> {
        let version = version?;
        // A poisoned lock only means a thread panicked between lookups; the map is intact.
        let counted = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if counted.version != Some(version) {
            return None;
        }
        counted.queues.get(&queue).cloned()
    }

    /// Whether the caller should count every queue of register `version` ahead of the
    /// requests (after an import, so that no caller waits for a large queue to be counted):
    /// true once per version, and never for an older one or a register never imported.
    pub fn start_warming(&self, version: Option<i64>) -> bool {
        let Some(version) = version else { return false };
        let mut counted = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if counted.warmed.is_some_and(|warmed| warmed >= version) {
            return false;
        }
        counted.warmed = Some(version);
        true
    }

    /// Keeps `exits`, counted on register `version`, for the answers that follow; a newer
    /// version drops what was kept for older ones, an answer from an older snapshot (it began
    /// before an import committed) keeps nothing.
    pub fn keep(&self, version: Option<i64>, queue: QueueKey, exits: MonthlyExits) -> Arc<MonthlyExits> {
        let exits = Arc::new(exits);
        let Some(version) = version else { return exits };
        let mut counted = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match counted.version {
            Some(current) if current > version => return exits,
            Some(current) if current == version => {}
            _ => {
                counted.version = Some(version);
                counted.queues.clear();
            }
        }
        counted.queues.insert(queue, exits.clone());
        exits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn exits_are_summed_by_month_and_read_for_the_window() {
        let mut exits = MonthlyExits::default();
        exits.add(day("2025-11-03"), 2);
        exits.add(day("2025-11-30"), 1);
        exits.add(day("2026-10-31"), 4);
        exits.add(day("2026-11-01"), 9);
        assert_eq!(exits.window(day("2025-11-01")), [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
    }

    #[test]
    fn a_new_register_version_forgets_the_old_counts_and_an_old_one_keeps_nothing() {
        let cache = ExitCache::default();
        cache.keep(Some(1), (1, 1), MonthlyExits::default());
        assert!(cache.get(Some(1), (1, 1)).is_some());
        assert!(cache.get(Some(2), (1, 1)).is_none(), "another version");
        cache.keep(Some(2), (1, 2), MonthlyExits::default());
        assert!(cache.get(Some(1), (1, 1)).is_none() && cache.get(Some(2), (1, 1)).is_none());
        cache.keep(Some(1), (1, 1), MonthlyExits::default());
        assert!(cache.get(Some(2), (1, 2)).is_some(), "an answer of an older snapshot changes nothing");
        cache.keep(None, (1, 3), MonthlyExits::default());
        assert!(cache.get(None, (1, 3)).is_none(), "a register never imported is never kept");
    }

    #[test]
    fn each_version_is_warmed_once_and_never_an_older_one() {
        let cache = ExitCache::default();
        assert!(!cache.start_warming(None));
        assert!(cache.start_warming(Some(3)));
        assert!(!cache.start_warming(Some(3)));
        assert!(!cache.start_warming(Some(2)));
        assert!(cache.start_warming(Some(4)));
    }
}
