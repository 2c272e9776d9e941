//! Latvian personal code (personas kods): parsed once at the boundary into [`PersonalCode`].
//!
//! Two formats exist (VISS.md §8, product decision §11.7):
//! - **old** `DDMMYY-CNNNN`: the first six digits are the birth date, `C` the century
//!   (0 = 1800s, 1 = 1900s, 2 = 2000s), the last digit a check digit; both are enforced, and
//!   the birth date must be on or before 30 June 2017 — codes issued since are new-format, so
//!   an old-format code of a later (or future) date cannot exist;
//! - **new** (issued since 1 July 2017) `3[2-9]NNNN-NNNNN`: no date, no check digit required.
//!   VISS.md §8 cites 32–39; the first two digits of an old code are a day, never 32–39, so
//!   the two formats cannot be confused. This is the one place the rule is kept.
//!
//! Input may carry the hyphen after the sixth digit or not; the canonical form kept in the
//! store is the eleven digits without it, and [`std::fmt::Display`] prints the hyphenated form.

use std::fmt;

use chrono::NaiveDate;

/// A syntactically and semantically valid personal code, eleven ASCII digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonalCode([u8; 11]);

/// Why a string is not a valid personal code. The text is safe to return to the caller:
/// it never repeats the code itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PersonalCodeError {
    /// Not eleven digits, optionally with one hyphen after the sixth.
    #[error("a personal code is 11 digits, optionally written DDMMYY-NNNNN")]
    Format,
    /// Old format whose first seven digits do not form a real calendar date.
    #[error("the birth date in the personal code is not a real date")]
    Date,
    /// Old format whose last digit does not match the check digit.
    #[error("the check digit of the personal code is wrong")]
    CheckDigit,
    /// Old format with a birth date after 30 June 2017, when old-format codes stopped being
    /// issued: such a code cannot exist.
    #[error("an old-format personal code cannot carry a birth date after 30 June 2017 (codes issued since start with 32 to 39)")]
    DateAfterOldFormat,
}

/// The last day old-format codes were issued for (new-format codes since 1 July 2017).
const LAST_OLD_FORMAT_BIRTH_DATE: (i32, u32, u32) = (2017, 6, 30);

impl PersonalCode {
    /// Parses `DDMMYY-CNNNN` or `DDMMYYCNNNN` (surrounding whitespace is ignored).
    pub fn parse(input: &str) -> Result<Self, PersonalCodeError> {
        let input = input.trim();
        let bytes = input.as_bytes();
        let digits: Vec<u8> = match bytes.len() {
            11 => bytes.to_vec(),
            12 if bytes[6] == b'-' => bytes[..6].iter().chain(&bytes[7..]).copied().collect(),
            _ => return Err(PersonalCodeError::Format),
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(PersonalCodeError::Format);
        }
        let mut code = [0u8; 11];
        code.copy_from_slice(&digits);
        let parsed = PersonalCode(code);
        if !parsed.is_new_format() {
            let birth_date = parsed.birth_date().ok_or(PersonalCodeError::Date)?;
            let (year, month, day) = LAST_OLD_FORMAT_BIRTH_DATE;
            if NaiveDate::from_ymd_opt(year, month, day).is_some_and(|last| birth_date > last) {
                return Err(PersonalCodeError::DateAfterOldFormat);
            }
            if old_format_check_digit(&code) != code[10] - b'0' {
                return Err(PersonalCodeError::CheckDigit);
            }
        }
        Ok(parsed)
    }

    /// Codes issued since 1 July 2017 start with 3 and a digit 2–9 and carry no birth date.
    /// Old codes cannot start so: no day of the month is 32–39.
    pub fn is_new_format(&self) -> bool {
        self.0[0] == b'3' && (b'2'..=b'9').contains(&self.0[1])
    }

    /// The birth date an old-format code encodes; `None` for the new format.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        if self.is_new_format() {
            return None;
        }
        let d = |i: usize| u32::from(self.0[i] - b'0');
        let day = d(0) * 10 + d(1);
        let month = d(2) * 10 + d(3);
        let century = match self.0[6] {
            b'0' => 1800,
            b'1' => 1900,
            b'2' => 2000,
            _ => return None,
        };
        let year = century + (d(4) * 10 + d(5)) as i32;
        NaiveDate::from_ymd_opt(year, month, day)
    }

    /// The eleven digits without the hyphen: the form kept in the store.
    pub fn digits(&self) -> &str {
        // The array holds only ASCII digits, checked in `parse`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Builds an old-format code for a birth date and a four-digit serial, computing the
    /// check digit. Used by the demo data generator; `serial` is taken modulo 1000. `None`
    /// for a date no old-format code can carry (before 1800, after 30 June 2017).
    pub fn old_format(birth_date: NaiveDate, serial: u32) -> Option<Self> {
        use chrono::Datelike;
        let (year, month, day) = LAST_OLD_FORMAT_BIRTH_DATE;
        if NaiveDate::from_ymd_opt(year, month, day).is_some_and(|last| birth_date > last) {
            return None;
        }
        let century = match birth_date.year() {
            1800..=1899 => 0,
            1900..=1999 => 1,
            2000..=2099 => 2,
            _ => return None,
        };
        let text = format!(
            "{:02}{:02}{:02}{}{:03}",
            birth_date.day(),
            birth_date.month(),
            birth_date.year() % 100,
            century,
            serial % 1000
        );
        let mut code = [0u8; 11];
        code[..10].copy_from_slice(text.as_bytes());
        code[10] = b'0' + old_format_check_digit(&code);
        Some(PersonalCode(code))
    }

    /// Builds a new-format code `32NNNN-NNNNN` from a number below 10^9.
    pub fn new_format(number: u64) -> Self {
        let text = format!("32{:09}", number % 1_000_000_000);
        let mut code = [0u8; 11];
        code.copy_from_slice(text.as_bytes());
        PersonalCode(code)
    }
}

