//! TLS to PostgreSQL, against a real PostgreSQL of the test's own that accepts TLS only
//! (`hostssl` lines in `pg_hba.conf`, nothing else) with the example server certificate,
//! and asks the service's database user for a client certificate from the example CA.
//!
//! Proves: the service answers EP116 and audits the call over such connections; a server
//! certificate from another CA, or one that does not name the host, is refused; a
//! plaintext connection and one without the client certificate are refused by the server;
//! `sslmode=require` without a CA is a configuration problem, not a silent plaintext
//! fallback.

mod common;

use std::sync::Arc;

use common::private_postgres::{connection_options, server_only_tls, service_tls, PrivatePostgres};
use common::*;
use spolis_adapter::database::postgres::{self, PostgresOptions};
use spolis_adapter::database::runtime::block_on;

/// Connects to `url` with `options` and asks the server whether this connection is
/// encrypted; the error, when it cannot connect.
fn connection_is_encrypted(url: &str, options: &PostgresOptions) -> Result<bool, String> {
    block_on(|| async {
        let client = postgres::connect(url, options).await?;
        let row = client
            .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
            .await
            .map_err(|e| spolis_adapter::store::StoreError::Unavailable(postgres::describe(&e)))?;
        Ok::<_, spolis_adapter::store::StoreError>(row.get::<_, bool>(0))
    })
    .map_err(|error| error.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_answers_and_audits_over_tls_to_postgres() {
    let server = tokio::task::spawn_blocking(PrivatePostgres::start).await.expect("PostgreSQL started");
    let tls = connection_options(&service_tls("ca.crt"));
    let database = Arc::new(TestDatabase::create_on(&server.server("postgres", "127.0.0.1"), &server.server("spolis", "localhost"), tls));

    let service = TestServer::start_with(Options {
        database: Some(database.clone()),
        database_config: Some(service_tls("ca.crt")),
        ..Options::default()
    })
    .await;
    let mut client = service.client("riga").await;
    let reply = client
        .soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", "<PersonCode>150342-10121</PersonCode>")))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    validate_answer(&reply.body).expect("a valid answer");
    assert!(texts(&reply.body, "EventDate").len() >= 3, "the register's events, read over TLS: {}", reply.body);

    // Every connection of the service's user is encrypted, and the call was audited on them.
    let encrypted = database.execute(
        "SELECT 1 FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'spolis' AND ssl AND client_addr IS NOT NULL",
    );
    let plaintext = database.execute("SELECT 1 FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'spolis' AND NOT ssl");
    assert!(encrypted >= 2, "the service's connections (pool and audit writer) are TLS: {encrypted}");
    assert_eq!(plaintext, 0);
    assert!(database.execute("SELECT 1 FROM audit_records WHERE service = 'EP116' AND outcome = 'ok'") >= 1);
    let (_, audit_dir) = service.stop().await;

    // `audit verify` reaches the same TLS-only server with the SPOLIS_DATABASE_TLS_* overrides…
    let verify = |tls: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_spolis-adapter"));
        command.args(["audit", "verify", "--data-dir", audit_dir.path().to_str().unwrap(), "--database-url", &database.url]);
        command.env_remove("SPOLIS_DATABASE_URL");
        if tls {
            command
                .env("SPOLIS_DATABASE_TLS_CA", certs_dir().join("ca.crt"))
                .env("SPOLIS_DATABASE_TLS_CERTIFICATE", certs_dir().join("riga.crt"))
                .env("SPOLIS_DATABASE_TLS_PRIVATE_KEY", certs_dir().join("riga.key"));
        }
        let out = command.output().expect("spolis-adapter runs");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, output) = verify(true);
    assert!(ok && output.contains("audit log verified"), "{output}");
    // …and is refused without them.
    let (ok, output) = verify(false);
    assert!(!ok && output.contains("pg_hba.conf"), "{output}");
}

#[test]
fn untrusted_misnamed_plaintext_and_certificate_less_connections_are_refused() {
    let server = PrivatePostgres::start();
    let db = |user: &str, host: &str| format!("{}/postgres", server.server(user, host));
    {
        let trusted = connection_options(&service_tls("ca.crt"));
        // The control: the example CA, the right name, the client certificate.
        assert_eq!(connection_is_encrypted(&db("spolis", "127.0.0.1"), &trusted), Ok(true));

        let foreign_ca = connection_options(&service_tls("rogue-ca.crt"));
        let error = connection_is_encrypted(&db("spolis", "127.0.0.1"), &foreign_ca).expect_err("a server certificate of another CA");
        assert!(error.contains("certificate"), "{error}");

        // 127.0.0.2 reaches the same server, but its certificate names 127.0.0.1 and localhost only.
        let error = connection_is_encrypted(&db("spolis", "127.0.0.2"), &trusted).expect_err("a certificate for another name");
        assert!(error.contains("certificate"), "{error}");

        let error = connection_is_encrypted(&db("postgres", "127.0.0.1"), &PostgresOptions::default()).expect_err("plaintext");
        assert!(error.contains("pg_hba.conf") && error.contains("no encryption"), "{error}");

        let without_client_certificate = server_only_tls();
        assert_eq!(connection_is_encrypted(&db("postgres", "127.0.0.1"), &without_client_certificate), Ok(true));
        let error = connection_is_encrypted(&db("spolis", "127.0.0.1"), &without_client_certificate)
            .expect_err("the service's user without its client certificate");
        assert!(error.contains("certificate") || error.contains("pg_hba.conf"), "{error}");
    }
}

#[test]
fn sslmode_require_without_a_ca_is_a_configuration_problem() {
    let mut config = spolis_adapter::config::Config::demo("127.0.0.1:0".parse().unwrap(), std::env::temp_dir(), &certs_dir());
    config.backend = spolis_adapter::config::Backend::Postgres { primary: "postgres://spolis@db.example:5432/spolis?sslmode=require".into(), replica: None };
    let problems = config.problems();
    assert!(problems.iter().any(|p| p.contains("sslmode=require") && p.contains("tls_ca")), "{problems:?}");

    config.database.tls_ca = Some(certs_dir().join("ca.crt"));
    assert!(!config.problems().iter().any(|p| p.contains("sslmode")), "{:?}", config.problems());
    config.backend = spolis_adapter::config::Backend::Postgres { primary: "postgres://spolis@db.example:5432/spolis?sslmode=disable".into(), replica: None };
    assert!(config.problems().iter().any(|p| p.contains("sslmode=disable")), "{:?}", config.problems());

    config.database.tls_certificate = Some(certs_dir().join("riga.crt"));
    assert!(config.problems().iter().any(|p| p.contains("tls_certificate and tls_private_key go together")), "{:?}", config.problems());
}

#[test]
fn plaintext_is_flagged_only_when_it_leaves_the_machine() {
    let plain = PostgresOptions::default();
    assert!(postgres::is_plaintext_over_network("postgres://spolis@db.example:5432/spolis", &plain));
    assert!(postgres::is_plaintext_over_network("postgres://spolis@10.1.2.3/spolis", &plain));
    assert!(!postgres::is_plaintext_over_network("postgres://spolis@127.0.0.1/spolis", &plain));
    assert!(!postgres::is_plaintext_over_network("postgres://spolis@localhost/spolis", &plain));
    let tls = server_only_tls();
    assert!(!postgres::is_plaintext_over_network("postgres://spolis@db.example:5432/spolis", &tls));
}
