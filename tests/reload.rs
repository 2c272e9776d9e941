//! Reloading (SIGHUP): a consumer added to the registry file is served without a restart and
//! without dropping open connections; a broken file is refused and the previous configuration
//! stays in force.

mod common;

use common::*;

fn registry_without_talsi() -> String {
    let full = std::fs::read_to_string(certs_dir().join("consumers.toml")).unwrap();
    let talsi = full.find("[[consumer]]\nid = \"90009113532\"").expect("talsi's entry");
    let end = full[talsi + 1..].find("[[consumer]]").map_or(full.len(), |at| talsi + 1 + at);
    // The bus forwards for talsi too: it forwards for riga only in this registry.
    format!("{}{}", &full[..talsi], &full[end..]).replace(r#"forwards_for = ["90011524360", "90009113532"]"#, r#"forwards_for = ["90011524360"]"#)
}

#[tokio::test]
async fn a_reloaded_registry_serves_new_consumers_and_a_broken_one_changes_nothing() {
    let server = TestServer::start_with(Options { consumers: Some(registry_without_talsi()), ..Default::default() }).await;
    let reloader = server.reloader.clone().expect("reloader");
    let mut riga = server.client("riga").await;
    let mut talsi = server.client("talsi").await;
    let refused = talsi.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
    assert_eq!(error_code(&refused.body).as_deref(), Some("ConsumerNotRegistered"));

    // Talsi is registered in the file; a reload serves it, on the connection already open.
    std::fs::write(&server.config.consumers, std::fs::read_to_string(certs_dir().join("consumers.toml")).unwrap()).unwrap();
    let summary = reloader.reload(&server.config).expect("reload");
    assert!(summary.contains("3 consumers"), "riga, talsi and the bus: {summary}");
    let served = talsi.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
    assert_eq!(served.status, 200, "{}", served.body);
    assert!(served.body.contains("GetQueueStatusListResponse"));

    // A broken file is refused; the registry in force stays, and riga's connection lives on.
    std::fs::write(&server.config.consumers, "[[consumer]]\nid = \"broken").unwrap();
    assert!(reloader.reload(&server.config).is_err());
    let still = talsi.soap("/GetQueueStatusList", &sample("ep116-soap11-plain.xml")).await;
    assert_eq!(still.status, 200, "{}", still.body);
    let riga_still = riga.soap("/GetApplicationList", &sample("ep115-soap11-plain.xml")).await;
    assert_eq!(riga_still.status, 200);
}

#[tokio::test]
async fn a_missing_server_key_is_refused_and_new_connections_still_handshake() {
    let server = TestServer::start().await;
    let reloader = server.reloader.clone().expect("reloader");
    let mut config = server.config.clone();
    config.tls.private_key = certs_dir().join("no-such.key");
    assert!(reloader.reload(&config).is_err());
    let mut fresh = server.client("riga").await;
    assert_eq!(fresh.soap("/GetApplicationList", &sample("ep115-soap12-plain.xml")).await.status, 200);
}
