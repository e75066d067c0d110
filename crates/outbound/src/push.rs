//! Web Push over HTTP: each push encrypted for its browser (RFC 8291,
//! `aes128gcm`) and signed with the deployment's VAPID key (RFC 8292) by
//! `web-push-native`, then sent through the one guarded client (public
//! addresses only, no redirects, bounded in time).

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use seccom_domain::response::push::{PushMessage, PushOutcome, PushSender, PushSubscription, VapidKeys};
use web_push_native::jwt_simple::algorithms::ES256KeyPair;
use web_push_native::p256::PublicKey;
use web_push_native::{Auth, WebPushBuilder};

use crate::Outbound;

/// How long a push service keeps a push for a browser that is offline.
const TIME_TO_LIVE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The core's [`PushSender`] on the outbound client.
#[derive(Clone)]
pub struct WebPushSender {
    http: Outbound,
    /// Who push services may contact about these pushes (`mailto:`).
    contact: String,
}

impl WebPushSender {
    /// Sends through `http`, naming `contact` (an e-mail address) in the VAPID claims.
    pub fn new(http: Outbound, contact: &str) -> Self {
        Self {
            http,
            contact: format!("mailto:{contact}"),
        }
    }

    /// The encrypted, signed request for `to`.
    fn request(
        &self,
        keys: &VapidKeys,
        to: &PushSubscription,
        message: &PushMessage,
    ) -> Result<http::Request<Vec<u8>>, String> {
        let decode = |what: &str, text: &str| {
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|e| format!("the {what} is not base64url: {e}"))
        };
        let vapid = ES256KeyPair::from_bytes(&decode("VAPID key", &keys.private_key)?)
            .map_err(|e| format!("the VAPID key is not a P-256 key: {e}"))?;
        let browser = PublicKey::from_sec1_bytes(&decode("p256dh", &to.p256dh)?)
            .map_err(|e| format!("the subscription's key is not a P-256 point: {e}"))?;
        let auth = decode("auth", &to.auth)?;
        if auth.len() != 16 {
            return Err("the subscription's auth is not 16 bytes".into());
        }
        let endpoint = to
            .endpoint
            .parse()
            .map_err(|e| format!("the endpoint is not a URI: {e}"))?;
        let body = serde_json::to_vec(message).map_err(|e| format!("cannot encode the push: {e}"))?;
        WebPushBuilder::new(endpoint, browser, Auth::clone_from_slice(&auth))
            .with_valid_duration(TIME_TO_LIVE)
            .with_vapid(&vapid, &self.contact)
            .build(body)
            .map_err(|e| format!("cannot build the push: {e}"))
    }
}

#[async_trait]
impl PushSender for WebPushSender {
    async fn send(&self, keys: &VapidKeys, to: &PushSubscription, message: &PushMessage) -> PushOutcome {
        let request = match self.request(keys, to, message) {
            Ok(request) => request,
            Err(error) => return PushOutcome::Failed(error),
        };
        match self.http.send(request).await {
            Ok(200..=299) => PushOutcome::Delivered,
            Ok(404 | 410) => PushOutcome::Gone,
            Ok(status) => PushOutcome::Failed(format!("the push service answered HTTP {status}")),
            Err(error) => PushOutcome::Failed(error),
        }
    }
}
