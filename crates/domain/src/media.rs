//! Snapshots and clips as users get them: an intrusion with short-lived
//! download links, for the API and both portals alike. Links are signed through
//! a port ([`LinkSigner`]); the S3 presigning adapter is in `seccom-aws`. A
//! frame that came in a bundle has no link of its own: it is read out of the
//! bundle ([`bundled_frame`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::{Clock, SystemClock};
use crate::detection::Intrusion;
use crate::error::DomainError;
use crate::response::{ClipState, DeliveryView, EscalationRecord, IntrusionRecord, IntrusionSubject, Notification};

/// How long the links in an intrusion stay valid.
pub const LINK_LIFETIME: Duration = Duration::from_secs(900);

/// Where a stored object lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// Camera frames, snapshots and evidence.
    Frames,
    /// Intrusion clips.
    Clips,
}

/// Signs download links to stored objects.
#[async_trait]
pub trait LinkSigner: Send + Sync {
    /// A link to `key` in `store` that works for `lifetime`.
    async fn link(&self, store: Store, key: &str, lifetime: Duration) -> Result<String, DomainError>;
}

/// Reads objects of the frames bucket.
#[async_trait]
pub trait FrameReader: Send + Sync {
    /// An object's bytes; `None` when it is gone.
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, DomainError>;
}

/// The bytes of a frame that came in a bundle (no link can name one member of
/// an object); `None` when the bundle is gone or lacks it.
pub async fn bundled_frame(reader: &dyn FrameReader, address: &str) -> Result<Option<Vec<u8>>, DomainError> {
    let (key, member) = crate::detection::bundle::frame_location(address);
    Ok(reader
        .read(key)
        .await?
        .and_then(|object| crate::detection::bundle::frame_bytes(member, object)))
}

/// The content type of a stored picture: frames are JPEG or PNG, and what
/// SecCom draws (snapshots, blurred evidence) is JPEG.
pub fn picture_type(picture: &[u8]) -> &'static str {
    if picture.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

/// Gives users links to the media of intrusions and cameras.
#[derive(Clone)]
pub struct MediaLinks {
    signer: Arc<dyn LinkSigner>,
    clock: Arc<dyn Clock>,
}

/// The clip of an intrusion as users see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClipView {
    pub state: ClipState,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// When a clip that has not arrived is reported missing.
    pub due_by: DateTime<Utc>,
    pub stored_at: Option<DateTime<Utc>>,
    /// Bytes.
    pub size: Option<u64>,
    /// A short-lived download link, once stored.
    pub url: Option<String>,
}

/// An intrusion with everything its response did and links to its media.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntrusionDetail {
    #[serde(flatten)]
    pub intrusion: Intrusion,
    #[serde(flatten)]
    pub subject: IntrusionSubject,
    /// A short-lived link to the frame with the people boxed.
    pub snapshot_url: Option<String>,
    /// Short-lived links to the frames that opened the intrusion, oldest first.
    pub evidence_urls: Vec<String>,
    /// `null` while the clip has not been requested yet.
    pub clip: Option<ClipView>,
    /// Alarm activations and the clip request, with how and when each reached its device.
    pub commands: Vec<DeliveryView>,
    pub notifications: Vec<Notification>,
    /// Escalation steps taken because nobody acknowledged in time, in order.
    pub escalations: Vec<EscalationRecord>,
    /// When the links stop working.
    pub links_expire_at: DateTime<Utc>,
}

impl MediaLinks {
    /// Links signed by `signer`, on the system clock.
    pub fn new(signer: Arc<dyn LinkSigner>) -> Self {
        Self::with_clock(signer, Arc::new(SystemClock))
    }

    /// Links signed by `signer`, expiring by `clock`.
    pub fn with_clock(signer: Arc<dyn LinkSigner>, clock: Arc<dyn Clock>) -> Self {
        Self { signer, clock }
    }

    async fn presign(&self, store: Store, key: &str) -> Result<String, DomainError> {
        self.signer.link(store, key, LINK_LIFETIME).await
    }

    /// A 15-minute link to an object of the frames bucket (a camera's frame).
    pub async fn frame_link(&self, key: &str) -> Result<String, DomainError> {
        self.presign(Store::Frames, key).await
    }

    /// An intrusion's record with links to its snapshot and (once stored) its clip.
    pub async fn detail(&self, record: IntrusionRecord) -> Result<IntrusionDetail, DomainError> {
        let now = self.clock.now();
        let snapshot_url = match &record.intrusion.snapshot_key {
            Some(key) => Some(self.presign(Store::Frames, key).await?),
            None => None,
        };
        let mut evidence_urls = Vec::new();
        for (_, key) in record.intrusion.evidence_keys() {
            evidence_urls.push(self.presign(Store::Frames, &key).await?);
        }
        let clip = match record.records.clip {
            Some(clip) => Some(ClipView {
                state: clip.state(now),
                url: match clip.stored_at {
                    Some(_) => Some(self.presign(Store::Clips, &clip.key).await?),
                    None => None,
                },
                from: clip.from,
                to: clip.to,
                due_by: clip.due_by,
                stored_at: clip.stored_at,
                size: clip.size,
            }),
            None => None,
        };
        Ok(IntrusionDetail {
            intrusion: record.intrusion,
            subject: record.subject,
            snapshot_url,
            evidence_urls,
            clip,
            commands: record.records.deliveries.iter().map(DeliveryView::from).collect(),
            notifications: record.records.notifications,
            escalations: record.records.escalations,
            links_expire_at: now + LINK_LIFETIME,
        })
    }
}
