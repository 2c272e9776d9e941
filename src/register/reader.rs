//! Reads an export as a stream (quick-xml): the header, then one item at a time — a
//! classifier entry, a whole person, a deletion — each with the line it starts on. Only the
//! person being read is in memory, never the register. Structure problems (an unknown or
//! repeated element, a missing one, text out of place) are reported with file, line and
//! element path; malformed XML ends the file.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::format::{self, Entity, Link, CLASSIFIERS, ENTITIES};
use super::Problem;

/// full or delta, as the document says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Full,
    Delta,
}

impl ExportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Full => "full",
            ExportKind::Delta => "delta",
        }
    }
}

/// The document's header.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub as_of: chrono::DateTime<chrono::Utc>,
    pub kind: ExportKind,
}

/// One entity's values, in the order of its fields in [`format::ENTITIES`].
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub line: u32,
    /// The element path, e.g. `RegisterExport/Persons/Person[7]/Application[2]`.
    pub path: String,
    pub values: Vec<Option<String>>,
    /// The line of each field's element (0 when absent).
    pub lines: Vec<u32>,
}

impl Record {
    pub(crate) fn value(&self, field: usize) -> Option<&str> {
        self.values[field].as_deref()
    }
}

/// An application with what it holds.
#[derive(Debug, Clone)]
pub(crate) struct ApplicationBlock {
    pub record: Record,
    pub representative: Option<Record>,
    /// Submitted documents, document requests, grant, queue and refusal decisions
    /// (`APPLICATION_CHILDREN` after the representative).
    pub children: [Vec<Record>; format::APPLICATION_CHILDREN.len() - 1],
}

/// A person with everything the export says about them.
#[derive(Debug, Clone)]
pub(crate) struct PersonBlock {
    pub record: Record,
    pub applications: Vec<ApplicationBlock>,
    pub events: Vec<Record>,
    pub entries: Vec<Record>,
}

/// What a `<Deletions>` child names.
#[derive(Debug, Clone)]
pub(crate) enum Deletion {
    Person(String),
    Application(String),
    Event(String),
}

/// One item of the stream.
#[derive(Debug)]
pub(crate) enum Item {
    Classifier(usize, Record),
    Person(Box<PersonBlock>),
    Delete { deletion: Deletion, line: u32, path: String },
}

/// An element's name: the format's own names are not copied per element.
type Name = Cow<'static, str>;

/// `bytes` as one of the format's element names when it is one (no allocation), else copied.
fn intern(bytes: &[u8]) -> Name {
    static NAMES: std::sync::OnceLock<HashMap<&'static [u8], &'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut names: Vec<&'static str> = vec![format::ROOT, format::AS_OF, format::KIND, format::PERSONS, format::DELETIONS, format::DELETE_PERSON, format::DELETE_APPLICATION, format::DELETE_EVENT];
        for entity in &ENTITIES {
            names.extend(entity.section);
            names.push(entity.element);
            names.extend(entity.fields.iter().map(|f| f.element));
        }
        names.into_iter().map(|n| (n.as_bytes(), n)).collect()
    });
    match names.get(bytes) {
        Some(&name) => Cow::Borrowed(name),
        None => Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// An element read whole: for small subtrees only (one person at most).
struct Node {
    name: Name,
    line: u32,
    text: String,
    children: Vec<Node>,
}

/// A buffered file that counts the lines quick-xml has consumed.
struct Lines {
    inner: BufReader<File>,
    newlines: u32,
}

impl Read for Lines {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.newlines += out[..n].iter().filter(|&&b| b == b'\n').count() as u32;
        Ok(n)
    }
}

impl BufRead for Lines {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amount: usize) {
        let consumed = &self.inner.buffer()[..amount.min(self.inner.buffer().len())];
        self.newlines += consumed.iter().filter(|&&b| b == b'\n').count() as u32;
        self.inner.consume(amount);
    }
}

/// Where the stream is between items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Header,
    Classifiers(usize),
    Persons,
    Deletions,
    Done,
}

/// The reader of one export file.
pub(crate) struct ExportReader {
    xml: NsReader<Lines>,
    file: String,
    buffer: Vec<u8>,
    section: Section,
    /// The section reached so far, by order (items must come in the XSD's order).
    order: u8,
    persons: u64,
    ordinals: [u64; CLASSIFIERS],
    deletions: u64,
    pub header: Option<Header>,
}

