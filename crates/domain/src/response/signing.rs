//! Signatures on what SecCom sends out (device commands, webhooks), so a
//! receiver can tell a genuine, fresh message from a forged or replayed one.
//!
//! The signature is HMAC-SHA256 over `"<unix seconds>.<body>"`, sent as
//! `X-SecCom-Timestamp: <unix seconds>` and `X-SecCom-Signature: v1=<hex>`.
//! Devices use the SHA-256 of their credential as the key (the only form of
//! it SecCom keeps); webhooks use the client's webhook secret. For a day after
//! a client rotates that secret a webhook carries two signatures, `v1=<new>,
//! v1=<old>`, and a receiver accepts the message when any of them matches.

use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};

/// The header carrying the signing time.
pub const TIMESTAMP_HEADER: &str = "x-seccom-timestamp";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-seccom-signature";
/// How old a signed message may be before a receiver refuses it.
pub const MAX_AGE_SECONDS: i64 = 300;

/// The `X-SecCom-Signature` value for `body` signed with `key` at `at`.
pub fn sign(key: &[u8], at: DateTime<Utc>, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    context.update(at.timestamp().to_string().as_bytes());
    context.update(b".");
    context.update(body);
    format!("v1={}", crate::credential::to_hex(context.sign().as_ref()))
}

/// The `X-SecCom-Signature` value for `body` signed at `at` with each of `keys`, in order.
pub fn sign_with_each(keys: &[&[u8]], at: DateTime<Utc>, body: &[u8]) -> String {
    keys.iter()
        .map(|key| sign(key, at, body))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a signed message was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the timestamp is missing or not a number")]
    BadTimestamp,
    #[error("the message is older than {MAX_AGE_SECONDS} seconds or from the future")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a received message: fresh (within [`MAX_AGE_SECONDS`] of `now`) and
/// signed with `key` (by one of the signatures when `signature` lists several).
pub fn verify(
    key: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let seconds: i64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    let at = DateTime::from_timestamp(seconds, 0).ok_or(SignatureError::BadTimestamp)?;
    if (now - at).num_seconds().abs() > MAX_AGE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let expected = sign(key, at, body);
    let matches = signature.split(',').map(str::trim).any(|one| {
        expected.len() == one.len()
            && aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), one.as_bytes()).is_ok()
    });
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_and_any_change_is_refused() {
        let now = Utc::now();
        let signature = sign(b"key", now, b"{\"a\":1}");
        let stamp = now.timestamp().to_string();
        assert_eq!(verify(b"key", &stamp, &signature, b"{\"a\":1}", now), Ok(()));
        assert_eq!(
            verify(b"key", &stamp, &signature, b"{\"a\":2}", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &stamp, &signature, b"{\"a\":1}", now),
            Err(SignatureError::Mismatch)
        );
        let later = now + chrono::TimeDelta::seconds(MAX_AGE_SECONDS + 1);
        assert_eq!(
            verify(b"key", &stamp, &signature, b"{\"a\":1}", later),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(b"key", "soon", &signature, b"{\"a\":1}", now),
            Err(SignatureError::BadTimestamp)
        );
    }

    #[test]
    fn a_message_signed_with_two_keys_verifies_with_either() {
        let now = Utc::now();
        let stamp = now.timestamp().to_string();
        let signature = sign_with_each(&[b"new", b"old"], now, b"{}");
        assert_eq!(signature.matches("v1=").count(), 2);
        assert_eq!(verify(b"new", &stamp, &signature, b"{}", now), Ok(()));
        assert_eq!(verify(b"old", &stamp, &signature, b"{}", now), Ok(()));
        assert_eq!(
            verify(b"other", &stamp, &signature, b"{}", now),
            Err(SignatureError::Mismatch)
        );
    }
}
