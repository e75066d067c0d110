//! Frame observed → decision: the use case every uploaded frame goes through.
//! It records what the frame showed (once, however often it is notified),
//! applies the three-frame rule against the camera's recent intrusions, and
//! makes sure a new intrusion keeps its evidence, retrying that on every later
//! frame of the burst until it is done.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tokio::sync::OnceCell;

use super::bundle::{self, BundleKey, FrameObject};
use super::decide::decide;
use super::latest::LatestFrames;
use super::ports::{Cameras, DetectionStore, EvidenceKeeper, FrameBytes, FrameObjects, PersonFinder, Rejection};
use super::zones::{CameraDetection, Sighting};
use super::{FrameKey, FrameOutcome, FrameRecord, Intrusion};
use crate::arming::SiteArming;
use crate::clock::Clock;
use crate::controls::{CachedControls, ControlStore};
use crate::directory::{Device, DeviceKind};
use crate::error::DomainError;

/// The object metadata a camera sends with each frame (`x-amz-meta-captured-at`).
pub const CAPTURED_AT_METADATA: &str = "captured-at";

/// What a frame's decision did.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// The frame is in no window of three consecutive person frames.
    NoRun,
    /// The frame's run opened this new intrusion.
    Opened(Intrusion),
    /// The frame's run extended this intrusion.
    Extended(Intrusion),
    /// The intrusion already covered the run (a duplicate or late notification).
    Unchanged(Intrusion),
}

impl Decision {
    /// The intrusion the frame belongs to, if any.
    pub fn intrusion(&self) -> Option<&Intrusion> {
        match self {
            Self::NoRun => None,
            Self::Opened(i) | Self::Extended(i) | Self::Unchanged(i) => Some(i),
        }
    }

    /// The decision's name in logs and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NoRun => "none",
            Self::Opened(_) => "opened",
            Self::Extended(_) => "extended",
            Self::Unchanged(_) => "unchanged",
        }
    }
}

/// What happened to one notified object, as logged and returned.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum FrameReport {
    /// The key is outside the frames layout; recorded as unroutable.
    Unroutable { key: String, reason: String },
    /// The frame was refused.
    Rejected { key: String, code: String, reason: String },
    /// The detector ran (now or on an earlier delivery of the same frame).
    Analysed {
        key: String,
        person: bool,
        score: f32,
        intrusion: Option<String>,
        decision: &'static str,
    },
}

/// Settings of the frame-observed use case.
#[derive(Clone, Copy, Debug)]
pub struct DetectionSettings {
    /// Without person frames for this long, a new burst is a new intrusion.
    pub quiet_gap: TimeDelta,
    /// How long a frame's result is kept.
    pub retention: TimeDelta,
}

impl Default for DetectionSettings {
    fn default() -> Self {
        Self {
            quiet_gap: TimeDelta::seconds(30),
            retention: TimeDelta::hours(24),
        }
    }
}

/// Everything the frame-observed use case works through.
#[derive(Clone)]
pub struct DetectionPorts {
    pub store: Arc<dyn DetectionStore>,
    pub cameras: Arc<dyn Cameras>,
    pub objects: Arc<dyn FrameObjects>,
    pub finder: Arc<dyn PersonFinder>,
    pub evidence: Arc<dyn EvidenceKeeper>,
    /// Site arming and camera settings: cached for frames in which nobody was
    /// found, read afresh for each notification with someone in a frame.
    pub controls: Arc<CachedControls>,
    /// When this container last kept each camera's latest frame.
    pub latest: Arc<LatestFrames>,
    pub clock: Arc<dyn Clock>,
}

/// The settings one notification's frames are judged by once someone is found
/// in one: read from the store when first needed, at most once each, so a
/// change saved before the notification applies to its frames (one read of
/// each for a bundle, not one per frame).
#[derive(Default)]
struct Current {
    detection: OnceCell<CameraDetection>,
    arming: OnceCell<SiteArming>,
}

/// The frame-observed use case.
#[derive(Clone)]
pub struct FrameObserver {
    ports: DetectionPorts,
    settings: DetectionSettings,
}

impl FrameObserver {
    /// The use case over these ports.
    pub fn new(ports: DetectionPorts, settings: DetectionSettings) -> Self {
        Self { ports, settings }
    }

    /// Handles one notification of an object in the frames bucket (a frame or a
    /// bundle of frames), reporting on each frame in sequence order. Bad frames
    /// are recorded and reported; the object of a camera that does not exist
    /// (erased, or never registered) is deleted once recorded. Only a failing
    /// dependency is an error, so the notification is delivered again and the
    /// work finished then.
    #[tracing::instrument(skip(self, notified_at), fields(decision))]
    pub async fn observe(&self, key: &str, notified_at: DateTime<Utc>) -> Result<Vec<FrameReport>, DomainError> {
        let current = Current::default();
        match FrameObject::parse(key) {
            Ok(FrameObject::Frame(frame_key)) => {
                Ok(vec![self.observe_frame(key, frame_key, notified_at, &current).await?])
            }
            Ok(FrameObject::Bundle(bundle)) => self.observe_bundle(key, bundle, notified_at, &current).await,
            Err(reason) => {
                tracing::warn!(reason, "unroutable frame");
                self.ports
                    .store
                    .record_unroutable(key, &reason, self.expires_at())
                    .await?;
                Ok(vec![FrameReport::Unroutable {
                    key: key.to_owned(),
                    reason,
                }])
            }
        }
    }

