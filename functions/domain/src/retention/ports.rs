//! The ports retention reaches the world through: where each client's period
//! and the legal holds are kept (the directory table; in memory for tests),
//! and the buckets footage is deleted from (S3).

use async_trait::async_trait;

use super::{ClientRetention, LegalHold};
use crate::error::DomainError;
use crate::ids::{ClientId, IntrusionId};
use crate::media::Store;
use crate::page::{Page, PageRequest};

/// Each client's retention period and the legal holds on intrusions.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// The period staff set for a client; `None` while the default applies.
    async fn retention(&self, client: ClientId) -> Result<Option<ClientRetention>, DomainError>;
    /// Replaces a client's period.
    async fn save_retention(&self, retention: &ClientRetention) -> Result<(), DomainError>;
    /// The hold on an intrusion, if there is one.
    async fn hold(&self, intrusion: IntrusionId) -> Result<Option<LegalHold>, DomainError>;
    /// Places (or replaces) the hold on an intrusion.
    async fn place_hold(&self, hold: &LegalHold) -> Result<(), DomainError>;
    /// Releases the hold on an intrusion; `false` when there was none.
    async fn release_hold(&self, hold: &LegalHold) -> Result<bool, DomainError>;
    /// Holds newest first: one client's, or every client's.
    async fn holds(&self, client: Option<ClientId>, page: &PageRequest) -> Result<Page<LegalHold>, DomainError>;
}

/// The buckets footage (snapshots, evidence frames, clips) is deleted from.
#[async_trait]
pub trait Footage: Send + Sync {
    /// Deletes `keys` from `store`; a key already gone is no error.
    async fn delete(&self, store: Store, keys: &[String]) -> Result<(), DomainError>;
}
