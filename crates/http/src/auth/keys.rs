//! Public keys of the identity provider (a JWKS document) and of the ALB (one PEM
//! per key id), fetched on first use and cached for the life of the Lambda container.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use tokio::sync::RwLock;

use super::AuthError;

/// An unknown key id triggers at most one JWKS refetch per this interval, so a
/// flood of forged tokens cannot turn into a flood of requests to the provider.
const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Default)]
struct JwksCache {
    keys: JwkSet,
    fetched_at: Option<Instant>,
}

pub(crate) struct KeySource {
    http: reqwest::Client,
    jwks_url: String,
    jwks: RwLock<JwksCache>,
    alb_keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
}

impl KeySource {
    pub(crate) fn new(jwks_url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("the HTTP client has a valid static configuration");
        Self {
            http,
            jwks_url,
            jwks: RwLock::default(),
            alb_keys: RwLock::default(),
        }
    }

    /// A source that already holds `keys` as the provider's JWKS (for tests).
    #[cfg(feature = "testing")]
    pub(crate) fn with_jwks(keys: JwkSet) -> Self {
        let source = Self::new(String::new());
        *source.jwks.try_write().expect("a new source is not shared") = JwksCache {
            keys,
            fetched_at: Some(Instant::now()),
        };
        source
    }

    /// The identity provider's key with this id, refreshing the JWKS when the id is new.
    pub(crate) async fn jwk(&self, kid: &str) -> Result<Jwk, AuthError> {
        {
            let cache = self.jwks.read().await;
            if let Some(jwk) = cache.keys.find(kid) {
                return Ok(jwk.clone());
            }
            if cache.fetched_at.is_some_and(|at| at.elapsed() < REFRESH_INTERVAL) {
                return Err(AuthError::Invalid("the token was signed by an unknown key".into()));
            }
        }
        let mut cache = self.jwks.write().await;
        if cache.keys.find(kid).is_none() && cache.fetched_at.is_none_or(|at| at.elapsed() >= REFRESH_INTERVAL) {
            cache.keys = self.fetch_json(&self.jwks_url).await?;
            cache.fetched_at = Some(Instant::now());
        }
        cache
            .keys
            .find(kid)
            .cloned()
            .ok_or_else(|| AuthError::Invalid("the token was signed by an unknown key".into()))
    }

    /// The ALB's public key with this id, from `{base_url}/{kid}`.
    pub(crate) async fn alb_key(&self, base_url: &str, kid: &str) -> Result<Arc<DecodingKey>, AuthError> {
        if kid.is_empty() || !kid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(AuthError::Invalid("the ALB token names a malformed key id".into()));
        }
        if let Some(key) = self.alb_keys.read().await.get(kid) {
            return Ok(key.clone());
        }
        let url = format!("{}/{kid}", base_url.trim_end_matches('/'));
        let response = self.get(&url).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND || response.status() == reqwest::StatusCode::FORBIDDEN {
            return Err(AuthError::Invalid("the ALB token names an unknown key".into()));
        }
        let pem = response
            .error_for_status()
            .map_err(|e| AuthError::unavailable("ALB public key", e))?
            .bytes()
            .await
            .map_err(|e| AuthError::unavailable("ALB public key", e))?;
        let key = Arc::new(DecodingKey::from_ec_pem(&pem).map_err(|e| AuthError::unavailable("ALB public key", e))?);
        self.alb_keys.write().await.insert(kid.to_owned(), key.clone());
        Ok(key)
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response, AuthError> {
        self.http
            .get(url)
            .send()
            .await
            .map_err(|e| AuthError::unavailable(url, e))
    }

    async fn fetch_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, AuthError> {
        self.get(url)
            .await?
            .error_for_status()
            .map_err(|e| AuthError::unavailable(url, e))?
            .json()
            .await
            .map_err(|e| AuthError::unavailable(url, e))
    }
}
