//! Frames and intrusions: where frames live in S3, what the detector concluded
//! about each, and the intrusions that bursts of person frames open.

pub mod bundle;
mod decide;
mod latest;
mod observe;
pub mod ports;
pub mod rule;
pub mod zones;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use decide::decide;
pub use latest::{LATEST_FRAME_EVERY, LatestFrames};
pub use observe::{CAPTURED_AT_METADATA, Decision, DetectionPorts, DetectionSettings, FrameObserver, FrameReport};
pub use ports::DetectionStore;

use crate::audit::AuditAction;
use crate::auth::Principal;
use crate::clock::Clock;
use crate::directory::{DeviceKind, Directory};
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, IntrusionId, SiteId};
use crate::page::{Page, PageRequest};
use crate::values::FieldErrors;

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
        /// Whether a person the camera's settings count was seen.
        person: bool,
        /// The highest person score anywhere in the frame.
        score: f32,
        /// Every box found, `[x1, y1, x2, y2, score]` in the frame's pixels.
        boxes: Vec<[f32; 5]>,
        /// The frame's size in pixels (0 for frames analysed before it was kept).
        #[serde(default)]
        width: u32,
        #[serde(default)]
        height: u32,
        /// Which of `boxes` the camera's settings counted (by index).
        #[serde(default)]
        counted: Vec<usize>,
        /// The zones counted people stood in.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        zones: Vec<String>,
        /// Whether the site was armed when the frame was captured; a person in a
        /// frame of a disarmed site is kept but does not count towards an intrusion.
        #[serde(default = "armed_by_default")]
        armed: bool,
    },
    /// The frame was refused, and why.
    Rejected { code: String, reason: String },
}

fn armed_by_default() -> bool {
    true
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
            FrameOutcome::Analysed {
                person, score, armed, ..
            } => rule::Observation {
                captured_at: self.captured_at,
                person: *person && *armed,
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

impl IntrusionStatus {
    /// The status as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }
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
    /// The detection zones the people who opened it stood in (none when the camera has no zones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    pub peak_score: f32,
    pub status: IntrusionStatus,
    /// The frame with the people boxed, in the frames bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_key: Option<String>,
    /// Who acknowledged the intrusion, when, and what they noted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Handling>,
    /// Who resolved the intrusion, when, what they noted, and whether it was a false alarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Handling>,
    /// Who last opened it again after it was resolved, and the resolution that undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened: Option<Reopening>,
    /// The resolved intrusion of the same camera whose burst this one continued:
    /// people seen after that one was resolved open this one, never extend that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<IntrusionId>,
    /// The intrusion opened by people seen at the same camera after this one was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followed_by: Option<IntrusionId>,
}

/// Staff opening a resolved intrusion again: who, when, why, and the resolution it undid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reopening {
    #[serde(flatten)]
    pub handling: Handling,
    pub undid: Handling,
}

/// One step of a person handling an intrusion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Handling {
    /// The identity provider's id of the user.
    pub by: String,
    /// The user's e-mail address, when their token carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_email: Option<String>,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Set when resolving: nobody was there after all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub false_alarm: Option<bool>,
}

/// Body of `POST /api/intrusions/{id}/acknowledge` and `/reopen`: a note only.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcknowledgeBody {
    /// What the person found or did (at most 2000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

impl From<AcknowledgeBody> for HandlingBody {
    fn from(body: AcknowledgeBody) -> Self {
        Self {
            note: body.note,
            false_alarm: None,
        }
    }
}

/// Body of `POST /api/intrusions/{id}/resolve` (and, without `falseAlarm`, of
/// an acknowledgement from the portals).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HandlingBody {
    /// What the person found or did (at most 2000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// Only when resolving: the intrusion was a false alarm.
    #[serde(default)]
    pub false_alarm: Option<bool>,
}

