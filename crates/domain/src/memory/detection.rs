//! In-memory adapters of the detection ports: the frames and intrusions store,
//! the frames bucket, a person finder for labelled test frames, the evidence
//! keeper and the camera directory.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{lock, page_of, round_trip};
use crate::detection::ports::{
    CameraState, Cameras, Commit, DetectionStore, EvidenceKeeper, FrameBytes, FrameObjects, IntrusionChange,
    PersonFinder, Rejection,
};
use crate::detection::zones::{CameraDetection, Sighting};
use crate::detection::{FrameKey, FrameRecord, Handling, Intrusion, IntrusionScope, IntrusionStatus, Reopening};
use crate::directory::Device;
use crate::error::DomainError;
use crate::ids::{DeviceId, IntrusionId};
use crate::page::{Page, PageRequest};

/// How many recent intrusions a camera's state carries, as in the DynamoDB adapter.
const RECENT: usize = 20;

#[derive(Default)]
struct Tables {
    frames: BTreeMap<(DeviceId, u64), FrameRecord>,
    latest: HashMap<DeviceId, FrameRecord>,
    versions: HashMap<DeviceId, u64>,
    intrusions: BTreeMap<IntrusionId, Intrusion>,
    unroutable: Vec<(String, String)>,
}

/// The frames and intrusions store, in memory.
#[derive(Default)]
pub struct MemoryDetectionStore {
    tables: Mutex<Tables>,
    commits: AtomicU32,
    contended: AtomicU32,
}

impl MemoryDetectionStore {
    /// Every intrusion, oldest first.
    pub fn intrusions(&self) -> Vec<Intrusion> {
        let mut all: Vec<Intrusion> = lock(&self.tables).intrusions.values().cloned().collect();
        all.sort_by_key(|i| (i.started_at, i.first_seq));
        all
    }

    /// Every frame result stored.
    pub fn frames(&self) -> Vec<FrameRecord> {
        lock(&self.tables).frames.values().cloned().collect()
    }

    /// The unroutable objects recorded, with their reasons.
    pub fn unroutable(&self) -> Vec<(String, String)> {
        lock(&self.tables).unroutable.clone()
    }

    /// How many commits were written, and how many lost to a concurrent decision.
    pub fn commit_counts(&self) -> (u32, u32) {
        (
            self.commits.load(Ordering::SeqCst),
            self.contended.load(Ordering::SeqCst),
        )
    }
}

fn in_scope(intrusion: &Intrusion, scope: IntrusionScope) -> bool {
    match scope {
        IntrusionScope::Camera(camera) => intrusion.camera_id == camera,
        IntrusionScope::Site(site) => intrusion.site_id == site,
        IntrusionScope::Client(client) => intrusion.client_id == client,
        IntrusionScope::All => true,
    }
}

#[async_trait]
impl DetectionStore for MemoryDetectionStore {
    async fn frame(&self, key: &FrameKey) -> Result<Option<FrameRecord>, DomainError> {
        round_trip().await;
        Ok(lock(&self.tables).frames.get(&(key.camera, key.seq)).cloned())
    }

