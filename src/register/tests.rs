//! Import validation and deltas on the embedded store, with small hand-written exports:
//! each broken file is refused with the file, line and element path of its problem, and
//! changes nothing.

use super::*;

/// A valid full export: two persons, one application each, an event and a queue entry.
fn valid() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?>
<RegisterExport xmlns="http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS-Register/v1-0">
 <AsOf>2026-11-01T00:00:00Z</AsOf>
 <Kind>full</Kind>
 <ServiceKinds>
  <ServiceKind><Code>ISAR-P</Code><Name>Pilngadīgām personām</Name></ServiceKind>
 </ServiceKinds>
 <Providers>
  <Provider><Code>VSAC-1</Code><Name>VSAC "Rīga"</Name><Address>Rīga</Address></Provider>
 </Providers>
 <Municipalities>
  <Municipality><Code>RIGA</Code><Name>Rīgas valstspilsēta</Name><Address>Rātslaukums 1</Address></Municipality>
 </Municipalities>
 <Persons>
  <Person>
   <PersonCode>150342-10121</PersonCode>
   <FirstName>Ērika</FirstName>
   <Surname>Kalniņa</Surname>
   <Application>
    <ApplicationNumber>A-1</ApplicationNumber>
    <SubmittedOn>2020-01-10</SubmittedOn>
    <ApplicationKind>Iesniegums</ApplicationKind>
    <ServiceKind>ISAR-P</ServiceKind>
    <Municipality>RIGA</Municipality>
    <DocumentRequest><RequestedOn>2020-01-15</RequestedOn><Description>Izziņa</Description><DueOn>2020-02-15</DueOn></DocumentRequest>
    <QueueDecision><DecidedOn>2020-02-01</DecidedOn><DocumentNumber>LM-1</DocumentNumber><Provider>VSAC-1</Provider><EffectiveFrom>2020-02-01</EffectiveFrom></QueueDecision>
   </Application>
   <QueueEvent>
    <EventId>7</EventId>
    <Kind>1</Kind>
    <EventDate>2020-02-01</EventDate>
    <ApplicationNumber>A-1</ApplicationNumber>
    <ServiceKind>ISAR-P</ServiceKind>
   </QueueEvent>
   <QueueEntry><EntryId>3</EntryId><ApplicationNumber>A-1</ApplicationNumber><Provider>VSAC-1</Provider><ServiceKind>ISAR-P</ServiceKind><QueuedSince>2020-02-01</QueuedSince><Active>true</Active></QueueEntry>
  </Person>
  <Person>
   <PersonCode>320417-28315</PersonCode>
   <FirstName>Jānis</FirstName>
   <Surname>Bērziņš</Surname>
   <Application>
    <ApplicationNumber>A-2</ApplicationNumber>
    <SubmittedOn>2021-03-01</SubmittedOn>
    <ApplicationKind>Iesniegums</ApplicationKind>
    <ServiceKind>ISAR-P</ServiceKind>
    <PreferredProvider>VSAC-1</PreferredProvider>
    <Municipality>RIGA</Municipality>
   </Application>
  </Person>
 </Persons>
</RegisterExport>
"#
    .to_owned()
}

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    target: Target,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    Fixture { target: Target::Sqlite(path.join("spolis.sqlite3")), dir: path, _dir: dir }
}

impl Fixture {
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn import(&self, files: &[PathBuf], delta: bool) -> ImportOutcome {
        import(&self.target, &ImportOptions { files: files.to_vec(), delta, dry_run: false }, &mut |_| {}, &mut |_| Ok(())).expect("import runs")
    }

    fn count(&self, table: &str) -> u64 {
        state(&self.target).expect("state").counts.iter().find(|(t, _)| *t == table).map_or(0, |(_, n)| *n)
    }
}

/// `valid()` with `from` replaced by `to` (which must be there), imported over a register
/// holding `valid()`: refused with exactly one problem, which is returned; nothing changed.
fn refused(from: &str, to: &str) -> Problem {
    let fixture = fixture();
    let good = fixture.file("good.xml", &valid());
    assert!(fixture.import(std::slice::from_ref(&good), false).record.is_some());
    let before = state(&fixture.target).expect("state");
    assert!(valid().contains(from), "{from}");
    let broken = fixture.file("broken.xml", &valid().replacen(from, to, 1));
    // One read: the persons before the problem were loaded, then rolled back unrecorded.
    let mut recorded = 0;
    let options = ImportOptions { files: vec![broken.clone()], delta: false, dry_run: false };
    let outcome = import(&fixture.target, &options, &mut |_| {}, &mut |_| {
        recorded += 1;
        Ok(())
    })
    .expect("import runs");
    assert_eq!(recorded, 0, "no provenance for a refused import");
    assert!(outcome.record.is_none(), "{outcome:?}");
    assert_eq!(outcome.problems.len(), 1, "{:#?}", outcome.problems);
    let after = state(&fixture.target).expect("state");
    assert_eq!(before.counts, after.counts);
    assert_eq!(before.last, after.last, "a refused import is not recorded");
    let problem = outcome.problems[0].clone();
    assert_eq!(problem.file, broken.display().to_string());
    problem
}

