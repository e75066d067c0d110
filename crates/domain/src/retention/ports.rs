//! The ports retention and erasure reach the world through: where each
//! client's period, the legal holds and the erasure jobs are kept (the
//! directory table; in memory for tests), the buckets footage is deleted from
//! (S3), and the queue that starts an erasure (SQS).

use async_trait::async_trait;

use super::erasure::ErasureJob;
use super::{ClientRetention, LegalHold};
use crate::error::DomainError;
use crate::ids::{ClientId, ErasureId, IntrusionId};
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
    /// Forgets a client's period (its holds stay, with what they keep);
    /// answers how many records were deleted.
    async fn erase_client(&self, client: ClientId) -> Result<u32, DomainError>;
    /// Saves an erasure job as it now stands.
    async fn save_erasure(&self, job: &ErasureJob) -> Result<(), DomainError>;
    /// An erasure job, if there is one.
    async fn erasure(&self, id: ErasureId) -> Result<Option<ErasureJob>, DomainError>;
    /// Erasure jobs newest first: one client's, or every client's.
    async fn erasures(&self, client: Option<ClientId>, page: &PageRequest) -> Result<Page<ErasureJob>, DomainError>;
}

/// The buckets footage (snapshots, evidence frames, clips) is deleted from.
#[async_trait]
pub trait Footage: Send + Sync {
    /// Deletes `keys` from `store`; a key already gone is no error.
    async fn delete(&self, store: Store, keys: &[String]) -> Result<(), DomainError>;
    /// Deletes every object under `prefix` in `store`; answers how many.
    async fn delete_prefix(&self, store: Store, prefix: &str) -> Result<u32, DomainError>;
}

/// Where an erasure job waits for the function that carries it out; a job is
/// handed over again until it is done.
#[async_trait]
pub trait ErasureQueue: Send + Sync {
    /// Asks for `job` to be carried out.
    async fn start(&self, job: ErasureId) -> Result<(), DomainError>;
}
