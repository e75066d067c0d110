//! Media links, in memory: a readable stand-in for a presigned URL that names
//! the store, the key and how long it lasts, so tests can see what was linked.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::DomainError;
use crate::media::{LinkSigner, Store};

/// Signs links as `memory://<store>/<key>?lifetime=<seconds>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryLinks;

#[async_trait]
impl LinkSigner for MemoryLinks {
    async fn link(&self, store: Store, key: &str, lifetime: Duration) -> Result<String, DomainError> {
        let store = match store {
            Store::Frames => "frames",
            Store::Clips => "clips",
        };
        Ok(format!("memory://{store}/{key}?lifetime={}", lifetime.as_secs()))
    }
}
