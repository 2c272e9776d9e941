//! The register's data path end to end, with the real binary and a real server: the demo
//! register exported, imported into an empty store (SQLite, or PostgreSQL with
//! `SPOLIS_TEST_BACKEND=postgres`) and every sample answered exactly as
//! `wsdl/samples/expected/` says; a running server sees a delta and a full import at once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use common::*;
use spolis_adapter::tools::demo_register::{self, DemoOptions};

/// The demo's register size: the expected answers were recorded against it.
const DEMO_PERSONS: u64 = 2000;

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spolis-adapter"))
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs")).await.expect("join")
}

fn succeeded(output: &Output) -> String {
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    text
}

/// The demo register (2000 persons, seed 1) as the demo's export: as of the generator's fixed
/// horizon, so that the answers (RegisterAsOf, the estimated waits) are the recorded ones.
async fn demo_export(dir: &Path) -> PathBuf {
    let export = dir.join("export.xml");
    let path = export.clone();
    tokio::task::spawn_blocking(move || demo_register::write_export(&path, &DemoOptions { persons: DEMO_PERSONS, seed: 1 }).expect("the demo export"))
        .await
        .expect("join");
    export
}

/// `register import` with the options given, into the store of `server_data_dir` or `url`.
fn import_command(data_dir: &Path, url: Option<&str>, options: &[&str], files: &[&Path]) -> Command {
    let mut command = with_store(&["register", "import"], data_dir, url);
    command.args(options).args(files);
    command
}

/// A PostgreSQL database of the test's own when the suite runs on PostgreSQL
/// (`SPOLIS_TEST_BACKEND=postgres`), and its URL; on SQLite neither.
fn database_for_backend() -> (Option<Arc<TestDatabase>>, Option<String>) {
    let database = (Backend::from_environment() == Backend::Postgres).then(|| Arc::new(TestDatabase::create()));
    let url = database.as_ref().map(|d| d.url.clone());
    (database, url)
}

/// The `AsOf` an export states.
fn as_of_of(export: &Path) -> String {
    let text = std::fs::read_to_string(export).expect("export");
    text.split("<AsOf>").nth(1).and_then(|t| t.split("</AsOf>").next()).expect("AsOf").to_owned()
}

/// A delta, as of `export`'s day, that deletes one person; written next to the export.
fn deletion_delta(export: &Path, person_code: &str) -> PathBuf {
    let delta = export.with_file_name("delta.xml");
    let text = format!(
        "<RegisterExport xmlns=\"{}\"><AsOf>{}</AsOf><Kind>delta</Kind><Deletions><PersonCode>{person_code}</PersonCode></Deletions></RegisterExport>",
        spolis_adapter::register::format::NAMESPACE,
        as_of_of(export)
    );
    std::fs::write(&delta, text).expect("delta");
    delta
}

async fn replay(port: u16) -> Output {
    let mut command = binary();
    command.arg("replay").args(riga_connection_args(port)).arg(repo_path("wsdl/samples"));
    run(command).await
}

#[tokio::test]
async fn an_exported_register_imported_into_an_empty_store_answers_every_sample_as_expected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = demo_export(dir.path()).await;
    let data_dir = dir.path().join("imported");
    let server = match Backend::from_environment() {
        Backend::Sqlite => {
            succeeded(&run(import_command(&data_dir, None, &[], &[&export])).await);
            TestServer::start_with(Options { data_dir: Some(data_dir.clone()), ..Options::default() }).await
        }
        Backend::Postgres => {
            let database = Arc::new(TestDatabase::create());
            succeeded(&run(import_command(&data_dir, Some(&database.url), &[], &[&export])).await);
            TestServer::start_with(Options { database: Some(database), ..Options::default() }).await
        }
    };
    let output = replay(server.address.port()).await;
    let text = succeeded(&output);
    assert!(text.contains(" passed, 0 failed"), "{text}");

    // And exported again, it is the same document.
    let again = dir.path().join("again.xml");
    let mut command = binary();
    command.args(["register", "export", "--data-dir"]).arg(&data_dir).arg("--output").arg(&again);
    if let Some(database) = &server.database {
        command.arg("--database-url").arg(&database.url);
    }
    succeeded(&run(command).await);
    assert!(std::fs::read(&export).expect("export") == std::fs::read(&again).expect("again"), "export → import → export changed the document");
}