    async fn put_frame(&self, record: &FrameRecord) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.tables)
            .frames
            .insert((record.camera_id, record.seq), record.clone());
        Ok(())
    }

    async fn frames_between(&self, camera: DeviceId, from: u64, to: u64) -> Result<Vec<FrameRecord>, DomainError> {
        round_trip().await;
        Ok(lock(&self.tables)
            .frames
            .range((camera, from)..=(camera, to))
            .map(|(_, record)| record.clone())
            .collect())
    }

    async fn keep_latest_frame(&self, record: &FrameRecord) -> Result<(), DomainError> {
        round_trip().await;
        let mut tables = lock(&self.tables);
        let kept = tables.latest.entry(record.camera_id).or_insert_with(|| record.clone());
        if kept.analysed_at < record.analysed_at {
            *kept = record.clone();
        }
        Ok(())
    }

    async fn latest_frame(&self, camera: DeviceId) -> Result<Option<FrameRecord>, DomainError> {
        round_trip().await;
        Ok(lock(&self.tables).latest.get(&camera).cloned())
    }

    async fn camera_state(&self, camera: DeviceId) -> Result<CameraState, DomainError> {
        round_trip().await;
        let tables = lock(&self.tables);
        let mut recent: Vec<Intrusion> = tables
            .intrusions
            .values()
            .filter(|i| i.camera_id == camera)
            .cloned()
            .collect();
        recent.sort_by_key(|i| std::cmp::Reverse((i.started_at, i.id)));
        recent.truncate(RECENT);
        Ok(CameraState {
            version: tables.versions.get(&camera).copied().unwrap_or(0),
            recent,
        })
    }

    async fn commit(
        &self,
        camera: DeviceId,
        seen_version: u64,
        change: &IntrusionChange,
    ) -> Result<Commit, DomainError> {
        round_trip().await;
        let mut tables = lock(&self.tables);
        let version = tables.versions.entry(camera).or_insert(0);
        if *version != seen_version {
            self.contended.fetch_add(1, Ordering::SeqCst);
            return Ok(Commit::Contended);
        }
        match change {
            IntrusionChange::Open(intrusion) | IntrusionChange::OpenAfter { opened: intrusion, .. } => {
                if tables.intrusions.contains_key(&intrusion.id) {
                    return Err(DomainError::unavailable(
                        "cannot record an intrusion",
                        "an intrusion with this id exists",
                    ));
                }
                if let IntrusionChange::OpenAfter { resolved, .. } = change {
                    // As the table's transaction: the one followed must still exist.
                    let Some(followed) = tables.intrusions.get_mut(&resolved.id) else {
                        self.contended.fetch_add(1, Ordering::SeqCst);
                        return Ok(Commit::Contended);
                    };
                    followed.followed_by = Some(intrusion.id);
                }
                *tables.versions.entry(camera).or_insert(0) += 1;
                tables.intrusions.insert(intrusion.id, intrusion.clone());
            }
            IntrusionChange::Extend { existing, merged } => {
                let Some(stored) = tables.intrusions.get_mut(&existing.id) else {
                    return Err(DomainError::unavailable(
                        "cannot record an intrusion",
                        "the intrusion to extend is gone",
                    ));
                };
                if stored.status == IntrusionStatus::Resolved {
                    // Resolved since it was read: as the table's condition, decide again.
                    self.contended.fetch_add(1, Ordering::SeqCst);
                    return Ok(Commit::Contended);
                }
                stored.first_seq = merged.first_seq;
                stored.last_seq = merged.last_seq;
                stored.last_seen_at = merged.last_at;
                stored.peak_score = merged.peak_score;
                *tables.versions.entry(camera).or_insert(0) += 1;
            }
        }
        self.commits.fetch_add(1, Ordering::SeqCst);
        Ok(Commit::Done)
    }

    async fn set_snapshot(&self, intrusion: &Intrusion, snapshot_key: &str) -> Result<(), DomainError> {
        round_trip().await;
        let mut tables = lock(&self.tables);
        let stored = tables
            .intrusions
            .get_mut(&intrusion.id)
            .ok_or_else(|| DomainError::unavailable("cannot record a snapshot", "no such intrusion"))?;
        stored.snapshot_key = Some(snapshot_key.to_owned());
        Ok(())
    }

    async fn record_unroutable(&self, object_key: &str, reason: &str, _expires_at: i64) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.tables)
            .unroutable
            .push((object_key.to_owned(), reason.to_owned()));
        Ok(())
    }

    async fn list_intrusions(
        &self,
        scope: IntrusionScope,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        status: Option<IntrusionStatus>,
        page: &PageRequest,
    ) -> Result<Page<Intrusion>, DomainError> {
        round_trip().await;
        let mut matching: Vec<Intrusion> = lock(&self.tables)
            .intrusions
            .values()
            .filter(|i| in_scope(i, scope))
            .filter(|i| from.is_none_or(|from| i.started_at >= from) && to.is_none_or(|to| i.started_at <= to))
            .filter(|i| status.is_none_or(|status| i.status == status))
            .cloned()
            .collect();
        matching.sort_by_key(|i| std::cmp::Reverse((i.started_at, i.id)));
        page_of(&matching, page)
    }

    async fn unresolved(&self, page: &PageRequest) -> Result<Page<Intrusion>, DomainError> {
        round_trip().await;
        let mut matching: Vec<Intrusion> = lock(&self.tables)
            .intrusions
            .values()
            .filter(|i| i.status != IntrusionStatus::Resolved)
            .cloned()
            .collect();
        matching.sort_by_key(|i| (i.started_at, i.id));
        page_of(&matching, page)
    }

    async fn intrusion(&self, id: IntrusionId) -> Result<Option<Intrusion>, DomainError> {
        round_trip().await;
        Ok(lock(&self.tables).intrusions.get(&id).cloned())
    }

    async fn set_handling(
        &self,
        intrusion: &Intrusion,
        status: IntrusionStatus,
        handling: &Handling,
    ) -> Result<Intrusion, DomainError> {
        round_trip().await;
        let mut tables = lock(&self.tables);
        let stored = tables
            .intrusions
            .get_mut(&intrusion.id)
            .filter(|stored| stored.status == intrusion.status)
            .ok_or_else(|| DomainError::Conflict("the intrusion changed meanwhile; read it again".into()))?;
        stored.status = status;
        if status == IntrusionStatus::Resolved {
            stored.resolved = Some(handling.clone());
        } else {
            stored.acknowledged = Some(handling.clone());
        }
        Ok(stored.clone())
    }

    async fn reopen(&self, intrusion: &Intrusion, reopening: &Reopening) -> Result<Intrusion, DomainError> {
        round_trip().await;
        let mut tables = lock(&self.tables);
        let stored = tables
            .intrusions
            .get_mut(&intrusion.id)
            .filter(|stored| stored.status == IntrusionStatus::Resolved && stored.resolved == intrusion.resolved)
            .ok_or_else(|| DomainError::Conflict("the intrusion changed meanwhile; read it again".into()))?;
        stored.status = stored.status_when_reopened();
        stored.resolved = None;
        stored.reopened = Some(reopening.clone());
        Ok(stored.clone())
    }

    async fn delete_intrusion(&self, intrusion: &Intrusion) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.tables).intrusions.remove(&intrusion.id);
        Ok(())
    }

    async fn erase_camera(&self, camera: DeviceId) -> Result<u32, DomainError> {
        round_trip().await;
        let mut tables = lock(&self.tables);
        let before = tables.frames.len() + tables.unroutable.len();
        tables.frames.retain(|(of, _), _| *of != camera);
        let prefix = format!("frames/{camera}/");
        tables.unroutable.retain(|(key, _)| !key.starts_with(&prefix));
        let state = usize::from(tables.versions.remove(&camera).is_some())
            + usize::from(tables.latest.remove(&camera).is_some());
        let after = tables.frames.len() + tables.unroutable.len();
        Ok(u32::try_from(before - after + state).unwrap_or(u32::MAX))
    }
}

