//! A Web Push service stand-in (RFC 8030), served beside the identity
//! provider: what a browser vendor's push service is to the notifier. Tests
//! (and the browser tests) ask it for a subscription as a browser would get
//! one: an endpoint and fresh keys. A push to the endpoint must carry a valid
//! VAPID signature (RFC 8292) for this service's origin and an `aes128gcm`
//! body (RFC 8291), which the stand-in decrypts with the subscription's
//! private key and keeps, with the VAPID key that signed it, for the test to
//! read. A retired subscription answers 410 Gone, as a real one does once the
//! user revokes it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256PublicKey};
use web_push_native::jwt_simple::claims::NoCustomClaims;
use web_push_native::jwt_simple::common::VerificationOptions;
use web_push_native::p256::SecretKey;
use web_push_native::{Auth, decrypt};

/// The path every route of the stand-in starts with.
pub const PREFIX: &str = "/push-service";

struct Subscription {
    secret: SecretKey,
    auth: [u8; 16],
    retired: bool,
    received: Vec<Value>,
}

/// The subscriptions handed out, by id.
#[derive(Clone, Default)]
pub struct PushService {
    subscriptions: Arc<Mutex<HashMap<String, Subscription>>>,
}

impl PushService {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Subscription>> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The stand-in's routes.
pub fn routes() -> Router {
    Router::new()
        .route(&format!("{PREFIX}/subscriptions"), post(subscribe))
        .route(&format!("{PREFIX}/subscriptions/{{id}}"), get(received).delete(retire))
        .route(&format!("{PREFIX}/send/{{id}}"), post(receive))
        .with_state(PushService::default())
}

/// A new subscription, as `PushSubscription.toJSON()` gives it, plus its id.
async fn subscribe(State(service): State<PushService>, headers: HeaderMap) -> Response {
    let keys = match seccom_domain::response::push::VapidKeys::generate() {
        Ok(keys) => keys,
        Err(error) => return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    };
    let Ok(secret) = URL_SAFE_NO_PAD
        .decode(&keys.private_key)
        .map_err(|e| e.to_string())
        .and_then(|bytes| SecretKey::from_slice(&bytes).map_err(|e| e.to_string()))
    else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let auth = *uuid::Uuid::new_v4().as_bytes();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    service.lock().insert(
        id.clone(),
        Subscription {
            secret,
            auth,
            retired: false,
            received: Vec::new(),
        },
    );
    Json(json!({
        "id": id,
        "endpoint": format!("http://{host}{PREFIX}/send/{id}"),
        "expirationTime": null,
        "keys": { "p256dh": keys.public_key, "auth": URL_SAFE_NO_PAD.encode(auth) },
    }))
    .into_response()
}

/// What the subscription received, oldest first: each message with the VAPID key that signed it.
async fn received(State(service): State<PushService>, Path(id): Path<String>) -> Response {
    match service.lock().get(&id) {
        Some(subscription) => Json(subscription.received.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The user revoked it: pushes to it answer 410 from now on.
async fn retire(State(service): State<PushService>, Path(id): Path<String>) -> StatusCode {
    match service.lock().get_mut(&id) {
        Some(subscription) => {
            subscription.retired = true;
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// Checks `Authorization: vapid t=<JWT>, k=<key>` for this origin; answers the key.
fn verify_vapid(headers: &HeaderMap) -> Result<String, String> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization")?;
    let rest = value.strip_prefix("vapid ").ok_or("not a vapid authorization")?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => token = Some(t.to_owned()),
            Some(("k", k)) => key = Some(k.to_owned()),
            _ => {}
        }
    }
    let (token, key) = (token.ok_or("no t=")?, key.ok_or("no k=")?);
    let bytes = URL_SAFE_NO_PAD.decode(&key).map_err(|e| e.to_string())?;
    let public = ES256PublicKey::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or("no Host")?;
    let origin = format!("http://{}", host.split(':').next().unwrap_or(host));
    let options = VerificationOptions {
        allowed_audiences: Some(HashSet::from([origin])),
        ..Default::default()
    };
    let claims = public
        .verify_token::<NoCustomClaims>(&token, Some(options))
        .map_err(|e| format!("the VAPID token does not verify: {e}"))?;
    if !claims
        .subject
        .is_some_and(|s| s.starts_with("mailto:") || s.starts_with("https://"))
    {
        return Err("the VAPID subject is not a contact".into());
    }
    Ok(key)
}

/// A push: 201 once verified and decrypted; 410 when the subscription is gone.
async fn receive(
    State(service): State<PushService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let vapid_key = match verify_vapid(&headers) {
        Ok(key) => key,
        Err(why) => return (StatusCode::UNAUTHORIZED, why).into_response(),
    };
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok());
    if encoding != Some("aes128gcm") || headers.get("ttl").is_none() {
        return (StatusCode::BAD_REQUEST, "aes128gcm with a TTL expected").into_response();
    }
    let mut subscriptions = service.lock();
    let Some(subscription) = subscriptions.get_mut(&id).filter(|s| !s.retired) else {
        return StatusCode::GONE.into_response();
    };
    let auth = Auth::clone_from_slice(&subscription.auth);
    let message = match decrypt(body.to_vec(), &subscription.secret, &auth) {
        Ok(plain) => serde_json::from_slice::<Value>(&plain).unwrap_or_else(|_| json!(String::from_utf8_lossy(&plain))),
        Err(error) => return (StatusCode::BAD_REQUEST, format!("cannot decrypt: {error:?}")).into_response(),
    };
    subscription
        .received
        .push(json!({ "vapidKey": vapid_key, "message": message }));
    StatusCode::CREATED.into_response()
}
