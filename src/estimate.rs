//! The expected wait in a queue (EP116 `EstimatedWait`): how many months until a place, from
//! how many persons left the queue per month recently. README "How the expected wait is
//! estimated" is the same method in prose; the tests below are computed by hand.
//!
//! - **Exits**: an entry of the queue (provider × service kind) leaves it on its application's
//!   first grant (events 5, 10, 12, 13) or refusal (14) on or after its queuing — the decisions
//!   that end waiting in the queue positions too. Each entry counts once, in the month of that
//!   decision. Offers (6) and declines (7) are no exit: the person keeps the place in the
//!   queue until a decision (and a decline is usually followed by restoration, 8).
//! - **Window**: the [`WINDOW_MONTHS`] whole calendar months before the month of the reference
//!   day — the request's `AsOf`, else the day of the call — but never after the register's own
//!   as-of day (the register knows nothing later; a month it only partly covers would count
//!   too few exits).
//! - **Estimate**: with `n` = places ahead + 1 and `E` exits in the window, the expected
//!   months are `n / (E / 12)`. The range takes the monthly counts' 25th and 75th percentiles
//!   (linear interpolation between the sorted twelve, as numpy's default and Excel's
//!   PERCENTILE.INC do): `n / P75` months if every month moved like a busy one, `n / P25` if
//!   like a slow one — widened to include the expected months where throughput comes in bursts
//!   (a mean above P75), and with no upper end when P25 is 0 (a quarter of the months or more
//!   saw nobody leave). All three are rounded half up to one decimal.
//! - **Too little movement**: fewer than [`MIN_EXITS`] exits in the window gives
//!   `InsufficientData` (true) and no number.
//!
//! Pure arithmetic on counts the store provides; exact (integers and tenths), no floats.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

use crate::model::{EstimatedWait, Tenths, WaitOutcome};

/// The window: twelve whole months.
pub const WINDOW_MONTHS: u32 = 12;

/// Fewer exits than this in the window: too little movement to estimate.
pub const MIN_EXITS: u32 = 6;

/// The window's first and last day: the [`WINDOW_MONTHS`] whole months before the month of
/// `reference_day`.
pub fn window(reference_day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let month_start = reference_day.with_day(1).unwrap_or(reference_day);
    let from = month_start.checked_sub_months(Months::new(WINDOW_MONTHS)).unwrap_or(NaiveDate::MIN);
    let till = month_start.pred_opt().unwrap_or(month_start);
    (from, till)
}

/// The day the window is counted back from: `as_of` (the request's) or `today`, but not after
/// the register's as-of day.
pub fn reference_day(as_of: Option<NaiveDate>, today: NaiveDate, register_as_of: Option<DateTime<Utc>>) -> NaiveDate {
    let asked = as_of.unwrap_or(today);
    match register_as_of {
        Some(register) => asked.min(latvian_day(register)),
        None => asked,
    }
}

/// The day in Latvia at `instant`, counted at UTC+3 as the call's day is (so no Latvian day
/// is ever taken for the one before).
pub fn latvian_day(instant: DateTime<Utc>) -> NaiveDate {
    (instant + chrono::Duration::hours(3)).date_naive()
}

/// The first day of each month of the window, oldest first (the keys of `monthly_exits`).
pub fn window_months(from: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    (0..WINDOW_MONTHS).filter_map(move |i| from.checked_add_months(Months::new(i)))
}

/// The estimate for a person with `places_ahead` ahead of them, from the exits of each month
/// of the window `from`..=`till` (oldest first).
pub fn estimate(places_ahead: u32, monthly_exits: [u32; WINDOW_MONTHS as usize], from: NaiveDate, till: NaiveDate) -> EstimatedWait {
    let exits: u32 = monthly_exits.iter().sum();
    let period = format!("{WINDOW_MONTHS} mēnešos ({}.–{}.)", from.format("%d.%m.%Y"), till.format("%d.%m.%Y"));
    if exits < MIN_EXITS {
        return EstimatedWait {
            outcome: WaitOutcome::InsufficientData,
            basis_exits: exits,
            basis_months: WINDOW_MONTHS,
            basis_from: from,
            basis_till: till,
            basis: format!(
                "Par maz rindas kustības novērtējumam: {period} no rindas izgājušo personu skaits {exits}, vajag vismaz {MIN_EXITS}."
            ),
        };
    }
    let mut sorted = monthly_exits;
    sorted.sort_unstable();
    // Rates as fractions (numerator, denominator) of persons per month.
    let mean = (u64::from(exits), u64::from(WINDOW_MONTHS));
    let p25 = (u64::from(sorted[2]) + 3 * u64::from(sorted[3]), 4);
    let p75 = (3 * u64::from(sorted[8]) + u64::from(sorted[9]), 4);
    let faster = if greater(p75, mean) { p75 } else { mean };
    let slower = if greater(mean, p25) { p25 } else { mean };
    let needed = u64::from(places_ahead) + 1;
    let months = months_at(needed, mean);
    let low = months_at(needed, faster);
    let high = (slower.0 > 0).then(|| months_at(needed, slower));
    EstimatedWait {
        outcome: WaitOutcome::Estimated { months, low, high },
        basis_exits: exits,
        basis_months: WINDOW_MONTHS,
        basis_from: from,
        basis_till: till,
        basis: format!(
            "Aprēķināts no rindas kustības {period}: no rindas izgājušo personu skaits {exits} (piešķirta vieta vai atteikums)."
        ),
    }
}

/// a > b for fractions with positive denominators.
fn greater(a: (u64, u64), b: (u64, u64)) -> bool {
    u128::from(a.0) * u128::from(b.1) > u128::from(b.0) * u128::from(a.1)
}

