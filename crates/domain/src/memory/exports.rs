//! Export documents, in memory: tests read back what was written.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, round_trip};
use crate::error::DomainError;
use crate::export::ExportWriter;

/// Written export documents by key.
#[derive(Default)]
pub struct MemoryExports {
    documents: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryExports {
    /// Every document written, by key.
    pub fn documents(&self) -> BTreeMap<String, Vec<u8>> {
        lock(&self.documents).clone()
    }
}

#[async_trait]
impl ExportWriter for MemoryExports {
    async fn write(&self, key: &str, body: Vec<u8>) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.documents).insert(key.to_owned(), body);
        Ok(())
    }
}
