//! The PostgreSQL backend: the same requests give byte-identical answers on SQLite and on
//! PostgreSQL (apart from call ids and time stamps); three adapter instances on one database
//! under concurrent load audit every call exactly once in one chain that `audit verify`
//! accepts (and tampering is still found); and when PostgreSQL goes away — refused, or a
//! black hole that never answers — calls fault within the configured timeout and the service
//! recovers without a restart when it comes back.
//!
//! Each test makes its own database (`spolis_test_<random>`) on the PostgreSQL of
//! `SPOLIS_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`) and drops it.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use spolis_adapter::config::DatabaseConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const CLI: &str = env!("CARGO_BIN_EXE_spolis-adapter");
const EP115: &str = "/GetApplicationList";
const EP116: &str = "/GetQueueStatusList";

/// Runs the command line; returns (success, stdout, stderr).
fn cli(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(CLI).args(args).output().expect("spolis-adapter runs");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Every UUID and every ISO date-time in `body` replaced by a mark, and the values of a
/// WS-Security signature (digests over those ids and times): what legitimately differs
/// between two answers to the same request.
fn masked(body: &str) -> String {
    let mut out = masked_ids_and_times(body);
    for element in ["DigestValue>", "SignatureValue>"] {
        let mut from = 0;
        while let Some(at) = out[from..].find(element) {
            let start = from + at + element.len();
            let Some(length) = out[start..].find("</") else { break };
            let closing = out[..from + at].rfind('<').is_some_and(|tag| out[tag + 1..].starts_with('/'));
            if closing || length == 0 {
                from = start;
                continue;
            }
            out.replace_range(start..start + length, "<signed>");
            from = start + "<signed>".len();
        }
    }
    out
}

fn masked_ids_and_times(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    let is_uuid = |s: &[u8]| {
        s.len() >= 36
            && s[..36].iter().enumerate().all(|(k, c)| if [8, 13, 18, 23].contains(&k) { *c == b'-' } else { c.is_ascii_hexdigit() })
    };
    // YYYY-MM-DDTHH:MM:SS, then optional fraction and zone.
    let date_time = |s: &[u8]| -> Option<usize> {
        let shape = b"0000-00-00T00:00:00";
        if s.len() < shape.len() || !shape.iter().zip(s).all(|(p, c)| if *p == b'0' { c.is_ascii_digit() } else { p == c }) {
            return None;
        }
        let mut end = shape.len();
        if s.get(end) == Some(&b'.') {
            end += 1;
            while s.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        match s.get(end) {
            Some(b'Z') => end += 1,
            Some(b'+') | Some(b'-') if s.len() >= end + 6 => end += 6,
            _ => {}
        }
        Some(end)
    };
    while i < bytes.len() {
        if is_uuid(&bytes[i..]) {
            out.push_str("<uuid>");
            i += 36;
        } else if let Some(length) = date_time(&bytes[i..]) {
            out.push_str("<time>");
            i += length;
        } else {
            let c = body[i..].chars().next().expect("a char at a char boundary");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The requests compared: every sample, and the showcase persons with periods and narrowing.
fn requests() -> Vec<(&'static str, String)> {
    let mut requests = Vec::new();
    for entry in std::fs::read_dir(repo_path("wsdl/samples")).expect("samples") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if name.ends_with(".xml") && (name.starts_with("ep115") || name.starts_with("ep116")) {
            let operation = if name.starts_with("ep115") { EP115 } else { EP116 };
            requests.push((operation, std::fs::read_to_string(&path).expect("sample")));
        }
    }
    assert!(requests.len() >= 8, "the samples are there");
    for code in ["150342-10121", "320417-28315", "020761-12340", "231188-13456", "051230-10106"] {
        for version in ["1.1", "1.2"] {
            let person = format!("<PersonCode>{code}</PersonCode>");
            requests.push((EP115, envelope(version, &operation("GetApplicationList", &person))));
            requests.push((EP116, envelope(version, &operation("GetQueueStatusList", &person))));
        }
        let period = format!("<PersonCode>{code}</PersonCode><Period><From>2024-01-01</From><Till>2025-12-31</Till></Period>");
        requests.push((EP115, envelope("1.1", &operation("GetApplicationList", &period))));
        requests.push((EP116, envelope("1.1", &operation("GetQueueStatusList", &period))));
    }
    requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_answer_the_same_requests_byte_for_byte() {
    let sqlite = TestServer::start_with(Options { backend: Some(Backend::Sqlite), ..Default::default() }).await;
    let postgres = TestServer::start_with(Options { backend: Some(Backend::Postgres), ..Default::default() }).await;
    let mut on_sqlite = sqlite.client("riga").await;
    let mut on_postgres = postgres.client("riga").await;
    let mut compared = 0;
    for (path, body) in requests() {
        let a = on_sqlite.soap(path, &body).await;
        let b = on_postgres.soap(path, &body).await;
        assert_eq!((a.status, &a.content_type), (b.status, &b.content_type), "{path}: {body}");
        assert_eq!(masked(&a.body), masked(&b.body), "{path}: {body}");
        if a.status == 200 && !a.body.contains("<ErrorList") {
            compared += 1;
        }
    }
    assert!(compared >= 20, "most requests were answered with data: {compared}");
    // And the answers carry the register's data, not just empty lists.
    let erika = on_postgres.soap(EP116, &envelope("1.1", &operation("GetQueueStatusList", "<PersonCode>150342-10121</PersonCode>"))).await;
    assert!(erika.body.contains("Kalniņa") && erika.body.contains("PlacesAhead"), "{}", erika.body);
}

/// `body` with a new UUID in every `MessageID`: a client sends each message once (the
/// service refuses a repeated IVIS MessageID as a replay).
fn fresh_message_ids(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("MessageID>") {
        let start = at + "MessageID>".len();
        let opening = rest[..at].rfind('<').is_some_and(|tag| !rest[tag + 1..].starts_with('/'));
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if opening {
            if let Some(end) = rest.find('<') {
                out.push_str(&uuid::Uuid::new_v4().to_string());
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Sends `calls` EP115/EP116 requests from `clients` concurrent connections; returns the
/// call ids of the answers (all must be answered with data).
async fn load(server: &TestServer, clients: usize, calls: usize) -> Vec<String> {
    let mut tasks = JoinSet::new();
    for c in 0..clients {
        let mut client = server.client("riga").await;
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for i in 0..calls {
                let (path, name) = if (c + i) % 2 == 0 { (EP115, "ep115-soap11-plain.xml") } else { (EP116, "ep116-soap12-ivis.xml") };
                let reply = client.soap(path, &fresh_message_ids(&sample(name))).await;
                assert_eq!(reply.status, 200, "{}", reply.body);
                assert!(error_code(&reply.body).is_none(), "{}", reply.body);
                ids.push(reply.call_id);
            }
            ids
        });
    }
    let mut ids = Vec::new();
    while let Some(done) = tasks.join_next().await {
        ids.extend(done.expect("a load task"));
    }
    ids
}

fn export(url: &str, dir: &std::path::Path) -> Vec<Value> {
    let (ok, out, err) = cli(&["audit", "export", "--data-dir", dir.to_str().unwrap(), "--database-url", url, "--format", "json"]);
    assert!(ok, "{err}");
    out.lines().map(|line| serde_json::from_str(line).expect("a JSON object per line")).collect()
}

/// A signed-off message replayed to *another* instance on the same database is refused like
/// one replayed to the same instance: the MessageIDs are remembered in PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_replayed_to_another_instance_on_the_same_database_is_refused() {
    let database = Arc::new(TestDatabase::create());
    let first = TestServer::start_with(Options { database: Some(database.clone()), ..Default::default() }).await;
    let second = TestServer::start_with(Options { database: Some(database.clone()), ..Default::default() }).await;
    let message = fresh_message_ids(&sample("ep116-soap12-ivis.xml"));

    let original = first.client("riga").await.soap(EP116, &message).await;
    assert_eq!((original.status, error_code(&original.body)), (200, None), "{}", original.body);
    for server in [&second, &first] {
        let replayed = server.client("riga").await.soap(EP116, &message).await;
        assert_eq!(error_code(&replayed.body).as_deref(), Some("MessageReplayed"), "{}", replayed.body);
    }
    // The same UUID written another way is the same key in the database too.
    let id = texts(&message, "ivis:MessageID")[0].clone();
    let rewritten = message.replace(&id, &format!("urn:uuid:{}", id.to_uppercase()));
    let replayed = second.client("riga").await.soap(EP116, &rewritten).await;
    assert_eq!(error_code(&replayed.body).as_deref(), Some("MessageReplayed"), "{}", replayed.body);
    // The same id from another consumer is that consumer's own; a fresh id passes everywhere.
    let talsis_own = message.replace("AU:90011524360", "AU:90009113532");
    let talsi = second.client("talsi").await.soap(EP116, &talsis_own).await;
    assert_eq!(error_code(&talsi.body), None, "{}", talsi.body);
    let fresh = second.client("riga").await.soap(EP116, &fresh_message_ids(&message)).await;
    assert_eq!((fresh.status, error_code(&fresh.body)), (200, None), "{}", fresh.body);

    // Expired ids are forgotten: the row is taken over, not refused.
    let expired = database.execute("UPDATE seen_message_ids SET expires_at = now() - interval '1 second'");
    assert!(expired >= 2, "riga's two ids are remembered in the database: {expired}");
    let after_window = second.client("riga").await.soap(EP116, &message).await;
    assert_eq!((after_window.status, error_code(&after_window.body)), (200, None), "{}", after_window.body);
}

/// Daily quotas hold across instances on one database: counted in PostgreSQL, charged all or
/// none, and kept under a hash of the operator's code, never the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_quotas_are_counted_across_instances_on_the_same_database() {
    let database = Arc::new(TestDatabase::create());
    let configure: fn(&mut spolis_adapter::config::Config) = |config| {
        config.quotas = spolis_adapter::quotas::QuotaConfig { consumer_per_minute: 0, consumer_per_day: 3, operator_per_minute: 0, operator_per_day: 2 }
    };
    // Both instances read one clock that stands still, so the UTC day cannot turn mid-test.
    let noon = Some(spolis_adapter::service::Clock::Fixed(chrono::Utc::now().date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc()));
    let first = TestServer::start_with(Options { database: Some(database.clone()), configure: Some(configure), clock: noon, ..Default::default() }).await;
    let second = TestServer::start_with(Options { database: Some(database.clone()), configure: Some(configure), clock: noon, ..Default::default() }).await;
    let ask = |operator: &str| {
        envelope(
            "1.1",
            &format!(
                r#"<GetQueueStatusList xmlns="{SPOLIS}"><PersonCode>150342-10121</PersonCode><Purpose><LegalBasis>Sociālo pakalpojumu un sociālās palīdzības likums, 9. pants</LegalBasis></Purpose><Operator><FirstName>A</FirstName><Surname>B</Surname><PersonCode>{operator}</PersonCode></Operator></GetQueueStatusList>"#
            ),
        )
    };
    let outcome = |reply: &Reply| (reply.status, error_code(&reply.body));
    let (mut riga_first, mut riga_second) = (first.client("riga").await, second.client("riga").await);

    assert_eq!(outcome(&riga_first.soap(EP116, &ask("120379-10015")).await), (200, None));
    assert_eq!(outcome(&riga_second.soap(EP116, &ask("120379-10015")).await), (200, None));
    // The operator's 2 a day are used up on the two instances together.
    let operator_spent = riga_first.soap(EP116, &ask("120379-10015")).await;
    assert_eq!(outcome(&operator_spent), (429, Some("QuotaExceeded".into())), "{}", operator_spent.body);
    assert!(!operator_spent.body.contains("Kalniņa"));
    // That refusal charged nothing: riga's third call of the day still fits, its fourth not.
    assert_eq!(outcome(&riga_second.soap(EP116, &ask("320417-28315")).await), (200, None));
    let consumer_spent = riga_first.soap(EP116, &ask("051230-10106")).await;
    assert_eq!(outcome(&consumer_spent), (429, Some("QuotaExceeded".into())), "{}", consumer_spent.body);
    // Talsi is counted apart.
    assert_eq!(outcome(&second.client("talsi").await.soap(EP116, &ask("120379-10015")).await), (200, None));

    // A refused call's charges were taken back: riga has exactly its 3 calls.
    assert_eq!(database.execute("SELECT 1 FROM daily_quota_usage WHERE calls > 0"), 5, "riga, its two operators, talsi and its operator");
    assert_eq!(database.execute("SELECT 1 FROM daily_quota_usage WHERE subject = 'consumer:90011524360' AND calls = 3"), 1);
    assert_eq!(database.execute("SELECT 1 FROM daily_quota_usage WHERE subject LIKE '%120379%' OR subject LIKE '%12037910015%'"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_one_database_audit_every_call_exactly_once_in_one_chain() {
    let database = Arc::new(TestDatabase::create());
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(TestServer::start_with(Options { database: Some(database.clone()), ..Default::default() }).await);
    }
    let started = Instant::now();
    let (a, b, c) = tokio::join!(load(&servers[0], 4, 25), load(&servers[1], 4, 25), load(&servers[2], 4, 25));
    let elapsed = started.elapsed();
    let calls: Vec<String> = a.into_iter().chain(b).chain(c).collect();
    assert_eq!(calls.len(), 300);
    eprintln!("300 calls through 3 instances on one PostgreSQL in {elapsed:.2?} ({:.0} calls/s)", 300.0 / elapsed.as_secs_f64());

    let mut keys = Vec::new();
    let mut dirs = Vec::new();
    for server in servers {
        let (_, dir) = server.stop().await;
        keys.push(dir.path().join("audit-signing.key.pub"));
        dirs.push(dir);
    }
    let records = export(&database.url, dirs[0].path());
    assert_eq!(records.len(), calls.len(), "every call is recorded, none twice");
    let recorded: HashSet<&str> = records.iter().map(|r| r["record_id"].as_str().unwrap()).collect();
    let answered: HashSet<&str> = calls.iter().map(String::as_str).collect();
    assert_eq!(recorded, answered);
    let mut seqs: Vec<i64> = records.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=calls.len() as i64).collect::<Vec<_>>(), "one gapless chain");

    // The chain verifies against the three instances' keys, and against no fewer.
    let mut verify = vec!["audit", "verify", "--data-dir", dirs[0].path().to_str().unwrap(), "--database-url", &database.url];
    let key_args: Vec<String> = keys.iter().map(|k| k.to_str().unwrap().to_string()).collect();
    for key in &key_args {
        verify.extend(["--public-key", key.as_str()]);
    }
    let (ok, out, err) = cli(&verify);
    assert!(ok, "{out}{err}");
    assert!(out.contains("300 records (seq 1..300)"), "{out}");
    assert!(out.contains("0 records after it not yet signed"), "the stopped writers signed the head: {out}");

    // Tampering on PostgreSQL is found like on SQLite.
    let url = database.url.clone();
    spolis_adapter::database::runtime::block_on(|| async move {
        let client = spolis_adapter::database::postgres::connect(&url, &Default::default()).await?;
        client
            .batch_execute("UPDATE audit_records SET operator_surname = 'Liepina' WHERE seq = 42")
            .await
            .map_err(|e| spolis_adapter::store::StoreError::Unavailable(e.to_string()))
    })
    .unwrap();
    let (ok, _, err) = cli(&verify);
    assert!(!ok && err.contains("at seq 42:") && err.contains("altered"), "{err}");
}

/// A TCP forwarder to PostgreSQL that the test can take down (connections refused, open
/// ones cut), turn into a black hole (accepts, never answers), and bring back.
struct Proxy {
    address: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Clone, Copy)]
enum Mode {
    Forward,
    BlackHole,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        Proxy { address, task: Some(tokio::spawn(serve(listener, Mode::Forward))) }
    }

    /// Stops listening and cuts every open connection.
    fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    async fn up(&mut self, mode: Mode) {
        self.down();
        // The aborted task's listener may take a moment to close.
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(self.address).await {
                Ok(listener) => break listener,
                Err(error) if Instant::now() > deadline => panic!("rebinding {}: {error}", self.address),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        self.task = Some(tokio::spawn(serve(listener, mode)));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.down();
    }
}

/// Accepts until aborted; dropping this future drops the listener and every connection.
async fn serve(listener: TcpListener, mode: Mode) {
    let target: SocketAddr = "127.0.0.1:5432".parse().expect("address");
    let mut connections = JoinSet::new();
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else { continue };
        connections.spawn(async move {
            match mode {
                Mode::Forward => {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }
                Mode::BlackHole => {
                    std::future::pending::<()>().await;
                    drop(inbound);
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

/// The URL of `database` through `proxy`.
fn through(proxy: &Proxy, database: &TestDatabase) -> String {
    format!("postgres://postgres@{}/{}", proxy.address, database.name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_postgresql_goes_away_calls_fault_in_bounded_time_and_recover_without_a_restart() {
    let database = Arc::new(TestDatabase::create());
    let mut proxy = Proxy::start().await;
    let server = TestServer::start_with(Options {
        database: Some(database.clone()),
        database_url: Some(through(&proxy, &database)),
        database_config: Some(DatabaseConfig { max_connections: 4, connect_timeout_seconds: 1, timeout_seconds: 2, ..DatabaseConfig::default() }),
        ..Default::default()
    })
    .await;
    let ep116 = sample("ep116-soap11-plain.xml");
    let mut client = server.client("riga").await;
    let mut answered = Vec::new();
    for _ in 0..5 {
        let reply = client.soap(EP116, &ep116).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        answered.push(reply.call_id);
    }

    for mode in [None, Some(Mode::BlackHole)] {
        match mode {
            None => proxy.down(),
            Some(mode) => proxy.up(mode).await,
        }
        // Down: refused at once. Black hole: the connect and query timeouts bound the wait.
        for _ in 0..3 {
            let started = Instant::now();
            let reply = tokio::time::timeout(Duration::from_secs(15), client.soap(EP116, &ep116)).await.expect("no hang");
            let took = started.elapsed();
            let code = error_code(&reply.body);
            assert!(
                matches!(code.as_deref(), Some("StoreUnavailable") | Some("AuditUnavailable")),
                "{code:?}: {}",
                reply.body
            );
            assert!(!reply.body.contains("Kalniņa") && !reply.body.contains("QueueEvent"), "no data while down");
            assert!(took < Duration::from_secs(8), "the fault took {took:?}");
        }
    }

    proxy.up(Mode::Forward).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let recovered = loop {
        let reply = client.soap(EP116, &ep116).await;
        if reply.status == 200 && error_code(&reply.body).is_none() {
            break reply;
        }
        assert!(Instant::now() < deadline, "no recovery: {}", reply.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    answered.push(recovered.call_id);
    for _ in 0..5 {
        let reply = client.soap(EP115, &sample("ep115-soap12-plain.xml")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        answered.push(reply.call_id);
    }

    let (_, dir) = server.stop().await;
    // Every answered call is in the log; the chain verifies (on the direct URL).
    let records = export(&database.url, dir.path());
    let recorded: HashSet<&str> = records.iter().map(|r| r["record_id"].as_str().unwrap()).collect();
    for id in &answered {
        assert!(recorded.contains(id.as_str()), "answered call {id} is not in the audit log");
    }
    let (ok, out, err) = cli(&["audit", "verify", "--data-dir", dir.path().to_str().unwrap(), "--database-url", &database.url]);
    assert!(ok, "{out}{err}");
}

/// Asks `/ready` until it answers `status` (20 s at most); returns the body.
async fn ready_until(ops: SocketAddr, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (got, body) = ops_get(ops, "/ready").await;
        if got == status {
            return body;
        }
        assert!(Instant::now() < deadline, "/ready stayed {got}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_table_locked_away_fails_calls_closed_while_the_register_still_reads() {
    let database = Arc::new(TestDatabase::create());
    let server = TestServer::start_with(Options {
        database: Some(database.clone()),
        database_config: Some(DatabaseConfig { timeout_seconds: 1, ..DatabaseConfig::default() }),
        ..Default::default()
    })
    .await;
    let ep116 = sample("ep116-soap11-plain.xml");
    let mut client = server.client("riga").await;
    assert_eq!(client.soap(EP116, &ep116).await.status, 200);

    // A session holds the audit table in ACCESS EXCLUSIVE mode (a migration, a VACUUM FULL).
    let locker = spolis_adapter::database::postgres::connect(&database.url, &database.options).await.expect("connect");
    locker.batch_execute("BEGIN; LOCK TABLE audit_records IN ACCESS EXCLUSIVE MODE").await.expect("lock");
    let started = Instant::now();
    let reply = client.soap(EP116, &ep116).await;
    // The register answered (no StoreUnavailable); the record could not be committed, so no data.
    assert_eq!(error_code(&reply.body).as_deref(), Some("AuditUnavailable"), "{}", reply.body);
    assert!(!reply.body.contains("QueueEvent") && !reply.body.contains("Kalniņa"), "{}", reply.body);
    assert!(started.elapsed() < Duration::from_secs(8), "the lock held the call {:?}", started.elapsed());
    let (status, body) = ops_get(server.ops_address, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("audit log: records cannot be committed") && !body.contains("register"), "{body}");

    locker.batch_execute("COMMIT").await.expect("unlock");
    ready_until(server.ops_address, 200).await;
    assert_eq!(client.soap(EP116, &ep116).await.status, 200);
    let (_, dir) = server.stop().await;
    let (ok, out, err) = cli(&["audit", "verify", "--data-dir", dir.path().to_str().unwrap(), "--database-url", &database.url]);
    assert!(ok && out.contains("2 records (seq 1..2)"), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_cut_back_to_a_checkpoint_is_found_by_audit_head_and_the_witness() {
    let database = Arc::new(TestDatabase::create());
    let dir = tempfile::tempdir().unwrap();
    let ep116 = sample("ep116-soap11-plain.xml");
    let mut heads = Vec::new();
    // Two runs on one database and audit directory: two signed, witnessed heads.
    for _ in 0..2 {
        let server = TestServer::start_with(Options { database: Some(database.clone()), audit_dir: Some(dir.path().to_path_buf()), ..Default::default() }).await;
        let mut client = server.client("riga").await;
        for _ in 0..3 {
            assert_eq!(client.soap(EP116, &ep116).await.status, 200);
        }
        server.stop().await;
        heads.push(export(&database.url, dir.path()).len() as i64);
    }
    let (first, last) = (heads[0], heads[1]);
    let data_dir = dir.path().to_str().unwrap();
    let witness = dir.path().join("audit-witness.log");
    let verify = |with_witness: bool| {
        let mut args = vec!["audit", "verify", "--data-dir", data_dir, "--database-url", &database.url];
        if with_witness {
            args.extend(["--witness", witness.to_str().unwrap()]);
        }
        cli(&args)
    };
    let (ok, out, err) = verify(true);
    assert!(ok, "{out}{err}");

    // The newest checkpoint and the records after the one before it deleted: audit_head
    // still names the true head.
    database.execute(&format!("DELETE FROM audit_records WHERE seq > {first}"));
    database.execute(&format!("DELETE FROM audit_checkpoints WHERE seq > {first}"));
    let (ok, _, err) = verify(false);
    assert!(!ok, "a cut tail passed");
    assert!(err.contains(&format!("at seq {}:", first + 1)) && err.contains(&format!("audit_head (the chain head PostgreSQL keeps) names a signed head at seq {last}")), "{err}");

    // audit_head moved back too: only the witness still tells.
    database.execute(&format!("UPDATE audit_head SET seq = {first}, hash = (SELECT hash FROM audit_records WHERE seq = {first})"));
    let (ok, _, _) = verify(false);
    assert!(ok, "with audit_head rewritten, the database alone is consistent");
    let (ok, _, err) = verify(true);
    assert!(!ok, "a cut tail passed against the witness");
    assert!(err.contains(&format!("at seq {}:", first + 1)) && err.contains(&format!("line 2 names a signed head at seq {last}")), "{err}");
}

#[test]
fn message_ids_are_renewed_and_nothing_else() {
    let body = "<i:MessageID>6f1c2a7e-3b8d-4e21-9a5f-0c4d2e8b7a24</i:MessageID><i:Next>x</i:Next>";
    let renewed = fresh_message_ids(body);
    assert_ne!(renewed, body);
    assert_eq!(masked(&renewed), masked(body));
}

#[test]
fn masking_hides_ids_and_times_only() {
    let a = "<MessageID>8c7cdac5-1b8f-446a-9dc7-a2c42bc99005</MessageID><Date>2026-11-23T12:07:05.182001Z</Date><D>2024-09-16</D>";
    assert_eq!(masked(a), "<MessageID><uuid></MessageID><Date><time></Date><D>2024-09-16</D>");
    let signed = "<ds:DigestValue>+QCBi=</ds:DigestValue><ds:SignatureValue>EQU6==</ds:SignatureValue><Code>X</Code>";
    assert_eq!(masked(signed), "<ds:DigestValue><signed></ds:DigestValue><ds:SignatureValue><signed></ds:SignatureValue><Code>X</Code>");
}

/// A measurement, not a check: the same load on one instance of each backend, then three
/// instances on one PostgreSQL. `cargo test --release --test postgres -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput_on_both_backends() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = TestServer::start_with(Options { backend: Some(backend), ..Default::default() }).await;
        load(&server, 8, 10).await;
        let started = Instant::now();
        let calls = load(&server, 8, 100).await.len();
        let elapsed = started.elapsed();
        eprintln!("{backend:?}, one instance: {calls} calls in {elapsed:.2?} = {:.0} calls/s", calls as f64 / elapsed.as_secs_f64());
        server.stop().await;
    }
    let database = Arc::new(TestDatabase::create());
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(TestServer::start_with(Options { database: Some(database.clone()), ..Default::default() }).await);
    }
    let started = Instant::now();
    let (a, b, c) = tokio::join!(load(&servers[0], 4, 100), load(&servers[1], 4, 100), load(&servers[2], 4, 100));
    let elapsed = started.elapsed();
    let calls = a.len() + b.len() + c.len();
    eprintln!("Postgres, three instances: {calls} calls in {elapsed:.2?} = {:.0} calls/s", calls as f64 / elapsed.as_secs_f64());
    let mut dirs = Vec::new();
    for server in servers {
        dirs.push(server.stop().await.1);
    }
    let mut verify = vec!["audit", "verify", "--data-dir", dirs[0].path().to_str().unwrap(), "--database-url", &database.url];
    let keys: Vec<String> = dirs.iter().map(|d| d.path().join("audit-signing.key.pub").to_str().unwrap().to_string()).collect();
    for key in &keys {
        verify.extend(["--public-key", key.as_str()]);
    }
    let (ok, out, err) = cli(&verify);
    assert!(ok, "{out}{err}");
    eprintln!("{out}");
}

#[test]
fn instances_starting_together_migrate_once_and_a_newer_schema_is_refused() {
    use spolis_adapter::database::{postgres, runtime::block_on, DatabaseError};
    use spolis_adapter::store::{import, Store};
    let database = TestDatabase::create();
    let options = postgres::PostgresOptions::default();
    std::thread::scope(|scope| {
        let starts: Vec<_> = (0..3).map(|_| scope.spawn(|| import::holds_persons(&database.url, &options))).collect();
        for start in starts {
            assert!(!start.join().expect("a start").expect("migrated"), "a new register is empty");
        }
    });
    let url = database.url.clone();
    let versions = block_on(|| async move {
        let client = postgres::connect(&url, &Default::default()).await?;
        let rows = client.query("SELECT version FROM schema_migrations ORDER BY version", &[]).await.map_err(postgres::error("read"))?;
        client.batch_execute("INSERT INTO schema_migrations (version) VALUES (999)").await.map_err(postgres::error("write"))?;
        Ok::<_, DatabaseError>(rows.iter().map(|row| row.get::<_, i64>(0)).collect::<Vec<_>>())
    })
    .unwrap();
    // The versions are the files' numbers (ascending; a number may be left to another branch).
    let mut migrations: Vec<i64> = std::fs::read_dir(repo_path("migrations/postgres"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy()[..4].parse().unwrap())
        .collect();
    migrations.sort_unstable();
    assert_eq!(versions, migrations, "each migration applied exactly once");
    let refused = Store::open_postgres(&database.url, None, &options).err().expect("refused");
    assert!(refused.to_string().contains("schema version 999"), "{refused}");
}

/// A record as the build before version 2 of the audit record wrote it: no purpose.
fn version_1_record(seq: i64) -> spolis_adapter::audit::AuditRecord {
    spolis_adapter::audit::AuditRecord {
        received_at: chrono::Utc::now() - chrono::Duration::days(1) + chrono::Duration::microseconds(seq),
        message_id: None,
        service: "EP116".into(),
        records_returned: 4,
        processing_micros: 300,
        purpose_legal_basis: None,
        purpose_case_number: None,
        bulk_prepared_by: None,
        version: spolis_adapter::audit::record::RecordVersion::V1,
        ..spolis_adapter::audit::AuditRecord::example(seq)
    }
}

/// A log written before the purpose was recorded — the schema of migrations 1 to 5, records of
/// version 1 signed by that build — is migrated by this build's start (0006) and keeps
/// verifying, with version-2 records chained after it; the export shows and filters by the
/// purpose; a purpose slipped into a version-1 row, or a row relabelled as version 2, is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_1_records_written_before_migration_6_still_verify_after_it() {
    use spolis_adapter::audit::{record::FIELD_COLUMNS, AuditSigner, SignedCheckpoint};
    let database = Arc::new(TestDatabase::create());
    let dir = tempfile::tempdir().unwrap();
    let signer = AuditSigner::load_or_create(&dir.path().join("audit-signing.key")).unwrap();
    let client = spolis_adapter::database::postgres::connect(&database.url, &database.options).await.unwrap();
    client
        .batch_execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        .await
        .unwrap();
    for (version, file) in
        ["0001_register.sql", "0002_audit.sql", "0003_seen_message_ids.sql", "0004_daily_quota_usage.sql", "0005_audit_prune_markers.sql"]
            .into_iter()
            .enumerate()
    {
        let sql = std::fs::read_to_string(repo_path("migrations/postgres").join(file)).unwrap();
        client.batch_execute(&sql).await.unwrap();
        client.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(version as i64 + 1)]).await.unwrap();
    }
    let mut hash = [0u8; 32];
    let insert = format!(
        "INSERT INTO audit_records ({FIELD_COLUMNS}, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
    );
    for seq in 1..=3 {
        let r = version_1_record(seq);
        let next = r.chain_hash(&hash);
        client
            .execute(
                &insert,
                &[&r.seq, &r.record_id.to_string(), &r.received_at.timestamp_micros(), &r.message_id, &r.transaction_id, &r.correlation_id,
                    &r.consumer_id, &r.consumer_name, &r.certificate_sha256, &r.certificate_subject, &r.client_ip, &r.environment,
                    &r.operator_first_name, &r.operator_surname, &r.operator_person_code, &r.ivis_sender, &r.service, &r.request_style,
                    &r.soap_version, &r.person_code, &r.outcome, &r.records_returned, &r.processing_micros, &hash.as_slice(), &next.as_slice()],
            )
            .await
            .unwrap();
        hash = next;
    }
    let c = SignedCheckpoint::sign(&signer, 3, &hash);
    client
        .execute(
            "INSERT INTO audit_checkpoints (seq, head_hash, signed_at_micros, key_id, public_key, signature, kind) VALUES ($1, $2, $3, $4, $5, $6, 'head')",
            &[&c.seq, &c.head_hash.as_slice(), &c.signed_at_micros, &c.key_id, &c.public_key, &c.signature],
        )
        .await
        .unwrap();
    client.execute("UPDATE audit_head SET seq = 3, hash = $1", &[&hash.as_slice()]).await.unwrap();

    let server = TestServer::start_with(Options { database: Some(database.clone()), audit_dir: Some(dir.path().to_path_buf()), ..Default::default() }).await;
    let mut riga = server.client("riga").await;
    assert_eq!(riga.soap(EP116, &sample("ep116-soap11-plain.xml")).await.status, 200);
    assert_eq!(riga.soap(EP116, &sample("ep116-soap11-ivis.xml")).await.status, 200);
    server.stop().await;

    let data_dir = dir.path().to_str().unwrap();
    let verify = ["audit", "verify", "--data-dir", data_dir, "--database-url", &database.url];
    let (ok, out, err) = cli(&verify);
    assert!(ok && out.contains("5 records (seq 1..5)"), "{out}{err}");
    let records = export(&database.url, dir.path());
    let purposes: Vec<(Value, Value)> = records.iter().map(|r| (r["purpose_legal_basis"].clone(), r["purpose_case_number"].clone())).collect();
    assert_eq!(purposes[..3], [(Value::Null, Value::Null), (Value::Null, Value::Null), (Value::Null, Value::Null)]);
    assert_eq!(purposes[3], (Value::from(LEGAL_BASIS), Value::Null));
    assert_eq!(purposes[4], (Value::from(LEGAL_BASIS), Value::from("SD-2026/1417")));
    let (ok, out, err) = cli(&["audit", "export", "--data-dir", data_dir, "--database-url", &database.url, "--format", "json", "--purpose", "sd-2026/1417"]);
    assert!(ok, "{err}");
    let found: Vec<Value> = out.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(found.iter().map(|r| r["seq"].as_i64().unwrap()).collect::<Vec<_>>(), [5]);

    // The schema refuses a purpose on a version-1 row; someone who drops the constraint is found.
    assert!(client.execute("UPDATE audit_records SET purpose_legal_basis = 'x' WHERE seq = 2", &[]).await.is_err());
    client.batch_execute("ALTER TABLE audit_records DROP CONSTRAINT audit_records_version_1_has_no_purpose").await.unwrap();
    client.execute("UPDATE audit_records SET purpose_case_number = 'SD-1' WHERE seq = 2", &[]).await.unwrap();
    let (ok, _, err) = cli(&verify);
    assert!(!ok && err.contains("at seq 2:") && err.contains("altered"), "{err}");
    client.execute("UPDATE audit_records SET purpose_case_number = NULL WHERE seq = 2", &[]).await.unwrap();
    assert!(cli(&verify).0);
    client.execute("UPDATE audit_records SET record_version = 2 WHERE seq = 1", &[]).await.unwrap();
    let (ok, _, err) = cli(&verify);
    assert!(!ok && err.contains("at seq 1:") && err.contains("altered"), "{err}");
}
