//! Days, dates and randomness: the register's day numbers and their text, a seeded
//! splitmix64 (never the clock, so a seed always gives the same register), weighted
//! choices, and unique personal codes of both formats.

use chrono::{Datelike, NaiveDate};

use super::{DATA_HORIZON, NO_RECORDS_PERSON_CODE, SHOWCASE};
use crate::personal_code::PersonalCode;
use crate::store::sqlite;

/// A day as a number of days since [`FIRST_DAY`]; all register dates are days in
/// `0..=horizon`, formatted once into [`Dates`].
pub(super) type Day = i32;

/// The first day a register date may fall on, and the origin of [`Day`].
pub(super) const FIRST_DAY: (i32, u32, u32) = (2014, 1, 1);

/// A calendar date from literal parts. Every literal in this file is a real date.
pub(super) fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("literal dates in the demo register are real dates")
}

fn origin() -> NaiveDate {
    ymd(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2)
}

/// The day number of a date.
pub(super) fn day(year: i32, month: u32, d: u32) -> Day {
    (ymd(year, month, d) - origin()).num_days() as Day
}

/// The date of a day number (a birth may lie before the origin: a negative day).
pub(super) fn date_of(d: Day) -> NaiveDate {
    origin() + chrono::Duration::days(i64::from(d))
}

pub(super) fn horizon() -> Day {
    let text = DATA_HORIZON.as_bytes();
    let part = |range: std::ops::Range<usize>| -> u32 {
        text[range].iter().fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    day(part(0..4) as i32, part(5..7), part(8..10))
}

/// Every register day formatted once as `YYYY-MM-DD`, with its year.
pub(super) struct Dates {
    text: Vec<String>,
    year: Vec<i32>,
}

impl Dates {
    pub(super) fn new() -> Self {
        let first = origin();
        let (text, year) = (0..=horizon())
            .map(|d| {
                let date = first + chrono::Days::new(d as u64);
                (sqlite::iso_date(date), date.year())
            })
            .unzip();
        Dates { text, year }
    }

    /// Days past the horizon are clamped to it (and before the origin to the origin).
    fn index(&self, d: Day) -> usize {
        (d.max(0) as usize).min(self.text.len() - 1)
    }

    pub(super) fn text(&self, d: Day) -> &str {
        &self.text[self.index(d)]
    }

    pub(super) fn year(&self, d: Day) -> i32 {
        self.year[self.index(d)]
    }
}

/// The last birth date an old-format code can carry: codes issued since 1 July 2017 are
/// new-format ones.
pub(super) fn last_old_format_birth() -> NaiveDate {
    ymd(2017, 6, 30)
}

/// splitmix64: small, fast, and good enough to make demo data look random.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub(super) fn between(&mut self, low: i32, high: i32) -> i32 {
        if high <= low {
            return low;
        }
        low + self.below((high - low + 1) as u64) as i32
    }

    pub(super) fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The splitmix64 finaliser: a good 64-bit hash.
pub(super) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A weighted choice among item indices.
pub(super) struct Weighted {
    items: Vec<usize>,
    cumulative: Vec<u64>,
}

impl Weighted {
    pub(super) fn new(pairs: impl IntoIterator<Item = (usize, u32)>) -> Self {
        let mut total = 0;
        let (items, cumulative) = pairs
            .into_iter()
            .map(|(item, weight)| {
                total += u64::from(weight);
                (item, total)
            })
            .unzip();
        Weighted { items, cumulative }
    }

    pub(super) fn pick(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let r = rng.below(total);
        let i = self.cumulative.partition_point(|&c| c <= r);
        self.items[i.min(self.items.len() - 1)]
    }
}

/// Hands out unique personal codes: old-format ones by birth date (a per-date counter
/// over the 1000 serials), new-format ones by a bijection of a counter. Showcase codes and
/// the no-records code are never handed out.
pub(super) struct Codes {
    used_per_date: Vec<u16>,
    first_birth_date: NaiveDate,
    next_new: u64,
    reserved: Vec<String>,
}

impl Codes {
    pub(super) fn new() -> Self {
        let first_birth_date = ymd(1900, 1, 1);
        let days = (last_old_format_birth() - first_birth_date).num_days() as usize + 1;
        let reserved = SHOWCASE
            .iter()
            .map(|s| s.person_code)
            .chain([NO_RECORDS_PERSON_CODE])
            .map(|code| code.replace('-', ""))
            .collect();
        Codes { used_per_date: vec![0; days], first_birth_date, next_new: 0, reserved }
    }

    fn is_reserved(&self, code: &PersonalCode) -> bool {
        self.reserved.iter().any(|r| r == code.digits())
    }

    /// An unused old-format code for someone born on `birth` (or a day later, if all
    /// 1000 serials of that day are taken). `birth` must lie between 1900 and
    /// [`last_old_format_birth`]: later births have new-format codes only.
    pub(super) fn old_format(&mut self, mut birth: NaiveDate) -> PersonalCode {
        loop {
            let index = ((birth - self.first_birth_date).num_days() as usize).min(self.used_per_date.len() - 1);
            let used = u64::from(self.used_per_date[index]);
            if used >= 1000 {
                birth = birth.succ_opt().unwrap_or(birth);
                continue;
            }
            self.used_per_date[index] += 1;
            // Serials start at a per-date offset, so that codes do not all end in 000x.
            let serial = ((mix(index as u64) % 1000 + used) % 1000) as u32;
            match PersonalCode::old_format(birth, serial) {
                Some(code) if !self.is_reserved(&code) => return code,
                _ => continue,
            }
        }
    }

    /// An unused new-format code `32NNNN-NNNNN`.
    pub(super) fn new_format(&mut self) -> PersonalCode {
        loop {
            // 3^18 is coprime with 10^9, so this visits every number below 10^9 once.
            let n = (self.next_new.wrapping_mul(387_420_489).wrapping_add(12_345_678)) % 1_000_000_000;
            self.next_new += 1;
            let code = PersonalCode::new_format(n);
            if !self.is_reserved(&code) {
                return code;
            }
        }
    }
}
