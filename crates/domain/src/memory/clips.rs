//! The clips bucket, in memory: a map of keys to bytes, a "masked" rendition
//! that records the regions blurred, uploads it cannot read (marked as such)
//! deleted as the real masker deletes them, and objects nobody keeps discarded.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, round_trip};
use crate::detection::zones::Polygon;
use crate::error::DomainError;
use crate::response::{ArrivedClip, ClipBucket};

/// What an upload that cannot be decoded holds, for tests.
pub const UNREADABLE_CLIP: &[u8] = b"not a clip";

/// The clips bucket, in memory.
#[derive(Default)]
pub struct MemoryClips {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryClips {
    /// Puts an upload into the bucket.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        lock(&self.objects).insert(key.to_owned(), bytes.to_vec());
    }

    /// The object at `key`, if any.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.objects).get(key).cloned()
    }
}

#[async_trait]
impl ClipBucket for MemoryClips {
    async fn discard(&self, arrived: &ArrivedClip) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.objects).remove(&arrived.key);
        Ok(())
    }

    async fn mask(
        &self,
        uploaded: &ArrivedClip,
        masked_key: &str,
        privacy: &[Polygon],
    ) -> Result<Result<u64, String>, DomainError> {
        round_trip().await;
        let mut objects = lock(&self.objects);
        let Some(bytes) = objects.remove(&uploaded.key) else {
            return Ok(Err("the upload no longer exists".into()));
        };
        if bytes == UNREADABLE_CLIP {
            return Ok(Err("the clip is not a readable MP4 file".into()));
        }
        let mut masked = format!("masked {} regions: ", privacy.len()).into_bytes();
        masked.extend_from_slice(&bytes);
        let size = masked.len() as u64;
        objects.insert(masked_key.to_owned(), masked);
        Ok(Ok(size))
    }
}