fn line_of(text: &str) -> u32 {
    valid().lines().position(|l| l.contains(text)).expect("line") as u32 + 1
}

#[test]
fn a_valid_export_is_imported_and_exported_back_unchanged() {
    let fixture = fixture();
    let good = fixture.file("good.xml", &valid());
    let outcome = fixture.import(&[good], false);
    let record = outcome.record.expect("imported");
    assert_eq!((record.counts.persons, record.counts.applications, record.counts.queue_events, record.counts.queue_entries), (2, 2, 1, 1));
    assert_eq!(record.as_of, "2026-11-01T00:00:00Z");
    let mut out = Vec::new();
    export(&fixture.target, &mut out).expect("export");
    let text = String::from_utf8(out).expect("utf-8");
    let normal = |t: &str| t.split_whitespace().collect::<String>().replace("\"", "&quot;");
    assert_eq!(normal(&text).replace("<?xmlversion=", ""), normal(&valid()).replace("<?xmlversion=", ""));
}

#[test]
fn a_personal_code_that_cannot_exist_is_refused_with_its_place() {
    let problem = refused("<PersonCode>320417-28315</PersonCode>", "<PersonCode>310299-12345</PersonCode>");
    assert_eq!(problem.line, line_of("320417-28315"));
    assert_eq!(problem.path, "RegisterExport/Persons/Person[2]/PersonCode");
    assert!(problem.message.contains("cannot exist"), "{problem}");
}

#[test]
fn an_unknown_provider_or_municipality_is_refused() {
    let problem = refused("<PreferredProvider>VSAC-1</PreferredProvider>", "<PreferredProvider>VSAC-9</PreferredProvider>");
    assert_eq!(problem.path, "RegisterExport/Persons/Person[2]/Application[1]/PreferredProvider");
    assert_eq!(problem.line, line_of("<PreferredProvider>"));
    assert!(problem.message.contains("unknown provider \"VSAC-9\""), "{problem}");
    let problem = refused("<Municipality>RIGA</Municipality>\n    <DocumentRequest>", "<Municipality>TUKUMS</Municipality>\n    <DocumentRequest>");
    assert_eq!(problem.path, "RegisterExport/Persons/Person[1]/Application[1]/Municipality");
    assert!(problem.message.contains("unknown municipality"), "{problem}");
}

#[test]
fn an_event_of_an_unknown_kind_or_application_is_refused() {
    let problem = refused("<Kind>1</Kind>\n    <EventDate>", "<Kind>16</Kind>\n    <EventDate>");
    assert_eq!(problem.path, "RegisterExport/Persons/Person[1]/QueueEvent[1]/Kind");
    assert_eq!(problem.line, line_of("<Kind>1</Kind>"));
    assert!(problem.message.contains("unknown event kind"), "{problem}");
    let problem = refused("<ApplicationNumber>A-1</ApplicationNumber>\n    <ServiceKind>", "<ApplicationNumber>A-2</ApplicationNumber>\n    <ServiceKind>");
    assert_eq!(problem.path, "RegisterExport/Persons/Person[1]/QueueEvent[1]/ApplicationNumber");
    assert!(problem.message.contains("unknown application \"A-2\""), "{problem}");
}

#[test]
fn dates_out_of_order_are_refused() {
    let problem = refused("<DueOn>2020-02-15</DueOn>", "<DueOn>2020-01-14</DueOn>");
    assert_eq!(problem.path, "RegisterExport/Persons/Person[1]/Application[1]/DocumentRequest[1]/DueOn");
    assert!(problem.message.contains("dates out of order"), "{problem}");
    let problem = refused("<DecidedOn>2020-02-01</DecidedOn>", "<DecidedOn>2019-12-31</DecidedOn>");
    assert!(problem.message.contains("before the application's SubmittedOn"), "{problem}");
    let problem = refused("<EventDate>2020-02-01</EventDate>", "<EventDate>2027-01-01</EventDate>");
    assert!(problem.message.contains("after the export's AsOf"), "{problem}");
}

