//! What the APIs' unit tests share: a test identity provider (one P-256 key,
//! the Cognito-shaped ID tokens it signs, and an [`Authenticator`] that trusts
//! exactly that key) and [`call`], a router called once as the load balancer
//! would, so an API is tested as staff or as a client's user with no identity
//! provider or AWS running.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use seccom_domain::auth::{ADMIN_GROUP, CLIENT_GROUP, CLIENT_ID_CLAIM, GROUPS_CLAIM};
use seccom_domain::ids::ClientId;
use serde_json::json;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::auth::{AuthSettings, Authenticator};

const ISSUER: &str = "https://idp.seccom.test";
const CLIENT_ID: &str = "seccom-test";
const KID: &str = "test-key";

/// Issues tokens that [`TestIssuer::authenticator`] accepts.
pub struct TestIssuer {
    pkcs8: Vec<u8>,
    keys: JwkSet,
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}

impl TestIssuer {
    /// A new key.
    pub fn new() -> Self {
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("a P-256 key is generated");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, document.as_ref())
            .expect("the generated key reads back");
        // The uncompressed point: 0x04, then x and y of 32 bytes each.
        let point = pair.public_key().as_ref();
        let keys = serde_json::from_value(json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "kid": KID, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }]}))
        .expect("a valid JWKS");
        Self {
            pkcs8: document.as_ref().to_vec(),
            keys,
        }
    }

    /// A verifier that accepts this issuer's tokens only.
    pub fn authenticator(&self) -> Authenticator {
        let settings = AuthSettings {
            issuer: ISSUER.into(),
            client_id: CLIENT_ID.into(),
            jwks_url: String::new(),
            alb: None,
        };
        Authenticator::with_keys(settings, self.keys.clone())
    }

    /// An ID token of SecCom staff.
    pub fn staff(&self) -> String {
        self.id_token("staff-1", ADMIN_GROUP, None)
    }

    /// An ID token of a user of `client`.
    pub fn client_user(&self, client: ClientId) -> String {
        self.id_token(&format!("user-of-{client}"), CLIENT_GROUP, Some(client))
    }

    fn id_token(&self, subject: &str, group: &str, client: Option<ClientId>) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "sub": subject, "iss": ISSUER, "aud": CLIENT_ID, "token_use": "id",
            "iat": now, "auth_time": now, "exp": now + 3600,
            "email": format!("{subject}@seccom.test"),
        });
        claims[GROUPS_CLAIM] = json!([group]);
        if let Some(client) = client {
            claims[CLIENT_ID_CLAIM] = json!(client.to_string());
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(KID.into());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&self.pkcs8)).expect("the token is signed")
    }
}

/// What a router answered: status, headers, and the body as JSON (`Null` when it is not).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// A header's value, if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request to `app`: `method` on `path`, with `token` as a bearer
/// token and `body` as JSON when given.
pub async fn call(app: &Router, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).expect("a valid request"))
        .await
        .expect("a router answers");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("the body is read").to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}