impl Handling {
    /// Who, as people read it: the e-mail address when known, else the user id.
    pub fn who(&self) -> &str {
        self.by_email.as_deref().unwrap_or(&self.by)
    }
}

impl HandlingBody {
    /// Validates the note; `resolving` says whether `falseAlarm` may be given.
    pub fn parse(self, who: &Principal, resolving: bool, at: DateTime<Utc>) -> Result<Handling, DomainError> {
        let mut errors = FieldErrors::default();
        // Counted as sent, before trimming, as the documented `maxLength` reads it.
        let note = self.note.and_then(|note| {
            errors
                .check(
                    "note",
                    if note.chars().count() > 2000 {
                        Err("note must be at most 2000 characters".to_owned())
                    } else {
                        Ok(note.trim().to_owned())
                    },
                )
                .filter(|note| !note.is_empty())
        });
        if !resolving && self.false_alarm.is_some() {
            errors.push("falseAlarm", "falseAlarm is given when resolving, not acknowledging");
        }
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(Handling {
            by: who.subject.clone(),
            by_email: who.email.clone(),
            at,
            note,
            false_alarm: resolving.then(|| self.false_alarm.unwrap_or(false)),
        })
    }
}

impl Intrusion {
    /// The status a resolved intrusion returns to when reopened: acknowledged if it was before.
    pub fn status_when_reopened(&self) -> IntrusionStatus {
        if self.acknowledged.is_some() {
            IntrusionStatus::Acknowledged
        } else {
            IntrusionStatus::Open
        }
    }

    /// Where the frames that opened the intrusion are kept once it opens (the
    /// routine frames expire): `(frame key, evidence key)` pairs, oldest first.
    pub fn evidence_keys(&self) -> Vec<(&str, String)> {
        self.frame_keys
            .iter()
            .filter(|key| !key.is_empty())
            .map(|key| {
                let name = key.rsplit('/').next().unwrap_or(key);
                (key.as_str(), format!("evidence/{}/{name}", self.id))
            })
            .collect()
    }

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
    pub status: Option<IntrusionStatus>,
}

/// Which intrusions a list covers.
#[derive(Clone, Copy, Debug)]
pub enum IntrusionScope {
    Camera(DeviceId),
    Site(SiteId),
    Client(ClientId),
    All,
}

/// The intrusion use cases, each scoped by the authorisation policy.
#[derive(Clone)]
pub struct Intrusions {
    directory: Directory,
    tables: Arc<dyn DetectionStore>,
    clock: Arc<dyn Clock>,
}

impl Intrusions {
    /// Intrusion use cases over these stores, on the system clock.
    pub fn new(directory: Directory, tables: Arc<dyn DetectionStore>) -> Self {
        Self::with_clock(directory, tables, Arc::new(crate::clock::SystemClock))
    }

