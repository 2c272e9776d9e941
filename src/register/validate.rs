//! Checks each item of an export before anything is changed, and puts its values in the
//! register's form (personal codes as eleven digits, booleans as 1/0, dates as `YYYY-MM-DD`).
//! Per item: every value of its kind, every code a known classifier entry, every event's or
//! entry's application one of the same person's, no date after the export's `AsOf` and none
//! before what it follows. Across the file: duplicate keys, found by sorting compact keys at
//! the end (8 bytes a key, not a set of strings), then reported by a second read.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use chrono::NaiveDate;

use super::format::{self, Classifier, Kind, CLASSIFIERS, ENTITIES};
use super::reader::{Deletion, ExportKind, Header, Item, PersonBlock, Record};
use super::Problem;
use crate::personal_code::PersonalCode;

/// The keys whose duplicates are refused, each as a 64-bit value: a personal code's digits,
/// an event's or entry's id, and a hash of an application number (SipHash; a false
/// duplicate among 10 million numbers has odds of about 1 in 400,000 — and is reported,
/// never silently merged).
#[derive(Default)]
pub(crate) struct Keys {
    pub persons: Vec<u64>,
    pub applications: Vec<u64>,
    pub events: IdSet,
    pub entries: IdSet,
}

impl Keys {
    /// The keys given more than once, per kind; empties the lists.
    pub(crate) fn duplicates(&mut self) -> [HashSet<u64>; 4] {
        let mut out: [HashSet<u64>; 4] = Default::default();
        for (list, found) in [&mut self.persons, &mut self.applications, &mut self.events.large, &mut self.entries.large].into_iter().zip(out.iter_mut()) {
            sorted_duplicates(list, found);
        }
        out[2].extend(self.events.seen_twice.drain());
        out[3].extend(self.entries.seen_twice.drain());
        self.events = IdSet::default();
        self.entries = IdSet::default();
        out
    }
}

fn sorted_duplicates(list: &mut Vec<u64>, found: &mut HashSet<u64>) {
    list.sort_unstable();
    for pair in list.windows(2) {
        if pair[0] == pair[1] {
            found.insert(pair[0]);
        }
    }
    *list = Vec::new();
}

/// Event and entry ids seen: SPOLIS numbers them densely, so one bit per id up to the
/// largest (1.4 MB for 11 million events) instead of 8 bytes each (90 MB, twice that while a
/// list grows). An id too large for the bitmap is kept in `large` and sorted at the end.
#[derive(Default)]
pub(crate) struct IdSet {
    bits: Vec<u64>,
    large: Vec<u64>,
    seen_twice: HashSet<u64>,
}

impl IdSet {
    /// Ids below this go to the bitmap (at most 32 MB of it).
    const BITMAP_IDS: u64 = 1 << 28;

    pub(crate) fn push(&mut self, id: u64) {
        if id >= Self::BITMAP_IDS {
            self.large.push(id);
            return;
        }
        let (word, bit) = ((id / 64) as usize, id % 64);
        if word >= self.bits.len() {
            self.bits.resize((word + 1).next_power_of_two(), 0);
        }
        if self.bits[word] & (1 << bit) != 0 {
            self.seen_twice.insert(id);
        }
        self.bits[word] |= 1 << bit;
    }
}

pub(crate) fn application_key(number: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    number.hash(&mut hasher);
    hasher.finish()
}

pub(crate) fn person_key(digits: &str) -> u64 {
    digits.parse().unwrap_or(u64::MAX)
}

/// What the validator knows while reading.
pub(crate) struct Validator {
    file: String,
    as_of: NaiveDate,
    /// Classifier codes that may be referred to: the file's, and for a delta the register's.
    pub known: [HashSet<String>; CLASSIFIERS],
    /// Codes given in this file, per classifier (for duplicates).
    given: [HashSet<String>; CLASSIFIERS],
    pub keys: Keys,
}

impl Validator {
    pub(crate) fn new(file: &str, header: &Header, known: [HashSet<String>; CLASSIFIERS]) -> Self {
        Validator { file: file.to_owned(), as_of: header.as_of.date_naive(), known, given: Default::default(), keys: Keys::default() }
    }

    pub(crate) fn set_file(&mut self, file: &str, header: &Header) {
        self.file = file.to_owned();
        self.as_of = header.as_of.date_naive();
        self.given = Default::default();
    }

