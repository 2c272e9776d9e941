//! What operators see: `/health` and `/ready` without a client certificate on the separate
//! operations listener, Prometheus `/metrics` counting the calls made by service, consumer
//! and outcome, and `check-config` naming every problem of a configuration at once.

mod common;

use std::process::Command;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn health_and_readiness_answer_without_a_certificate() {
    let server = TestServer::start().await;
    assert_eq!(ops_get(server.ops_address, "/health").await, (200, "alive\n".to_string()));
    assert_eq!(ops_get(server.ops_address, "/ready").await, (200, "ready\n".to_string()));
    assert_eq!(ops_get(server.ops_address, "/elsewhere").await.0, 404);
}

#[tokio::test]
async fn an_instance_whose_audit_log_cannot_be_written_is_not_ready() {
    // A call that fails closed makes the instance unready at once… (readiness uncached here:
    // what is tested is the audit writer's state, not the cache)
    let uncached = || Some(spolis_adapter::config::Limits { ready_cache_milliseconds: 0, ..Default::default() });
    let server = TestServer::start_with(Options { backend: Some(Backend::Sqlite), limits: uncached(), ..Default::default() }).await;
    assert_eq!(ops_get(server.ops_address, "/ready").await.0, 200);
    rusqlite::Connection::open(server.audit_path()).unwrap().execute_batch("DROP TABLE audit_records;").unwrap();
    let reply = server.client("riga").await.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("AuditUnavailable"), "{}", reply.body);
    let (status, body) = ops_get(server.ops_address, "/ready").await;
    assert_eq!(status, 503);
    assert!(body.contains("audit log: records cannot be committed"), "{body}");

    // …and an idle one finds out by itself, within a checkpoint interval (1 s here).
    let idle = TestServer::start_with(Options {
        backend: Some(Backend::Sqlite),
        configure: Some(|config| config.audit.checkpoint_interval_seconds = 1),
        limits: uncached(),
        ..Default::default()
    })
    .await;
    rusqlite::Connection::open(idle.audit_path()).unwrap().execute_batch("DROP TABLE audit_records;").unwrap();
    let body = ready_until(idle.ops_address, 503).await;
    assert!(body.contains("audit log: records cannot be committed"), "{body}");
}

/// Asks `/ready` until it answers `status` (20 s at most); returns the body.
async fn ready_until(ops: std::net::SocketAddr, status: u16) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (got, body) = ops_get(ops, "/ready").await;
        if got == status {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "/ready stayed {got}: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_audit_log_turns_the_instance_unready_and_it_recovers_without_a_call() {
    let server = TestServer::start_with(Options { backend: Some(Backend::Sqlite), ..Default::default() }).await;
    let mut client = server.client("riga").await;
    let ep115 = sample("ep115-soap11-plain.xml");
    assert_eq!(client.soap("/GetApplicationList", &ep115).await.status, 200);

    // Another process holds the log's write lock (a stuck transaction, a backup tool): the
    // next batch waits out the busy timeout (5 s), and /ready says so while it waits.
    let locker = rusqlite::Connection::open(server.audit_path()).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (reply, while_waiting) = tokio::join!(client.soap("/GetApplicationList", &ep115), ready_until(server.ops_address, 503));
    assert!(while_waiting.contains("audit log: a batch of records has waited"), "{while_waiting}");
    assert_eq!(error_code(&reply.body).as_deref(), Some("AuditUnavailable"), "{}", reply.body);
    assert!(!reply.body.contains("Kalniņa"), "no data without its record: {}", reply.body);
    let (status, body) = ops_get(server.ops_address, "/ready").await;
    assert_eq!(status, 503);
    assert!(body.contains("records cannot be committed"), "{body}");

    // The lock goes: the writer's own retry makes the instance ready again, no call needed.
    locker.execute_batch("ROLLBACK").unwrap();
    ready_until(server.ops_address, 200).await;
    let reply = client.soap("/GetApplicationList", &ep115).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (_, dir) = server.stop().await;
    let output = Command::new(CLI).args(["audit", "verify", "--data-dir", dir.path().to_str().unwrap()]).output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}{}", String::from_utf8_lossy(&output.stderr));
    assert!(out.contains("2 records (seq 1..2)"), "the failed batch left no record and no gap: {out}");
}

#[tokio::test]
async fn an_instance_whose_register_is_broken_is_not_ready() {
    let server = TestServer::start_with(Options { own_register: true, ..Default::default() }).await;
    let connection = rusqlite::Connection::open(server.database()).unwrap();
    connection.execute_batch("DELETE FROM schema_migrations;").unwrap();
    let (status, body) = ops_get(server.ops_address, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("register"), "{body}");
}

