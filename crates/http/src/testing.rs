//! A test identity provider for the APIs' unit tests: one P-256 key, the
//! Cognito-shaped ID tokens it signs, and an [`Authenticator`] that trusts
//! exactly that key, so a router can be called with `oneshot` as staff or as a
//! client's user with no identity provider running.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use seccom_domain::auth::{ADMIN_GROUP, CLIENT_GROUP, CLIENT_ID_CLAIM, GROUPS_CLAIM};
use seccom_domain::ids::ClientId;
use serde_json::json;

use super::{AuthSettings, Authenticator};

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