/// EP115 about `person_code` from the sample request: does the answer name the person?
async fn knows(server: &TestServer, person_code: &str) -> bool {
    let sample = std::fs::read_to_string(repo_path("wsdl/samples/ep115-soap11-plain.xml")).expect("sample");
    let request = sample.replacen("<spolis:PersonCode>150342-10121</spolis:PersonCode>", &format!("<spolis:PersonCode>{person_code}</spolis:PersonCode>"), 1);
    let reply = server.client("riga").await.soap("/GetApplicationList", &request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body.contains("<spolis:Applications>") || reply.body.contains("ApplicationNumber>")
}

#[tokio::test]
async fn a_running_server_sees_a_delta_and_a_full_import_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = demo_export(dir.path()).await;
    let data_dir = dir.path().join("served");
    let (database, url) = database_for_backend();
    succeeded(&run(import_command(&data_dir, url.as_deref(), &[], &[&export])).await);
    let server = match &database {
        None => TestServer::start_with(Options { data_dir: Some(data_dir.clone()), ..Options::default() }).await,
        Some(database) => TestServer::start_with(Options { database: Some(database.clone()), ..Options::default() }).await,
    };
    const AIVARS: &str = "020761-12340";
    assert!(knows(&server, AIVARS).await);

    let as_of = as_of_of(&export);
    let delta = deletion_delta(&export, AIVARS);
    let text = succeeded(&run(import_command(&data_dir, url.as_deref(), &["--delta"], &[&delta])).await);
    assert!(text.contains("1 deletions"), "{text}");
    assert!(!knows(&server, AIVARS).await, "the running server answers from the register after the delta");
    assert!(knows(&server, "150342-10121").await, "nobody else is gone");

    succeeded(&run(import_command(&data_dir, url.as_deref(), &[], &[&export])).await);
    assert!(knows(&server, AIVARS).await, "the running server answers from the new register after a full import");

    let output = run(with_store(&["--log-format", "json", "register", "status"], &data_dir, url.as_deref())).await;
    succeeded(&output);
    let state: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON status");
    assert_eq!(state["last_import"]["kind"], "full");
    assert_eq!(state["counts"]["persons"], DEMO_PERSONS);
    assert_eq!(state["as_of"], as_of.as_str());
}

#[tokio::test]
async fn a_file_with_problems_changes_nothing_and_exits_non_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = demo_export(dir.path()).await;
    let data_dir = dir.path().join("store");
    // The import reads once, loading until the first problem: on PostgreSQL that rolls back
    // a COPY under way. (The database lives, and is dropped, with the test.)
    let (_database, url) = database_for_backend();
    succeeded(&run(import_command(&data_dir, url.as_deref(), &[], &[&export])).await);
    let text = std::fs::read_to_string(&export).expect("export");
    let broken = dir.path().join("broken.xml");
    let (head, persons) = text.split_once("<Persons>").expect("persons");
    let persons = persons.replacen("<Kind>1</Kind>", "<Kind>0</Kind>", 1).replacen("<Municipality>", "<Municipality>NOWHERE-", 1);
    std::fs::write(&broken, format!("{head}<Persons>{persons}")).expect("write");
    for options in [&[][..], &["--dry-run"][..]] {
        let output = run(import_command(&data_dir, url.as_deref(), options, &[&broken])).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("]/Kind: unknown event kind \"0\""), "{stderr}");
        assert!(stderr.contains("/Application[1]/Municipality: unknown municipality \"NOWHERE-"), "{stderr}");
        assert!(stderr.contains("2 problem(s); nothing was changed"), "{stderr}");
    }
    let output = run(with_store(&["--log-format", "json", "register", "status"], &data_dir, url.as_deref())).await;
    let state: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON status");
    assert_eq!(state["last_import"]["files"], export.display().to_string(), "the last import is still the good one");
    assert_eq!(state["counts"]["persons"], DEMO_PERSONS, "the register is still the good one");
}