impl ExportReader {
    /// Opens `path` and reads up to the first item; problems with the header are returned.
    pub(crate) fn open(path: &Path, problems: &mut Vec<Problem>) -> Result<Self, Problem> {
        let file_name = path.display().to_string();
        let file = File::open(path).map_err(|e| Problem::new(&file_name, 0, "", format!("cannot open: {e}")))?;
        let mut xml = NsReader::from_reader(Lines { inner: BufReader::with_capacity(1 << 20, file), newlines: 0 });
        xml.config_mut().expand_empty_elements = true;
        let mut reader = ExportReader {
            xml,
            file: file_name,
            buffer: Vec::new(),
            section: Section::Header,
            order: 0,
            persons: 0,
            ordinals: [0; CLASSIFIERS],
            deletions: 0,
            header: None,
        };
        reader.read_header(problems)?;
        Ok(reader)
    }

    /// Bytes of the file read so far.
    pub(crate) fn position(&self) -> u64 {
        self.xml.buffer_position()
    }

    fn line(&self) -> u32 {
        self.xml.get_ref().newlines + 1
    }

    fn problem(&self, line: u32, path: &str, message: impl Into<String>) -> Problem {
        Problem::new(&self.file, line, path, message.into())
    }

    /// The next start or end tag in our namespace; text only when not whitespace, appended
    /// to `text` (no string of its own per text).
    fn next(&mut self, text: &mut String) -> Result<Token, Problem> {
        let mut buffer = std::mem::take(&mut self.buffer);
        let token = loop {
            buffer.clear();
            if let Some(token) = self.token(&mut buffer, text).transpose() {
                break token;
            }
        };
        self.buffer = buffer;
        token
    }

    /// One event as a token, `None` for what is skipped (whitespace, comments, declarations).
    fn token(&mut self, buffer: &mut Vec<u8>, out: &mut String) -> Result<Option<Token>, Problem> {
        let line = self.line();
        let (resolved, event) = match self.xml.read_resolved_event_into(buffer) {
            Ok(read) => read,
            Err(e) => return Err(Problem::new(&self.file, line, "", format!("not well-formed XML: {e}"))),
        };
        let in_namespace = matches!(resolved, ResolveResult::Bound(ns) if ns.as_ref() == format::NAMESPACE.as_bytes());
        let line = self.xml.get_ref().newlines + 1;
        Ok(Some(match event {
            Event::Start(start) => {
                let name = intern(start.local_name().as_ref());
                if !in_namespace {
                    return Err(Problem::new(&self.file, line, &name, format!("element {name} is not in the namespace {}", format::NAMESPACE)));
                }
                Token::Start(name, line)
            }
            Event::End(_) => Token::End,
            Event::Text(text) => {
                let text = text.unescape().map_err(|e| Problem::new(&self.file, line, "", format!("bad text: {e}")))?;
                if text.trim().is_empty() {
                    return Ok(None);
                }
                out.push_str(&text);
                Token::Text(line)
            }
            Event::CData(data) => {
                out.push_str(&String::from_utf8_lossy(&data));
                Token::Text(line)
            }
            Event::Eof => Token::Eof,
            Event::DocType(_) => return Err(Problem::new(&self.file, line, "", "a DTD is not allowed".into())),
            _ => return Ok(None),
        }))
    }

    /// Reads the rest of an element whose start tag was just read.
    fn node(&mut self, name: Name, line: u32, depth: usize) -> Result<Node, Problem> {
        if depth > 16 {
            return Err(self.problem(line, &name, "elements nested too deep"));
        }
        let mut node = Node { name, line, text: String::new(), children: Vec::new() };
        loop {
            match self.next(&mut node.text)? {
                Token::Start(child, line) => {
                    let child = self.node(child, line, depth + 1)?;
                    node.children.push(child);
                }
                Token::Text(_) => {}
                Token::End => return Ok(node),
                Token::Eof => return Err(self.problem(self.line(), &node.name, "the file ends inside this element")),
            }
        }
    }