    fn problem(&self, line: u32, path: &str, message: impl Into<String>) -> Problem {
        Problem::new(&self.file, line, path, message.into())
    }

    /// Checks and normalises one item; pushes every problem found.
    pub(crate) fn check(&mut self, item: &mut Item, kind: ExportKind, problems: &mut Vec<Problem>) {
        match item {
            Item::Classifier(index, record) => {
                self.fields(*index, record, &HashSet::new(), problems);
                let classifier = match ENTITIES[*index].link {
                    format::Link::Classifier(c) => c as usize,
                    _ => return,
                };
                if let Some(code) = record.value(0).map(str::to_owned) {
                    if !self.given[classifier].insert(code.clone()) {
                        problems.push(self.problem(record.line, &record.path, format!("duplicate key: code {code:?} is given twice")));
                    }
                    self.known[classifier].insert(code);
                }
            }
            Item::Person(block) => self.person(block, problems),
            Item::Delete { deletion, line, path } => {
                if kind == ExportKind::Full {
                    problems.push(self.problem(*line, path, "a full export cannot delete (it replaces the register)"));
                }
                match deletion {
                    Deletion::Person(code) => match PersonalCode::parse(code) {
                        Ok(parsed) => *code = parsed.digits().to_owned(),
                        Err(e) => problems.push(self.problem(*line, path, format!("a personal code that cannot exist: {e}"))),
                    },
                    Deletion::Event(id) => {
                        if parse_id(id).is_none() {
                            problems.push(self.problem(*line, path, format!("{id:?} is not an id (1 to 2^53-1)")));
                        }
                    }
                    Deletion::Application(_) => {}
                }
            }
        }
    }

    fn person(&mut self, block: &mut PersonBlock, problems: &mut Vec<Problem>) {
        let no_applications = HashSet::new();
        self.fields(format::PERSON, &mut block.record, &no_applications, problems);
        if let Some(code) = block.record.value(0) {
            self.keys.persons.push(person_key(code));
        }
        let mut numbers = HashSet::new();
        for application in &mut block.applications {
            self.fields(format::APPLICATION, &mut application.record, &no_applications, problems);
            let submitted = application.record.value(1).and_then(date);
            if let Some(number) = application.record.value(0) {
                self.keys.applications.push(application_key(number));
                numbers.insert(number.to_owned());
            }
            if let Some(representative) = &mut application.representative {
                self.fields(format::REPRESENTATIVE, representative, &no_applications, problems);
            }
            for (slot, records) in application.children.iter_mut().enumerate() {
                let index = format::APPLICATION_CHILDREN[slot + 1];
                for record in records {
                    self.fields(index, record, &no_applications, problems);
                    self.child_dates(index, record, submitted, problems);
                }
            }
        }
        for (index, records) in [(format::QUEUE_EVENT, &mut block.events), (format::QUEUE_ENTRY, &mut block.entries)] {
            for record in records.iter_mut() {
                self.fields(index, record, &numbers, problems);
                if let Some(id) = record.value(0).and_then(parse_id) {
                    let list = if index == format::QUEUE_EVENT { &mut self.keys.events } else { &mut self.keys.entries };
                    list.push(id);
                }
            }
        }
    }

    /// Dates that must not come before what they follow.
    fn child_dates(&self, index: usize, record: &Record, submitted: Option<NaiveDate>, problems: &mut Vec<Problem>) {
        let entity = &ENTITIES[index];
        let at = |name: &str| entity.field(name).and_then(|i| record.value(i)).and_then(date);
        let mut order = |earlier: &str, later: &str, first: Option<NaiveDate>, then: Option<NaiveDate>| {
            if let (Some(first), Some(then)) = (first, then) {
                if then < first {
                    let line = entity.field(later).map_or(record.line, |i| record.lines[i]);
                    problems.push(self.problem(line, &format!("{}/{later}", record.path), format!("dates out of order: {then} is before {earlier} {first}")));
                }
            }
        };
        match entity.element {
            "DocumentRequest" => {
                order("RequestedOn", "DueOn", at("RequestedOn"), at("DueOn"));
                order("RequestedOn", "FulfilledOn", at("RequestedOn"), at("FulfilledOn"));
            }
            "GrantDecision" | "QueueDecision" => order("the application's SubmittedOn", "DecidedOn", submitted, at("DecidedOn")),
            _ => {}
        }
    }

