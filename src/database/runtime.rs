//! Synchronous callers (start-up, the CLI, the audit commands, scheduled pruning) reach the
//! async database drivers through a runtime of their own on a thread of their own, so they
//! may be called from inside another runtime without blocking its workers.

use std::future::Future;

use super::DatabaseError;

/// Runs the future `make` returns on a current-thread runtime of its own, on a thread of
/// its own, and waits for it. Blocks the calling thread.
pub fn block_on<T, E, F, Fut>(make: F) -> Result<T, E>
where
    T: Send,
    E: From<DatabaseError> + Send,
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = Result<T, E>>,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| DatabaseError::Unavailable(format!("cannot start a runtime: {e}")))?;
                runtime.block_on(make())
            })
            .join()
            .unwrap_or_else(|_| Err(DatabaseError::Unavailable("a database worker stopped unexpectedly".into()).into()))
    })
}
