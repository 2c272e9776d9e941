//! GetQueueStatistics: the queues' monthly statistics, read from the aggregates the import
//! keeps; no person's row is read.

use crate::model::{QueueStatistics, QueueStatisticsQuery};
use crate::store::{Store, StoreError};

pub(super) async fn apply(store: &Store, query: QueueStatisticsQuery) -> Result<QueueStatistics, StoreError> {
    store.queue_statistics(query).await
}