    async fn observe_frame(
        &self,
        key: &str,
        frame_key: FrameKey,
        notified_at: DateTime<Utc>,
        current: &Current,
    ) -> Result<FrameReport, DomainError> {
        // The three reads a new frame needs go out together: whether it was seen
        // before, its camera, and its bytes. A repeated notification or an unknown
        // camera wastes the GET, a new frame saves two round trips.
        let (stored, camera, fetched) = tokio::join!(
            self.ports.store.frame(&frame_key),
            self.ports.cameras.device(frame_key.camera),
            self.ports.objects.fetch(key),
        );
        let camera = camera?.filter(|device| device.kind == DeviceKind::Camera);
        let stored = match stored? {
            Some(stored) => stored,
            None => {
                let record = self
                    .analyse(key, frame_key, camera.as_ref(), fetched?, notified_at, current)
                    .await?;
                self.store_new(&[&record]).await?;
                record
            }
        };
        if camera.is_none() {
            self.ports.objects.discard(key).await?;
        }
        self.report(&stored, camera.as_ref(), current).await
    }

    /// Stores the records of frames analysed now, and keeps the newest of them
    /// analysed as its camera's latest frame when that is due.
    async fn store_new(&self, new: &[&FrameRecord]) -> Result<(), DomainError> {
        futures::future::try_join_all(new.iter().map(|record| self.ports.store.put_frame(record))).await?;
        let analysed = new
            .iter()
            .filter(|r| matches!(r.outcome, FrameOutcome::Analysed { .. }))
            .max_by_key(|r| r.seq);
        if let Some(latest) = analysed
            && self.ports.latest.due(latest.camera_id, self.ports.clock.now())
        {
            self.ports.store.keep_latest_frame(latest).await?;
        }
        Ok(())
    }

    /// A bundle's frames go through the same steps as single frames, in sequence
    /// order, after one read of those already recorded (a repeated notification),
    /// one of the camera and one GET. A bundle that cannot be read is recorded
    /// as its first frame, rejected.
    async fn observe_bundle(
        &self,
        key: &str,
        bundle: BundleKey,
        notified_at: DateTime<Utc>,
        current: &Current,
    ) -> Result<Vec<FrameReport>, DomainError> {
        let (stored, camera, fetched) = tokio::join!(
            self.ports
                .store
                .frames_between(bundle.camera, bundle.first, bundle.last),
            self.ports.cameras.device(bundle.camera),
            self.ports.objects.fetch(key),
        );
        let camera = camera?.filter(|device| device.kind == DeviceKind::Camera);
        let mut stored: BTreeMap<u64, FrameRecord> = stored?.into_iter().map(|f| (f.seq, f)).collect();
        let frames = match fetched?.and_then(|object| bundle::unpack(&bundle, &object.bytes)) {
            Ok(frames) => frames
                .into_iter()
                .map(|f| (f.seq, bundle.member(f.seq), Ok(f.frame)))
                .collect(),
            Err(rejection) => vec![(bundle.first, key.to_owned(), Err(rejection))],
        };
        // Every new frame is analysed first and the records stored together (one
        // round trip, not one per frame); the rule then sees the whole bundle.
        let mut records = Vec::with_capacity(frames.len());
        let mut new = Vec::new();
        for (seq, address, frame) in frames {
            let frame_key = FrameKey {
                camera: bundle.camera,
                seq,
            };
            match stored.remove(&seq) {
                Some(record) => records.push(record),
                None => {
                    let record = self
                        .analyse(&address, frame_key, camera.as_ref(), frame, notified_at, current)
                        .await?;
                    new.push(records.len());
                    records.push(record);
                }
            }
        }
        let new: Vec<&FrameRecord> = new.iter().map(|&n| &records[n]).collect();
        self.store_new(&new).await?;
        if camera.is_none() {
            self.ports.objects.discard(key).await?;
        }
        let mut reports = Vec::with_capacity(records.len());
        for record in &records {
            reports.push(self.report(record, camera.as_ref(), current).await?);
        }
        Ok(reports)
    }

    /// Reports on a recorded frame, deciding on it if it shows a person while armed.
    async fn report(
        &self,
        stored: &FrameRecord,
        camera: Option<&Device>,
        current: &Current,
    ) -> Result<FrameReport, DomainError> {
        let key = stored.object_key.clone();
        match &stored.outcome {
            FrameOutcome::Rejected { code, reason } => Ok(FrameReport::Rejected {
                key,
                code: code.clone(),
                reason: reason.clone(),
            }),
            FrameOutcome::Analysed {
                person, score, armed, ..
            } => {
                let decision = match camera {
                    Some(camera) if *person && *armed => self.decide(stored, camera, current).await?,
                    _ => Decision::NoRun,
                };
                tracing::Span::current().record("decision", decision.name());
                Ok(FrameReport::Analysed {
                    key,
                    person: *person,
                    score: *score,
                    intrusion: decision.intrusion().map(|i| i.id.to_string()),
                    decision: decision.name(),
                })
            }
        }
    }

