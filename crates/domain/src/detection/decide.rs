//! The decision a person frame leads to, once stored: the intrusion rule of
//! [`super::rule`] applied against the camera's recent intrusions, committed
//! under the camera's version so concurrent invocations agree.
//!
//! A resolved intrusion is closed: its own frames, and the frames of its burst
//! captured by the time it was resolved, are *sealed* (they never count
//! again), and people seen after the resolution start a new run under the same
//! three-frame rule and open a new intrusion that `follows` it. Only a person
//! reopening an intrusion makes it grow again.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::TimeDelta;

use super::ports::{Commit, DetectionStore, IntrusionChange};
use super::rule::{self, PersonRun};
use super::{Decision, FrameOutcome, FrameRecord, Intrusion, IntrusionStatus};
use crate::directory::Device;
use crate::error::DomainError;
use crate::ids::IntrusionId;

/// How often a decision is retried when another invocation decided for the same camera first.
const MAX_ATTEMPTS: u32 = 20;

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
    for attempt in 0..MAX_ATTEMPTS {
        let state = match first_state.take() {
            Some(state) => state,
            None => store.camera_state(frame.camera_id).await?,
        };
        let (decision, change) = match plan(frame, &neighbours, state.recent, camera, quiet_gap) {
            (decision, None) => return Ok(decision),
            (decision, Some(change)) => (decision, change),
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

/// What the rule makes of a frame against one read of the camera's state:
/// the decision, and the change that must be committed for it to hold (none
/// when there is no run or the intrusion already covers it).
type Plan = (Decision, Option<IntrusionChange>);

/// The rule against `recent` (the camera's intrusions, newest first), as a pure function.
fn plan(
    frame: &FrameRecord,
    neighbours: &[FrameRecord],
    recent: Vec<Intrusion>,
    camera: &Device,
    quiet_gap: TimeDelta,
) -> Plan {
    let resolved: Vec<&Intrusion> = recent
        .iter()
        .filter(|i| i.status == IntrusionStatus::Resolved)
        .collect();
    if let Some(closed) = sealed_by(frame, &resolved, quiet_gap) {
        return (Decision::Unchanged(closed.clone()), None);
    }
    // Sealed frames count as frames without a person: a run after a resolution
    // is made of frames after it alone.
    let known: BTreeMap<u64, rule::Observation> = neighbours
        .iter()
        .map(|f| {
            let mut observation = f.observation();
            observation.person &= sealed_by(f, &resolved, quiet_gap).is_none();
            (f.seq, observation)
        })
        .collect();
    let Some(run) = rule::run_around(frame.seq, &known) else {
        return (Decision::NoRun, None);
    };
    let growing = recent
        .iter()
        .filter(|i| i.status != IntrusionStatus::Resolved)
        .find(|i| i.extent().same_burst(&run, quiet_gap));
    if let Some(existing) = growing {
        let merged = existing.extent().merged(&run);
        if merged == existing.extent() {
            return (Decision::Unchanged(existing.clone()), None);
        }
        let extended = Intrusion {
            first_seq: merged.first_seq,
            last_seq: merged.last_seq,
            last_seen_at: merged.last_at,
            peak_score: merged.peak_score,
            ..existing.clone()
        };
        let change = IntrusionChange::Extend {
            existing: existing.clone(),
            merged,
        };
        return (Decision::Extended(extended), Some(change));
    }
    let key_of = |seq: u64| {
        neighbours
            .iter()
            .find(|f| f.seq == seq)
            .map_or_else(String::new, |f| f.object_key.clone())
    };
    let mut opened = opened_intrusion(&run, camera, run.opening.map(key_of).to_vec());
    opened.zones = zones_of(neighbours, &run.opening);
    let change = match resolved.iter().find(|r| r.extent().same_burst(&run, quiet_gap)) {
        Some(&followed) => {
            opened.follows = Some(followed.id);
            IntrusionChange::OpenAfter {
                opened: opened.clone(),
                resolved: Box::new(followed.clone()),
            }
        }
        None => IntrusionChange::Open(opened.clone()),
    };
    (Decision::Opened(opened), Some(change))
}

/// The resolved intrusion `frame` belongs to, if any: one of its own frames, or
/// a frame of its burst (within the quiet gap after its last person frame)
/// captured by the time a person resolved it.
fn sealed_by<'a>(frame: &FrameRecord, resolved: &[&'a Intrusion], quiet_gap: TimeDelta) -> Option<&'a Intrusion> {
    resolved.iter().copied().find(|closed| {
        let before_resolution = closed.resolved.as_ref().is_some_and(|r| frame.captured_at <= r.at)
            && frame.captured_at < closed.last_seen_at + quiet_gap;
        frame.seq >= closed.first_seq && (frame.seq <= closed.last_seq || before_resolution)
    })
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
        follows: None,
        followed_by: None,
    }
}