/// `needed` persons at `rate` (> 0) persons a month: months, rounded half up to tenths.
fn months_at(needed: u64, (numerator, denominator): (u64, u64)) -> Tenths {
    let (n, d, r) = (u128::from(needed), u128::from(denominator), u128::from(numerator));
    let tenths = (20 * n * d + r) / (2 * r);
    Tenths(u64::try_from(tenths).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn outcome(places_ahead: u32, monthly: [u32; 12]) -> WaitOutcome {
        let (from, till) = window(day("2026-11-01"));
        estimate(places_ahead, monthly, from, till).outcome
    }

    fn estimated(months: u64, low: u64, high: Option<u64>) -> WaitOutcome {
        WaitOutcome::Estimated { months: Tenths(months), low: Tenths(low), high: high.map(Tenths) }
    }

    #[test]
    fn the_window_is_the_twelve_whole_months_before_the_reference_month() {
        assert_eq!(window(day("2026-11-01")), (day("2025-11-01"), day("2026-10-31")));
        assert_eq!(window(day("2026-11-30")), (day("2025-11-01"), day("2026-10-31")));
        assert_eq!(window(day("2024-03-15")), (day("2023-03-01"), day("2024-02-29")));
        let months: Vec<NaiveDate> = window_months(day("2025-11-01")).collect();
        assert_eq!((months.len(), months[0], months[11]), (12, day("2025-11-01"), day("2026-10-01")));
    }

    #[test]
    fn the_reference_day_is_never_after_the_register_as_of_day() {
        let register = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(reference_day(None, day("2026-12-02"), Some(register)), day("2026-11-01"));
        assert_eq!(reference_day(Some(day("2025-05-05")), day("2026-12-02"), Some(register)), day("2025-05-05"));
        assert_eq!(reference_day(None, day("2026-12-02"), None), day("2026-12-02"));
        // 22:30 UTC on 31 October is already 1 November in Riga.
        let late = DateTime::parse_from_rfc3339("2026-10-31T22:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(latvian_day(late), day("2026-11-01"));
    }

    #[test]
    fn steady_throughput_gives_a_narrow_range() {
        // 2 a month, 24 in all: mean 2 = P25 = P75. 5 ahead → 6 / 2 = 3.0 months.
        assert_eq!(outcome(5, [2; 12]), estimated(30, 30, Some(30)));
    }

    #[test]
    fn uneven_throughput_gives_the_quartile_range() {
        // Sorted: 0 1 1 2 2 2 2 3 3 4 4 6 — 30 exits, mean 2.5 a month.
        // P25 = (x2 + 3·x3) / 4 = (1 + 6) / 4 = 1.75; P75 = (3·x8 + x9) / 4 = (9 + 4) / 4 = 3.25.
        // 9 ahead → n = 10: 10 / 2.5 = 4.0; 10 / 3.25 = 3.08 → 3.1; 10 / 1.75 = 5.71 → 5.7.
        assert_eq!(outcome(9, [2, 0, 4, 1, 3, 2, 6, 1, 3, 2, 4, 2]), estimated(40, 31, Some(57)));
    }

    #[test]
    fn bursts_widen_the_range_to_the_mean_and_idle_quarters_leave_it_open_above() {
        // Sorted: 0×8, 1, 1, 1, 5 — 8 exits, mean 2/3. P25 = 0 (no upper end);
        // P75 = (3·1 + 1) / 4 = 1. n = 1: 1.5 months; low 1 / 1 = 1.0.
        assert_eq!(outcome(0, [0, 0, 5, 0, 0, 1, 0, 0, 1, 0, 1, 0]), estimated(15, 10, None));
        // Sorted: 0×9, 2, 2, 4 — 8 exits, mean 2/3 above P75 = (3·0 + 2) / 4 = 0.5:
        // the low end is the mean's, 1.5 months, as the estimate.
        assert_eq!(outcome(0, [0, 0, 4, 0, 0, 2, 0, 0, 2, 0, 0, 0]), estimated(15, 15, None));
    }

    #[test]
    fn too_little_movement_is_said_and_not_guessed() {
        let (from, till) = window(day("2026-11-01"));
        let wait = estimate(3, [1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1], from, till);
        assert_eq!(wait.outcome, WaitOutcome::InsufficientData);
        assert_eq!((wait.basis_exits, wait.basis_months, wait.basis_from, wait.basis_till), (5, 12, day("2025-11-01"), day("2026-10-31")));
        assert_eq!(
            wait.basis,
            "Par maz rindas kustības novērtējumam: 12 mēnešos (01.11.2025.–31.10.2026.) no rindas izgājušo personu skaits 5, vajag vismaz 6."
        );
        assert!(matches!(outcome(3, [1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1]), WaitOutcome::Estimated { .. }), "6 exits are enough");
    }

    #[test]
    fn halves_round_up_and_tenths_read_back() {
        // 7 exits a year, n = 1: 12 / 7 = 1.714… → 1.7; n = 3: 36 / 7 = 5.142… → 5.1.
        assert_eq!(months_at(1, (7, 12)), Tenths(17));
        assert_eq!(months_at(3, (7, 12)), Tenths(51));
        assert_eq!(months_at(1, (8, 1)), Tenths(1), "0.125 → 0.1");
        assert_eq!(months_at(1, (4, 1)), Tenths(3), "0.25 → 0.3");
        assert_eq!((Tenths(45).to_string(), Tenths(45).latvian()), ("4.5".to_owned(), "4,5".to_owned()));
        assert_eq!(Tenths::parse("4.5"), Some(Tenths(45)));
        assert_eq!(Tenths::parse("12"), Some(Tenths(120)));
        assert_eq!(Tenths::parse("4.55"), None);
    }
}
