//! Writes the register as a full export (quick-xml), person by person: every entity is
//! read through its own cursor in person order and the cursors advance together, so the
//! export holds one row per entity in memory whatever the register's size.

use std::io::Write;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::format::{self, Kind, ENTITIES};
use crate::personal_code::PersonalCode;
use crate::store::StoreError;

/// One row of an entity: its owning person and application (ids), and the fields' text.
pub(crate) struct Row {
    pub person: Option<i64>,
    pub application: Option<i64>,
    pub values: Vec<Option<String>>,
}

impl Row {
    /// From a query of `sql::export`: two owner columns, then the fields.
    pub(crate) fn from_columns(mut columns: Vec<Option<String>>) -> Result<Option<Row>, StoreError> {
        if columns.len() < 2 {
            return Err(StoreError::Corrupt("export: a row without its owner columns".into()));
        }
        let values = columns.split_off(2);
        let id = |text: &Option<String>| text.as_deref().and_then(|t| t.parse().ok());
        Ok(Some(Row { person: id(&columns[0]), application: id(&columns[1]), values }))
    }
}

/// The register's rows, entity by entity, each in the order of `sql::export`.
pub(crate) trait Source {
    fn next(&mut self, entity: usize) -> Result<Option<Row>, StoreError>;
}

/// What was written.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExportCounts {
    pub persons: u64,
    pub applications: u64,
    pub queue_events: u64,
}

struct Cursors<'s> {
    source: &'s mut dyn Source,
    peeked: Vec<Option<Row>>,
}

impl Cursors<'_> {
    fn peek(&mut self, entity: usize) -> Result<Option<&Row>, StoreError> {
        if self.peeked[entity].is_none() {
            self.peeked[entity] = self.source.next(entity)?;
        }
        Ok(self.peeked[entity].as_ref())
    }

    /// The next row of `entity` when `belongs` says it is the current owner's.
    fn next_if(&mut self, entity: usize, belongs: impl Fn(&Row) -> bool) -> Result<Option<Row>, StoreError> {
        match self.peek(entity)? {
            Some(row) if belongs(row) => Ok(self.peeked[entity].take()),
            _ => Ok(None),
        }
    }
}

fn io(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("export: cannot write: {error}"))
}

/// Writes a full export of `source` stating `as_of` to `out`.
pub(crate) fn write(source: &mut dyn Source, as_of: &str, out: impl Write) -> Result<ExportCounts, StoreError> {
    // One element per line, so that a problem's line number points at it; no indentation,
    // which would add a third to a file of millions of persons.
    let mut xml = Writer::new_with_indent(out, b' ', 0);
    let mut counts = ExportCounts::default();
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).map_err(io)?;
    xml.write_event(Event::Start(BytesStart::new(format::ROOT).with_attributes([("xmlns", format::NAMESPACE)]))).map_err(io)?;
    text_element(&mut xml, format::AS_OF, as_of)?;
    text_element(&mut xml, format::KIND, "full")?;
    let mut cursors = Cursors { source, peeked: (0..ENTITIES.len()).map(|_| None).collect() };
    for (entity, spec) in ENTITIES.iter().enumerate() {
        let Some(section) = spec.section else { continue };
        if cursors.peek(entity)?.is_none() {
            continue;
        }
        xml.write_event(Event::Start(BytesStart::new(section))).map_err(io)?;
        while let Some(row) = cursors.next_if(entity, |_| true)? {
            record(&mut xml, entity, &row)?;
        }
        xml.write_event(Event::End(BytesEnd::new(section))).map_err(io)?;
    }
    xml.write_event(Event::Start(BytesStart::new(format::PERSONS))).map_err(io)?;
    while let Some(person) = cursors.next_if(format::PERSON, |_| true)? {
        let id = person.person;
        counts.persons += 1;
        open(&mut xml, format::PERSON, &person)?;
        while let Some(application) = cursors.next_if(format::APPLICATION, |r| r.person == id)? {
            counts.applications += 1;
            open(&mut xml, format::APPLICATION, &application)?;
            for entity in format::APPLICATION_CHILDREN {
                while let Some(row) = cursors.next_if(entity, |r| r.person == id && r.application == application.application)? {
                    record(&mut xml, entity, &row)?;
                }
            }
            xml.write_event(Event::End(BytesEnd::new(ENTITIES[format::APPLICATION].element))).map_err(io)?;
        }
        for entity in [format::QUEUE_EVENT, format::QUEUE_ENTRY] {
            while let Some(row) = cursors.next_if(entity, |r| r.person == id)? {
                if entity == format::QUEUE_EVENT {
                    counts.queue_events += 1;
                }
                record(&mut xml, entity, &row)?;
            }
        }
        xml.write_event(Event::End(BytesEnd::new(ENTITIES[format::PERSON].element))).map_err(io)?;
    }
    xml.write_event(Event::End(BytesEnd::new(format::PERSONS))).map_err(io)?;
    xml.write_event(Event::End(BytesEnd::new(format::ROOT))).map_err(io)?;
    xml.into_inner().flush().map_err(io)?;
    Ok(counts)
}

fn text_element<W: Write>(xml: &mut Writer<W>, name: &str, text: &str) -> Result<(), StoreError> {
    xml.write_event(Event::Start(BytesStart::new(name))).map_err(io)?;
    xml.write_event(Event::Text(BytesText::new(text))).map_err(io)?;
    xml.write_event(Event::End(BytesEnd::new(name))).map_err(io)?;
    Ok(())
}

/// The start tag of `entity` and its fields (the caller writes its children and end tag).
fn open<W: Write>(xml: &mut Writer<W>, entity: usize, row: &Row) -> Result<(), StoreError> {
    let spec = &ENTITIES[entity];
    xml.write_event(Event::Start(BytesStart::new(spec.element))).map_err(io)?;
    for (field, value) in spec.fields.iter().zip(&row.values) {
        let Some(value) = value else { continue };
        match field.kind {
            Kind::PersonCode => {
                let code = PersonalCode::parse(value).map_err(|_| StoreError::Corrupt("export: a stored personal code cannot exist".into()))?;
                text_element(xml, field.element, &code.to_string())?
            }
            _ => text_element(xml, field.element, value)?,
        }
    }
    Ok(())
}

fn record<W: Write>(xml: &mut Writer<W>, entity: usize, row: &Row) -> Result<(), StoreError> {
    open(xml, entity, row)?;
    xml.write_event(Event::End(BytesEnd::new(ENTITIES[entity].element))).map_err(io)?;
    Ok(())
}
