//! The ALB's `x-amzn-oidc-data` token. It looks like a JWT but is not one that
//! JWT libraries accept: each part is base64url *with* padding, the signature
//! is computed over the padded parts as sent, and the security metadata
//! (`signer`, `iss`, `client`, `exp`) sits in the header, not the payload.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::keys::KeySource;
use super::verifier::{AlbSettings, AuthError, AuthSettings};

/// The header carrying the user claims signed by the ALB.
pub const DATA_HEADER: &str = "x-amzn-oidc-data";
/// The header carrying the identity provider's access token.
pub const ACCESS_TOKEN_HEADER: &str = "x-amzn-oidc-accesstoken";

#[derive(Deserialize)]
struct AlbHeader {
    alg: String,
    kid: String,
    signer: String,
    iss: String,
    client: String,
    exp: i64,
}

/// The user as the ALB vouches for it.
pub(crate) struct AlbUser {
    pub(crate) sub: String,
    pub(crate) claims: serde_json::Map<String, serde_json::Value>,
}

fn decode_part(part: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| AuthError::Invalid("malformed ALB user claims".into()))
}

/// Checks signature, signer, issuer, app client and expiry before any claim is believed.
pub(crate) async fn verify(
    data: &str,
    alb: &AlbSettings,
    auth: &AuthSettings,
    keys: &KeySource,
) -> Result<AlbUser, AuthError> {
    let mut parts = data.split('.');
    let (Some(header_part), Some(payload_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Invalid("malformed ALB user claims".into()));
    };
    let header: AlbHeader = serde_json::from_slice(&decode_part(header_part)?)
        .map_err(|_| AuthError::Invalid("the ALB token header is incomplete".into()))?;
    if header.alg != "ES256" {
        return Err(AuthError::Invalid("ALB tokens must be signed with ES256".into()));
    }
    if header.signer != alb.load_balancer_arn {
        return Err(AuthError::Invalid(
            "the ALB token was signed by another load balancer".into(),
        ));
    }
    let key = keys.alb_key(&alb.public_keys_url, &header.kid).await?;
    let signing_input = format!("{header_part}.{payload_part}");
    let signature_valid = jsonwebtoken::crypto::verify(
        signature_part.trim_end_matches('='),
        signing_input.as_bytes(),
        &key,
        Algorithm::ES256,
    )
    .unwrap_or(false);
    if !signature_valid {
        return Err(AuthError::Invalid("the ALB token signature is invalid".into()));
    }
    if header.iss != auth.issuer || header.client != auth.client_id {
        return Err(AuthError::Invalid(
            "the ALB token was issued for another identity provider".into(),
        ));
    }
    if header.exp < chrono::Utc::now().timestamp() {
        return Err(AuthError::Invalid("the ALB token has expired".into()));
    }
    let mut claims: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&decode_part(payload_part)?)
        .map_err(|_| AuthError::Invalid("the ALB token payload is not a JSON object".into()))?;
    let sub = match claims.remove("sub") {
        Some(serde_json::Value::String(sub)) => sub,
        _ => return Err(AuthError::Invalid("the ALB token names no user".into())),
    };
    Ok(AlbUser { sub, claims })
}
