//! Web Push: a signed-in operator or client user who opted in is told of a new
//! intrusion by the browser even with the portal closed. The browser's push
//! subscription (its push service's endpoint and the keys to encrypt for it)
//! is saved for the user's audience: SecCom staff see every intrusion, a
//! client's users their own. When an intrusion opens, the responder queues
//! one push; the notifier sends it, encrypted for each subscription (RFC 8291)
//! and signed with the deployment's VAPID key (RFC 8292), and forgets the
//! subscriptions the push service says are gone. Web Push is a convenience on
//! top of the recorded notifications (e-mail, SMS, webhooks): a push that
//! fails is logged, not retried.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Principal, Role};
use crate::clock::Clock;
use crate::destinations::Destinations;
use crate::error::DomainError;
use crate::ids::{ClientId, IntrusionId};
use crate::values::FieldError;

/// The deployment's VAPID key pair (P-256), base64url without padding: the
/// raw private scalar and the uncompressed public point browsers subscribe with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VapidKeys {
    pub private_key: String,
    pub public_key: String,
}

impl VapidKeys {
    /// A fresh key pair.
    pub fn generate() -> Result<Self, DomainError> {
        use aws_lc_rs::agreement::{ECDH_P256, PrivateKey};
        use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
        let failed = |e: aws_lc_rs::error::Unspecified| DomainError::unavailable("cannot make a VAPID key", e);
        let private = PrivateKey::generate(&ECDH_P256).map_err(failed)?;
        let scalar: EcPrivateKeyBin<'_> = private.as_be_bytes().map_err(failed)?;
        let public = private.compute_public_key().map_err(failed)?;
        Ok(Self {
            private_key: URL_SAFE_NO_PAD.encode(scalar.as_ref()),
            public_key: URL_SAFE_NO_PAD.encode(public.as_ref()),
        })
    }
}

/// Whose intrusions a subscription is told of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "clientId")]
pub enum PushAudience {
    /// SecCom staff: every client's.
    Staff,
    /// One client's users.
    Client(ClientId),
}

/// A browser's push subscription, as saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscription {
    /// The SHA-256 of the endpoint, in hex: one subscription per endpoint.
    pub id: String,
    pub endpoint: String,
    /// The browser's P-256 public key and authentication secret, base64url.
    pub p256dh: String,
    pub auth: String,
    pub audience: PushAudience,
    /// The identity provider's id of the user who subscribed.
    pub subject: String,
    pub created_at: DateTime<Utc>,
}

/// A subscription to save: the portal's form sends it flat.
#[derive(Clone, Debug, Deserialize)]
pub struct SubscriptionBody {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// Body of `POST /api/push-subscriptions`: the browser's `PushSubscription.toJSON()`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushSubscriptionJson {
    /// The push service's URL for this browser (https).
    #[schema(max_length = 2048)]
    pub endpoint: String,
    /// When the push service will end it, if it says (milliseconds since the epoch).
    #[serde(default)]
    pub expiration_time: Option<f64>,
    pub keys: PushKeysJson,
}

/// The keys of a browser's subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushKeysJson {
    /// The browser's P-256 public key (uncompressed, base64url).
    pub p256dh: String,
    /// The browser's 16-byte authentication secret (base64url).
    pub auth: String,
}

impl From<PushSubscriptionJson> for SubscriptionBody {
    fn from(json: PushSubscriptionJson) -> Self {
        Self {
            endpoint: json.endpoint,
            p256dh: json.keys.p256dh,
            auth: json.keys.auth,
        }
    }
}

/// A saved subscription, as its user reads it back.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscriptionView {
    /// Its id: `DELETE /api/push-subscriptions/{id}` ends it.
    pub id: String,
    pub created_at: DateTime<Utc>,
}

/// The key browsers subscribe with (`applicationServerKey`).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushKeyView {
    /// The deployment's VAPID public key: an uncompressed P-256 point, base64url.
    pub public_key: String,
}

/// A push's content, as the service worker reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushMessage {
    pub title: String,
    pub body: String,
    /// The page the notification opens.
    pub url: String,
    /// One notification per intrusion: a second push replaces the first.
    pub tag: String,
}

/// A new intrusion to announce, queued by the responder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushDue {
    pub intrusion_id: IntrusionId,
    pub client_id: ClientId,
    pub title: String,
    pub body: String,
}

/// What a push service answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    Delivered,
    /// The subscription no longer exists (404 or 410): forget it.
    Gone,
    Failed(String),
}

/// Where subscriptions and the VAPID key are kept.
#[async_trait]
pub trait PushStore: Send + Sync {
    async fn vapid_keys(&self) -> Result<Option<VapidKeys>, DomainError>;
    /// Saves `keys` unless a pair was saved meanwhile; answers the pair kept.
    async fn create_vapid_keys(&self, keys: &VapidKeys) -> Result<VapidKeys, DomainError>;
    /// Saves (or replaces) a subscription.
    async fn save_subscription(&self, subscription: &PushSubscription) -> Result<(), DomainError>;
    async fn subscription(&self, id: &str) -> Result<Option<PushSubscription>, DomainError>;
    /// Forgets a subscription; `false` when it was not there.
    async fn remove_subscription(&self, subscription: &PushSubscription) -> Result<bool, DomainError>;
    /// Every subscription of `audience`.
    async fn subscriptions(&self, audience: PushAudience) -> Result<Vec<PushSubscription>, DomainError>;
    /// Forgets every subscription of a client's users; answers how many.
    async fn erase_client(&self, client: ClientId) -> Result<u32, DomainError>;
}

/// Sends one encrypted, VAPID-signed push.
#[async_trait]
pub trait PushSender: Send + Sync {
    async fn send(&self, keys: &VapidKeys, to: &PushSubscription, message: &PushMessage) -> PushOutcome;
}

