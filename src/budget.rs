//! One budget for the request bytes buffered at once by all connections together
//! (`[limits] max_buffered_request_bytes`): without it, every connection × every HTTP/2
//! stream × the body limit could be held in memory. A request reserves its bytes before it
//! buffers them and gives them back when its answer is ready; one that cannot get them within
//! `buffer_wait_milliseconds` is refused (`ServiceBusy`). Callers whose certificate is
//! registered to no consumer share one eighth of the budget, so that they cannot take it all.

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The budget, shared by all connections.
pub struct BodyBudget {
    all: Arc<Semaphore>,
    unregistered: Arc<Semaphore>,
    /// Bytes reserved now (`spolis_buffered_request_bytes`).
    in_use: Gauge<i64, AtomicI64>,
}

/// Bytes reserved for one request, given back when dropped.
#[derive(Default)]
pub struct Reservation {
    permits: Vec<OwnedSemaphorePermit>,
    bytes: usize,
    in_use: Option<Gauge<i64, AtomicI64>>,
}

impl Reservation {
    /// Bytes reserved.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(in_use) = &self.in_use {
            in_use.dec_by(i64::try_from(self.bytes).unwrap_or(i64::MAX));
        }
    }
}

/// The budget had no room in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

impl BodyBudget {
    pub fn new(bytes: usize, in_use: Gauge<i64, AtomicI64>) -> BodyBudget {
        let bytes = bytes.min(Semaphore::MAX_PERMITS);
        BodyBudget { all: Arc::new(Semaphore::new(bytes)), unregistered: Arc::new(Semaphore::new(bytes / 8)), in_use }
    }

    /// Adds `bytes` to `reservation`, waiting for room until `deadline`. Waiters are served
    /// in order, so a large request is not starved by small ones.
    pub async fn reserve(&self, reservation: &mut Reservation, bytes: usize, registered: bool, deadline: Instant) -> Result<(), Exhausted> {
        if bytes == 0 {
            return Ok(());
        }
        let count = u32::try_from(bytes).map_err(|_| Exhausted)?;
        let pools = if registered { vec![&self.all] } else { vec![&self.unregistered, &self.all] };
        let mut permits = Vec::with_capacity(2);
        for pool in pools {
            // The semaphores are never closed; an error is only the deadline.
            match tokio::time::timeout_at(deadline, pool.clone().acquire_many_owned(count)).await {
                Ok(Ok(permit)) => permits.push(permit),
                _ => return Err(Exhausted),
            }
        }
        reservation.permits.extend(permits);
        reservation.bytes += bytes;
        self.in_use.inc_by(i64::from(count));
        reservation.in_use.get_or_insert_with(|| self.in_use.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn reservations_wait_for_room_then_give_up() {
        let budget = BodyBudget::new(1000, Gauge::default());
        let soon = || Instant::now() + Duration::from_millis(100);
        let mut first = Reservation::default();
        budget.reserve(&mut first, 600, true, soon()).await.unwrap();
        let mut second = Reservation::default();
        assert_eq!(budget.reserve(&mut second, 600, true, soon()).await, Err(Exhausted));
        assert_eq!(budget.in_use.get(), 600);
        // Room made while waiting is taken.
        let waiting = async {
            let mut second = Reservation::default();
            budget.reserve(&mut second, 600, true, soon()).await.map(|_| second)
        };
        let (second, _) = tokio::join!(waiting, async { drop(first) });
        assert_eq!(second.unwrap().bytes(), 600);
        assert_eq!(budget.in_use.get(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn unregistered_callers_share_an_eighth() {
        let budget = BodyBudget::new(8000, Gauge::default());
        let soon = || Instant::now() + Duration::from_millis(100);
        let mut unregistered = Reservation::default();
        budget.reserve(&mut unregistered, 1000, false, soon()).await.unwrap();
        assert_eq!(budget.reserve(&mut Reservation::default(), 1, false, soon()).await, Err(Exhausted));
        let mut registered = Reservation::default();
        budget.reserve(&mut registered, 7000, true, soon()).await.unwrap();
        assert_eq!(budget.reserve(&mut Reservation::default(), 1, true, soon()).await, Err(Exhausted));
    }
}