#[tokio::test]
async fn readiness_is_probed_once_per_cache_lifetime() {
    // A lifetime longer than the test: the audit log broken after the first probe goes unseen.
    let limits = spolis_adapter::config::Limits { ready_cache_milliseconds: 3_600_000, ..Default::default() };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;
    // Asked many times at once, probed once: all agree.
    let asked: Vec<_> = (0..20).map(|_| ops_get(server.ops_address, "/ready")).collect();
    for answer in futures_util::future::join_all(asked).await {
        assert_eq!(answer, (200, "ready\n".to_string()));
    }
    let connection = rusqlite::Connection::open(server.audit_path()).unwrap();
    connection.execute_batch("DROP TABLE audit_records;").unwrap();
    let failed = server.client("riga").await.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    assert_eq!(error_code(&failed.body).as_deref(), Some("AuditUnavailable"));
    assert_eq!(ops_get(server.ops_address, "/ready").await, (200, "ready\n".to_string()), "probed again within its lifetime");

    // Without a lifetime every request probes, and sees the same breakage at once.
    let limits = spolis_adapter::config::Limits { ready_cache_milliseconds: 0, ..Default::default() };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;
    assert_eq!(ops_get(server.ops_address, "/ready").await.0, 200);
    let connection = rusqlite::Connection::open(server.audit_path()).unwrap();
    connection.execute_batch("DROP TABLE audit_records;").unwrap();
    let failed = server.client("riga").await.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    assert_eq!(error_code(&failed.body).as_deref(), Some("AuditUnavailable"));
    assert_eq!(ops_get(server.ops_address, "/ready").await.0, 503);
}

#[tokio::test]
async fn the_operations_listener_serves_a_bounded_number_of_connections() {
    let limits = spolis_adapter::config::Limits { max_ops_connections: 2, ..Default::default() };
    let server = TestServer::start_with(Options { limits: Some(limits), ..Default::default() }).await;
    // Two idle connections take both places.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(server.ops_address).await.unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        held.push(stream);
    }
    // A third waits in the backlog, unanswered, until one of them closes.
    let mut third = tokio::spawn(ops_get(server.ops_address, "/health"));
    let waited = tokio::time::timeout(std::time::Duration::from_millis(500), &mut third).await;
    assert!(waited.is_err(), "a third connection was served while two held the places");
    held.pop();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), third).await.expect("served once a place was free").unwrap();
    assert_eq!(answer.0, 200);
}