/// The frames bucket, in memory.
#[derive(Default)]
pub struct MemoryFrames {
    objects: Mutex<HashMap<String, FrameBytes>>,
}

impl MemoryFrames {
    /// Uploads a frame, as a camera would with its presigned PUT.
    pub fn put(&self, key: impl Into<String>, frame: FrameBytes) {
        lock(&self.objects).insert(key.into(), frame);
    }

    /// Whether the bucket holds `key`.
    pub fn has(&self, key: &str) -> bool {
        lock(&self.objects).contains_key(key)
    }
}

#[async_trait]
impl FrameObjects for MemoryFrames {
    async fn fetch(&self, key: &str) -> Result<Result<FrameBytes, Rejection>, DomainError> {
        round_trip().await;
        Ok(lock(&self.objects).get(key).cloned().ok_or_else(|| Rejection {
            code: "corrupt".into(),
            reason: "the object no longer exists".into(),
        }))
    }

    async fn discard(&self, key: &str) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.objects).remove(key);
        Ok(())
    }
}

/// A person finder for test frames whose bytes are a label, in a 100×100 frame:
/// `person [score [x1 y1 x2 y2]]` (by default 0.9, standing at the middle
/// bottom), `empty`, or anything else, which is no image. The real detector has
/// its own tests on real pictures.
#[derive(Default)]
pub struct LabelledFrames;