/// What one announcement did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    pub delivered: u32,
    pub gone: u32,
    pub failed: u32,
}

/// A 422 naming `field`.
fn invalid(field: &str, reason: &str) -> DomainError {
    DomainError::Invalid(vec![FieldError {
        name: field.to_owned(),
        reason: reason.to_owned(),
    }])
}

/// A subscription's id: the hex SHA-256 of its user (and tenant) and endpoint, so the
/// same endpoint saved by another user is another subscription, never a
/// takeover of the first (its owner and audience rewritten, its alerts
/// silenced for its owner and sent to the taker).
pub fn subscription_id(who: &Principal, endpoint: &str) -> String {
    let tenant = who
        .tenant()
        .map_or_else(|| "staff".to_owned(), |client| client.to_string());
    crate::credential::hash(&format!("{}\n{tenant}\n{endpoint}", who.subject))
}

/// Whether `text` is base64url of `length` bytes.
fn decodes_to(text: &str, length: usize) -> bool {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .is_ok_and(|bytes| bytes.len() == length)
}

/// Whose intrusions `who` is told of.
fn audience_of(who: &Principal) -> PushAudience {
    match who.role {
        Role::Admin => PushAudience::Staff,
        Role::Client(client) => PushAudience::Client(client),
    }
}

/// The Web Push use cases.
#[derive(Clone)]
pub struct WebPush {
    store: Arc<dyn PushStore>,
    destinations: Destinations,
    clock: Arc<dyn Clock>,
}

impl WebPush {
    /// Subscriptions in `store`; endpoints must be addresses `destinations` allows.
    pub fn new(store: Arc<dyn PushStore>, destinations: Destinations, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            destinations,
            clock,
        }
    }

    /// The deployment's key pair, made on first use.
    pub async fn keys(&self) -> Result<VapidKeys, DomainError> {
        match self.store.vapid_keys().await? {
            Some(keys) => Ok(keys),
            None => self.store.create_vapid_keys(&VapidKeys::generate()?).await,
        }
    }

    /// The public key browsers subscribe with (`applicationServerKey`).
    pub async fn public_key(&self) -> Result<String, DomainError> {
        Ok(self.keys().await?.public_key)
    }

    /// Saves `who`'s browser subscription for their audience. The endpoint
    /// must be an https URL of a public host (the notifier will call it).
    #[tracing::instrument(skip_all, fields(user = %who.subject))]
    pub async fn subscribe(&self, who: &Principal, body: SubscriptionBody) -> Result<PushSubscription, DomainError> {
        let endpoint = self
            .destinations
            .url(body.endpoint.trim())
            .map_err(|reason| invalid("endpoint", &reason))?;
        if !endpoint.starts_with("https://") && !self.destinations.allow_private {
            return Err(invalid("endpoint", "must be an https URL"));
        }
        let p256dh = body.p256dh.trim().trim_end_matches('=');
        let point = URL_SAFE_NO_PAD.decode(p256dh).unwrap_or_default();
        if point.len() != 65 || point[0] != 4 {
            return Err(invalid("p256dh", "must be an uncompressed P-256 public key, base64url"));
        }
        let auth = body.auth.trim().trim_end_matches('=');
        if !decodes_to(auth, 16) {
            return Err(invalid("auth", "must be 16 bytes, base64url"));
        }
        let audience = audience_of(who);
        let subscription = PushSubscription {
            id: subscription_id(who, &endpoint),
            endpoint,
            p256dh: p256dh.to_owned(),
            auth: auth.to_owned(),
            audience,
            subject: who.subject.clone(),
            created_at: self.clock.now(),
        };
        self.store.save_subscription(&subscription).await?;
        tracing::info!(?audience, "push subscription saved");
        Ok(subscription)
    }

    /// Forgets `who`'s subscription `id`; another user's is a 404.
    pub async fn unsubscribe(&self, who: &Principal, id: &str) -> Result<(), DomainError> {
        let not_found = DomainError::NotFound("push subscription");
        let Some(subscription) = self.store.subscription(id.trim()).await? else {
            return Err(not_found);
        };
        if subscription.subject != who.subject || subscription.audience != audience_of(who) {
            return Err(not_found);
        }
        self.store.remove_subscription(&subscription).await?;
        Ok(())
    }

    /// Tells staff and the intrusion's client of it, each on its own pages,
    /// and forgets the subscriptions that are gone.
    #[tracing::instrument(skip_all, fields(intrusion = %due.intrusion_id))]
    pub async fn announce(&self, sender: &dyn PushSender, due: &PushDue) -> Result<PushReport, DomainError> {
        let keys = self.keys().await?;
        let mut report = PushReport::default();
        for (audience, url) in [
            (PushAudience::Staff, format!("/manage/intrusions/{}", due.intrusion_id)),
            (
                PushAudience::Client(due.client_id),
                format!("/intrusions/{}", due.intrusion_id),
            ),
        ] {
            let message = PushMessage {
                title: due.title.clone(),
                body: due.body.clone(),
                url,
                tag: due.intrusion_id.to_string(),
            };
            for subscription in self.store.subscriptions(audience).await? {
                match sender.send(&keys, &subscription, &message).await {
                    PushOutcome::Delivered => report.delivered += 1,
                    PushOutcome::Gone => {
                        self.store.remove_subscription(&subscription).await?;
                        report.gone += 1;
                    }
                    PushOutcome::Failed(error) => {
                        tracing::warn!(subscription = subscription.id, error, "a push failed");
                        report.failed += 1;
                    }
                }
            }
        }
        tracing::info!(?report, "intrusion pushed");
        Ok(report)
    }
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
