//! Clip arrived: when an object lands in the clips bucket, the intrusion that
//! requested it records it as stored, so the intrusion shows it (and stops
//! counting down to "missing"). A camera with privacy masks never has its
//! upload shown: the masked rendition ([`ClipBucket::mask`]) is stored in its
//! place and the upload deleted. Anything else (no request expects it, or it is
//! larger than any recording) is reported and deleted, never kept: a clip URL
//! of an erased camera brings no footage back.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Clip, ClipKey, ResponseStore};
use crate::controls::ControlStore;
use crate::detection::zones::Polygon;
use crate::error::DomainError;

/// The largest clip accepted: 6 minutes at 8 Mbit/s is 360 MB.
pub const MAX_CLIP_BYTES: u64 = 400 * 1024 * 1024;

/// An object that landed in the clips bucket, as its notification names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrivedClip {
    pub key: String,
    /// The object's version, in a versioned bucket.
    pub version: Option<String>,
    pub size: u64,
}

/// The clips bucket, as the clip-arrived use case changes it.
#[async_trait]
pub trait ClipBucket: Send + Sync {
    /// Deletes an object nobody keeps (that version of it).
    async fn discard(&self, arrived: &ArrivedClip) -> Result<(), DomainError>;

    /// Stores at `masked_key` the clip `uploaded` with `privacy` blurred in
    /// every picture and deletes the upload (that version of it); answers the
    /// new clip's size, or why the upload is no clip that can be masked (it is
    /// deleted all the same: an unmasked clip is never kept). An error only
    /// when storage fails.
    async fn mask(
        &self,
        uploaded: &ArrivedClip,
        masked_key: &str,
        privacy: &[Polygon],
    ) -> Result<Result<u64, String>, DomainError>;
}

/// What became of one arrived object.
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum ClipReport {
    /// The clip of a requested intrusion was recorded as stored (under `key`).
    Stored { key: String },
    /// The camera's privacy masks were blurred into the clip: the rendition
    /// `key` is stored, the upload `uploaded` deleted.
    Masked { key: String, uploaded: String },
    /// The masked rendition the archiver itself stored; nothing more to do.
    Rendition { key: String },
    /// The camera has privacy masks and the upload could not be masked: deleted, not shown.
    Unmaskable { key: String, reason: String },
    /// An object nobody asked for (wrong layout, no request, or an erased
    /// camera's); deleted and logged.
    Unexpected { key: String },
    /// A clip larger than any 6-minute camera recording; deleted, not accepted as the intrusion's clip.
    TooLarge { key: String, size: u64 },
}

/// What the clip-arrived use case works through.
pub struct ClipPorts<'a> {
    pub store: &'a dyn ResponseStore,
    /// Camera settings, read as stored now: a mask saved a moment ago applies.
    pub controls: &'a dyn ControlStore,
    pub bucket: &'a dyn ClipBucket,
}

/// Records the object that arrived `at`, if an intrusion asked for it; masked
/// first when its camera has privacy masks. What nobody asked for is deleted.
#[tracing::instrument(skip(ports))]
pub async fn clip_arrived(
    ports: &ClipPorts<'_>,
    arrived: ArrivedClip,
    at: DateTime<Utc>,
) -> Result<ClipReport, DomainError> {
    let key = arrived.key.clone();
    if arrived.size > MAX_CLIP_BYTES {
        tracing::error!("a clip larger than any recording of the window was refused; deleted");
        ports.bucket.discard(&arrived).await?;
        return Ok(ClipReport::TooLarge {
            key,
            size: arrived.size,
        });
    }
    let (camera, intrusion) = match Clip::parse_key(&key) {
        Some(ClipKey::Upload { camera, intrusion }) => (camera, intrusion),
        Some(ClipKey::Masked { .. }) => return Ok(ClipReport::Rendition { key }),
        None => return unexpected(ports, &arrived).await,
    };
    let privacy = ports
        .controls
        .camera_detection(camera)
        .await?
        .unwrap_or_default()
        .private_regions();
    if privacy.is_empty() {
        if !ports.store.clip_stored(intrusion, &key, &key, arrived.size, at).await? {
            return unexpected(ports, &arrived).await;
        }
        tracing::info!("clip stored");
        return Ok(ClipReport::Stored { key });
    }
    // Only a clip an intrusion still waits for is worth decoding.
    let expected = ports.store.records(intrusion).await?.clip;
    if !expected.is_some_and(|clip| clip.key == key && clip.stored_at.is_none()) {
        return unexpected(ports, &arrived).await;
    }
    let masked_key = Clip::masked_key(camera, intrusion);
    match ports.bucket.mask(&arrived, &masked_key, &privacy).await? {
        Ok(size) => {
            if !ports.store.clip_stored(intrusion, &key, &masked_key, size, at).await? {
                return unexpected(ports, &arrived).await;
            }
            tracing::info!(masked_key, size, "clip stored with the camera's privacy masks blurred");
            Ok(ClipReport::Masked {
                key: masked_key,
                uploaded: key,
            })
        }
        Err(reason) => {
            tracing::error!(
                reason,
                "a clip of a camera with privacy masks could not be masked; deleted"
            );
            Ok(ClipReport::Unmaskable { key, reason })
        }
    }
}

/// Deletes an object no clip request expects, and says so.
async fn unexpected(ports: &ClipPorts<'_>, arrived: &ArrivedClip) -> Result<ClipReport, DomainError> {
    tracing::warn!("an object no clip request expects landed in the clips bucket; deleted");
    ports.bucket.discard(arrived).await?;
    Ok(ClipReport::Unexpected {
        key: arrived.key.clone(),
    })
}
