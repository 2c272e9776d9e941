//! The audit log: one durable, tamper-evident record per call, written before any answer
//! leaves (fail closed), kept two years, exported on written request.
//!
//! - `record`: the fields and their canonical encoding;
//! - `writer`: the thread that appends records in group-committed, hash-chained batches and
//!   signs checkpoints of the chain head;
//! - `signing`: the audit's own Ed25519 key;
//! - `verify`, `export`, `prune`: the `spolis-adapter audit …` commands;
//! - `sqlite`: the storage (its own file, `audit.sqlite3`, beside the register).
//!
//! The pipeline calls [`AuditLog::append`] from one place (`service`), never from handlers.

pub mod export;
pub mod prune;
pub mod record;
pub mod signing;
pub mod sqlite;
pub mod verify;
pub mod writer;

pub use record::AuditRecord;
pub use signing::AuditSigner;
pub use writer::{AuditError, AuditLog, WriterOptions};

/// The signing key's file name in the data directory, unless configured elsewhere.
pub const SIGNING_KEY_FILE: &str = "audit-signing.key";
