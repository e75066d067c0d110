//! Web Push in memory: the subscriptions and VAPID key store, and a push
//! service that keeps what it was sent and answers "gone" for endpoints a
//! test retired.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, round_trip};
use crate::error::DomainError;
use crate::ids::ClientId;
use crate::response::push::{
    PushAudience, PushMessage, PushOutcome, PushSender, PushStore, PushSubscription, VapidKeys,
};

/// Subscriptions by id, and the key pair.
#[derive(Default)]
pub struct MemoryPush {
    keys: Mutex<Option<VapidKeys>>,
    subscriptions: Mutex<BTreeMap<String, PushSubscription>>,
}

#[async_trait]
impl PushStore for MemoryPush {
    async fn vapid_keys(&self) -> Result<Option<VapidKeys>, DomainError> {
        round_trip().await;
        Ok(lock(&self.keys).clone())
    }

    async fn create_vapid_keys(&self, keys: &VapidKeys) -> Result<VapidKeys, DomainError> {
        round_trip().await;
        Ok(lock(&self.keys).get_or_insert_with(|| keys.clone()).clone())
    }

    async fn save_subscription(&self, subscription: &PushSubscription) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.subscriptions).insert(subscription.id.clone(), subscription.clone());
        Ok(())
    }

    async fn subscription(&self, id: &str) -> Result<Option<PushSubscription>, DomainError> {
        round_trip().await;
        Ok(lock(&self.subscriptions).get(id).cloned())
    }

    async fn remove_subscription(&self, subscription: &PushSubscription) -> Result<bool, DomainError> {
        round_trip().await;
        Ok(lock(&self.subscriptions).remove(&subscription.id).is_some())
    }

    async fn subscriptions(&self, audience: PushAudience) -> Result<Vec<PushSubscription>, DomainError> {
        round_trip().await;
        Ok(lock(&self.subscriptions)
            .values()
            .filter(|s| s.audience == audience)
            .cloned()
            .collect())
    }

    async fn erase_client(&self, client: ClientId) -> Result<u32, DomainError> {
        round_trip().await;
        let mut subscriptions = lock(&self.subscriptions);
        let before = subscriptions.len();
        subscriptions.retain(|_, s| s.audience != PushAudience::Client(client));
        Ok(u32::try_from(before - subscriptions.len()).unwrap_or(u32::MAX))
    }
}

/// A push service: what each endpoint was sent, and the endpoints that are gone.
#[derive(Default)]
pub struct MemoryPushService {
    sent: Mutex<Vec<(String, PushMessage)>>,
    gone: Mutex<HashSet<String>>,
}

impl MemoryPushService {
    /// Everything sent, oldest first, with its endpoint.
    pub fn sent(&self) -> Vec<(String, PushMessage)> {
        lock(&self.sent).clone()
    }

    /// From now on `endpoint` answers 410 Gone.
    pub fn retire(&self, endpoint: &str) {
        lock(&self.gone).insert(endpoint.to_owned());
    }
}

#[async_trait]
impl PushSender for MemoryPushService {
    async fn send(&self, _keys: &VapidKeys, to: &PushSubscription, message: &PushMessage) -> PushOutcome {
        round_trip().await;
        if lock(&self.gone).contains(&to.endpoint) {
            return PushOutcome::Gone;
        }
        lock(&self.sent).push((to.endpoint.clone(), message.clone()));
        PushOutcome::Delivered
    }
}