/// The size of a labelled frame.
pub const LABELLED_SIZE: u32 = 100;

#[async_trait]
impl PersonFinder for LabelledFrames {
    async fn analyse(&self, frame: FrameBytes) -> Result<Result<Sighting, Rejection>, DomainError> {
        let label = String::from_utf8_lossy(&frame.bytes);
        let mut words = label.split_whitespace();
        let kind = words.next();
        let numbers: Vec<f32> = words.filter_map(|w| w.parse().ok()).collect();
        let sighting = |boxes: Vec<[f32; 5]>| Sighting {
            width: LABELLED_SIZE,
            height: LABELLED_SIZE,
            score: boxes.iter().map(|b| b[4]).fold(0.05, f32::max),
            boxes,
        };
        Ok(match (kind, numbers.as_slice()) {
            (Some("person"), []) => Ok(sighting(vec![[40.0, 20.0, 80.0, 90.0, 0.9]])),
            (Some("person"), [score]) => Ok(sighting(vec![[40.0, 20.0, 80.0, 90.0, *score]])),
            (Some("person"), [score, x1, y1, x2, y2]) => Ok(sighting(vec![[*x1, *y1, *x2, *y2, *score]])),
            (Some("empty"), []) => Ok(sighting(Vec::new())),
            _ => Err(Rejection {
                code: "not-an-image".into(),
                reason: "the frame is not an image".into(),
            }),
        })
    }
}

/// The evidence keeper, in memory, able to fail on demand like S3 can.
#[derive(Default)]
pub struct MemoryEvidence {
    kept: Mutex<BTreeMap<IntrusionId, (Vec<String>, u64)>>,
    failures_left: AtomicU32,
    calls: AtomicU32,
}

impl MemoryEvidence {
    /// Makes the next `count` calls fail as a storage outage would.
    pub fn fail_next(&self, count: u32) {
        self.failures_left.store(count, Ordering::SeqCst);
    }

    /// The opening frames copied and the frame annotated, per intrusion.
    pub fn kept(&self, intrusion: IntrusionId) -> Option<(Vec<String>, u64)> {
        lock(&self.kept).get(&intrusion).cloned()
    }

    /// How often evidence was asked for, failed calls included.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl EvidenceKeeper for MemoryEvidence {
    async fn keep(
        &self,
        intrusion: &Intrusion,
        frame: &FrameRecord,
        _settings: &CameraDetection,
    ) -> Result<String, DomainError> {
        round_trip().await;
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
            .is_ok();
        if fail {
            return Err(DomainError::unavailable(
                "cannot keep an intrusion's frame",
                "injected storage failure",
            ));
        }
        lock(&self.kept).insert(intrusion.id, (intrusion.frame_keys.clone(), frame.seq));
        Ok(format!("snapshots/{}.jpg", intrusion.id))
    }
}

/// The cameras of a directory, in memory.
#[derive(Default)]
pub struct MemoryCameras {
    devices: Mutex<HashMap<DeviceId, Device>>,
}

impl MemoryCameras {
    /// Registers a device.
    pub fn add(&self, device: Device) {
        lock(&self.devices).insert(device.id, device);
    }
}

#[async_trait]
impl Cameras for MemoryCameras {
    async fn device(&self, id: DeviceId) -> Result<Option<Device>, DomainError> {
        round_trip().await;
        Ok(lock(&self.devices).get(&id).cloned())
    }
}