    fn expires_at(&self) -> i64 {
        (self.ports.clock.now() + self.settings.retention).timestamp()
    }

    /// Checks and analyses a frame not seen before (its camera and bytes already
    /// read): its record, under `address` (its object, or its place in a bundle), not stored yet.
    async fn analyse(
        &self,
        address: &str,
        frame_key: FrameKey,
        camera: Option<&Device>,
        fetched: Result<FrameBytes, Rejection>,
        notified_at: DateTime<Utc>,
        current: &Current,
    ) -> Result<FrameRecord, DomainError> {
        let mut captured_at = notified_at;
        let outcome = match camera {
            Some(device) => match fetched {
                Ok(frame) => {
                    captured_at = frame.captured_at.unwrap_or(notified_at);
                    match self.ports.finder.analyse(frame).await? {
                        Ok(sighting) => self.judge(device, sighting, captured_at, current).await?,
                        Err(rejection) => rejection.into(),
                    }
                }
                Err(rejection) => rejection.into(),
            },
            None => FrameOutcome::Rejected {
                code: "unknown-camera".into(),
                reason: "no camera has this id".into(),
            },
        };
        if let FrameOutcome::Rejected { code, reason } = &outcome {
            tracing::warn!(code, reason, "frame rejected");
        }
        let record = FrameRecord {
            camera_id: frame_key.camera,
            seq: frame_key.seq,
            captured_at,
            object_key: address.to_owned(),
            outcome,
            analysed_at: self.ports.clock.now(),
            expires_at: self.expires_at(),
        };
        Ok(record)
    }

    /// Applies the camera's settings and the site's arming to what the detector
    /// saw. A frame with nobody in it comes out the same whatever the settings,
    /// so the cache serves it; any other is judged on the settings as stored now.
    async fn judge(
        &self,
        camera: &Device,
        sighting: Sighting,
        captured_at: DateTime<Utc>,
        current: &Current,
    ) -> Result<FrameOutcome, DomainError> {
        let controls = &self.ports.controls;
        let (settings, arming): (Cow<'_, CameraDetection>, Cow<'_, SiteArming>) = if sighting.boxes.is_empty() {
            let (settings, arming) =
                tokio::try_join!(controls.camera_detection(camera.id), controls.arming(camera.site_id))?;
            (
                Cow::Owned(settings.unwrap_or_default()),
                Cow::Owned(arming.unwrap_or_default()),
            )
        } else {
            let (settings, arming) = tokio::try_join!(
                self.current_detection(camera, current),
                self.current_arming(camera, current)
            )?;
            (Cow::Borrowed(settings), Cow::Borrowed(arming))
        };
        let judgement = settings.judge(&sighting);
        let armed = arming.armed_at(captured_at);
        Ok(FrameOutcome::Analysed {
            person: !judgement.counted.is_empty(),
            score: sighting.score,
            boxes: sighting.boxes,
            width: sighting.width,
            height: sighting.height,
            counted: judgement.counted,
            zones: judgement.zones,
            armed,
        })
    }

    /// The camera's detection settings as stored when this notification first needed them.
    async fn current_detection<'c>(
        &self,
        camera: &Device,
        current: &'c Current,
    ) -> Result<&'c CameraDetection, DomainError> {
        current
            .detection
            .get_or_try_init(|| async {
                Ok(self
                    .ports
                    .controls
                    .camera_detection_now(camera.id)
                    .await?
                    .unwrap_or_default())
            })
            .await
    }

    /// The site's arming as stored when this notification first needed it.
    async fn current_arming<'c>(&self, camera: &Device, current: &'c Current) -> Result<&'c SiteArming, DomainError> {
        current
            .arming
            .get_or_try_init(|| async {
                Ok(self
                    .ports
                    .controls
                    .arming_now(camera.site_id)
                    .await?
                    .unwrap_or_default())
            })
            .await
    }

    /// Applies the rule to a person frame, then makes sure the intrusion it
    /// belongs to has its evidence, masked as the camera's settings are now.
    async fn decide(&self, frame: &FrameRecord, camera: &Device, current: &Current) -> Result<Decision, DomainError> {
        let decision = decide(self.ports.store.as_ref(), frame, camera, self.settings.quiet_gap).await?;
        if let Some(intrusion) = decision.intrusion().filter(|i| i.snapshot_key.is_none()) {
            let settings = self.current_detection(camera, current).await?;
            let snapshot_key = self.ports.evidence.keep(intrusion, frame, settings).await?;
            self.ports.store.set_snapshot(intrusion, &snapshot_key).await?;
        }
        Ok(decision)
    }
}

#[cfg(test)]
#[path = "observe_tests.rs"]
mod tests;
