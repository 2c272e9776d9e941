//! Placeholder: the embedded SQLite store (being written).
use std::path::Path;

use super::StoreError;
use crate::model::*;

pub const DATABASE_FILE: &str = "spolis.sqlite3";

#[derive(Clone)]
pub struct SqliteStore;

impl SqliteStore {
    pub fn open(_path: &Path) -> Result<Self, StoreError> {
        Err(StoreError::Unavailable("not yet written".into()))
    }
    pub async fn application_list(&self, _q: ApplicationQuery) -> Result<ApplicationList, StoreError> {
        Err(StoreError::Unavailable("not yet written".into()))
    }
    pub async fn queue_status_list(&self, _q: QueueStatusQuery) -> Result<QueueStatusList, StoreError> {
        Err(StoreError::Unavailable("not yet written".into()))
    }
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
