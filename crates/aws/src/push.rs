//! The directory table as the store of Web Push: one `VAPID` item (the
//! deployment's key pair, made on first use) and one `PUSH#<sha-256 of the
//! endpoint>` item per browser subscription, listed per audience through
//! `byParent` (`parentKey` = `PUSHTO#STAFF` or `PUSHTO#CLIENT#<client>`,
//! `sortKey` = `PUSH#<id>`). None is a counted child.

use async_trait::async_trait;

use seccom_domain::error::DomainError;
use seccom_domain::ids::ClientId;
use seccom_domain::page::every_page;
use seccom_domain::response::push::{PushAudience, PushStore, PushSubscription, VapidKeys};

use crate::directory::{BY_PARENT, DirectoryTable, Placement};

const VAPID: &str = "VAPID";

fn subscription_key(id: &str) -> String {
    format!("PUSH#{id}")
}

fn audience_key(audience: PushAudience) -> String {
    match audience {
        PushAudience::Staff => "PUSHTO#STAFF".to_owned(),
        PushAudience::Client(client) => format!("PUSHTO#CLIENT#{client}"),
    }
}

#[async_trait]
impl PushStore for DirectoryTable {
    async fn vapid_keys(&self) -> Result<Option<VapidKeys>, DomainError> {
        self.get(VAPID).await
    }

    /// Saved only if absent, so containers starting together agree on one pair.
    async fn create_vapid_keys(&self, keys: &VapidKeys) -> Result<VapidKeys, DomainError> {
        let placement = Placement {
            pk: VAPID.to_owned(),
            entity: "VAPID",
            parent_key: None,
            sort_key: VAPID.to_owned(),
        };
        if self
            .put_if_absent(Self::encode(placement, keys)?, "save the VAPID key")
            .await?
        {
            return Ok(keys.clone());
        }
        self.vapid_keys()
            .await?
            .ok_or_else(|| DomainError::unavailable("cannot save the VAPID key", "saved but missing"))
    }

    async fn save_subscription(&self, subscription: &PushSubscription) -> Result<(), DomainError> {
        let placement = Placement {
            pk: subscription_key(&subscription.id),
            entity: "PUSH",
            parent_key: Some(audience_key(subscription.audience)),
            sort_key: subscription_key(&subscription.id),
        };
        self.put_items(vec![Self::encode(placement, subscription)?]).await
    }

    async fn subscription(&self, id: &str) -> Result<Option<PushSubscription>, DomainError> {
        self.get(&subscription_key(id)).await
    }

    async fn remove_subscription(&self, subscription: &PushSubscription) -> Result<bool, DomainError> {
        self.delete_uncounted(&subscription_key(&subscription.id)).await
    }

    async fn subscriptions(&self, audience: PushAudience) -> Result<Vec<PushSubscription>, DomainError> {
        every_page(|page| async move {
            self.query_in_order(BY_PARENT, ("parentKey", audience_key(audience)), "PUSH#", &page, true)
                .await
        })
        .await
    }

    async fn erase_client(&self, client: ClientId) -> Result<u32, DomainError> {
        self.delete_listed(
            audience_key(PushAudience::Client(client)),
            "PUSH#",
            "a client's push subscriptions",
        )
        .await
    }
}
