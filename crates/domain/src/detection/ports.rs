//! The ports of detection: what the frame-observed use case needs from the
//! world (the frames and intrusions store, the bucket the frames are in, the
//! person detector, the camera directory), each a trait with a DynamoDB, S3 or
//! tract adapter in the functions and an in-memory one in [`crate::memory`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rule::Extent;
use super::zones::{CameraDetection, Sighting};
use super::{FrameKey, FrameOutcome, FrameRecord, Handling, Intrusion, IntrusionScope, IntrusionStatus, Reopening};
use crate::directory::Device;
use crate::error::DomainError;
use crate::ids::{DeviceId, IntrusionId};
use crate::page::{Page, PageRequest};

/// A camera's decision state: the version every decision for it bumps, and its
/// most recent intrusions (newest first), read together before a decision.
#[derive(Clone, Debug, Default)]
pub struct CameraState {
    pub version: u64,
    pub recent: Vec<Intrusion>,
}

/// The one write a decision makes, besides bumping the camera's version.
#[derive(Clone, Debug)]
pub enum IntrusionChange {
    /// Store this new intrusion.
    Open(Intrusion),
    /// Store this new intrusion (whose `follows` names `resolved`) and point
    /// the resolved one it followed at it (`followedBy`).
    OpenAfter {
        opened: Intrusion,
        resolved: Box<Intrusion>,
    },
    /// Widen `existing` to `merged`.
    Extend { existing: Intrusion, merged: Extent },
}

/// Whether a decision's write was committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    /// Written, with the camera's version bumped.
    Done,
    /// Another decision for the camera committed after the state was read: read again.
    Contended,
}

/// The frames and intrusions store.
///
/// Decisions for one camera are serialised by [`DetectionStore::commit`]:
/// it writes only if the camera's version is still the one read, and bumps it
/// in the same all-or-nothing write.
#[async_trait]
pub trait DetectionStore: Send + Sync {
    /// The stored result of a frame, if it was processed before.
    async fn frame(&self, key: &FrameKey) -> Result<Option<FrameRecord>, DomainError>;
    /// Stores a frame's result; storing the same frame again changes nothing that matters.
    async fn put_frame(&self, record: &FrameRecord) -> Result<(), DomainError>;
    /// A camera's frames with sequence numbers in `from..=to`, read consistently.
    async fn frames_between(&self, camera: DeviceId, from: u64, to: u64) -> Result<Vec<FrameRecord>, DomainError>;
    /// Keeps `record` as its camera's latest analysed frame, unless one
    /// analysed later is kept already; it expires with the frame's record.
    async fn keep_latest_frame(&self, record: &FrameRecord) -> Result<(), DomainError>;
    /// The camera's latest analysed frame as kept: the picture zones are drawn on.
    async fn latest_frame(&self, camera: DeviceId) -> Result<Option<FrameRecord>, DomainError>;
    /// The camera's version and recent intrusions, read consistently.
    async fn camera_state(&self, camera: DeviceId) -> Result<CameraState, DomainError>;
    /// Writes `change` and bumps the camera's version, if the version is still `seen_version`.
    async fn commit(
        &self,
        camera: DeviceId,
        seen_version: u64,
        change: &IntrusionChange,
    ) -> Result<Commit, DomainError>;
    /// Records where the annotated snapshot of an intrusion was stored.
    async fn set_snapshot(&self, intrusion: &Intrusion, snapshot_key: &str) -> Result<(), DomainError>;
    /// Records an object whose key names no camera, so it is never silently lost.
    async fn record_unroutable(&self, object_key: &str, reason: &str, expires_at: i64) -> Result<(), DomainError>;
    /// Intrusions of a scope started between `from` and `to` (with `status`,
    /// when given), newest first. A page may hold fewer than its limit and still
    /// have a next one.
    async fn list_intrusions(
        &self,
        scope: IntrusionScope,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        status: Option<IntrusionStatus>,
        page: &PageRequest,
    ) -> Result<Page<Intrusion>, DomainError>;
    /// Intrusions not resolved yet (open or acknowledged), of every client, oldest first.
    async fn unresolved(&self, page: &PageRequest) -> Result<Page<Intrusion>, DomainError>;
    /// An intrusion by id.
    async fn intrusion(&self, id: IntrusionId) -> Result<Option<Intrusion>, DomainError>;
    /// Moves an intrusion to `status`, recording who did it; a conflict if its
    /// status is no longer the one in `intrusion`.
    async fn set_handling(
        &self,
        intrusion: &Intrusion,
        status: IntrusionStatus,
        handling: &Handling,
    ) -> Result<Intrusion, DomainError>;
    /// Opens a resolved intrusion again (acknowledged if it was before, else
    /// open), back in the alarm queue, unless it changed since it was read.
    async fn reopen(&self, intrusion: &Intrusion, reopening: &Reopening) -> Result<Intrusion, DomainError>;
    /// Deletes an intrusion past its retention; deleting it again is no error.
    async fn delete_intrusion(&self, intrusion: &Intrusion) -> Result<(), DomainError>;
    /// Deletes a camera's frame results, its decision state and its frames'
    /// rejections (its intrusions go one by one); answers how many records.
    async fn erase_camera(&self, camera: DeviceId) -> Result<u32, DomainError>;
}

/// A frame's bytes as uploaded, and the capture time the camera signed with them.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameBytes {
    pub bytes: Vec<u8>,
    pub captured_at: Option<DateTime<Utc>>,
}

/// Why a frame cannot be analysed, as stored with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// A short, stable code for storage and metrics.
    pub code: String,
    /// What was wrong, for people.
    pub reason: String,
}

impl From<Rejection> for FrameOutcome {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected {
            code: rejection.code,
            reason: rejection.reason,
        }
    }
}

/// The bucket the frames are uploaded to.
#[async_trait]
pub trait FrameObjects: Send + Sync {
    /// A frame's bytes, or why they are unusable (gone, too large); an error only when storage fails.
    async fn fetch(&self, key: &str) -> Result<Result<FrameBytes, Rejection>, DomainError>;
    /// Deletes an object no camera owns (an unknown or erased camera's, or an
    /// alarm's), so an upload URL used after an erasure brings nothing back.
    async fn discard(&self, key: &str) -> Result<(), DomainError>;
}

/// The person detector.
#[async_trait]
pub trait PersonFinder: Send + Sync {
    /// Decodes and analyses a frame: every person box found (down to
    /// [`SCORE_FLOOR`](super::zones::SCORE_FLOOR)), or why the bytes are no usable
    /// frame. An error only when the detector itself fails.
    async fn analyse(&self, frame: FrameBytes) -> Result<Result<Sighting, Rejection>, DomainError>;
}

/// What an intrusion keeps as evidence: its opening frames copied out of the
/// expiring frames, and the frame with its people outlined.
#[async_trait]
pub trait EvidenceKeeper: Send + Sync {
    /// Keeps the opening frames and stores `frame` with the camera's zones
    /// outlined and its people boxed (those counted strongly), answering the
    /// snapshot's key; the camera's privacy masks are blurred in all of them.
    /// Doing it again gives the same result.
    async fn keep(
        &self,
        intrusion: &Intrusion,
        frame: &FrameRecord,
        settings: &CameraDetection,
    ) -> Result<String, DomainError>;
}

/// The cameras of the directory, as detection needs them.
#[async_trait]
pub trait Cameras: Send + Sync {
    /// The device with this id, if it exists (a camera or not).
    async fn device(&self, id: DeviceId) -> Result<Option<Device>, DomainError>;
}
