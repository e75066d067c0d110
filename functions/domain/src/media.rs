//! Snapshots and clips as users get them: an intrusion with short-lived
//! presigned download links, for the API and both portals alike.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::{CLIPS_BUCKET, Config, FRAMES_BUCKET, MissingSetting};
use crate::detection::Intrusion;
use crate::error::DomainError;
use crate::response::{ClipState, DeliveryView, IntrusionRecord, Notification};

/// How long the links in an intrusion stay valid.
pub const LINK_LIFETIME: Duration = Duration::from_secs(900);

/// Presigns downloads from the frames bucket (snapshots) and the clips bucket.
#[derive(Clone)]
pub struct MediaLinks {
    s3: aws_sdk_s3::Client,
    frames_bucket: String,
    clips_bucket: String,
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
    /// A short-lived link to the frame with the people boxed.
    pub snapshot_url: Option<String>,
    /// `null` while the clip has not been requested yet.
    pub clip: Option<ClipView>,
    /// Alarm activations and the clip request, with how and when each reached its device.
    pub commands: Vec<DeliveryView>,
    pub notifications: Vec<Notification>,
    /// When the links stop working.
    pub links_expire_at: DateTime<Utc>,
}

impl MediaLinks {
    /// Uses the buckets named in `config`.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        Ok(Self {
            s3: config.s3_client(sdk),
            frames_bucket: config.required(FRAMES_BUCKET)?.to_owned(),
            clips_bucket: config.required(CLIPS_BUCKET)?.to_owned(),
        })
    }

    async fn presign(&self, bucket: &str, key: &str) -> Result<String, DomainError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(LINK_LIFETIME)
            .map_err(|e| DomainError::unavailable("cannot presign a link", e))?;
        let request = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| DomainError::unavailable("cannot presign a link", e))?;
        Ok(request.uri().to_owned())
    }

    /// A 15-minute link to an object of the frames bucket (a camera's frame).
    pub async fn frame_link(&self, key: &str) -> Result<String, DomainError> {
        self.presign(&self.frames_bucket, key).await
    }

    /// An intrusion's record with links to its snapshot and (once stored) its clip.
    pub async fn detail(&self, record: IntrusionRecord) -> Result<IntrusionDetail, DomainError> {
        let now = Utc::now();
        let snapshot_url = match &record.intrusion.snapshot_key {
            Some(key) => Some(self.presign(&self.frames_bucket, key).await?),
            None => None,
        };
        let clip = match record.records.clip {
            Some(clip) => Some(ClipView {
                state: clip.state(now),
                url: match clip.stored_at {
                    Some(_) => Some(self.presign(&self.clips_bucket, &clip.key).await?),
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
            snapshot_url,
            clip,
            commands: record.records.deliveries.iter().map(DeliveryView::from).collect(),
            notifications: record.records.notifications,
            links_expire_at: now + LINK_LIFETIME,
        })
    }
}
