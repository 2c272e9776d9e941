//! Configuration that can be replaced while the service runs (SIGHUP): the consumer
//! registry, the TLS configuration (server certificate, client CAs, CRLs) and the key that
//! signs answers. A reload builds everything new first and swaps only when all of it loaded,
//! so a broken file leaves the old configuration in force; connections already open keep the
//! TLS session they have, and calls in flight finish with the registry they started with.

use std::sync::{Arc, RwLock};

use crate::config::Config;
use crate::http::App;
use crate::identity::{ConsumerRegistry, RegistryError};
use crate::tls::{self, TlsSetupError};
use crate::wssec::sign::{AnswerSigner, AnswerSignerError};

/// A value readers take a snapshot of, and a reload replaces as a whole.
#[derive(Debug)]
pub struct Swappable<T>(RwLock<Arc<T>>);

impl<T> Swappable<T> {
    pub fn new(value: T) -> Self {
        Swappable(RwLock::new(Arc::new(value)))
    }

    pub fn from_arc(value: Arc<T>) -> Self {
        Swappable(RwLock::new(value))
    }

    /// The value now in force. Cheap: one read lock and an `Arc` clone.
    pub fn current(&self) -> Arc<T> {
        // A poisoned lock means a panic while swapping an Arc: the Arc itself is intact.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, value: Arc<T>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = value;
    }
}

/// Why a reload was refused (the configuration in force stays); each names its file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    AnswerSigner(#[from] AnswerSignerError),
}

/// Replaces the reloadable parts of a running service.
#[derive(Clone)]
pub struct Reloader {
    pub tls: Arc<Swappable<tls::TlsState>>,
    pub app: Arc<App>,
}

impl Reloader {
    /// Loads the registry, TLS files and answer-signing key named by `config`; swaps them in
    /// only if every one of them loaded. Returns a one-line summary for the log.
    pub fn reload(&self, config: &Config) -> Result<String, ReloadError> {
        // The CRLs in force are passed on so that a reload cannot roll one back either.
        let tls = Arc::new(tls::TlsState::load(&config.tls, Some(&self.tls.current()))?);
        let registry = ConsumerRegistry::load(&config.consumers)?;
        let signer = match config.security.sign_answers {
            true => Some(AnswerSigner::load(
                &config.tls.certificate,
                &config.tls.private_key,
                chrono::Duration::seconds(i64::try_from(config.security.answer_validity_seconds.max(1)).unwrap_or(300)),
            )?),
            false => None,
        };
        let consumers = registry.len();
        self.tls.replace(tls);
        self.app.services.registry.replace(Arc::new(registry));
        self.app.services.security.signer.replace(Arc::new(signer));
        Ok(format!("{consumers} consumers, TLS certificate, client CAs, CRLs and answer-signing key reloaded"))
    }
}
