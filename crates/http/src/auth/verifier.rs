//! Turns request headers into a verified [`Principal`]: a Cognito ID token sent
//! as a bearer token, or the ALB's signed `x-amzn-oidc-data` after an
//! `authenticate-cognito` listener action.

use std::sync::Arc;

use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::alb;
use super::keys::KeySource;
use seccom_domain::auth::{CLIENT_ID_CLAIM, Principal, Sessions};

/// Where tokens come from and whom they must be for.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// The `iss` every token must carry (the Cognito user pool URL in AWS).
    pub issuer: String,
    /// The app client the tokens must be issued to (`aud` of ID tokens, `client_id` of access tokens).
    pub client_id: String,
    /// Where the provider publishes its signing keys.
    pub jwks_url: String,
    /// Set when the function sits behind an ALB that authenticates users itself.
    pub alb: Option<AlbSettings>,
}

/// What identifies the one ALB whose `x-amzn-oidc-data` this function trusts.
#[derive(Clone, Debug)]
pub struct AlbSettings {
    /// The load balancer's ARN, which the ALB writes into each token's `signer` header.
    pub load_balancer_arn: String,
    /// The regional endpoint serving the ALB's public keys by key id.
    pub public_keys_url: String,
}

/// Why a request was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials at all: the caller must sign in.
    #[error("this request needs a bearer token")]
    Missing,
    /// Credentials were present but not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The user is authenticated but belongs to no SecCom role.
    #[error("the signed-in user has no SecCom role")]
    NoRole,
    /// The user's client was erased: its users have no access any more.
    #[error("the client this user belongs to no longer exists")]
    ClientErased,
    /// The provider's keys, or the sign-out records, could not be read.
    #[error("cannot read {what}")]
    Unavailable {
        /// Which key source failed.
        what: String,
        /// The transport or format failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl AuthError {
    pub(crate) fn unavailable(what: &str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable {
            what: what.to_owned(),
            source: source.into(),
        }
    }
}

/// Claims shared by Cognito's ID and access tokens that SecCom relies on.
#[derive(Debug, Deserialize)]
struct CognitoClaims {
    sub: String,
    token_use: String,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
    #[serde(rename = "custom:client_id")]
    tenant: Option<String>,
    client_id: Option<String>,
    /// When the user signed in (seconds since the epoch).
    auth_time: Option<i64>,
    /// In ID tokens: the user's e-mail address.
    email: Option<String>,
}

/// Verifies callers; one per Lambda container so keys are fetched once.
pub struct Authenticator {
    settings: AuthSettings,
    keys: KeySource,
    sessions: Option<Arc<dyn Sessions>>,
}

impl Authenticator {
    /// A verifier with empty key caches.
    pub fn new(settings: AuthSettings) -> Self {
        let keys = KeySource::new(settings.jwks_url.clone());
        Self {
            settings,
            keys,
            sessions: None,
        }
    }

    /// A verifier that trusts exactly `keys` as the provider's (for tests).
    #[cfg(feature = "testing")]
    pub(crate) fn with_keys(settings: AuthSettings, keys: jsonwebtoken::jwk::JwkSet) -> Self {
        Self {
            settings,
            keys: KeySource::with_jwks(keys),
            sessions: None,
        }
    }

    /// The same verifier, refusing in [`Self::authenticate`] tokens of a
    /// sign-in that a sign-out recorded in `sessions` ended, and the tokens of
    /// an erased client's users.
    pub fn with_sessions(self, sessions: Arc<dyn Sessions>) -> Self {
        Self {
            sessions: Some(sessions),
            ..self
        }
    }