    fn read_header(&mut self, problems: &mut Vec<Problem>) -> Result<(), Problem> {
        match self.next(&mut String::new())? {
            Token::Start(name, _) if name == format::ROOT => {}
            Token::Start(name, line) => return Err(self.problem(line, &name, format!("the document element must be {}", format::ROOT))),
            _ => return Err(self.problem(self.line(), "", format!("no {} element", format::ROOT))),
        }
        let mut as_of = None;
        let mut kind = None;
        for (wanted, slot) in [(format::AS_OF, 0), (format::KIND, 1)] {
            let path = format!("{}/{wanted}", format::ROOT);
            match self.next(&mut String::new())? {
                Token::Start(name, line) if name == wanted => {
                    let node = self.node(name, line, 1)?;
                    let text = node.text.trim();
                    if slot == 0 {
                        match chrono::DateTime::parse_from_rfc3339(text) {
                            Ok(time) => as_of = Some(time.with_timezone(&chrono::Utc)),
                            Err(_) => problems.push(self.problem(line, &path, format!("{text:?} is not a date and time with a time zone"))),
                        }
                    } else {
                        match text {
                            "full" => kind = Some(ExportKind::Full),
                            "delta" => kind = Some(ExportKind::Delta),
                            other => problems.push(self.problem(line, &path, format!("{other:?} is neither full nor delta"))),
                        }
                    }
                }
                _ => return Err(self.problem(self.line(), &path, format!("{wanted} must come next"))),
            }
        }
        if let (Some(as_of), Some(kind)) = (as_of, kind) {
            self.header = Some(Header { as_of, kind });
        }
        Ok(())
    }

    /// The next item, `None` at the end of the document. A structure problem inside an item
    /// is pushed to `problems` and the item skipped; an `Err` ends the file.
    pub(crate) fn next_item(&mut self, problems: &mut Vec<Problem>) -> Result<Option<Item>, Problem> {
        loop {
            let token = self.next(&mut String::new())?;
            match (self.section, token) {
                (Section::Done, Token::Eof) => return Ok(None),
                (Section::Done, _) => return Err(self.problem(self.line(), "", "content after the document element")),
                (_, Token::Eof) => return Err(self.problem(self.line(), format::ROOT, "the file ends inside the document")),
                (Section::Header, Token::End) => self.section = Section::Done,
                (Section::Header, Token::Start(name, line)) => {
                    let (section, order) = match name.as_ref() {
                        n if ENTITIES.iter().any(|e| e.section == Some(n)) => {
                            let index = ENTITIES.iter().position(|e| e.section == Some(n)).unwrap_or(0);
                            (Section::Classifiers(index), index as u8 + 1)
                        }
                        format::PERSONS => (Section::Persons, 10),
                        format::DELETIONS => (Section::Deletions, 11),
                        _ => {
                            let path = format!("{}/{name}", format::ROOT);
                            problems.push(self.problem(line, &path, "unknown element"));
                            self.node(name, line, 1)?;
                            continue;
                        }
                    };
                    if order <= self.order {
                        problems.push(self.problem(line, &format!("{}/{name}", format::ROOT), "out of order or repeated (the order is the XSD's)"));
                    }
                    self.order = order;
                    self.section = section;
                }
                (Section::Header, Token::Text(line)) => problems.push(self.problem(line, format::ROOT, "text is not allowed here")),
                (_, Token::End) => self.section = Section::Header,
                (_, Token::Text(line)) => problems.push(self.problem(line, format::ROOT, "text is not allowed here")),
                (Section::Classifiers(index), Token::Start(name, line)) => {
                    let entity = &ENTITIES[index];
                    let section = entity.section.unwrap_or_default();
                    self.ordinals[index] += 1;
                    let path = format!("{}/{section}/{name}[{}]", format::ROOT, self.ordinals[index]);
                    let mut node = self.node(name, line, 2)?;
                    if node.name != entity.element {
                        problems.push(self.problem(line, &path, format!("unknown element (a {section} holds {})", entity.element)));
                        continue;
                    }
                    let before = problems.len();
                    let record = self.record(entity, &mut node, path, &[], problems);
                    if problems.len() == before {
                        return Ok(Some(Item::Classifier(index, record)));
                    }
                }
                (Section::Persons, Token::Start(name, line)) => {
                    self.persons += 1;
                    let path = format!("{}/{}/{name}[{}]", format::ROOT, format::PERSONS, self.persons);
                    let mut node = self.node(name, line, 2)?;
                    if node.name != ENTITIES[format::PERSON].element {
                        problems.push(self.problem(line, &path, "unknown element (Persons holds Person)"));
                        continue;
                    }
                    let before = problems.len();
                    let block = self.person(&mut node, path, problems);
                    if problems.len() == before {
                        return Ok(Some(Item::Person(Box::new(block))));
                    }
                }
                (Section::Deletions, Token::Start(name, line)) => {
                    self.deletions += 1;
                    let path = format!("{}/{}/{name}[{}]", format::ROOT, format::DELETIONS, self.deletions);
                    let node = self.node(name, line, 2)?;
                    let key = node.text.trim().to_owned();
                    let deletion = match node.name.as_ref() {
                        format::DELETE_PERSON => Deletion::Person(key),
                        format::DELETE_APPLICATION => Deletion::Application(key),
                        format::DELETE_EVENT => Deletion::Event(key),
                        _ => {
                            problems.push(self.problem(line, &path, "unknown element (Deletions holds PersonCode, ApplicationNumber, EventId)"));
                            continue;
                        }
                    };
                    if !node.children.is_empty() || node.text.trim().is_empty() {
                        problems.push(self.problem(line, &path, "must hold one key and nothing else"));
                        continue;
                    }
                    return Ok(Some(Item::Delete { deletion, line, path }));
                }
            }
        }
    }

