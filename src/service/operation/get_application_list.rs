//! EP115 GetApplicationList: one person's applications for long-term social care and
//! rehabilitation, with the decisions taken on them.

use crate::model::ApplicationList;
use crate::soap::payload::GetApplicationList;
use crate::store::{Store, StoreError};

pub(super) async fn apply(store: &Store, request: GetApplicationList) -> Result<ApplicationList, StoreError> {
    store.application_list(request.query).await
}