fn counter(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn metrics_count_calls_by_service_consumer_and_outcome_and_refused_handshakes() {
    let server = TestServer::start().await;
    let mut riga = server.client("riga").await;
    for _ in 0..3 {
        assert_eq!(riga.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await.status, 200);
    }
    let mut talsi = server.client("talsi").await;
    talsi.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    // A handshake without a certificate, made to completion so the server sees it.
    if let Ok(mut anonymous) = server.connect(None, Protocol::Http1).await {
        let _ = anonymous.send(hyper::Request::get("/").header("host", "localhost").body(Default::default()).unwrap()).await;
    }
    let (status, metrics) = ops_get(server.ops_address, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(counter(&metrics, r#"spolis_calls_total{service="EP115",consumer="90011524360",outcome="ok"}"#), 3, "{metrics}");
    assert_eq!(counter(&metrics, r#"spolis_calls_total{service="EP115",consumer="90009113532",outcome="ServiceNotAllowed"}"#), 1);
    assert_eq!(counter(&metrics, r#"spolis_call_duration_seconds_count{service="EP115"}"#), 4);
    assert_eq!(counter(&metrics, "spolis_audit_write_duration_seconds_count"), 4);
    // The writer's own counters: every record committed, in at least one and at most four batches.
    assert_eq!(counter(&metrics, "spolis_audit_records_total"), 4, "{metrics}");
    assert!((1..=4).contains(&counter(&metrics, "spolis_audit_batches_total")), "{metrics}");
    assert_eq!(counter(&metrics, "spolis_audit_batch_failures_total"), 0);
    assert!(counter(&metrics, r#"spolis_tls_handshake_failures_total{reason="no_certificate"}"#) >= 1, "{metrics}");
    assert!(!metrics.contains("150342") && !metrics.contains("Kalni"), "no personal data in metrics");
}

const CLI: &str = env!("CARGO_BIN_EXE_spolis-adapter");

#[test]
fn check_config_reports_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        r#"listen = "127.0.0.1:8443"
ops_listen = "127.0.0.1:8443"
public_url = "http://adapter.example.lv"
data_dir = "data"
consumers = "missing-consumers.toml"
[tls]
certificate = "missing.crt"
private_key = "missing.key"
client_ca = "missing-ca.crt"
"#,
    )
    .unwrap();
    let output = Command::new(CLI).args(["check-config", bad.to_str().unwrap()]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in ["tls:", "consumers:", "https://", "ops_listen"] {
        assert!(stderr.contains(expected), "{expected} not reported: {stderr}");
    }

    let certs = certs_dir();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        format!(
            r#"listen = "127.0.0.1:8443"
public_url = "https://localhost:8443"
data_dir = "data"
consumers = "{certs}/consumers.toml"
[tls]
certificate = "{certs}/server.crt"
private_key = "{certs}/server.key"
client_ca = "{certs}/ca.crt"
"#,
            certs = certs.display()
        ),
    )
    .unwrap();
    let output = Command::new(CLI).args(["check-config", good.to_str().unwrap()]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test]
async fn readiness_probes_the_postgresql_audit_log_too() {
    let server = TestServer::start_with(Options { backend: Some(Backend::Postgres), ..Default::default() }).await;
    let (status, body) = ops_get(server.ops_address, "/ready").await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));
}

/// The register's as-of time in the freshness tests: the `AsOf` of its one import.
const AS_OF: &str = "2026-03-02T05:00:00Z";

/// A server whose register was last imported as of [`AS_OF`], seen at `hours_later`, with
/// `max_register_age_hours = 48`; on PostgreSQL the import's row is written there.
async fn register_seen_later(hours_later: i64, imported: bool) -> TestServer {
    let as_of = chrono::DateTime::parse_from_rfc3339(AS_OF).unwrap().with_timezone(&chrono::Utc);
    let clock = spolis_adapter::service::Clock::Fixed(as_of + chrono::Duration::hours(hours_later));
    let server = TestServer::start_with(Options {
        own_register: true,
        backend: Some(Backend::from_environment()),
        clock: Some(clock),
        configure: Some(|config| config.max_register_age_hours = 48),
        limits: Some(spolis_adapter::config::Limits { ready_cache_milliseconds: 0, ..Default::default() }),
        ..Default::default()
    })
    .await;
    if imported {
        let row = format!(
            "INSERT INTO register_imports (seq, batch_id, kind, as_of, file_digest, files, persons, applications, queue_events, queue_entries, deletions, imported_at, duration_ms) \
             VALUES (1, 'b-1', 'full', '{AS_OF}', 'ab', 'spolis.xml', 50, 0, 0, 0, 0, '{AS_OF}', 1)"
        );
        match &server.database {
            Some(database) => {
                database.execute(&row);
            }
            None => rusqlite::Connection::open(server.database()).unwrap().execute_batch(&row).unwrap(),
        }
    }
    server
}

#[tokio::test]
async fn a_register_within_its_maximum_age_is_ready_and_its_age_is_a_metric() {
    let server = register_seen_later(47, true).await;
    assert_eq!(ops_get(server.ops_address, "/ready").await, (200, "ready\n".to_string()));
    let (status, metrics) = ops_get(server.ops_address, "/metrics").await;
    assert_eq!(status, 200);
    let as_of = chrono::DateTime::parse_from_rfc3339(AS_OF).unwrap().timestamp();
    assert!(metrics.contains(&format!("spolis_register_as_of_timestamp_seconds{{}} {as_of}\n")), "{metrics}");
    assert!(metrics.contains(&format!("spolis_register_age_seconds{{}} {}\n", 47 * 3600)), "{metrics}");
}

#[tokio::test]
async fn a_register_older_than_its_maximum_age_or_never_imported_is_not_ready() {
    let stale = register_seen_later(49, true).await;
    let (status, body) = ops_get(stale.ops_address, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(&format!("register: as of {AS_OF}, 49 h old, older than max_register_age_hours = 48")), "{body}");
    let (_, metrics) = ops_get(stale.ops_address, "/metrics").await;
    assert!(metrics.contains(&format!("spolis_register_age_seconds{{}} {}\n", 49 * 3600)), "{metrics}");

    let never = register_seen_later(0, false).await;
    let (status, body) = ops_get(never.ops_address, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("register: never imported (max_register_age_hours = 48)"), "{body}");
    let (_, metrics) = ops_get(never.ops_address, "/metrics").await;
    assert!(!metrics.contains("spolis_register_age_seconds{"), "no age for a register never imported: {metrics}");

    // `demo` (and so the default test server) does not check the age at all.
    let demo = TestServer::start().await;
    assert_eq!(ops_get(demo.ops_address, "/ready").await.0, 200);
}
