//! The read replica, against a real streaming-replication standby of a PostgreSQL of the
//! test's own (TLS only, like `postgres_tls.rs`): EP116 is read from the standby — shown by
//! pausing its replay, changing the register on the primary and still getting the standby's
//! answer — while every call is audited on the primary; once replay resumes, the change
//! arrives. With the standby gone, calls fail closed with `StoreUnavailable`, audited.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::private_postgres::{connection_options, server_only_tls, service_tls, PrivatePostgres};
use common::*;

const ERIKA: &str = "150342-10121";

async fn first_name(client: &mut Client) -> String {
    let reply = client.soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", &format!("<PersonCode>{ERIKA}</PersonCode>")))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    texts(&reply.body, "FirstName").into_iter().next().unwrap_or_else(|| panic!("no FirstName in {}", reply.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_come_from_the_standby_and_the_audit_goes_to_the_primary() {
    let (primary, standby, database) = tokio::task::spawn_blocking(|| {
        let primary = PrivatePostgres::start();
        let options = connection_options(&service_tls("ca.crt"));
        let database = TestDatabase::create_on(&primary.server("postgres", "127.0.0.1"), &primary.server("spolis", "localhost"), options);
        database.load_register(&shared_register().join(spolis_adapter::store::sqlite::DATABASE_FILE));
        let standby = primary.start_standby();
        (primary, standby, Arc::new(database))
    })
    .await
    .expect("primary and standby started");
    let service = TestServer::start_with(Options {
        database: Some(database.clone()),
        database_replica_url: Some(format!("{}/{}", standby.server("spolis", "localhost"), database.name)),
        database_config: Some(service_tls("ca.crt")),
        ..Options::default()
    })
    .await;
    let mut client = service.client("riga").await;
    assert_eq!(first_name(&mut client).await, "Ērika");

    // Replay paused, the primary changes: the answer is still the standby's.
    let on_standby = |sql: &'static str| {
        let server = standby.server("postgres", "127.0.0.1");
        move || admin(&server, &server_only_tls(), sql)
    };
    tokio::task::spawn_blocking(on_standby("SELECT pg_wal_replay_pause()")).await.unwrap();
    let database_for_update = database.clone();
    let changed = tokio::task::spawn_blocking(move || {
        database_for_update.execute("UPDATE persons SET first_name = 'Replika' WHERE person_code IN ('15034210121', '150342-10121')")
    })
    .await
    .unwrap();
    assert_eq!(changed, 1);
    for _ in 0..3 {
        assert_eq!(first_name(&mut client).await, "Ērika", "read from the paused standby, not the primary");
    }
    // Replay resumed: the change arrives.
    tokio::task::spawn_blocking(on_standby("SELECT pg_wal_replay_resume()")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let name = first_name(&mut client).await;
        if name == "Replika" {
            break;
        }
        assert!(Instant::now() < deadline, "the standby did not catch up: still {name}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every call was audited, on the primary (the standby cannot be written).
    let audited = {
        let database = database.clone();
        tokio::task::spawn_blocking(move || database.execute("SELECT 1 FROM audit_records WHERE service = 'EP116' AND outcome = 'ok'")).await.unwrap()
    };
    assert!(audited >= 5, "{audited} records");

    // The standby gone: calls fail closed (no fallback to the primary, which may be sized for
    // the audit alone), and the failure is audited on the primary.
    tokio::task::spawn_blocking(move || drop(standby)).await.unwrap();
    let reply = client.soap("/GetQueueStatusList", &envelope("1.1", &operation("GetQueueStatusList", &format!("<PersonCode>{ERIKA}</PersonCode>")))).await;
    assert_eq!(error_code(&reply.body).as_deref(), Some("StoreUnavailable"), "{}", reply.body);
    let refused = {
        let database = database.clone();
        tokio::task::spawn_blocking(move || database.execute("SELECT 1 FROM audit_records WHERE outcome = 'StoreUnavailable'")).await.unwrap()
    };
    assert_eq!(refused, 1);
    service.stop().await;
    // The database goes before its server.
    drop(database);
    drop(primary);
}
