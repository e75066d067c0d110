//! Retention periods, legal holds, erasure jobs, the footage buckets and the
//! erasure queue, in memory.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, page_of, round_trip};
use crate::error::DomainError;
use crate::ids::{ClientId, ErasureId, IntrusionId};
use crate::media::Store;
use crate::page::{Page, PageRequest};
use crate::retention::erasure::ErasureJob;
use crate::retention::ports::{ErasureQueue, Footage, RetentionStore};
use crate::retention::{ClientRetention, LegalHold};

/// Periods and holds, in memory.
#[derive(Default)]
pub struct MemoryRetention {
    periods: Mutex<HashMap<ClientId, ClientRetention>>,
    holds: Mutex<HashMap<IntrusionId, LegalHold>>,
    erasures: Mutex<HashMap<ErasureId, ErasureJob>>,
}

#[async_trait]
impl RetentionStore for MemoryRetention {
    async fn retention(&self, client: ClientId) -> Result<Option<ClientRetention>, DomainError> {
        round_trip().await;
        Ok(lock(&self.periods).get(&client).cloned())
    }

    async fn save_retention(&self, retention: &ClientRetention) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.periods).insert(retention.client_id, retention.clone());
        Ok(())
    }

    async fn hold(&self, intrusion: IntrusionId) -> Result<Option<LegalHold>, DomainError> {
        round_trip().await;
        Ok(lock(&self.holds).get(&intrusion).cloned())
    }

    async fn place_hold(&self, hold: &LegalHold) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.holds).insert(hold.intrusion_id, hold.clone());
        Ok(())
    }

    async fn release_hold(&self, hold: &LegalHold) -> Result<bool, DomainError> {
        round_trip().await;
        Ok(lock(&self.holds).remove(&hold.intrusion_id).is_some())
    }

    async fn holds(&self, client: Option<ClientId>, page: &PageRequest) -> Result<Page<LegalHold>, DomainError> {
        round_trip().await;
        let mut holds: Vec<LegalHold> = lock(&self.holds)
            .values()
            .filter(|h| client.is_none_or(|c| h.client_id == c))
            .cloned()
            .collect();
        holds.sort_by_key(|h| std::cmp::Reverse(h.placed_at));
        page_of(&holds, page)
    }

    async fn erase_client(&self, client: ClientId) -> Result<u32, DomainError> {
        round_trip().await;
        Ok(u32::from(lock(&self.periods).remove(&client).is_some()))
    }

    async fn save_erasure(&self, job: &ErasureJob) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.erasures).insert(job.id, job.clone());
        Ok(())
    }

    async fn erasure(&self, id: ErasureId) -> Result<Option<ErasureJob>, DomainError> {
        round_trip().await;
        Ok(lock(&self.erasures).get(&id).cloned())
    }

    async fn erasures(&self, client: Option<ClientId>, page: &PageRequest) -> Result<Page<ErasureJob>, DomainError> {
        round_trip().await;
        let mut jobs: Vec<ErasureJob> = lock(&self.erasures)
            .values()
            .filter(|j| client.is_none_or(|c| j.client_id == c))
            .cloned()
            .collect();
        jobs.sort_by_key(|j| std::cmp::Reverse(j.requested_at));
        page_of(&jobs, page)
    }
}

/// The frames and clips buckets' keys, in memory: tests put keys and see which remain.
#[derive(Default)]
pub struct MemoryFootage {
    objects: Mutex<BTreeSet<(u8, String)>>,
}

fn bucket(store: Store) -> u8 {
    match store {
        Store::Frames => 0,
        Store::Clips => 1,
    }
}

impl MemoryFootage {
    /// Stores an object under `key`.
    pub fn put(&self, store: Store, key: impl Into<String>) {
        lock(&self.objects).insert((bucket(store), key.into()));
    }

    /// Whether `key` is stored.
    pub fn has(&self, store: Store, key: &str) -> bool {
        lock(&self.objects).contains(&(bucket(store), key.to_owned()))
    }
}

#[async_trait]
impl Footage for MemoryFootage {
    async fn delete(&self, store: Store, keys: &[String]) -> Result<(), DomainError> {
        round_trip().await;
        let mut objects = lock(&self.objects);
        for key in keys {
            objects.remove(&(bucket(store), key.clone()));
        }
        Ok(())
    }

    async fn delete_prefix(&self, store: Store, prefix: &str) -> Result<u32, DomainError> {
        round_trip().await;
        let mut objects = lock(&self.objects);
        let before = objects.len();
        objects.retain(|(of, key)| *of != bucket(store) || !key.starts_with(prefix));
        Ok(u32::try_from(before - objects.len()).unwrap_or(u32::MAX))
    }
}

/// The erasure queue in memory: jobs wait until a test takes them.
#[derive(Default)]
pub struct MemoryErasureQueue {
    waiting: Mutex<Vec<ErasureId>>,
}

impl MemoryErasureQueue {
    /// Takes every waiting job, oldest first.
    pub fn take(&self) -> Vec<ErasureId> {
        std::mem::take(&mut *lock(&self.waiting))
    }
}

#[async_trait]
impl ErasureQueue for MemoryErasureQueue {
    async fn start(&self, job: ErasureId) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.waiting).push(job);
        Ok(())
    }
}