    /// The record of `entity` from `node`: its fields, and its child entities' nodes left
    /// for the caller (`children` lists the elements allowed as children).
    fn record(&self, entity: &Entity, node: &mut Node, path: String, children: &[&str], problems: &mut Vec<Problem>) -> Record {
        let mut record = Record { line: node.line, path, values: vec![None; entity.fields.len()], lines: vec![0; entity.fields.len()] };
        if !node.text.trim().is_empty() {
            problems.push(self.problem(node.line, &record.path, "text is not allowed here"));
        }
        for child in &mut node.children {
            match entity.field(&child.name) {
                Some(field) => {
                    let field_path = format!("{}/{}", record.path, child.name);
                    if record.values[field].is_some() {
                        problems.push(self.problem(child.line, &field_path, "given twice"));
                    } else if !child.children.is_empty() {
                        problems.push(self.problem(child.line, &field_path, "must hold text, not elements"));
                    } else {
                        record.values[field] = Some(std::mem::take(&mut child.text));
                        record.lines[field] = child.line;
                    }
                }
                None if children.contains(&child.name.as_ref()) => {}
                None => problems.push(self.problem(child.line, &format!("{}/{}", record.path, child.name), format!("unknown element in {}", entity.element))),
            }
        }
        for (field, spec) in entity.fields.iter().enumerate() {
            if spec.required && record.values[field].is_none() {
                problems.push(self.problem(node.line, &record.path, format!("{} is missing", spec.element)));
            }
        }
        record
    }

    fn person(&self, node: &mut Node, path: String, problems: &mut Vec<Problem>) -> PersonBlock {
        let child_names: Vec<&str> = format::PERSON_CHILDREN.iter().map(|&i| ENTITIES[i].element).collect();
        let record = self.record(&ENTITIES[format::PERSON], node, path, &child_names, problems);
        let mut block = PersonBlock { record, applications: Vec::new(), events: Vec::new(), entries: Vec::new() };
        let application_children: Vec<&str> = format::APPLICATION_CHILDREN.iter().map(|&i| ENTITIES[i].element).collect();
        let mut ordinals = [0usize; format::PERSON_CHILDREN.len()];
        for child in &mut node.children {
            let Some(slot) = format::PERSON_CHILDREN.iter().position(|&i| ENTITIES[i].element == child.name) else { continue };
            ordinals[slot] += 1;
            let index = format::PERSON_CHILDREN[slot];
            let path = format!("{}/{}[{}]", block.record.path, child.name, ordinals[slot]);
            if index == format::APPLICATION {
                let record = self.record(&ENTITIES[index], child, path, &application_children, problems);
                let mut application = ApplicationBlock { record, representative: None, children: Default::default() };
                let mut inner = [0usize; format::APPLICATION_CHILDREN.len()];
                for grandchild in &mut child.children {
                    let Some(slot) = format::APPLICATION_CHILDREN.iter().position(|&i| ENTITIES[i].element == grandchild.name) else { continue };
                    inner[slot] += 1;
                    let entity = &ENTITIES[format::APPLICATION_CHILDREN[slot]];
                    let path = format!("{}/{}[{}]", application.record.path, grandchild.name, inner[slot]);
                    let record = self.record(entity, grandchild, path, &[], problems);
                    if entity.link == Link::Representative {
                        if application.representative.is_some() {
                            problems.push(self.problem(grandchild.line, &record.path, "an application has at most one legal representative"));
                        }
                        application.representative = Some(record);
                    } else {
                        application.children[slot - 1].push(record);
                    }
                }
                block.applications.push(application);
            } else {
                let record = self.record(&ENTITIES[index], child, path, &[], problems);
                if index == format::QUEUE_EVENT {
                    block.events.push(record);
                } else {
                    block.entries.push(record);
                }
            }
        }
        block
    }
}

enum Token {
    Start(Name, u32),
    /// Text, appended to the caller's string.
    Text(u32),
    End,
    Eof,
}
