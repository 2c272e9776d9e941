//! `spolis-adapter replay` end to end: the samples of `wsdl/samples/` sent by the real binary to
//! a real server whose register is the demo's (2000 persons, seed 1 — queue positions depend on
//! the register's size, so the shared 300-person test register would answer EP116 otherwise),
//! compared with `wsdl/samples/expected/`: equal answers pass; a changed expected answer is
//! reported with a unified diff and exit status 1.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use common::*;
use spolis_adapter::config::Config;
use spolis_adapter::server;

/// The demo's register size (`spolis-adapter demo` default); the expected answers were
/// recorded against it.
const DEMO_PERSONS: u64 = 2000;

/// A server on the demo register; stops when `stop` is dropped.
struct DemoServer {
    port: u16,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn demo_server() -> DemoServer {
    // Loaded as `demo` loads it (export as of the generator's horizon, then import), so that
    // RegisterAsOf and the estimates' window are the recorded ones.
    let dir = imported_demo_register(DEMO_PERSONS);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let mut config = Config::demo(address, dir.path().to_path_buf(), &certs_dir());
    config.audit.prune_every_hours = 0;
    let prepared = server::prepare(&config).expect("server prepared");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = server::run(listener, prepared.tls, prepared.app, async {
            let _ = stopped.await;
        })
        .await;
    });
    DemoServer { port: address.port(), _stop: stop, _dir: dir }
}

async fn replay(port: u16, samples: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spolis-adapter"));
    command.arg("replay").args(riga_connection_args(port)).arg(samples);
    tokio::task::spawn_blocking(move || command.output().expect("replay runs")).await.expect("join")
}

fn samples_dir() -> PathBuf {
    repo_path("wsdl/samples")
}

#[tokio::test]
async fn every_sample_gives_the_expected_answer() {
    let server = demo_server().await;
    let output = replay(server.port, &samples_dir()).await;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    let samples = std::fs::read_dir(samples_dir())
        .expect("samples")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "xml")))
        .count();
    assert!(samples >= 8);
    assert!(text.contains(&format!("replay: {samples} passed, 0 failed")), "{text}");
}

#[tokio::test]
async fn a_changed_expected_answer_is_shown_as_a_diff_and_fails() {
    let server = demo_server().await;
    let copy = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(copy.path().join("expected")).expect("expected dir");
    for entry in std::fs::read_dir(samples_dir()).expect("samples").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "xml") {
            let name = entry.file_name();
            std::fs::copy(&path, copy.path().join(&name)).expect("copy sample");
            std::fs::copy(samples_dir().join("expected").join(&name), copy.path().join("expected").join(&name)).expect("copy expected");
        }
    }
    let changed = copy.path().join("expected/ep116-soap12-plain.xml");
    let text = std::fs::read_to_string(&changed).expect("expected answer");
    assert!(text.contains("<spolis:Name>lēmums par uzņemšanu rindā</spolis:Name>"));
    std::fs::write(&changed, text.replacen("<spolis:Name>lēmums par uzņemšanu rindā</spolis:Name>", "<spolis:Name>lēmums par izslēgšanu no rindas</spolis:Name>", 1))
        .expect("write");

    let output = replay(server.port, copy.path()).await;
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(report.contains("DIFFERS ep116-soap12-plain.xml"), "{report}");
    assert!(report.contains("--- expected/ep116-soap12-plain.xml"), "{report}");
    assert!(report.contains("-            <spolis:Name>lēmums par izslēgšanu no rindas</spolis:Name>"), "{report}");
    assert!(report.contains("+            <spolis:Name>lēmums par uzņemšanu rindā</spolis:Name>"), "{report}");
    assert!(report.contains("ok      ep115-soap11-plain.xml"), "the other samples still pass: {report}");
    assert!(report.contains("1 failed"), "{report}");
}

#[tokio::test]
async fn the_showcase_persons_ep115_answers_do_not_depend_on_the_register_size() {
    // The shared test register (300 persons) answers EP115 about Ērika Kalniņa as the demo's
    // does, but for decision numbers: those count every decision of the issuer's year in date
    // order (as a register numbers them), so they depend on who else is in the register.
    // And the shared register was written, not imported, so it states no RegisterAsOf.
    let shared = TestServer::start().await;
    let demo = demo_server().await;
    let copy = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(copy.path().join("expected")).expect("expected dir");
    for name in ["ep115-soap11-plain.xml", "ep115-soap12-ivis.xml"] {
        std::fs::copy(samples_dir().join(name), copy.path().join(name)).expect("copy sample");
        std::fs::copy(samples_dir().join("expected").join(name), copy.path().join("expected").join(name)).expect("copy expected");
    }
    let exact = replay(demo.port, copy.path()).await;
    assert!(exact.status.success(), "{}", String::from_utf8_lossy(&exact.stdout));
    let output = replay(shared.address.port(), copy.path()).await;
    let report = String::from_utf8_lossy(&output.stdout);
    let changed: Vec<&str> = report
        .lines()
        .filter(|line| (line.starts_with('-') && !line.starts_with("---")) || (line.starts_with('+') && !line.starts_with("+++")))
        .collect();
    assert!(changed.iter().all(|line| line.contains("<spolis:DocumentNumber>") || line.starts_with("-") && line.contains("<spolis:RegisterAsOf>")), "{report}");
}
