//! Clip arrived: when an object lands in the clips bucket, the intrusion that
//! requested it records it as stored, so the intrusion shows it (and stops
//! counting down to "missing"). Anything else is reported, never recorded.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Clip, ResponseStore};
use crate::error::DomainError;

/// The largest clip accepted: 6 minutes at 8 Mbit/s is 360 MB.
pub const MAX_CLIP_BYTES: u64 = 400 * 1024 * 1024;

/// What became of one arrived object.
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum ClipReport {
    /// The clip of a requested intrusion was recorded as stored.
    Stored { key: String },
    /// An object nobody asked for (wrong layout or no request); left alone and logged.
    Unexpected { key: String },
    /// A clip larger than any 6-minute camera recording; not accepted as the intrusion's clip.
    TooLarge { key: String, size: u64 },
}

/// Records the object `key` of `size` bytes that arrived `at`, if an intrusion asked for it.
#[tracing::instrument(skip(store))]
pub async fn clip_arrived(
    store: &dyn ResponseStore,
    key: String,
    size: u64,
    at: DateTime<Utc>,
) -> Result<ClipReport, DomainError> {
    if size > MAX_CLIP_BYTES {
        tracing::error!("a clip larger than any recording of the window was refused");
        return Ok(ClipReport::TooLarge { key, size });
    }
    let stored = match Clip::intrusion_of_key(&key) {
        Some((_, intrusion)) => store.clip_stored(intrusion, &key, size, at).await?,
        None => false,
    };
    Ok(if stored {
        tracing::info!("clip stored");
        ClipReport::Stored { key }
    } else {
        tracing::warn!("an object no clip request expects landed in the clips bucket");
        ClipReport::Unexpected { key }
    })
}
