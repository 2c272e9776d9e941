//! A PostgreSQL server of a test's own, for what the shared test server cannot show: TLS
//! only (`hostssl` lines alone in `pg_hba.conf`, the example server certificate, a client
//! certificate asked of the service's role `spolis`), and a streaming-replication standby.
//! Needs the server programs (`initdb`, `pg_ctl`, `pg_basebackup`) under
//! `/usr/lib/postgresql/*/bin` or `SPOLIS_TEST_POSTGRES_BIN`; run as root, it runs them as
//! the `postgres` user (the server refuses root).

use std::path::{Path, PathBuf};
use std::process::Command;

use spolis_adapter::config::DatabaseConfig;
use spolis_adapter::database::postgres::PostgresOptions;

use super::{admin, certs_dir};

/// A PostgreSQL server of this test: its own data directory, port and certificates,
/// stopped and removed when dropped.
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    pub fn start() -> PrivatePostgres {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        // The server runs as `postgres` when the tests run as root (it refuses root). The
        // role `spolis`, the service's, must show a client certificate; `postgres` need not.
        set_mode(dir.path(), 0o755);
        chown_to_server_user(dir.path());
        as_server_user(&bin.join("initdb"), &["-D", path(&data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"], dir.path());
        for (file, mode) in [("server.crt", 0o644), ("server.key", 0o600), ("ca.crt", 0o644)] {
            let target = data.join(file);
            std::fs::copy(certs_dir().join(file), &target).expect("copy certificate");
            set_mode(&target, mode);
        }
        let port = free_port();
        let settings = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1,127.0.0.2'\nunix_socket_directories = '{}'\nfsync = off\n\
             ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\n",
            path(dir.path())
        );
        append(&data.join("postgresql.conf"), &settings);
        // TLS only: the service's user must also show a certificate of the example CA.
        std::fs::write(
            data.join("pg_hba.conf"),
            "hostssl all spolis 127.0.0.0/8 trust clientcert=verify-ca\nhostssl all postgres 127.0.0.0/8 trust\n\
             hostssl replication postgres 127.0.0.0/8 trust\n",
        )
        .expect("pg_hba.conf");
        chown_to_server_user(dir.path());
        let log = dir.path().join("server.log");
        as_server_user(&bin.join("pg_ctl"), &["-D", path(&data), "-l", path(&log), "-w", "-t", "30", "start"], dir.path());
        let server = PrivatePostgres { dir, bin, port };
        admin(&server.server("postgres", "127.0.0.1"), &server_only_tls(), "CREATE ROLE spolis LOGIN");
        server
    }

    /// A hot standby of this server, cloned from it by `pg_basebackup -R` and streaming from
    /// it over TLS, started.
    pub fn start_standby(&self) -> PrivatePostgres {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        set_mode(dir.path(), 0o755);
        chown_to_server_user(dir.path());
        let source = format!("host=127.0.0.1 port={} user=postgres sslmode=require", self.port);
        as_server_user(&self.bin.join("pg_basebackup"), &["-D", path(&data), "-R", "-X", "stream", "-c", "fast", "-d", &source], dir.path());
        let port = free_port();
        // Later lines win: the standby's own port and socket directory.
        append(&data.join("postgresql.conf"), &format!("port = {port}\nunix_socket_directories = '{}'\n", path(dir.path())));
        chown_to_server_user(dir.path());
        let log = dir.path().join("server.log");
        as_server_user(&self.bin.join("pg_ctl"), &["-D", path(&data), "-l", path(&log), "-w", "-t", "30", "start"], dir.path());
        PrivatePostgres { dir, bin: self.bin.clone(), port }
    }

    /// `postgres://user@host:port` on this server.
    pub fn server(&self, user: &str, host: &str) -> String {
        format!("postgres://{user}@{host}:{}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = server_user_command(&self.bin.join("pg_ctl"), &["-D", path(&data), "-m", "immediate", "stop"], self.dir.path()).output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("port").port()
}

fn postgres_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SPOLIS_TEST_POSTGRES_BIN") {
        return PathBuf::from(dir);
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    candidates.sort();
    candidates.pop().expect("the PostgreSQL server programs (initdb, pg_ctl) under /usr/lib/postgresql/*/bin, or SPOLIS_TEST_POSTGRES_BIN")
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn server_user_command(program: &Path, args: &[&str], cwd: &Path) -> Command {
    let mut command = if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command.args(args).current_dir(cwd);
    command
}

fn as_server_user(program: &Path, args: &[&str], cwd: &Path) {
    let out = server_user_command(program, args, cwd).output().expect("run a PostgreSQL program");
    assert!(out.status.success(), "{} failed: {}{}", program.display(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

fn chown_to_server_user(dir: &Path) {
    if running_as_root() {
        let status = Command::new("chown").args(["-R", "postgres:", path(dir)]).status().expect("chown");
        assert!(status.success());
    }
}

fn set_mode(file: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn append(file: &Path, text: &str) {
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(file).and_then(|mut f| f.write_all(text.as_bytes())).expect("append");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The service's `[database]` TLS settings: trust `ca` (a file of the example PKI, `certs_dir`) and
/// present riga's certificate as the `spolis` role's client certificate.
pub fn service_tls(ca: &str) -> DatabaseConfig {
    DatabaseConfig {
        tls_ca: Some(certs_dir().join(ca)),
        tls_certificate: Some(certs_dir().join("riga.crt")),
        tls_private_key: Some(certs_dir().join("riga.key")),
        ..DatabaseConfig::default()
    }
}

/// The connection options `database`'s TLS settings give.
pub fn connection_options(database: &DatabaseConfig) -> PostgresOptions {
    PostgresOptions { tls: database.tls().expect("TLS files"), ..PostgresOptions::default() }
}

/// TLS that checks the server against the example CA and shows no client certificate (for
/// the `postgres` role).
pub fn server_only_tls() -> PostgresOptions {
    connection_options(&DatabaseConfig { tls_ca: Some(certs_dir().join("ca.crt")), ..DatabaseConfig::default() })
}
