//! Device credentials: a random secret shown once at registration, stored only as a hash.

use std::fmt::Write;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ids::DeviceId;

/// A freshly issued credential: give `secret` to the installer, keep `hash`.
pub struct IssuedCredential {
    /// The bearer secret the device presents; never stored.
    pub secret: String,
    /// What the directory keeps to recognise the secret later.
    pub hash: String,
}

/// Issues a 256-bit secret for `device`. The device id is part of the credential
/// (`sck_<device id>_<secret>`), so a device is identified by its credential alone.
pub fn issue(device: DeviceId) -> IssuedCredential {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source is available");
    let secret = format!("sck_{device}_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&secret);
    IssuedCredential { secret, hash }
}

/// The device a presented credential claims to be, if it has the credential's shape.
pub fn claimed_device(presented: &str) -> Option<DeviceId> {
    let (device, secret) = presented.strip_prefix("sck_")?.split_once('_')?;
    if secret.is_empty() {
        return None;
    }
    device.parse().ok()
}

/// Whether a presented credential hashes to the stored hash, compared in constant time.
pub fn matches(presented: &str, stored_hash: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(hash(presented).as_bytes(), stored_hash.as_bytes()).is_ok()
}

/// The stored form of a secret. A plain SHA-256 suffices: the secret has 256 bits of entropy.
pub fn hash(secret: &str) -> String {
    to_hex(digest(&SHA256, secret.as_bytes()).as_ref())
}

/// Lower-case hexadecimal, as hashes and signatures are shown.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hashes_stable() {
        let device = DeviceId::generate();
        let a = issue(device);
        let b = issue(device);
        assert!(a.secret.starts_with(&format!("sck_{device}_")));
        assert_ne!(a.secret, b.secret);
        assert_eq!(hash(&a.secret), a.hash);
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.secret));
        assert_eq!(claimed_device(&a.secret), Some(device));
        assert!(matches(&a.secret, &a.hash) && !matches(&b.secret, &a.hash));
        for malformed in ["", "sck_", "sck_nope_x", &format!("sck_{device}_"), "Bearer x"] {
            assert_eq!(claimed_device(malformed), None, "{malformed}");
        }
    }
}