#[test]
fn a_duplicate_key_is_refused_at_every_occurrence() {
    let fixture = fixture();
    let text = valid().replacen("<PersonCode>320417-28315</PersonCode>", "<PersonCode>150342-10121</PersonCode>", 1);
    let broken = fixture.file("dup.xml", &text);
    let outcome = fixture.import(&[broken], false);
    assert!(outcome.record.is_none());
    let paths: Vec<&str> = outcome.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["RegisterExport/Persons/Person[1]", "RegisterExport/Persons/Person[2]"], "{:#?}", outcome.problems);
    assert!(outcome.problems[0].message.contains("duplicate key: personal code 150342-10121"));
    assert_eq!(fixture.count("persons"), 0, "nothing imported");
    let text = valid().replacen("<ApplicationNumber>A-2</ApplicationNumber>", "<ApplicationNumber>A-1</ApplicationNumber>", 1);
    let outcome = fixture.import(&[fixture.file("dup-application.xml", &text)], false);
    let found: Vec<(u32, &str)> = outcome.problems.iter().map(|p| (p.line, p.path.as_str())).collect();
    assert_eq!(
        found,
        [(line_of("<Application>"), "RegisterExport/Persons/Person[1]/Application[1]"), (line_of("<ApplicationNumber>A-2") - 1, "RegisterExport/Persons/Person[2]/Application[1]")]
    );
    assert!(outcome.problems[1].message.contains("duplicate key: application number A-1"));
}

#[test]
fn malformed_xml_and_unknown_elements_are_refused_with_their_place() {
    let problem = refused("<Surname>Bērziņš</Surname>", "<Surname>Bērziņš</Surname><Age>7</Age>");
    assert_eq!(problem.path, "RegisterExport/Persons/Person[2]/Age");
    let problem = refused("</Persons>", "</Person>");
    assert!(problem.message.contains("not well-formed"), "{problem}");
}

#[test]
fn a_dry_run_reports_and_changes_nothing() {
    let fixture = fixture();
    let good = fixture.file("good.xml", &valid());
    let outcome = import(&fixture.target, &ImportOptions { files: vec![good], delta: false, dry_run: true }, &mut |_| {}, &mut |_| Ok(())).expect("runs");
    assert!(outcome.dry_run && outcome.problems.is_empty());
    assert_eq!(outcome.record.expect("would import").counts.persons, 2);
    assert_eq!(fixture.count("persons"), 0);
    assert!(state(&fixture.target).expect("state").last.is_none());
}

#[test]
fn a_delta_replaces_and_deletes_by_key_and_twice_changes_nothing() {
    let fixture = fixture();
    let good = fixture.file("good.xml", &valid());
    fixture.import(&[good], false).record.expect("full");
    let delta = r#"<RegisterExport xmlns="http://ivis.eps.gov.lv/XMLSchemas/100001/LM-SPOLIS-Register/v1-0">
 <AsOf>2026-11-02T00:00:00Z</AsOf>
 <Kind>delta</Kind>
 <Persons>
  <Person>
   <PersonCode>150342-10121</PersonCode><FirstName>Ērika</FirstName><Surname>Kalniņa-Ozola</Surname>
   <Application>
    <ApplicationNumber>A-5</ApplicationNumber><SubmittedOn>2020-01-10</SubmittedOn><ApplicationKind>Iesniegums</ApplicationKind>
    <ServiceKind>ISAR-P</ServiceKind><Municipality>RIGA</Municipality>
   </Application>
   <QueueEvent><EventId>8</EventId><Kind>14</Kind><EventDate>2020-03-01</EventDate><ApplicationNumber>A-5</ApplicationNumber><ServiceKind>ISAR-P</ServiceKind></QueueEvent>
  </Person>
 </Persons>
 <Deletions><PersonCode>320417-28315</PersonCode></Deletions>
</RegisterExport>"#;
    let delta = fixture.file("delta.xml", delta);
    for _ in 0..2 {
        let record = fixture.import(std::slice::from_ref(&delta), true).record.expect("delta imported");
        assert_eq!((record.kind.as_str(), record.counts.persons, record.counts.deletions), ("delta", 1, 1));
        assert_eq!(fixture.count("persons"), 1);
        assert_eq!(fixture.count("applications"), 1, "the person's A-1 is gone with the person's old data, A-5 is new");
        assert_eq!(fixture.count("queue_events"), 1, "event 7 replaced by event 8");
        assert_eq!(fixture.count("queue_entries"), 0);
        assert_eq!(fixture.count("queue_decisions"), 0);
        assert_eq!(fixture.count("document_requests"), 0);
    }
    assert_eq!(state(&fixture.target).expect("state").last.expect("recorded").as_of, "2026-11-02T00:00:00Z");
    // A delta older than the register is refused; so is a full export given as a delta.
    let old = fixture.file("old.xml", &std::fs::read_to_string(&delta).expect("read").replace("2026-11-02T00", "2026-10-01T00"));
    let outcome = fixture.import(&[old], true);
    assert!(outcome.problems.iter().any(|p| p.message.contains("older than the register")), "{:#?}", outcome.problems);
    let full = fixture.file("full-as-delta.xml", &valid());
    let outcome = fixture.import(&[full], true);
    assert!(outcome.problems.iter().any(|p| p.path == "RegisterExport/Kind"), "{:#?}", outcome.problems);
}
