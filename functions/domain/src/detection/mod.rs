//! Frames and intrusions: where frames live in S3, what the detector concluded
//! about each, and the intrusions that bursts of person frames open.

pub mod rule;
mod store;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use store::{Decision, DetectionTables, IntrusionScope};

use crate::auth::Principal;
use crate::directory::{DeviceKind, Directory};
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, IntrusionId, SiteId};
use crate::page::{Page, PageRequest};

/// The folder of the frames bucket that cameras upload into.
pub const FRAMES_PREFIX: &str = "frames/";

/// A frame's place in the frames bucket: `frames/<camera id>/<sequence number, 20 digits>`,
/// so a camera's frames list in sequence order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameKey {
    pub camera: DeviceId,
    pub seq: u64,
}

impl FrameKey {
    /// Reads an object key (already URL-decoded); anything outside the layout is refused.
    pub fn parse(key: &str) -> Result<Self, String> {
        let rest = key
            .strip_prefix(FRAMES_PREFIX)
            .ok_or_else(|| format!("{key} is not under {FRAMES_PREFIX}"))?;
        let (camera, seq) = rest
            .split_once('/')
            .ok_or_else(|| format!("{key} does not name a camera and a frame"))?;
        let camera = camera.parse().map_err(|_| format!("{key} does not name a camera id"))?;
        if seq.len() != 20 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{key} does not end in a 20-digit sequence number"));
        }
        Ok(Self {
            camera,
            seq: seq
                .parse()
                .map_err(|_| format!("{key} has an out-of-range sequence number"))?,
        })
    }
}

impl fmt::Display for FrameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{FRAMES_PREFIX}{}/{:020}", self.camera, self.seq)
    }
}

/// What became of a frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum FrameOutcome {
    /// The detector ran.
    Analysed {
        person: bool,
        score: f32,
        /// `[x1, y1, x2, y2, score]` in the frame's pixels.
        boxes: Vec<[f32; 5]>,
    },
    /// The frame was refused, and why.
    Rejected { code: String, reason: String },
}

/// The stored result of one frame; kept for a limited time (see `expiresAt`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameRecord {
    pub camera_id: DeviceId,
    pub seq: u64,
    pub captured_at: DateTime<Utc>,
    pub object_key: String,
    #[serde(flatten)]
    pub outcome: FrameOutcome,
    pub analysed_at: DateTime<Utc>,
    /// When DynamoDB's TTL removes the record (seconds since the epoch).
    pub expires_at: i64,
}

impl FrameRecord {
    /// The rule's view of the frame: a rejected frame counts as a frame without a person.
    pub fn observation(&self) -> rule::Observation {
        match &self.outcome {
            FrameOutcome::Analysed { person, score, .. } => rule::Observation {
                captured_at: self.captured_at,
                person: *person,
                score: *score,
            },
            FrameOutcome::Rejected { .. } => rule::Observation {
                captured_at: self.captured_at,
                person: false,
                score: 0.0,
            },
        }
    }
}

/// Where an intrusion is in its handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntrusionStatus {
    Open,
    Acknowledged,
    Resolved,
}

/// An intrusion: one burst of consecutive person frames of one camera.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Intrusion {
    pub id: IntrusionId,
    pub client_id: ClientId,
    pub site_id: SiteId,
    pub camera_id: DeviceId,
    /// When the first frame of the window that opened the intrusion was captured.
    pub started_at: DateTime<Utc>,
    /// When the latest person frame of the burst was captured.
    pub last_seen_at: DateTime<Utc>,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The object keys of the three frames that opened the intrusion.
    pub frame_keys: Vec<String>,
    pub peak_score: f32,
    pub status: IntrusionStatus,
    /// The frame with the people boxed, in the frames bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_key: Option<String>,
}

impl Intrusion {
    fn extent(&self) -> rule::Extent {
        rule::Extent {
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            first_at: self.started_at,
            last_at: self.last_seen_at,
            peak_score: self.peak_score,
        }
    }
}

/// Filters of an intrusion list.
#[derive(Clone, Copy, Debug, Default)]
pub struct IntrusionFilter {
    pub site: Option<SiteId>,
    pub camera: Option<DeviceId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The intrusion use cases, each scoped by the authorisation policy.
#[derive(Clone)]
pub struct Intrusions {
    directory: Directory,
    tables: DetectionTables,
}

impl Intrusions {
    /// Intrusion use cases over these stores.
    pub fn new(directory: Directory, tables: DetectionTables) -> Self {
        Self { directory, tables }
    }

    /// Intrusions newest first: all for staff, the caller's own for a client user;
    /// a site or camera of another tenant is not found.
    pub async fn list(
        &self,
        who: &Principal,
        filter: IntrusionFilter,
        page: PageRequest,
    ) -> Result<Page<Intrusion>, DomainError> {
        let scope = if let Some(camera) = filter.camera {
            let camera = self.directory.get_device(who, camera, DeviceKind::Camera).await?;
            if filter.site.is_some_and(|site| site != camera.site_id) {
                return Ok(Page {
                    items: Vec::new(),
                    next_token: None,
                });
            }
            IntrusionScope::Camera(camera.id)
        } else if let Some(site) = filter.site {
            IntrusionScope::Site(self.directory.get_site(who, site).await?.id)
        } else {
            who.tenant().map_or(IntrusionScope::All, IntrusionScope::Client)
        };
        self.tables.list_intrusions(scope, filter.from, filter.to, &page).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_keys_round_trip_and_refuse_other_layouts() {
        let key = FrameKey {
            camera: DeviceId::generate(),
            seq: 42,
        };
        assert_eq!(FrameKey::parse(&key.to_string()).unwrap(), key);
        assert!(key.to_string().ends_with("/00000000000000000042"));
        for bad in [
            "other/x",
            "frames/not-a-uuid/00000000000000000001",
            &format!("frames/{}/12", key.camera),
            "frames/",
        ] {
            assert!(FrameKey::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
