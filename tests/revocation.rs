//! Revocation over real mutual TLS: a revoked certificate fails the handshake with the alert
//! `certificate_revoked`, also when the client tries to resume a session it had before the
//! revocation, and an open connection is refused its next request. CRL files are re-read
//! when they change; a broken, missing or rolled-back file leaves the CRLs in force and is
//! reported by `/ready`; a CRL past its nextUpdate refuses its CA's clients (alert
//! `unknown_ca`) unless `stale_crl = "warn"`.
//!
//! No test sleeps: the servers here look at the CRL files on every handshake and request
//! (`crl_poll_interval_seconds = 0`), so a file written is a file read on the next one.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use rustls::{AlertDescription, HandshakeKind};
use spolis_adapter::tools::example_pki::{example_crl, example_crl_dated};

/// The example registry plus `revoked.crt`, registered by fingerprint, so that only
/// revocation can keep it out.
fn registry_with_revoked() -> String {
    let registry = std::fs::read_to_string(certs_dir().join("consumers.toml")).unwrap();
    let fingerprint = spolis_adapter::identity::CertificateIdentity::from_der(
        spolis_adapter::tls::read_certificates(&certs_dir().join("revoked.crt")).unwrap()[0].as_ref(),
    )
    .unwrap()
    .sha256_fingerprint;
    format!(
        "{registry}\n[[consumer]]\nid = \"90000000001\"\nname = \"Revoked example\"\nenvironment = \"test\"\nservices = [\"EP116\"]\n[[consumer.certificate]]\nsha256 = \"{fingerprint}\"\n"
    )
}

fn revoked_crt() -> PathBuf {
    certs_dir().join("revoked.crt")
}

/// Midnight UTC of a day.
fn day(year: i32, month: time::Month, day: u8) -> time::OffsetDateTime {
    time::Date::from_calendar_date(year, month, day).unwrap().midnight().assume_utc()
}

/// A CRL file in a directory of the test's own, and a server checking against it on every
/// handshake and request.
struct Setup {
    server: TestServer,
    crl: PathBuf,
    _dir: tempfile::TempDir,
}

async fn setup(first_crl: String, configure: Option<fn(&mut spolis_adapter::config::Config)>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let crl = dir.path().join("ca.crl");
    std::fs::write(&crl, first_crl).unwrap();
    let server = TestServer::start_with(Options {
        consumers: Some(registry_with_revoked()),
        crls: Some(vec![crl.clone()]),
        configure: Some(configure.unwrap_or(|config| config.tls.crl_poll_interval_seconds = 0)),
        // /ready answers what the CRLs are now, not a cached probe (tests/ops.rs tests the cache).
        limits: Some(spolis_adapter::config::Limits { ready_cache_milliseconds: 0, ..Default::default() }),
        ..Default::default()
    })
    .await;
    assert_eq!(server.config.tls.crl_poll_interval_seconds, 0);
    Setup { server, crl, _dir: dir }
}

/// A CRL of the example CA with CRL number `number`, revoking `revoked.crt` or nothing.
fn crl(number: u64, revoking: bool) -> String {
    let revoked = revoked_crt();
    let list: &[&Path] = if revoking { &[&revoked] } else { &[] };
    example_crl(&certs_dir(), list, number).unwrap()
}

/// Whether `identity` gets an answer to an EP116 call on a fresh connection.
async fn answered(server: &TestServer, identity: &str) -> bool {
    let Ok(mut client) = server.connect(Some(identity), Protocol::Http1).await else { return false };
    let request = hyper::Request::post("/GetQueueStatusList")
        .header("host", "localhost")
        .header("content-type", "text/xml; charset=utf-8")
        .body(http_body_util::Full::new(bytes::Bytes::from(sample("ep116-soap11-plain.xml"))))
        .unwrap();
    client.send(request).await.is_ok_and(|reply| reply.status == 200)
}

/// The outcome of a fresh connection presenting `identity`.
async fn fresh(server: &TestServer, identity: &str) -> Result<u16, Option<AlertDescription>> {
    outcome(server, client_tls_config(Some(identity), Protocol::Http1)).await
}

