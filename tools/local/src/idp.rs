//! The local identity provider: what Cognito and the ALB's authentication do in
//! AWS, done with two ES256 keys kept in the data directory. It issues
//! Cognito-shaped ID and access tokens, publishes a JWKS, and signs
//! ALB-shaped `x-amzn-oidc-data` claims, so the functions verify local users
//! exactly as they verify real ones.

use std::fs;
use std::path::Path;

use anyhow::Context;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use seccom_domain::auth::{ADMIN_GROUP, CLIENT_GROUP, CLIENT_ID_CLAIM, GROUPS_CLAIM};
use seccom_domain::ids::ClientId;
use serde_json::{Value, json};

/// The issuer of local tokens; functions of the local stack are configured to expect it.
pub const ISSUER: &str = "https://idp.seccom.local";
/// The local app client id (the `aud` of ID tokens).
pub const CLIENT_ID: &str = "seccom-local";
/// How long local tokens live, like Cognito's default.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

/// DER prefix of a P-256 SubjectPublicKeyInfo, before the 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// One ES256 key pair, persisted as PKCS#8 so tokens survive restarts.
struct SigningKey {
    kid: String,
    private_pkcs8: Vec<u8>,
    public_point: Vec<u8>,
}

impl SigningKey {
    fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        let private_pkcs8 = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| anyhow::anyhow!("cannot generate a P-256 key"))?;
                fs::create_dir_all(path.parent().expect("key files live in a folder"))?;
                fs::write(path, document.as_ref()).with_context(|| format!("cannot write {}", path.display()))?;
                document.as_ref().to_vec()
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &private_pkcs8)
            .map_err(|_| anyhow::anyhow!("{} is not a P-256 PKCS#8 key", path.display()))?;
        let public_point = pair.public_key().as_ref().to_vec();
        let kid = digest(&SHA256, &public_point).as_ref()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            kid,
            private_pkcs8,
            public_point,
        })
    }

    fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_ec_der(&self.private_pkcs8)
    }

    fn jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "alg": "ES256",
            "use": "sig",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&self.public_point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&self.public_point[33..65]),
        })
    }

    fn public_pem(&self) -> String {
        let der = [P256_SPKI_PREFIX.as_slice(), &self.public_point].concat();
        let body = STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }
}

/// A local user: who signs in, and in which role.
#[derive(Clone, Debug)]
pub struct LocalUser {
    /// The stable user id (`sub`).
    pub subject: String,
    /// The user's e-mail.
    pub email: String,
    /// `None` for SecCom staff, the tenant for a client user.
    pub client: Option<ClientId>,
}

impl LocalUser {
    /// A member of SecCom staff.
    pub fn admin() -> Self {
        Self {
            subject: "local-admin".into(),
            email: "admin@seccom.local".into(),
            client: None,
        }
    }

    /// A user of one client.
    pub fn client(client: ClientId) -> Self {
        Self {
            subject: format!("local-client-{client}"),
            email: format!("user-{client}@clients.seccom.local"),
            client: Some(client),
        }
    }
}

/// The provider's keys in a data directory.
pub struct LocalIdp {
    users: SigningKey,
    alb: SigningKey,
}

impl LocalIdp {
    /// Opens (creating on first use) the keys under `data_dir/idp`.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let dir = data_dir.join("idp");
        Ok(Self {
            users: SigningKey::load_or_create(&dir.join("user-pool-key.p8"))?,
            alb: SigningKey::load_or_create(&dir.join("alb-key.p8"))?,
        })
    }

    /// The JWKS document, as Cognito serves at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.users.jwk()] })
    }

    /// The ALB's public key for a key id, as PEM, as the regional ELB key endpoint serves it.
    pub fn alb_public_key(&self, kid: &str) -> Option<String> {
        (kid == self.alb.kid).then(|| self.alb.public_pem())
    }

    /// The claims of a Cognito ID (`token_use` = `id`) or access (`access`) token for `user`.
    pub fn claims(&self, user: &LocalUser, token_use: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        let groups = match user.client {
            None => vec![ADMIN_GROUP],
            Some(_) => vec![CLIENT_GROUP],
        };
        let mut claims = json!({
            "sub": user.subject,
            "iss": ISSUER,
            "token_use": token_use,
            "auth_time": now,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECS,
            GROUPS_CLAIM: groups,
        });
        if token_use == "id" {
            claims["aud"] = json!(CLIENT_ID);
            claims["email"] = json!(user.email);
            claims["cognito:username"] = json!(user.email);
            if let Some(client) = user.client {
                claims[CLIENT_ID_CLAIM] = json!(client.to_string());
            }
        } else {
            claims["client_id"] = json!(CLIENT_ID);
            claims["username"] = json!(user.email);
        }
        claims
    }

    /// Signs any claims with the user-pool key: tests use it to forge near-miss tokens.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.users.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.users.encoding_key())
            .expect("ES256 signing with a valid key succeeds")
    }

    /// An ID token for `user`: what `seccom token` prints.
    pub fn id_token(&self, user: &LocalUser) -> String {
        self.sign(&self.claims(user, "id"))
    }

    /// The user claims the ALB forwards in `x-amzn-oidc-data` after signing `user` in:
    /// padded base64url parts, metadata in the header, ES256 signature over the padded parts.
    pub fn alb_user_claims(&self, user: &LocalUser, load_balancer_arn: &str) -> String {
        let header = json!({
            "typ": "JWT",
            "kid": self.alb.kid,
            "alg": "ES256",
            "iss": ISSUER,
            "client": CLIENT_ID,
            "signer": load_balancer_arn,
            "exp": chrono::Utc::now().timestamp() + 120,
        });
        let mut payload = json!({ "sub": user.subject, "email": user.email, "username": user.email });
        if let Some(client) = user.client {
            payload[CLIENT_ID_CLAIM] = json!(client.to_string());
        }
        let signing_input = format!(
            "{}.{}",
            URL_SAFE.encode(header.to_string()),
            URL_SAFE.encode(payload.to_string())
        );
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.alb.encoding_key(), Algorithm::ES256)
                .expect("ES256 signing with a valid key succeeds");
        format!("{signing_input}.{signature}==")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_persist_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalIdp::open(dir.path()).unwrap();
        let second = LocalIdp::open(dir.path()).unwrap();
        assert_eq!(first.jwks(), second.jwks());
        assert!(second.alb_public_key(&first.alb.kid).is_some());
        assert!(second.alb_public_key("other").is_none());
    }

    #[test]
    fn published_keys_verify_issued_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let idp = LocalIdp::open(dir.path()).unwrap();
        let token = idp.id_token(&LocalUser::admin());
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(idp.jwks()["keys"][0].clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&[CLIENT_ID]);
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        let pem = idp.alb.public_pem();
        jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    }
}