    /// Authenticates by bearer token, or else by the ALB's signed user claims.
    /// With [`Self::with_sessions`], a token whose sign-in ended with a
    /// sign-out no longer works, nor does one of an erased client's user (a
    /// read each: the user's last sign-out, the client).
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let (principal, signed_in_at) = self.authenticate_session(headers).await?;
        let Some(sessions) = &self.sessions else {
            return Ok(principal);
        };
        let unavailable = |e| AuthError::unavailable("the sign-out and client records", e);
        if let Some(signed_in) = signed_in_at {
            let signed_out = sessions.signed_out_at(&principal.subject).await.map_err(unavailable)?;
            if signed_out.is_some_and(|out| signed_in <= out) {
                return Err(AuthError::Invalid(
                    "this token's sign-in ended when its user signed out; sign in again".into(),
                ));
            }
        }
        if let Some(client) = principal.tenant()
            && !sessions.client_exists(client).await.map_err(unavailable)?
        {
            return Err(AuthError::ClientErased);
        }
        Ok(principal)
    }

    /// Verifies the caller as [`Self::authenticate`] does, and says when the
    /// user signed in (`auth_time`), so a portal can refuse sessions older than
    /// the user's last sign-out.
    pub async fn authenticate_session(
        &self,
        headers: &HeaderMap,
    ) -> Result<(Principal, Option<chrono::DateTime<chrono::Utc>>), AuthError> {
        let signed_in_at = |seconds: Option<i64>| seconds.and_then(|s| chrono::DateTime::from_timestamp(s, 0));
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .ok_or_else(|| AuthError::Invalid("the Authorization header must be `Bearer <token>`".into()))?;
            let claims = self.verify_cognito(token.trim(), "id").await?;
            let at = signed_in_at(claims.auth_time);
            return Principal::from_claims(claims.sub, &claims.groups, claims.tenant.as_deref())
                .map(|principal| (principal.with_email(claims.email), at))
                .ok_or(AuthError::NoRole);
        }
        if let (Some(alb_settings), Some(data)) = (&self.settings.alb, headers.get(alb::DATA_HEADER)) {
            let data = data
                .to_str()
                .map_err(|_| AuthError::Invalid("malformed ALB user claims".into()))?;
            let user = alb::verify(data, alb_settings, &self.settings, &self.keys).await?;
            let access = headers
                .get(alb::ACCESS_TOKEN_HEADER)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| AuthError::Invalid("the ALB did not forward an access token".into()))?;
            let access = self.verify_cognito(access, "access").await?;
            if access.sub != user.sub {
                return Err(AuthError::Invalid(
                    "the ALB user claims and access token disagree".into(),
                ));
            }
            let tenant = user.claims.get(CLIENT_ID_CLAIM).and_then(|v| v.as_str());
            let email = user.claims.get("email").and_then(|v| v.as_str()).map(str::to_owned);
            let at = signed_in_at(access.auth_time);
            return Principal::from_claims(user.sub, &access.groups, tenant)
                .map(|principal| (principal.with_email(email), at))
                .ok_or(AuthError::NoRole);
        }
        Err(AuthError::Missing)
    }

    /// Verifies a Cognito-issued token's signature, issuer, audience, expiry and use.
    async fn verify_cognito(&self, token: &str, token_use: &str) -> Result<CognitoClaims, AuthError> {
        let header = decode_header(token).map_err(|e| {
            tracing::info!(error = %e, "a token could not be parsed");
            AuthError::Invalid("the token is malformed".into())
        })?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(AuthError::Invalid(format!(
                "tokens signed with {:?} are not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Invalid("the token names no signing key".into()))?;
        let jwk = self.keys.jwk(&kid).await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| {
            tracing::warn!(error = %e, kid, "a signing key of the identity provider is unusable");
            AuthError::Invalid("the token's signing key is unusable".into())
        })?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.leeway = 30;
        validation.validate_nbf = true;
        if token_use == "id" {
            // An ID token without `aud` is refused, not waved through.
            validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
            validation.set_audience(&[&self.settings.client_id]);
        } else {
            validation.set_required_spec_claims(&["exp", "iss", "sub"]);
            validation.validate_aud = false;
        }
        let claims = decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| {
                tracing::info!(error = %e, "a token was rejected");
                AuthError::Invalid("the token was rejected (signature, issuer, audience or time)".into())
            })?
            .claims;
        let claims: CognitoClaims = serde_json::from_value(claims).map_err(|e| {
            tracing::info!(error = %e, "a token lacks claims");
            AuthError::Invalid("the token lacks required claims".into())
        })?;
        if claims.token_use != token_use {
            return Err(AuthError::Invalid(format!(
                "expected an {token_use} token, got an {} token",
                claims.token_use
            )));
        }
        if token_use == "access" && claims.client_id.as_deref() != Some(self.settings.client_id.as_str()) {
            return Err(AuthError::Invalid(
                "the access token was issued to another app client".into(),
            ));
        }
        Ok(claims)
    }
}