    /// Every field of `record` checked and put in the register's form.
    fn fields(&self, index: usize, record: &mut Record, applications: &HashSet<String>, problems: &mut Vec<Problem>) {
        let entity = &ENTITIES[index];
        for (i, field) in entity.fields.iter().enumerate() {
            let Some(value) = record.values[i].take() else { continue };
            let path = || format!("{}/{}", record.path, field.element);
            let line = record.lines[i];
            match self.value(field.kind, value, applications) {
                Ok(normal) => record.values[i] = Some(normal),
                Err(message) => problems.push(self.problem(line, &path(), message)),
            }
        }
    }

    fn value(&self, kind: Kind, value: String, applications: &HashSet<String>) -> Result<String, String> {
        match kind {
            Kind::Text => match value.is_empty() {
                true => Err("must not be empty".into()),
                false => Ok(value),
            },
            Kind::Date => {
                let text = value.trim();
                let day = date(text).ok_or_else(|| format!("{value:?} is not a date (YYYY-MM-DD)"))?;
                if day > self.as_of {
                    return Err(format!("dates out of order: {day} is after the export's AsOf {}", self.as_of));
                }
                // Ten digits and dashes: already the register's form.
                Ok(if text.len() == value.len() { value } else { text.to_owned() })
            }
            Kind::PersonCode => PersonalCode::parse(value.trim())
                .map(|code| code.digits().to_owned())
                .map_err(|e| format!("a personal code that cannot exist: {e}")),
            Kind::EventCode => match value.trim().parse::<u8>().ok().and_then(crate::model::QueueEventKind::from_code) {
                Some(kind) => Ok(kind.code().to_string()),
                None => Err(format!("unknown event kind {value:?} (the kinds are 1 to 15)")),
            },
            Kind::Id => parse_id(&value).map(|id| id.to_string()).ok_or_else(|| format!("{value:?} is not an id (1 to 2^53-1)")),
            Kind::Boolean => match value.trim() {
                "true" | "1" => Ok("1".into()),
                "false" | "0" => Ok("0".into()),
                other => Err(format!("{other:?} is not a boolean")),
            },
            Kind::Code(classifier) => match self.known[classifier as usize].contains(value.trim()) {
                true => Ok(value.trim().to_owned()),
                false => Err(format!("unknown {} {value:?}", classifier_name(classifier))),
            },
            Kind::ApplicationRef => match applications.contains(value.trim()) {
                true => Ok(value.trim().to_owned()),
                false => Err(format!("unknown application {value:?}: not one of this person's applications")),
            },
        }
    }
}

fn classifier_name(classifier: Classifier) -> &'static str {
    match classifier {
        Classifier::ServiceKind => "service kind",
        Classifier::Provider => "provider",
        Classifier::Municipality => "municipality",
        Classifier::ClientGroup => "client group",
    }
}

/// A date written `YYYY-MM-DD`, read as bytes (chrono's format parser was ~5 % of an import).
pub(crate) fn date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| b[range].iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')));
    NaiveDate::from_ymd_opt(i32::try_from(number(0..4)?).ok()?, number(5..7)?, number(8..10)?)
}

pub(crate) fn parse_id(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|&id| (1..=(1 << 53) - 1).contains(&id))
}

#[cfg(test)]
mod id_set_tests {
    use super::*;

    #[test]
    fn dates_are_read_as_yyyy_mm_dd_only() {
        assert_eq!(date("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        for bad in ["2023-02-29", "2024-2-29", "2024-02-29 ", "+024-02-29", "2024/02/29", "2024-13-01", "2024-00-10", "20240229"] {
            assert_eq!(date(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_id_given_twice_is_found_in_the_bitmap_and_beyond_it() {
        let mut keys = Keys::default();
        for id in [5, 64, 5, IdSet::BITMAP_IDS + 3, 7, IdSet::BITMAP_IDS + 3, 64] {
            keys.events.push(id);
        }
        keys.entries.push(1);
        let found = keys.duplicates();
        assert_eq!(found[2], HashSet::from([5, 64, IdSet::BITMAP_IDS + 3]));
        assert!(found[3].is_empty());
        // Emptied: the next file starts afresh.
        keys.events.push(5);
        assert!(keys.duplicates()[2].is_empty());
    }
}
