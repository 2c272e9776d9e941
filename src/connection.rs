//! What keeps one caller from holding connection slots: counts of open connections per key
//! (client address, certificate) with guards that give the slot back when dropped, and a
//! per-connection watchdog that closes a connection whose client never says anything after
//! the handshake, or that has had no request in flight for the idle timeout.

use std::collections::HashMap;
use std::hash::Hash;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// Open connections per key, each held by a [`Slot`].
pub struct Counts<K: Eq + Hash + Clone> {
    open: Mutex<HashMap<K, usize>>,
}

impl<K: Eq + Hash + Clone> Default for Counts<K> {
    fn default() -> Self {
        Counts { open: Mutex::new(HashMap::new()) }
    }
}

/// One counted connection; dropping it gives the slot back.
pub struct Slot<K: Eq + Hash + Clone> {
    counts: Arc<Counts<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> Counts<K> {
    /// A slot for `key`, unless `cap` connections with it are open already.
    pub fn try_take(self: &Arc<Self>, key: K, cap: usize) -> Option<Slot<K>> {
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(Slot { counts: self.clone(), key })
    }

    /// Connections open with `key` now.
    #[cfg(test)]
    pub fn open(&self, key: &K) -> usize {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key).copied().unwrap_or(0)
    }
}

impl<K: Eq + Hash + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            // Keys of closed connections are not kept: the map is as large as what is open.
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// At most one log line per interval for a kind of refusal, however many there are: a flood
/// of connections must not become a flood of log lines (the metrics count every one).
pub struct LogThrottle {
    started: std::time::Instant,
    interval_ms: u64,
    /// When a line was last let through, in milliseconds after `started` (+1; 0: never).
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl LogThrottle {
    pub fn new(interval: Duration) -> LogThrottle {
        LogThrottle {
            started: std::time::Instant::now(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            last_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be logged now, `n` being how many were left out since the
    /// last one; `None` when this one is left out.
    pub fn admit(&self) -> Option<u64> {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_add(1);
        let last = self.last_ms.load(Ordering::SeqCst);
        let due = last == 0 || now.saturating_sub(last) >= self.interval_ms;
        if due && self.last_ms.compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return Some(self.suppressed.swap(0, Ordering::SeqCst));
        }
        self.suppressed.fetch_add(1, Ordering::SeqCst);
        None
    }
}

/// Why the watchdog closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Nothing was received within the first-byte timeout after the handshake.
    FirstByte,
    /// No request was in flight for the idle timeout.
    Idle,
}

impl Expiry {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Expiry::FirstByte => "first_byte",
            Expiry::Idle => "idle",
        }
    }
}

/// What the watchdog watches on one connection: whether a byte has arrived, the requests in
/// flight (HTTP/2 has many), and when the last one ended.
pub struct Activity {
    started: Instant,
    received: AtomicBool,
    in_flight: AtomicUsize,
    /// When the connection last became idle, in milliseconds after `started`.
    idle_since_ms: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity { started: Instant::now(), received: AtomicBool::new(false), in_flight: AtomicUsize::new(0), idle_since_ms: AtomicU64::new(0) })
    }

    /// Marks a request in flight until the guard is dropped.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Resolves when the connection should be closed; never while a request is in flight.
    pub async fn expired(&self, first_byte_timeout: Duration, idle_timeout: Duration) -> Expiry {
        loop {
            let now = Instant::now();
            let (deadline, expiry) = if !self.received.load(Ordering::SeqCst) {
                (self.started + first_byte_timeout, Expiry::FirstByte)
            } else if self.in_flight.load(Ordering::SeqCst) > 0 {
                // Looked at again later: the request's own timeouts bound it meanwhile.
                (now + idle_timeout, Expiry::Idle)
            } else {
                (self.started + Duration::from_millis(self.idle_since_ms.load(Ordering::SeqCst)) + idle_timeout, Expiry::Idle)
            };
            if deadline <= now {
                return expiry;
            }
            // Activity meanwhile moves the deadline: it is computed again on waking.
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A request in flight on a connection.
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        let since = u64::try_from(activity.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        activity.idle_since_ms.fetch_max(since, Ordering::SeqCst);
        activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection's stream that tells its [`Activity`] when the first byte arrives.
pub struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Watched { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.received.store(true, Ordering::SeqCst);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_key_and_given_back() {
        let counts = Arc::new(Counts::<&str>::default());
        let first = counts.try_take("a", 2).expect("first");
        let _second = counts.try_take("a", 2).expect("second");
        assert!(counts.try_take("a", 2).is_none());
        assert!(counts.try_take("b", 2).is_some());
        drop(first);
        assert_eq!(counts.open(&"a"), 1);
        assert!(counts.try_take("a", 2).is_some());
    }

    #[test]
    fn log_lines_are_throttled_and_the_left_out_counted() {
        let throttle = LogThrottle::new(Duration::from_secs(3600));
        assert_eq!(throttle.admit(), Some(0));
        assert_eq!(throttle.admit(), None);
        assert_eq!(throttle.admit(), None);
        let every_time = LogThrottle::new(Duration::ZERO);
        assert_eq!(every_time.admit(), Some(0));
        assert_eq!(every_time.admit(), Some(0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_waits_for_the_first_byte_then_for_idleness() {
        let (first_byte, idle) = (Duration::from_secs(2), Duration::from_secs(5));
        let activity = Activity::new();
        let started = Instant::now();
        assert_eq!(activity.expired(first_byte, idle).await, Expiry::FirstByte);
        assert_eq!(started.elapsed(), first_byte);

        let activity = Activity::new();
        activity.received.store(true, Ordering::SeqCst);
        let request = activity.request();
        let watchdog = tokio::spawn({
            let activity = activity.clone();
            async move { (activity.expired(first_byte, idle).await, Instant::now()) }
        });
        // A request in flight far longer than the idle timeout keeps the connection.
        tokio::time::sleep(Duration::from_secs(12)).await;
        assert!(!watchdog.is_finished());
        drop(request);
        let ended = Instant::now();
        let (expiry, at) = watchdog.await.unwrap();
        assert_eq!(expiry, Expiry::Idle);
        assert!(at >= ended + idle && at <= ended + idle + idle, "closed {:?} after the request ended", at - ended);
    }
}
