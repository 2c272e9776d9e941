//! EP116 GetQueueStatusList: one person's queue events and, for each queue they wait in
//! now, their position in it and the wait to expect there.

use chrono::NaiveDate;

use crate::model::{QueueStatusList, QueueStatusQuery};
use crate::soap::payload::GetQueueStatusList;
use crate::store::{Store, StoreError};

/// `today` is the day of the call: the estimated waits count back from it when the request
/// names no `AsOf` (and the register's as-of day is not earlier).
pub(super) async fn apply(store: &Store, request: GetQueueStatusList, today: NaiveDate) -> Result<QueueStatusList, StoreError> {
    store.queue_status_list(QueueStatusQuery { today: Some(today), ..request.query }).await
}
