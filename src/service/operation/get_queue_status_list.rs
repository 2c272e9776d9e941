//! EP116 GetQueueStatusList: one person's queue events and, for each queue they wait in
//! now, their position in it.

use crate::model::QueueStatusList;
use crate::soap::payload::GetQueueStatusList;
use crate::store::{Store, StoreError};

pub(super) async fn apply(store: &Store, request: GetQueueStatusList) -> Result<QueueStatusList, StoreError> {
    store.queue_status_list(request.query).await
}