    /// Intrusion use cases over these stores, reading the time from `clock`.
    pub fn with_clock(directory: Directory, tables: Arc<dyn DetectionStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            directory,
            tables,
            clock,
        }
    }

    /// Intrusions newest first: all for staff, the caller's own for a client user;
    /// a site or camera of another tenant is not found.
    pub async fn list(
        &self,
        who: &Principal,
        filter: IntrusionFilter,
        page: PageRequest,
    ) -> Result<Page<Intrusion>, DomainError> {
        crate::values::ordered_range(filter.from, filter.to)?;
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
        self.tables
            .list_intrusions(scope, filter.from, filter.to, filter.status, &page)
            .await
    }

    /// The alarm queue: intrusions nobody has resolved yet (open or
    /// acknowledged), of every client, oldest first. Staff only.
    #[tracing::instrument(skip_all)]
    pub async fn queue(&self, who: &Principal, page: PageRequest) -> Result<Page<Intrusion>, DomainError> {
        who.require_staff()?;
        self.tables.unresolved(&page).await
    }

    /// A camera's latest analysed frame (see [`LatestFrames`]), if the caller may see the camera.
    pub async fn latest_frame(&self, who: &Principal, camera: DeviceId) -> Result<Option<FrameRecord>, DomainError> {
        self.directory.get_device(who, camera, DeviceKind::Camera).await?;
        self.tables.latest_frame(camera).await
    }

    /// One intrusion, if the caller may see it.
    pub async fn get(&self, who: &Principal, id: IntrusionId) -> Result<Intrusion, DomainError> {
        let intrusion = self
            .tables
            .intrusion(id)
            .await?
            .ok_or(DomainError::NotFound("intrusion"))?;
        who.require_visible(intrusion.client_id, "intrusion")?;
        Ok(intrusion)
    }

    /// Marks an open intrusion as being dealt with (staff, or a user of the client).
    pub async fn acknowledge(
        &self,
        who: &Principal,
        id: IntrusionId,
        body: HandlingBody,
    ) -> Result<Intrusion, DomainError> {
        let handling = body.parse(who, false, self.clock.now())?;
        let intrusion = self.get(who, id).await?;
        if intrusion.status != IntrusionStatus::Open {
            return Err(DomainError::Conflict(format!(
                "the intrusion is already {}",
                intrusion.status.as_str()
            )));
        }
        let handled = self
            .tables
            .set_handling(&intrusion, IntrusionStatus::Acknowledged, &handling)
            .await?;
        self.audited(who, AuditAction::AcknowledgedIntrusion, &handled).await?;
        Ok(handled)
    }

    /// Records `action` on `intrusion` in the audit trail.
    pub(crate) async fn audited(
        &self,
        who: &Principal,
        action: AuditAction,
        intrusion: &Intrusion,
    ) -> Result<(), DomainError> {
        let target = format!("intrusion/{}", intrusion.id);
        self.directory
            .audit()
            .record(who, action, intrusion.client_id, target)
            .await
    }

    /// An intrusion the caller opens to look at (its snapshot, evidence and
    /// clip): recorded in the audit trail as a view.
    pub async fn view(&self, who: &Principal, id: IntrusionId) -> Result<Intrusion, DomainError> {
        let intrusion = self.get(who, id).await?;
        self.audited(who, AuditAction::ViewedIntrusion, &intrusion).await?;
        Ok(intrusion)
    }

    /// Closes an intrusion, saying whether it was a false alarm (staff, or a user of the client).
    pub async fn resolve(
        &self,
        who: &Principal,
        id: IntrusionId,
        body: HandlingBody,
    ) -> Result<Intrusion, DomainError> {
        let handling = body.parse(who, true, self.clock.now())?;
        let intrusion = self.get(who, id).await?;
        if intrusion.status == IntrusionStatus::Resolved {
            return Err(DomainError::Conflict("the intrusion is already resolved".into()));
        }
        let handled = self
            .tables
            .set_handling(&intrusion, IntrusionStatus::Resolved, &handling)
            .await?;
        self.audited(who, AuditAction::ResolvedIntrusion, &handled).await?;
        Ok(handled)
    }

    /// Opens a resolved intrusion again (staff only): it returns to the alarm
    /// queue, acknowledged if it was before, and keeps the resolution it undid.
    pub async fn reopen(&self, who: &Principal, id: IntrusionId, body: HandlingBody) -> Result<Intrusion, DomainError> {
        let handling = body.parse(who, false, self.clock.now())?;
        let intrusion = self.get(who, id).await?;
        who.require_staff()?;
        let Some(resolution) = intrusion.resolved.clone() else {
            return Err(DomainError::Conflict(format!(
                "the intrusion is {}, not resolved",
                intrusion.status.as_str()
            )));
        };
        let reopening = Reopening {
            handling,
            undid: resolution,
        };
        let reopened = self.tables.reopen(&intrusion, &reopening).await?;
        self.audited(who, AuditAction::ReopenedIntrusion, &reopened).await?;
        Ok(reopened)
    }
}

#[cfg(test)]
mod intrusions_tests;
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