async fn metrics(server: &TestServer) -> String {
    ops_get(server.ops_address, "/metrics").await.1
}

/// Waits until `/metrics` shows `line`: the server counts a refused handshake after
/// sending the alert the client has already seen.
async fn metrics_show(server: &TestServer, line: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let metrics = metrics(server).await;
        if metrics.contains(line) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{line} not in\n{metrics}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_revoked_certificate_fails_the_handshake_with_the_demo_crl() {
    let server = TestServer::start_with(Options { consumers: Some(registry_with_revoked()), ..Default::default() }).await;
    assert_eq!(server.config.tls.crls, vec![certs_dir().join("ca.crl")], "the demo configuration uses the example CRL");
    assert_eq!(fresh(&server, "revoked").await, Err(Some(AlertDescription::CertificateRevoked)));
    assert!(!answered(&server, "revoked").await, "a revoked certificate got through");
    assert!(answered(&server, "riga").await);
    assert!(answered(&server, "talsi").await);
    // Counted by reason on the operations listener.
    metrics_show(&server, r#"spolis_tls_handshake_failures_total{reason="revoked"} 2"#).await;
}

#[tokio::test]
async fn a_revoked_certificate_cannot_resume_a_session_made_before_the_revocation() {
    let setup = setup(crl(1, false), None).await;
    // One client configuration, so one session store, for all connections.
    let client = client_tls_config(Some("revoked"), Protocol::Http1);
    assert_eq!(outcome(&setup.server, client.clone()).await, Ok(200), "not revoked yet");
    let mut again = setup.server.connect_with(client.clone(), Protocol::Http1).await.unwrap();
    assert_eq!(again.handshake, Some(HandshakeKind::Full), "the server offered no session to resume");
    // Served: the server has finished its side of the handshake before the CA revokes.
    assert_eq!(again.get("/GetApplicationList?wsdl").await.status, 200);

    std::fs::write(&setup.crl, crl(2, true)).unwrap();
    assert_eq!(outcome(&setup.server, client.clone()).await, Err(Some(AlertDescription::CertificateRevoked)));
    metrics_show(&setup.server, r#"spolis_tls_handshake_failures_total{reason="revoked"} 1"#).await;
}

#[tokio::test]
async fn with_session_resumption_on_a_resumed_session_of_a_revoked_certificate_is_refused() {
    let setup = setup(
        crl(1, false),
        Some(|config| {
            config.tls.crl_poll_interval_seconds = 0;
            config.tls.session_resumption = true;
        }),
    )
    .await;
    let client = client_tls_config(Some("revoked"), Protocol::Http1);
    assert_eq!(outcome(&setup.server, client.clone()).await, Ok(200));
    // Resumption works, and a resumed session is served while the certificate is good.
    let mut resumed = setup.server.connect_with(client.clone(), Protocol::Http1).await.unwrap();
    assert_eq!(resumed.handshake, Some(HandshakeKind::Resumed));
    assert_eq!(resumed.get("/GetApplicationList?wsdl").await.status, 200);

    std::fs::write(&setup.crl, crl(2, true)).unwrap();
    // The ticket of a session made before the revocation still resumes (TLS skips the
    // certificate), and every request on it is refused, naming the reason; so are the
    // sessions resumed from tickets issued on it.
    for _ in 0..2 {
        let mut resumed = setup.server.connect_with(client.clone(), Protocol::Http1).await.unwrap();
        assert_eq!(resumed.handshake, Some(HandshakeKind::Resumed));
        let refused = resumed.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(refused.body, "client certificate refused: revoked\n");
    }
    let metrics = metrics(&setup.server).await;
    assert!(metrics.contains(r#"spolis_tls_handshake_failures_total{reason="resumed_revoked"} 2"#), "{metrics}");
    // A good certificate resumes and is served.
    let riga = client_tls_config(Some("riga"), Protocol::Http1);
    assert_eq!(outcome(&setup.server, riga.clone()).await, Ok(200));
    let mut resumed = setup.server.connect_with(riga, Protocol::Http1).await.unwrap();
    assert_eq!(resumed.handshake, Some(HandshakeKind::Resumed));
    assert_eq!(resumed.get("/GetApplicationList?wsdl").await.status, 200);
}

#[tokio::test]
async fn an_open_connection_is_refused_its_next_request_once_its_certificate_is_revoked() {
    let setup = setup(crl(1, false), None).await;
    let mut revoked = setup.server.client("revoked").await;
    let mut revoked_h2 = setup.server.connect(Some("revoked"), Protocol::Http2).await.unwrap();
    let mut riga = setup.server.client("riga").await;
    assert_eq!(revoked.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await.status, 200);
    assert_eq!(revoked_h2.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await.status, 200);

    std::fs::write(&setup.crl, crl(2, true)).unwrap();
    for client in [&mut revoked, &mut revoked_h2] {
        let refused = client.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(refused.body, "client certificate refused: revoked\n");
    }
    assert_eq!(riga.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await.status, 200);
    let metrics = metrics(&setup.server).await;
    assert!(metrics.contains(r#"spolis_tls_connection_refusals_total{reason="revoked"} 2"#), "{metrics}");
}

#[tokio::test]
async fn changed_crls_are_re_read_and_a_broken_or_missing_file_leaves_the_old_in_force_and_is_reported() {
    let setup = setup(crl(1, false), None).await;
    let server = &setup.server;
    assert!(answered(server, "revoked").await, "not revoked yet");

    // The CA revokes it: the next handshake fails.
    std::fs::write(&setup.crl, crl(2, true)).unwrap();
    assert_eq!(fresh(server, "revoked").await, Err(Some(AlertDescription::CertificateRevoked)));
    assert_eq!(fresh(server, "riga").await, Ok(200));
    assert_eq!(ops_get(server.ops_address, "/ready").await, (200, "ready\n".to_string()));

    // A broken file: reported, so it was read; the revocation stays, good clients connect.
    std::fs::write(&setup.crl, "-----BEGIN X509 CRL-----\nbroken\n-----END X509 CRL-----\n").unwrap();
    let (status, body) = ops_get(server.ops_address, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("ca.crl: not a CRL") && body.contains("stay in force"), "{body}");
    assert_eq!(fresh(server, "revoked").await, Err(Some(AlertDescription::CertificateRevoked)), "a broken CRL file lifted the revocation");
    assert_eq!(fresh(server, "riga").await, Ok(200));
    assert!(metrics(server).await.contains("spolis_crl_problems 1"));

    // A deleted file: the same, not for ever silently.
    std::fs::remove_file(&setup.crl).unwrap();
    let (status, body) = ops_get(server.ops_address, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("cannot read CRL file") && body.contains("ca.crl"), "{body}");
    assert_eq!(fresh(server, "revoked").await, Err(Some(AlertDescription::CertificateRevoked)));

    // A good file again: ready.
    std::fs::write(&setup.crl, crl(3, true)).unwrap();
    assert_eq!(ops_get(server.ops_address, "/ready").await, (200, "ready\n".to_string()));
    assert!(metrics(server).await.contains("spolis_crl_problems 0"));
}

#[tokio::test]
async fn an_older_crl_does_not_replace_a_newer_one() {
    let setup = setup(crl(5, true), None).await;
    let server = &setup.server;
    assert_eq!(fresh(server, "revoked").await, Err(Some(AlertDescription::CertificateRevoked)));

    // CRL number 4, validly signed, that does not list the certificate yet.
    std::fs::write(&setup.crl, crl(4, false)).unwrap();
    assert_eq!(fresh(server, "revoked").await, Err(Some(AlertDescription::CertificateRevoked)), "a rolled-back CRL lifted a revocation");
    let (status, body) = ops_get(server.ops_address, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("CRL number 4") && body.contains("CRL number 5") && body.contains("never rolled back"), "{body}");
    // Nor through a reload (SIGHUP).
    let error = server.reloader.as_ref().unwrap().reload(&server.config).unwrap_err();
    assert!(format!("{error:#}").contains("never rolled back"), "{error:#}");
    assert!(metrics(server).await.contains("spolis_crl_number{"), "the CRL in force is shown");
    assert!(metrics(server).await.contains("} 5.0"), "{}", metrics(server).await);

    // A newer CRL that lifts the revocation (certificate hold released) is taken.
    std::fs::write(&setup.crl, crl(6, false)).unwrap();
    assert_eq!(fresh(server, "revoked").await, Ok(200));
    assert_eq!(ops_get(server.ops_address, "/ready").await, (200, "ready\n".to_string()));
}

/// 22 months before December 2026, like the CRL in the issue.
fn stale_crl(revoking: bool) -> String {
    let revoked = revoked_crt();
    let list: &[&Path] = if revoking { &[&revoked] } else { &[] };
    example_crl_dated(&certs_dir(), list, 7, day(2025, time::Month::January, 1), day(2025, time::Month::February, 1)).unwrap()
}

#[tokio::test]
async fn a_crl_past_its_next_update_refuses_its_cas_certificates_by_default() {
    let setup = setup(stale_crl(false), None).await;
    let server = &setup.server;
    assert_eq!(fresh(server, "riga").await, Err(Some(AlertDescription::UnknownCA)));
    let (status, body) = ops_get(server.ops_address, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("past its nextUpdate (2025-02-01T00:00:00Z)"), "{body}");
    metrics_show(server, r#"spolis_tls_handshake_failures_total{reason="crl_expired"} 1"#).await;
    let metrics = metrics(server).await;
    assert!(metrics.contains("spolis_crl_next_update_timestamp_seconds{") && metrics.contains("} 1738368000"), "{metrics}");
    assert!(metrics.contains("spolis_crl_age_seconds{"), "{metrics}");
    // `check-config` says so too.
    let problems = server.config.problems();
    assert!(problems.iter().any(|problem| problem.contains("past its nextUpdate")), "{problems:#?}");

    // A current CRL lifts the refusal.
    std::fs::write(&setup.crl, crl(8, false)).unwrap();
    assert_eq!(fresh(server, "riga").await, Ok(200));
    assert_eq!(ops_get(server.ops_address, "/ready").await.0, 200);
}

#[tokio::test]
async fn with_stale_crl_warn_a_stale_crl_still_revokes_and_the_others_are_served() {
    let setup = setup(
        stale_crl(true),
        Some(|config| {
            config.tls.crl_poll_interval_seconds = 0;
            config.tls.stale_crl = spolis_adapter::config::StaleCrlPolicy::Warn;
        }),
    )
    .await;
    let server = &setup.server;
    assert_eq!(fresh(server, "riga").await, Ok(200));
    assert_eq!(fresh(server, "revoked").await, Err(Some(AlertDescription::CertificateRevoked)));
    assert_eq!(ops_get(server.ops_address, "/ready").await.0, 200);
    assert!(server.config.problems().iter().all(|problem| !problem.contains("nextUpdate")));
}

#[test]
fn check_config_reports_a_stale_or_missing_crl() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs_dir();
    let check = |crl: &str| {
        let file = dir.path().join("spolis.toml");
        std::fs::write(
            &file,
            format!(
                "listen = \"127.0.0.1:8443\"\npublic_url = \"https://localhost:8443\"\ndata_dir = \"data\"\nconsumers = \"{certs}/consumers.toml\"\n[tls]\ncertificate = \"{certs}/server.crt\"\nprivate_key = \"{certs}/server.key\"\nclient_ca = \"{certs}/ca.crt\"\ncrls = [\"{crl}\"]\n",
                certs = certs.display()
            ),
        )
        .unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_spolis-adapter")).arg("check-config").arg(&file).output().unwrap();
        (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (ok, stderr) = check(&certs.join("ca.crl").display().to_string());
    assert!(ok, "{stderr}");
    std::fs::write(dir.path().join("stale.crl"), stale_crl(false)).unwrap();
    let (ok, stderr) = check("stale.crl");
    assert!(!ok && stderr.contains("stale.crl is past its nextUpdate (2025-02-01T00:00:00Z)"), "{stderr}");
    let (ok, stderr) = check("gone.crl");
    assert!(!ok && stderr.contains("cannot read CRL file") && stderr.contains("gone.crl"), "{stderr}");
}
