//! CPU-bound work of a call (parsing its document; verifying its signature) runs here, off
//! the async workers, at most one job per core at a time: however expensive one caller's
//! request is, the workers stay free to accept, read and answer every other connection, and
//! such jobs queue in order instead of crowding the cores.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

fn pool() -> &'static Arc<Semaphore> {
    static POOL: OnceLock<Arc<Semaphore>> = OnceLock::new();
    POOL.get_or_init(|| Arc::new(Semaphore::new(std::thread::available_parallelism().map_or(1, usize::from))))
}

/// Runs `work` on the blocking pool once a core is free; `Err` if it panicked.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, tokio::task::JoinError> {
    // The semaphore is never closed, so acquiring cannot fail; were it to, work runs anyway.
    let permit = pool().clone().acquire_owned().await.ok();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_off_the_async_worker() {
        // One worker thread: were the job run on it, the task that releases the job could not
        // run until the job gave up waiting.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let job = run(move || released.recv_timeout(std::time::Duration::from_secs(30)).is_ok());
        let releaser = tokio::spawn(async move { release.send(()).is_ok() });
        let (ran, sent) = tokio::join!(job, releaser);
        assert!(ran.unwrap() && sent.unwrap());
    }

    #[tokio::test]
    async fn a_panic_is_an_error_not_a_crash() {
        assert!(run(|| -> u8 { panic!("in a job") }).await.is_err());
        assert_eq!(run(|| 7).await.unwrap(), 7);
    }
}