/// `((1101 − Σ wᵢ·dᵢ) mod 11) mod 10` over the first ten digits (VISS.md §8.2).
fn old_format_check_digit(code: &[u8; 11]) -> u8 {
    const WEIGHTS: [i32; 10] = [1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: i32 = WEIGHTS
        .iter()
        .zip(code.iter())
        .map(|(w, d)| w * i32::from(d - b'0'))
        .sum();
    ((1101 - sum).rem_euclid(11) % 10) as u8
}

impl fmt::Display for PersonalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.digits();
        write!(f, "{}-{}", &digits[..6], &digits[6..])
    }
}

/// Debug never prints the code: a stray `{:?}` in a log line must not leak personal data.
impl fmt::Debug for PersonalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonalCode(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_known_valid_old_format_codes_with_and_without_hyphen() {
        for code in ["121282-11210", "280794-12344", "161175-19997", "16117519997"] {
            assert!(PersonalCode::parse(code).is_ok(), "{code}");
        }
        let parsed = PersonalCode::parse("16117519997").unwrap();
        assert_eq!(parsed.to_string(), "161175-19997");
        assert_eq!(parsed.digits(), "16117519997");
        assert_eq!(parsed.birth_date(), NaiveDate::from_ymd_opt(1975, 11, 16));
    }

    #[test]
    fn rejects_a_wrong_check_digit() {
        assert_eq!(PersonalCode::parse("161175-19998"), Err(PersonalCodeError::CheckDigit));
        assert_eq!(PersonalCode::parse("121282-11211"), Err(PersonalCodeError::CheckDigit));
    }

    #[test]
    fn rejects_impossible_birth_dates() {
        // 30 February, month 13, century digit 3 (old codes only use 0, 1, 2).
        for code in ["300282-10002", "011382-10005", "010182-30000"] {
            assert_eq!(PersonalCode::parse(code), Err(PersonalCodeError::Date), "{code}");
        }
        // 29 February exists in 2000 but not in 1900.
        let leap = PersonalCode::old_format(NaiveDate::from_ymd_opt(2000, 2, 29).unwrap(), 1).unwrap();
        assert!(PersonalCode::parse(leap.digits()).is_ok());
        let mut not_leap = leap.digits().to_string();
        not_leap.replace_range(6..7, "1");
        assert_eq!(PersonalCode::parse(&not_leap), Err(PersonalCodeError::Date));
    }

    #[test]
    fn accepts_new_format_codes_without_a_check_digit() {
        for code in ["328673-00679", "328673-00677", "32001010003", "399999-99999"] {
            let parsed = PersonalCode::parse(code).unwrap();
            assert!(parsed.is_new_format());
            assert_eq!(parsed.birth_date(), None);
        }
    }

    #[test]
    fn rejects_malformed_input() {
        for code in ["", "12345", "121282_11210", "121282-1121", "1212821121O", "12128-211210", "121282--1210", "１２１２８２-１１２１０"] {
            assert_eq!(PersonalCode::parse(code), Err(PersonalCodeError::Format), "{code:?}");
        }
    }

    #[test]
    fn old_format_codes_dated_after_june_2017_cannot_exist() {
        // The review's examples: 1 July 2018 and 31 December 2099, both with valid check digits.
        for code in ["010718-20001", "311299-20003"] {
            assert_eq!(PersonalCode::parse(code), Err(PersonalCodeError::DateAfterOldFormat), "{code}");
        }
        let last = NaiveDate::from_ymd_opt(2017, 6, 30).unwrap();
        let on_the_last_day = PersonalCode::old_format(last, 42).unwrap();
        assert!(PersonalCode::parse(on_the_last_day.digits()).is_ok());
        assert_eq!(PersonalCode::old_format(last.succ_opt().unwrap(), 42), None);
        // A new-format code has no date, so the rule does not touch it.
        assert!(PersonalCode::parse("320717-12345").is_ok());
    }

    #[test]
    fn generated_old_format_codes_validate() {
        let mut date = NaiveDate::from_ymd_opt(1899, 12, 25).unwrap();
        for serial in 0..400 {
            let code = PersonalCode::old_format(date, serial * 7).unwrap();
            assert_eq!(PersonalCode::parse(&code.to_string()), Ok(code));
            date = date + chrono::Days::new(97);
        }
    }

    #[test]
    fn debug_output_hides_the_code() {
        let code = PersonalCode::parse("161175-19997").unwrap();
        assert!(!format!("{code:?}").contains("161175"));
    }
}
