//! The service's configuration: one TOML file for `serve`, or built in for `demo`.
//! Relative paths in the file are relative to the file's own directory, so a configuration
//! directory can be moved as a whole.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::identity::Environment;

/// Everything `serve` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `0.0.0.0:8443`.
    pub listen: SocketAddr,
    /// The URL callers use to reach this service (written into the served WSDL), e.g.
    /// `https://spolis-adapter.lm.gov.lv:8443`.
    pub public_url: String,
    /// The environment served (`test` or `production`); only consumers registered for it
    /// are answered.
    #[serde(default = "production")]
    pub environment: Environment,
    /// Directory of the embedded store (`spolis.sqlite3`).
    pub data_dir: PathBuf,
    pub tls: TlsConfig,
    /// The consumer registry (TOML), see `certs-example/consumers.toml`.
    pub consumers: PathBuf,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub audit: AuditConfig,
}

/// Where and how calls are audited.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The audit database; default `<data_dir>/audit.sqlite3`.
    pub path: Option<PathBuf>,
    /// The Ed25519 key that signs checkpoints (created if absent, with a `.pub` beside it);
    /// default `<data_dir>/audit-signing.key`.
    pub signing_key: Option<PathBuf>,
    /// Sign a checkpoint of the chain head at least this often while calls arrive.
    pub checkpoint_interval_seconds: u64,
    /// Records are kept this many days (two years by default), then pruned.
    pub retention_days: u32,
    /// Prune on a schedule, every this many hours; 0 leaves pruning to `audit prune`.
    pub prune_every_hours: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { path: None, signing_key: None, checkpoint_interval_seconds: 5, retention_days: 730, prune_every_hours: 24 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM).
    pub certificate: PathBuf,
    /// The server's private key (PEM).
    pub private_key: PathBuf,
    /// The CA certificate(s) client certificates must chain to (PEM).
    pub client_ca: PathBuf,
}

/// Bounds that keep one caller from exhausting the service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted (VISS's limit is 4 MB).
    pub max_body_bytes: usize,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Time for the TLS handshake.
    pub handshake_timeout_seconds: u64,
    /// Time for a request's headers to arrive (HTTP/1.1).
    pub header_timeout_seconds: u64,
    /// Time for a request's body to arrive.
    pub body_timeout_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 * 1024 * 1024,
            max_connections: 1024,
            handshake_timeout_seconds: 10,
            header_timeout_seconds: 10,
            body_timeout_seconds: 30,
        }
    }
}

impl Limits {
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.handshake_timeout_seconds)
    }
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_seconds)
    }
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_seconds)
    }
}

fn production() -> Environment {
    Environment::Production
}

impl Config {
    /// Reads a configuration file; relative paths are resolved against its directory.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut config: Config = toml::from_str(&text).with_context(|| format!("{} is not a valid configuration", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let optional_files = [config.audit.path.as_mut(), config.audit.signing_key.as_mut()].into_iter().flatten();
        for file in [
            &mut config.data_dir,
            &mut config.consumers,
            &mut config.tls.certificate,
            &mut config.tls.private_key,
            &mut config.tls.client_ca,
        ]
        .into_iter()
        .chain(optional_files)
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        Ok(config)
    }

    /// The audit database's path.
    pub fn audit_path(&self) -> PathBuf {
        self.audit.path.clone().unwrap_or_else(|| self.data_dir.join(crate::audit::sqlite::AUDIT_FILE))
    }

    /// The audit signing key's path.
    pub fn audit_signing_key(&self) -> PathBuf {
        self.audit.signing_key.clone().unwrap_or_else(|| self.data_dir.join(crate::audit::SIGNING_KEY_FILE))
    }

    /// The demo's configuration: the example certificates and registry in `certs_dir`.
    pub fn demo(listen: SocketAddr, data_dir: PathBuf, certs_dir: &Path) -> Config {
        // The example server certificate names localhost; a wildcard listen address is
        // still reached as localhost from this machine.
        let host = if listen.ip().is_unspecified() || listen.ip().is_loopback() { "localhost".to_string() } else { listen.ip().to_string() };
        Config {
            listen,
            public_url: format!("https://{host}:{}", listen.port()),
            environment: Environment::Test,
            data_dir,
            tls: TlsConfig {
                certificate: certs_dir.join("server.crt"),
                private_key: certs_dir.join("server.key"),
                client_ca: certs_dir.join("ca.crt"),
            },
            consumers: certs_dir.join("consumers.toml"),
            limits: Limits::default(),
            audit: AuditConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_relative_to_the_file_and_limits_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spolis.toml");
        std::fs::write(
            &path,
            r#"listen = "127.0.0.1:8443"
public_url = "https://localhost:8443"
data_dir = "data"
consumers = "/etc/spolis/consumers.toml"
[tls]
certificate = "server.crt"
private_key = "server.key"
client_ca = "ca.crt"
"#,
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.data_dir, dir.path().join("data"));
        assert_eq!(config.consumers, PathBuf::from("/etc/spolis/consumers.toml"));
        assert_eq!(config.limits.max_body_bytes, 4 * 1024 * 1024);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nlisten_port = 3\n").unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");
    }
}
