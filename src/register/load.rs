//! Turns validated items into register rows: assigns row ids, resolves codes and
//! application numbers to ids, and for a delta replaces what the register held under the
//! same stable keys. The backend's [`Sink`] writes the rows; this file knows no SQL dialect.

use std::collections::HashMap;

use super::format::{self, Classifier, Kind, Link, CLASSIFIERS, ENTITIES, ENTITY_COUNT};
use super::reader::{Deletion, Item, PersonBlock, Record};
use super::Counts;
use crate::store::StoreError;

/// A value for one column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

/// Classifier ids by code (service kinds, providers, municipalities) and each table's
/// largest row id: what a delta starts from.
pub(crate) type RegisterKeys = ([HashMap<String, i64>; CLASSIFIERS], [i64; ENTITY_COUNT]);

/// Keys the loader looks up in the register (a delta only).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup {
    Person,
    Application,
}

/// Where rows go: one backend, inside the import's transaction.
pub(crate) trait Sink {
    /// Inserts one row of `entity`: the values in the order of [`columns`].
    fn insert(&mut self, entity: usize, values: &[Value<'_>]) -> Result<(), StoreError>;
    /// Replaces the row `values[0]` (its id) of a classifier or a person.
    fn update(&mut self, entity: usize, values: &[Value<'_>]) -> Result<(), StoreError>;
    /// The id of the person with these digits / the application with this number.
    fn find(&mut self, lookup: Lookup, key: &str) -> Result<Option<i64>, StoreError>;
    /// Deletes everything that belongs to the person; the person too when `with_person`.
    fn clear_person(&mut self, person_id: i64, with_person: bool) -> Result<(), StoreError>;
    /// Deletes the application with its children, events and queue entries.
    fn delete_application(&mut self, application_id: i64) -> Result<(), StoreError>;
    /// Deletes one queue event or queue entry by its id.
    fn delete_row(&mut self, entity: usize, id: i64) -> Result<(), StoreError>;
}

/// The columns a row of `entity` is written with: its id, its links, then its fields
/// (a field that is the id, `EventId` say, fills the id column instead).
pub(crate) fn columns(entity: usize) -> Vec<&'static str> {
    let spec = &ENTITIES[entity];
    let mut columns = Vec::new();
    if !spec.fields.iter().any(|f| f.kind == Kind::Id) {
        columns.push("id");
    }
    match spec.link {
        Link::OfPerson => columns.push("person_id"),
        Link::OfApplication => columns.push("application_id"),
        _ => {}
    }
    if entity == format::APPLICATION {
        columns.push("legal_representative_id");
    }
    columns.extend(spec.fields.iter().map(|f| f.column));
    columns
}

/// The loader's state over one import.
pub(crate) struct Loader<S> {
    pub sink: S,
    /// Whether the register was emptied first (a full import): nothing to look up or replace.
    fresh: bool,
    codes: [HashMap<String, i64>; CLASSIFIERS],
    next_id: [i64; ENTITY_COUNT],
    pub counts: Counts,
}

impl<S: Sink> Loader<S> {
    /// `codes` are the register's classifier ids by code and `max_ids` its largest row ids
    /// (both empty / zero for a full import).
    pub(crate) fn new(sink: S, fresh: bool, codes: [HashMap<String, i64>; CLASSIFIERS], max_ids: [i64; ENTITY_COUNT]) -> Self {
        Loader { sink, fresh, codes, next_id: max_ids, counts: Counts::default() }
    }

    fn next(&mut self, entity: usize) -> i64 {
        self.next_id[entity] += 1;
        self.next_id[entity]
    }

    pub(crate) fn item(&mut self, item: &Item) -> Result<(), StoreError> {
        match item {
            Item::Classifier(entity, record) => self.classifier(*entity, record),
            Item::Person(block) => self.person(block),
            Item::Delete { deletion, .. } => self.delete(deletion),
        }
    }

    fn classifier(&mut self, entity: usize, record: &Record) -> Result<(), StoreError> {
        let Link::Classifier(classifier) = ENTITIES[entity].link else { return Ok(()) };
        let code = record.value(0).unwrap_or_default().to_owned();
        let existing = self.codes[classifier as usize].get(&code).copied();
        let id = existing.unwrap_or_else(|| self.next(entity));
        let mut values = vec![Value::Int(id)];
        self.fields(entity, record, &HashMap::new(), &mut values);
        match existing {
            Some(_) => self.sink.update(entity, &values)?,
            None => self.sink.insert(entity, &values)?,
        }
        self.codes[classifier as usize].insert(code, id);
        Ok(())
    }

    /// `values` extended with the record's fields in the register's form.
    fn fields<'r>(&self, entity: usize, record: &'r Record, applications: &HashMap<&str, i64>, values: &mut Vec<Value<'r>>) {
        for (i, field) in ENTITIES[entity].fields.iter().enumerate() {
            let value = match (record.value(i), field.kind) {
                (None, _) => Value::Null,
                (Some(text), Kind::EventCode | Kind::Id | Kind::Boolean) => Value::Int(text.parse().unwrap_or_default()),
                (Some(code), Kind::Code(classifier)) => self.code(classifier, code),
                (Some(number), Kind::ApplicationRef) => applications.get(number).map_or(Value::Null, |&id| Value::Int(id)),
                (Some(text), _) => Value::Text(text),
            };
            values.push(value);
        }
    }

    fn code(&self, classifier: Classifier, code: &str) -> Value<'static> {
        self.codes[classifier as usize].get(code).map_or(Value::Null, |&id| Value::Int(id))
    }

    fn person(&mut self, block: &PersonBlock) -> Result<(), StoreError> {
        let digits = block.record.value(0).unwrap_or_default();
        let existing = match self.fresh {
            true => None,
            false => self.sink.find(Lookup::Person, digits)?,
        };
        let person_id = match existing {
            Some(id) => {
                self.sink.clear_person(id, false)?;
                id
            }
            None => self.next(format::PERSON),
        };
        let mut values = vec![Value::Int(person_id)];
        self.fields(format::PERSON, &block.record, &HashMap::new(), &mut values);
        match existing {
            Some(_) => self.sink.update(format::PERSON, &values)?,
            None => self.sink.insert(format::PERSON, &values)?,
        }
        self.counts.persons += 1;

        let mut applications = HashMap::new();
        for application in &block.applications {
            let number = application.record.value(0).unwrap_or_default();
            if !self.fresh {
                // Upsert by number: an application the register holds under another person moves.
                if let Some(old) = self.sink.find(Lookup::Application, number)? {
                    self.sink.delete_application(old)?;
                }
            }
            let representative = match &application.representative {
                Some(record) => {
                    let id = self.next(format::REPRESENTATIVE);
                    let mut values = vec![Value::Int(id)];
                    self.fields(format::REPRESENTATIVE, record, &HashMap::new(), &mut values);
                    self.sink.insert(format::REPRESENTATIVE, &values)?;
                    Value::Int(id)
                }
                None => Value::Null,
            };
            let application_id = self.next(format::APPLICATION);
            let mut values = vec![Value::Int(application_id), Value::Int(person_id), representative];
            self.fields(format::APPLICATION, &application.record, &HashMap::new(), &mut values);
            self.sink.insert(format::APPLICATION, &values)?;
            self.counts.applications += 1;
            applications.insert(number, application_id);
            for (slot, records) in application.children.iter().enumerate() {
                let entity = format::APPLICATION_CHILDREN[slot + 1];
                for record in records {
                    let id = self.next(entity);
                    let mut values = vec![Value::Int(id), Value::Int(application_id)];
                    self.fields(entity, record, &HashMap::new(), &mut values);
                    self.sink.insert(entity, &values)?;
                }
            }
        }
        for (entity, records) in [(format::QUEUE_EVENT, &block.events), (format::QUEUE_ENTRY, &block.entries)] {
            for record in records {
                if !self.fresh {
                    let id = record.value(0).and_then(|id| id.parse().ok()).unwrap_or_default();
                    self.sink.delete_row(entity, id)?;
                }
                let mut values = vec![Value::Int(person_id)];
                self.fields(entity, record, &applications, &mut values);
                self.sink.insert(entity, &values)?;
                match entity {
                    format::QUEUE_EVENT => self.counts.queue_events += 1,
                    _ => self.counts.queue_entries += 1,
                }
            }
        }
        Ok(())
    }

    fn delete(&mut self, deletion: &Deletion) -> Result<(), StoreError> {
        self.counts.deletions += 1;
        match deletion {
            Deletion::Person(digits) => {
                if let Some(id) = self.sink.find(Lookup::Person, digits)? {
                    self.sink.clear_person(id, true)?;
                }
            }
            Deletion::Application(number) => {
                if let Some(id) = self.sink.find(Lookup::Application, number)? {
                    self.sink.delete_application(id)?;
                }
            }
            Deletion::Event(id) => self.sink.delete_row(format::QUEUE_EVENT, id.trim().parse().unwrap_or_default())?,
        }
        Ok(())
    }
}