/// `spolis-adapter <args> --data-dir <dir> [--database-url <url>]`.
fn with_store(args: &[&str], data_dir: &Path, url: Option<&str>) -> Command {
    let mut command = binary();
    command.args(args).arg("--data-dir").arg(data_dir);
    if let Some(url) = url {
        command.arg("--database-url").arg(url);
    }
    command
}

/// The audit log's records as `audit export --format json` gives them.
async fn audit_export(data_dir: &Path, url: Option<&str>) -> Vec<serde_json::Value> {
    let output = run(with_store(&["audit", "export", "--format", "json"], data_dir, url)).await;
    succeeded(&output);
    String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).expect("JSON line")).collect()
}

#[tokio::test]
async fn every_import_is_an_administrative_record_of_the_audit_chain_even_beside_a_running_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = demo_export(dir.path()).await;
    // One directory for the register, the audit log and its key, as `serve` keeps them.
    let data_dir = dir.path().join("served");
    let (database, url) = database_for_backend();
    succeeded(&run(import_command(&data_dir, url.as_deref(), &[], &[&export])).await);
    // A dry run and a file with problems change nothing, so they record nothing either.
    succeeded(&run(import_command(&data_dir, url.as_deref(), &["--dry-run"], &[&export])).await);

    let server = TestServer::start_with(Options {
        data_dir: Some(data_dir.clone()),
        audit_dir: Some(data_dir.clone()),
        database: database.clone(),
        ..Options::default()
    })
    .await;
    assert!(knows(&server, "150342-10121").await);
    let as_of = as_of_of(&export);
    let delta = deletion_delta(&export, "020761-12340");
    // The import appends to the log the server is writing; the server's next call chains on it.
    succeeded(&run(import_command(&data_dir, url.as_deref(), &["--delta"], &[&delta])).await);
    assert!(knows(&server, "150342-10121").await, "a call after the import is audited and answered");
    let (config, _audit_dir) = server.stop().await;
    assert_eq!(config.audit_path(), data_dir.join("audit.sqlite3"));

    let records = audit_export(&data_dir, url.as_deref()).await;
    let services: Vec<&str> = records.iter().map(|r| r["service"].as_str().expect("service")).collect();
    assert_eq!(services, ["register-import", "EP115", "register-import", "EP115"], "{records:#?}");
    let details: Vec<serde_json::Value> = records
        .iter()
        .filter(|r| r["service"] == "register-import")
        .map(|r| serde_json::from_str(r["administrative"].as_str().expect("details")).expect("JSON details"))
        .collect();
    let (full, delta_record) = (&details[0], &details[1]);
    assert_eq!((full["kind"].as_str(), delta_record["kind"].as_str()), (Some("full"), Some("delta")));
    assert_eq!(full["counts"]["persons"], DEMO_PERSONS);
    assert_eq!(delta_record["counts"]["deletions"], 1);
    assert_eq!(delta_record["as_of"], as_of.as_str());
    use sha2::Digest;
    assert_eq!(delta_record["file_digest"], hex::encode(sha2::Sha256::digest(std::fs::read(&delta).expect("delta"))));
    assert_eq!(delta_record["files"], delta.display().to_string());
    // The record's id is the batch id `register status` names.
    let status = run(with_store(&["--log-format", "json", "register", "status"], &data_dir, url.as_deref())).await;
    let state: serde_json::Value = serde_json::from_slice(&succeeded_stdout(&status)).expect("JSON status");
    assert_eq!(state["last_import"]["batch_id"], delta_record["batch_id"]);
    assert_eq!(records[2]["record_id"], delta_record["batch_id"]);
    assert!(records.iter().filter(|r| r["service"] != "register-import").all(|r| r.get("administrative").is_none()));

    // The whole chain — the calls and the imports, each written by its own process — verifies.
    let text = succeeded(&run(with_store(&["audit", "verify"], &data_dir, url.as_deref())).await);
    assert!(text.contains("4 records"), "{text}");
}

fn succeeded_stdout(output: &Output) -> Vec<u8> {
    succeeded(output);
    output.stdout.clone()
}
