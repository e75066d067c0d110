//! Frame observed → decision: the use case every uploaded frame goes through.
//! It records what the frame showed (once, however often it is notified),
//! applies the three-frame rule against the camera's recent intrusions, and
//! makes sure a new intrusion keeps its evidence, retrying that on every later
//! frame of the burst until it is done.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::bundle::{self, BundleKey, FrameObject};
use super::ports::{
    Cameras, Commit, DetectionStore, EvidenceKeeper, FrameBytes, FrameObjects, IntrusionChange, PersonFinder, Rejection,
};
use super::rule::{self, PersonRun};
use super::zones::{CameraDetection, Sighting};
use super::{FrameKey, FrameOutcome, FrameRecord, Intrusion, IntrusionStatus};
use crate::clock::Clock;
use crate::controls::ControlStore;
use crate::directory::{Device, DeviceKind};
use crate::error::DomainError;
use crate::ids::IntrusionId;

/// The object metadata a camera sends with each frame (`x-amz-meta-captured-at`).
pub const CAPTURED_AT_METADATA: &str = "captured-at";

/// How often a decision is retried when another invocation decided for the same camera first.
const MAX_ATTEMPTS: u32 = 20;

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
    /// Site arming and camera settings; give the detector a [`crate::controls::CachedControls`].
    pub controls: Arc<dyn ControlStore>,
    pub clock: Arc<dyn Clock>,
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
    /// are recorded and reported; only a failing dependency is an error, so the
    /// notification is delivered again and the work finished then.
    #[tracing::instrument(skip(self, notified_at), fields(decision))]
    pub async fn observe(&self, key: &str, notified_at: DateTime<Utc>) -> Result<Vec<FrameReport>, DomainError> {
        match FrameObject::parse(key) {
            Ok(FrameObject::Frame(frame_key)) => Ok(vec![self.observe_frame(key, frame_key, notified_at).await?]),
            Ok(FrameObject::Bundle(bundle)) => self.observe_bundle(key, bundle, notified_at).await,
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
                    .analyse(key, frame_key, camera.as_ref(), fetched?, notified_at)
                    .await?;
                self.ports.store.put_frame(&record).await?;
                record
            }
        };
        self.report(&stored, camera.as_ref()).await
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
                        .analyse(&address, frame_key, camera.as_ref(), frame, notified_at)
                        .await?;
                    new.push(records.len());
                    records.push(record);
                }
            }
        }
        futures::future::try_join_all(new.iter().map(|&n| self.ports.store.put_frame(&records[n]))).await?;
        let mut reports = Vec::with_capacity(records.len());
        for record in &records {
            reports.push(self.report(record, camera.as_ref()).await?);
        }
        Ok(reports)
    }

    /// Reports on a recorded frame, deciding on it if it shows a person while armed.
    async fn report(&self, stored: &FrameRecord, camera: Option<&Device>) -> Result<FrameReport, DomainError> {
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
                    Some(camera) if *person && *armed => self.decide(stored, camera).await?,
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
    ) -> Result<FrameRecord, DomainError> {
        let mut captured_at = notified_at;
        let outcome = match camera {
            Some(device) => match fetched {
                Ok(frame) => {
                    captured_at = frame.captured_at.unwrap_or(notified_at);
                    match self.ports.finder.analyse(frame).await? {
                        Ok(sighting) => self.judge(device, sighting, captured_at).await?,
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

    /// Applies the camera's settings and the site's arming to what the detector saw.
    async fn judge(
        &self,
        camera: &Device,
        sighting: Sighting,
        captured_at: DateTime<Utc>,
    ) -> Result<FrameOutcome, DomainError> {
        let settings = self.settings_of(camera).await?;
        let judgement = settings.judge(&sighting);
        let armed = self
            .ports
            .controls
            .arming(camera.site_id)
            .await?
            .unwrap_or_default()
            .armed_at(captured_at);
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

    async fn settings_of(&self, camera: &Device) -> Result<CameraDetection, DomainError> {
        Ok(self
            .ports
            .controls
            .camera_detection(camera.id)
            .await?
            .unwrap_or_default())
    }

    /// Applies the rule to a person frame, then makes sure the intrusion it belongs to has its evidence.
    async fn decide(&self, frame: &FrameRecord, camera: &Device) -> Result<Decision, DomainError> {
        let decision = decide(self.ports.store.as_ref(), frame, camera, self.settings.quiet_gap).await?;
        if let Some(intrusion) = decision.intrusion().filter(|i| i.snapshot_key.is_none()) {
            let settings = self.settings_of(camera).await?;
            let snapshot_key = self.ports.evidence.keep(intrusion, frame, &settings).await?;
            self.ports.store.set_snapshot(intrusion, &snapshot_key).await?;
        }
        Ok(decision)
    }
}

/// Applies the intrusion rule after `frame` was stored: opens an intrusion for a
/// new burst, extends the one its burst belongs to, or does nothing. Decisions
/// for one camera are serialised by the store's versioned commit, so concurrent
/// invocations that see the same burst open it exactly once.
pub async fn decide(
    store: &dyn DetectionStore,
    frame: &FrameRecord,
    camera: &Device,
    quiet_gap: TimeDelta,
) -> Result<Decision, DomainError> {
    // The camera's state is read beside the neighbours: most person frames have
    // a run, and the first attempt then needs no further round trip.
    let (neighbours, state) = tokio::try_join!(
        store.frames_between(
            frame.camera_id,
            frame.seq.saturating_sub(2),
            frame.seq.saturating_add(2),
        ),
        store.camera_state(frame.camera_id),
    )?;
    let mut first_state = Some(state);
    let known: BTreeMap<u64, rule::Observation> = neighbours.iter().map(|f| (f.seq, f.observation())).collect();
    let Some(run) = rule::run_around(frame.seq, &known) else {
        return Ok(Decision::NoRun);
    };
    let key_of = |seq: u64| {
        neighbours
            .iter()
            .find(|f| f.seq == seq)
            .map_or_else(String::new, |f| f.object_key.clone())
    };
    for attempt in 0..MAX_ATTEMPTS {
        let state = match first_state.take() {
            Some(state) => state,
            None => store.camera_state(frame.camera_id).await?,
        };
        let (decision, change) = match state
            .recent
            .into_iter()
            .find(|i| i.extent().same_burst(&run, quiet_gap))
        {
            Some(existing) => {
                let merged = existing.extent().merged(&run);
                if merged == existing.extent() {
                    return Ok(Decision::Unchanged(existing));
                }
                let extended = Intrusion {
                    first_seq: merged.first_seq,
                    last_seq: merged.last_seq,
                    last_seen_at: merged.last_at,
                    peak_score: merged.peak_score,
                    ..existing.clone()
                };
                (
                    Decision::Extended(extended),
                    IntrusionChange::Extend { existing, merged },
                )
            }
            None => {
                let mut opened = opened_intrusion(&run, camera, run.opening.map(key_of).to_vec());
                opened.zones = zones_of(&neighbours, &run.opening);
                (Decision::Opened(opened.clone()), IntrusionChange::Open(opened))
            }
        };
        match store.commit(frame.camera_id, state.version, &change).await? {
            Commit::Done => return Ok(decision),
            Commit::Contended => {
                tracing::debug!(camera = %frame.camera_id, attempt, "another invocation decided first; deciding again");
                tokio::time::sleep(Duration::from_millis(5 + u64::from(attempt) * 10)).await;
            }
        }
    }
    Err(DomainError::unavailable(
        "cannot record an intrusion",
        format!(
            "{MAX_ATTEMPTS} attempts lost to concurrent decisions for camera {}",
            frame.camera_id
        ),
    ))
}

/// The zones named by the opening frames, each once, in order of appearance.
fn zones_of(frames: &[FrameRecord], opening: &[u64]) -> Vec<String> {
    let mut zones: Vec<String> = Vec::new();
    for frame in frames.iter().filter(|f| opening.contains(&f.seq)) {
        if let FrameOutcome::Analysed { zones: seen, .. } = &frame.outcome {
            for zone in seen {
                if !zones.contains(zone) {
                    zones.push(zone.clone());
                }
            }
        }
    }
    zones
}

fn opened_intrusion(run: &PersonRun, camera: &Device, frame_keys: Vec<String>) -> Intrusion {
    Intrusion {
        id: IntrusionId::generate(),
        client_id: camera.client_id,
        site_id: camera.site_id,
        camera_id: camera.id,
        started_at: run.first_at,
        last_seen_at: run.last_at,
        first_seq: run.first_seq,
        last_seq: run.last_seq,
        frame_keys,
        zones: Vec::new(),
        peak_score: run.peak_score,
        status: IntrusionStatus::Open,
        snapshot_key: None,
        acknowledged: None,
        resolved: None,
        reopened: None,
    }
}

#[cfg(test)]
#[path = "observe_tests.rs"]
mod tests;
