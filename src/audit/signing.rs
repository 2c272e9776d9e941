//! The audit log's own signing key (Ed25519): it signs checkpoints of the chain head, so that
//! rewriting the log — even recomputing every hash — is detected by anyone holding the public
//! key. The key is kept apart from the TLS key on purpose: certificates are renewed, the
//! audit key must outlive two years of records.
//!
//! Files: the PKCS#8 private key (mode 0600) and beside it `<name>.pub`, the public key in
//! hex. Keep a copy of the `.pub` file away from the server: `audit verify --public-key`
//! then does not have to trust the machine whose log it checks.

use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};

/// Domain separation for checkpoint signatures: a signed head…
const CHECKPOINT_DOMAIN: &[u8] = b"spolis-adapter audit checkpoint v1";
/// …and a prune marker, which no signed head can be passed off as.
const PRUNE_MARKER_DOMAIN: &[u8] = b"spolis-adapter audit prune marker v1";

/// What a checkpoint says about the chain head it signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointKind {
    /// The head reached while records were appended.
    Head,
    /// The last record `audit prune` removed: the remaining chain starts after it.
    Prune,
}

impl CheckpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::Head => "head",
            CheckpointKind::Prune => "prune",
        }
    }

    pub fn parse(text: &str) -> Option<CheckpointKind> {
        match text {
            "head" => Some(CheckpointKind::Head),
            "prune" => Some(CheckpointKind::Prune),
            _ => None,
        }
    }

    fn domain(self) -> &'static [u8] {
        match self {
            CheckpointKind::Head => CHECKPOINT_DOMAIN,
            CheckpointKind::Prune => PRUNE_MARKER_DOMAIN,
        }
    }
}

/// Why an audit signing key file, or its public key file, cannot be used; each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditKeyError {
    #[error("cannot generate the audit signing key")]
    Generate,
    #[error("cannot create {}", .path.display())]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot restrict {} to its owner", .path.display())]
    Restrict { path: PathBuf, source: std::io::Error },
    #[error("cannot read the audit signing key {}", .path.display())]
    ReadPrivate { path: PathBuf, source: std::io::Error },
    #[error("{} is not an Ed25519 PKCS#8 key", .path.display())]
    NotEd25519 { path: PathBuf },
    #[error("cannot read {}", .path.display())]
    ReadPublic { path: PathBuf, source: std::io::Error },
    #[error("{} is not a hex public key", .path.display())]
    PublicNotHex { path: PathBuf, source: hex::FromHexError },
    #[error("{} is not an Ed25519 public key (32 bytes)", .path.display())]
    PublicLength { path: PathBuf },
}

pub struct AuditSigner {
    key: Ed25519KeyPair,
}

impl AuditSigner {
    /// Loads the key at `path`, creating it (and its `.pub`) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<AuditSigner, AuditKeyError> {
        if !path.exists() {
            let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| AuditKeyError::Generate)?;
            write_private(path, document.as_ref())?;
        }
        crate::private_files::tighten(path).map_err(|source| AuditKeyError::Restrict { path: path.to_path_buf(), source })?;
        let bytes = std::fs::read(path).map_err(|source| AuditKeyError::ReadPrivate { path: path.to_path_buf(), source })?;
        let key = Ed25519KeyPair::from_pkcs8(&bytes).map_err(|_| AuditKeyError::NotEd25519 { path: path.to_path_buf() })?;
        let signer = AuditSigner { key };
        let public_path = public_key_path(path);
        if !public_path.exists() {
            std::fs::write(&public_path, format!("{}\n", hex::encode(signer.public_key())))
                .map_err(|source| AuditKeyError::Write { path: public_path, source })?;
        }
        Ok(signer)
    }

    pub fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }

    /// The key's id: hex SHA-256 of the public key.
    pub fn key_id(&self) -> String {
        key_id(self.public_key())
    }

    pub fn sign_checkpoint(&self, seq: i64, head_hash: &[u8; 32], signed_at_micros: i64) -> Vec<u8> {
        self.sign(CheckpointKind::Head, seq, head_hash, signed_at_micros)
    }

    pub fn sign(&self, kind: CheckpointKind, seq: i64, head_hash: &[u8; 32], signed_at_micros: i64) -> Vec<u8> {
        self.key.sign(&checkpoint_message(kind, seq, head_hash, signed_at_micros)).as_ref().to_vec()
    }
}

pub fn key_id(public_key: &[u8]) -> String {
    hex::encode(Sha256::digest(public_key))
}

/// Whether `signature` is `public_key`'s signature of this checkpoint of this kind.
pub fn verify_checkpoint(public_key: &[u8], kind: CheckpointKind, seq: i64, head_hash: &[u8], signed_at_micros: i64, signature: &[u8]) -> bool {
    let Ok(head_hash) = <[u8; 32]>::try_from(head_hash) else { return false };
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(&checkpoint_message(kind, seq, &head_hash, signed_at_micros), signature)
        .is_ok()
}

fn checkpoint_message(kind: CheckpointKind, seq: i64, head_hash: &[u8; 32], signed_at_micros: i64) -> Vec<u8> {
    let domain = kind.domain();
    let mut message = Vec::with_capacity(domain.len() + 48);
    message.extend_from_slice(domain);
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(head_hash);
    message.extend_from_slice(&signed_at_micros.to_be_bytes());
    message
}

/// `<key>.pub` beside the private key.
pub fn public_key_path(private_key: &Path) -> PathBuf {
    let mut name = private_key.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".pub");
    private_key.with_file_name(name)
}

/// Reads a public key file: 64 hex digits.
pub fn read_public_key(path: &Path) -> Result<Vec<u8>, AuditKeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuditKeyError::ReadPublic { path: path.to_path_buf(), source })?;
    let key = hex::decode(text.trim()).map_err(|source| AuditKeyError::PublicNotHex { path: path.to_path_buf(), source })?;
    if key.len() != 32 {
        return Err(AuditKeyError::PublicLength { path: path.to_path_buf() });
    }
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuditKeyError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| AuditKeyError::Create { path: path.to_path_buf(), source })?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|source| AuditKeyError::Write { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_signs_checkpoints_that_verify_and_only_those() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-signing.key");
        let signer = AuditSigner::load_or_create(&path).unwrap();
        let again = AuditSigner::load_or_create(&path).unwrap();
        assert_eq!(signer.public_key(), again.public_key());
        assert_eq!(read_public_key(&public_key_path(&path)).unwrap(), signer.public_key());
        let head = [7u8; 32];
        let signature = signer.sign_checkpoint(42, &head, 1000);
        let head_kind = CheckpointKind::Head;
        assert!(verify_checkpoint(signer.public_key(), head_kind, 42, &head, 1000, &signature));
        assert!(!verify_checkpoint(signer.public_key(), head_kind, 43, &head, 1000, &signature));
        assert!(!verify_checkpoint(signer.public_key(), head_kind, 42, &[8u8; 32], 1000, &signature));
        // A signed head is no prune marker, nor the other way round.
        assert!(!verify_checkpoint(signer.public_key(), CheckpointKind::Prune, 42, &head, 1000, &signature));
        let marker = signer.sign(CheckpointKind::Prune, 42, &head, 1000);
        assert!(verify_checkpoint(signer.public_key(), CheckpointKind::Prune, 42, &head, 1000, &marker));
        assert!(!verify_checkpoint(signer.public_key(), head_kind, 42, &head, 1000, &marker));
    }
}
