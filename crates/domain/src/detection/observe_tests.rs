//! Unit tests of the frame-observed use case over the in-memory adapters and a fixed clock.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::join_all;

use super::*;
use crate::arming::{ArmingAction, ArmingChange, ArmingMode, ArmingPlan, SiteArming};
use crate::clock::FixedClock;
use crate::controls::{CachedControls, ControlStore};
use crate::detection::IntrusionStatus;
use crate::detection::bundle;
use crate::detection::ports::FrameBytes;
use crate::detection::zones::{DetectionBody, MaskBody, ZoneBody};
use crate::directory::{Device, DeviceKind, DeviceState};
use crate::ids::{ClientId, DeviceId, SiteId};
use crate::memory::{
    LabelledFrames, MemoryCameras, MemoryControls, MemoryDetectionStore, MemoryEvidence, MemoryFrames,
};
use crate::values::Name;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T22:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn device(kind: DeviceKind) -> Device {
    Device {
        id: DeviceId::generate(),
        kind,
        site_id: SiteId::generate(),
        client_id: ClientId::generate(),
        name: Name::parse("Yard").unwrap(),
        state: DeviceState::Online,
        last_seen_at: None,
        endpoint: None,
        health_alarm: None,
        created_at: start(),
        updated_at: start(),
    }
}

struct World {
    store: Arc<MemoryDetectionStore>,
    frames: Arc<MemoryFrames>,
    evidence: Arc<MemoryEvidence>,
    cameras: Arc<MemoryCameras>,
    controls: Arc<MemoryControls>,
    clock: Arc<FixedClock>,
    observer: FrameObserver,
    camera: Device,
}

fn world() -> World {
    let store = Arc::new(MemoryDetectionStore::default());
    let frames = Arc::new(MemoryFrames::default());
    let evidence = Arc::new(MemoryEvidence::default());
    let cameras = Arc::new(MemoryCameras::default());
    let clock = Arc::new(FixedClock::at(start() + TimeDelta::minutes(5)));
    let camera = device(DeviceKind::Camera);
    cameras.add(camera.clone());
    let controls = Arc::new(MemoryControls::default());
    let ports = DetectionPorts {
        store: store.clone(),
        cameras: cameras.clone(),
        objects: frames.clone(),
        finder: Arc::new(LabelledFrames),
        evidence: evidence.clone(),
        controls: Arc::new(CachedControls::new(
            controls.clone(),
            clock.clone(),
            TimeDelta::seconds(30),
        )),
        latest: Arc::default(),
        clock: clock.clone(),
    };
    World {
        store,
        frames,
        evidence,
        cameras,
        controls,
        clock,
        observer: FrameObserver::new(ports, DetectionSettings::default()),
        camera,
    }
}

impl World {
    /// Uploads frame `seq` of the camera, captured half a second per frame after the start.
    fn upload_at(&self, seq: u64, label: &str, captured_at: DateTime<Utc>) -> String {
        let key = FrameKey {
            camera: self.camera.id,
            seq,
        }
        .to_string();
        self.frames.put(
            key.clone(),
            FrameBytes {
                bytes: label.as_bytes().to_vec(),
                captured_at: Some(captured_at),
            },
        );
        key
    }

    fn upload(&self, seq: u64, label: &str) -> String {
        self.upload_at(seq, label, start() + TimeDelta::milliseconds(500 * seq as i64))
    }

    async fn observe(&self, key: &str) -> FrameReport {
        let mut reports = self.observer.observe(key, self.clock.now()).await.expect("observed");
        assert_eq!(reports.len(), 1, "one frame, one report: {reports:?}");
        reports.remove(0)
    }

    async fn send(&self, seq: u64, label: &str) -> FrameReport {
        let key = self.upload(seq, label);
        self.observe(&key).await
    }

    fn spans(&self) -> Vec<(u64, u64)> {
        self.store
            .intrusions()
            .iter()
            .map(|i| (i.first_seq, i.last_seq))
            .collect()
    }
}

fn decision(report: &FrameReport) -> &'static str {
    match report {
        FrameReport::Analysed { decision, .. } => decision,
        other => panic!("not analysed: {other:?}"),
    }
}

#[tokio::test]
async fn three_person_frames_open_one_intrusion_with_its_evidence() {
    let w = world();
    assert_eq!(decision(&w.send(1, "person 0.8").await), "none");
    assert_eq!(decision(&w.send(2, "person 0.95").await), "none");
    assert_eq!(decision(&w.send(3, "person 0.9").await), "opened");
    let [intrusion] = w.store.intrusions().try_into().expect("one intrusion");
    assert_eq!((intrusion.first_seq, intrusion.last_seq), (1, 3));
    assert_eq!(intrusion.peak_score, 0.95);
    assert_eq!(intrusion.started_at, start() + TimeDelta::milliseconds(500));
    assert_eq!(intrusion.last_seen_at, start() + TimeDelta::milliseconds(1500));
    assert_eq!(
        (intrusion.client_id, intrusion.site_id),
        (w.camera.client_id, w.camera.site_id)
    );
    assert_eq!(intrusion.frame_keys.len(), 3);
    assert!(intrusion.frame_keys[0].ends_with("/00000000000000000001"));
    assert_eq!(intrusion.snapshot_key, Some(format!("snapshots/{}.jpg", intrusion.id)));
    let (kept, annotated) = w.evidence.kept(intrusion.id).expect("evidence kept");
    assert_eq!((kept, annotated), (intrusion.frame_keys.clone(), 3));
}

#[tokio::test]
async fn an_empty_frame_breaks_the_run_and_a_later_window_opens_it() {
    let w = world();
    for (seq, label) in [(1, "person"), (2, "empty"), (3, "person"), (4, "person")] {
        assert_eq!(decision(&w.send(seq, label).await), "none", "frame {seq}");
    }
    assert_eq!(decision(&w.send(5, "person").await), "opened");
    assert_eq!(w.spans(), vec![(3, 5)]);
}

#[tokio::test]
async fn a_rejected_frame_counts_as_a_frame_without_a_person() {
    let w = world();
    w.send(1, "person").await;
    assert!(matches!(w.send(2, "GIF89a").await, FrameReport::Rejected { ref code, .. } if code == "not-an-image"));
    w.send(3, "person").await;
    w.send(4, "person").await;
    assert!(w.spans().is_empty());
}

#[tokio::test]
async fn out_of_order_and_duplicate_notifications_open_one_intrusion() {
    let w = world();
    let keys: Vec<String> = (1..=3).map(|seq| w.upload(seq, "person")).collect();
    assert_eq!(decision(&w.observe(&keys[2]).await), "none");
    assert_eq!(decision(&w.observe(&keys[0]).await), "none");
    assert_eq!(decision(&w.observe(&keys[1]).await), "opened");
    for key in keys.iter().chain(keys.iter()) {
        assert_eq!(decision(&w.observe(key).await), "unchanged");
    }
    assert_eq!(w.spans(), vec![(1, 3)]);
    assert_eq!(w.store.frames().len(), 3, "a frame is stored once");
    assert_eq!(w.evidence.calls(), 1, "evidence is made once");
}

#[tokio::test]
async fn a_duplicate_notification_is_not_analysed_again() {
    let w = world();
    let key = w.upload(1, "person");
    w.observe(&key).await;
    let first = w.store.frames();
    w.clock.advance(TimeDelta::seconds(10));
    w.frames.put(
        key.clone(),
        FrameBytes {
            bytes: b"empty".to_vec(),
            captured_at: None,
        },
    );
    assert!(matches!(
        w.observe(&key).await,
        FrameReport::Analysed { person: true, .. }
    ));
    assert_eq!(w.store.frames(), first);
}

#[tokio::test]
async fn concurrent_notifications_of_one_window_open_exactly_one_intrusion() {
    for round in 0..5 {
        let w = world();
        let keys: Vec<String> = (1..=3).map(|seq| w.upload(seq, "person")).collect();
        let reports = join_all(keys.iter().map(|key| w.observe(key))).await;
        let opened = reports.iter().filter(|r| decision(r) == "opened").count();
        assert_eq!(opened, 1, "round {round}: {reports:?}");
        assert_eq!(w.spans(), vec![(1, 3)], "round {round}");
    }
}

#[tokio::test]
async fn concurrent_writers_retry_when_another_decided_first() {
    let w = world();
    let keys: Vec<String> = (1..=6).map(|seq| w.upload(seq, "person")).collect();
    join_all(keys.iter().map(|key| w.observe(key))).await;
    assert_eq!(w.spans(), vec![(1, 6)]);
    let (commits, _contended) = w.store.commit_counts();
    assert!(commits >= 1);
}

#[tokio::test]
async fn six_consecutive_person_frames_are_one_growing_intrusion() {
    let w = world();
    let decisions: Vec<&str> = {
        let mut out = Vec::new();
        for seq in 1..=6 {
            out.push(decision(&w.send(seq, "person").await));
        }
        out
    };
    assert_eq!(
        decisions,
        ["none", "none", "opened", "extended", "extended", "extended"]
    );
    assert_eq!(w.spans(), vec![(1, 6)]);
}

#[tokio::test]
async fn a_burst_within_the_quiet_gap_extends_and_a_later_one_opens_anew() {
    let w = world();
    for seq in 1..=3 {
        w.send(seq, "person").await;
    }
    w.send(4, "empty").await;
    let ten_seconds_later = start() + TimeDelta::seconds(10);
    for seq in 20..=22 {
        let key = w.upload_at(
            seq,
            "person",
            ten_seconds_later + TimeDelta::milliseconds(500 * seq as i64),
        );
        w.observe(&key).await;
    }
    assert_eq!(w.spans(), vec![(1, 22)], "10 s later is the same burst");
    let a_minute_later = start() + TimeDelta::seconds(80);
    let mut last = None;
    for seq in 200..=202 {
        let key = w.upload_at(
            seq,
            "person",
            a_minute_later + TimeDelta::milliseconds(500 * (seq - 200) as i64),
        );
        last = Some(w.observe(&key).await);
    }
    assert_eq!(decision(&last.unwrap()), "opened");
    assert_eq!(w.spans(), vec![(1, 22), (200, 202)]);
}

#[tokio::test]
async fn a_lost_evidence_write_is_made_when_the_notification_comes_again() {
    let w = world();
    let key1 = w.upload(1, "person");
    let key2 = w.upload(2, "person");
    let key3 = w.upload(3, "person");
    w.observe(&key1).await;
    w.observe(&key2).await;
    w.evidence.fail_next(1);
    let failed = w.observer.observe(&key3, w.clock.now()).await;
    assert!(
        failed.is_err(),
        "the storage failure fails the invocation, so it is retried"
    );
    let [open] = w.store.intrusions().try_into().expect("the intrusion was committed");
    assert_eq!(open.snapshot_key, None);
    assert_eq!(decision(&w.observe(&key3).await), "unchanged");
    let [intrusion] = w.store.intrusions().try_into().expect("still one intrusion");
    assert_eq!(intrusion.snapshot_key, Some(format!("snapshots/{}.jpg", intrusion.id)));
    assert!(w.evidence.kept(intrusion.id).is_some());
}

#[tokio::test]
async fn a_lost_evidence_write_is_made_by_the_next_frame_of_the_burst() {
    let w = world();
    w.send(1, "person").await;
    w.send(2, "person").await;
    w.evidence.fail_next(1);
    let key3 = w.upload(3, "person");
    assert!(w.observer.observe(&key3, w.clock.now()).await.is_err());
    assert_eq!(decision(&w.send(4, "person").await), "extended");
    let [intrusion] = w.store.intrusions().try_into().expect("one intrusion");
    assert!(intrusion.snapshot_key.is_some());
    assert_eq!(w.evidence.kept(intrusion.id).map(|(_, seq)| seq), Some(4));
    w.send(5, "person").await;
    assert_eq!(w.evidence.calls(), 2, "once failed, once made; never again");
}

#[tokio::test]
async fn keys_outside_the_layout_are_recorded_as_unroutable() {
    let w = world();
    let report = w.observe("frames/not-a-camera/1").await;
    assert!(matches!(report, FrameReport::Unroutable { .. }));
    assert_eq!(w.store.unroutable().len(), 1);
    assert!(w.store.frames().is_empty());
}

#[tokio::test]
async fn frames_of_unknown_cameras_and_of_alarms_are_rejected() {
    let w = world();
    let alarm = device(DeviceKind::Alarm);
    w.cameras.add(alarm.clone());
    for camera in [DeviceId::generate(), alarm.id] {
        let key = FrameKey { camera, seq: 1 }.to_string();
        w.frames.put(
            key.clone(),
            FrameBytes {
                bytes: b"person".to_vec(),
                captured_at: None,
            },
        );
        let report = w.observe(&key).await;
        assert!(
            matches!(&report, FrameReport::Rejected { code, .. } if code == "unknown-camera"),
            "{report:?}"
        );
        assert!(!w.frames.has(&key), "no camera owns it: deleted once recorded");
    }
    let kept = w.upload(1, "person");
    w.observe(&kept).await;
    assert!(w.frames.has(&kept), "a camera's own frame stays");
}

#[tokio::test]
async fn a_frame_gone_from_the_bucket_is_rejected_and_kept_as_such() {
    let w = world();
    let key = FrameKey {
        camera: w.camera.id,
        seq: 9,
    }
    .to_string();
    let report = w.observe(&key).await;
    assert!(matches!(&report, FrameReport::Rejected { reason, .. } if reason.contains("no longer exists")));
    assert_eq!(w.store.frames().len(), 1);
}

#[tokio::test]
async fn a_frame_keeps_its_signed_capture_time_or_else_the_notification_time() {
    let w = world();
    let signed = start() + TimeDelta::seconds(42);
    let key = w.upload_at(1, "person", signed);
    w.observe(&key).await;
    let key2 = FrameKey {
        camera: w.camera.id,
        seq: 2,
    }
    .to_string();
    w.frames.put(
        key2.clone(),
        FrameBytes {
            bytes: b"empty".to_vec(),
            captured_at: None,
        },
    );
    let notified = start() + TimeDelta::seconds(50);
    w.observer.observe(&key2, notified).await.unwrap();
    let frames = w.store.frames();
    assert_eq!(frames[0].captured_at, signed);
    assert_eq!(frames[1].captured_at, notified);
}

#[tokio::test]
async fn a_frame_result_expires_after_the_retention() {
    let w = world();
    w.send(1, "empty").await;
    let [frame] = w.store.frames().try_into().expect("one frame");
    assert_eq!(frame.analysed_at, w.clock.now());
    assert_eq!(frame.expires_at, (w.clock.now() + TimeDelta::hours(24)).timestamp());
}

#[tokio::test]
async fn frames_of_two_cameras_never_make_one_intrusion() {
    let w = world();
    let other = device(DeviceKind::Camera);
    w.cameras.add(other.clone());
    w.send(1, "person").await;
    w.send(2, "person").await;
    let key = FrameKey {
        camera: other.id,
        seq: 3,
    }
    .to_string();
    w.frames.put(
        key.clone(),
        FrameBytes {
            bytes: b"person".to_vec(),
            captured_at: None,
        },
    );
    assert_eq!(decision(&w.observe(&key).await), "none");
    assert!(w.spans().is_empty());
}

fn square(x1: f64, y1: f64, x2: f64, y2: f64) -> Vec<Vec<f64>> {
    vec![vec![x1, y1], vec![x2, y1], vec![x2, y2], vec![x1, y2]]
}

impl World {
    async fn set_detection(&self, body: DetectionBody) {
        let settings = body.parse().unwrap();
        self.controls
            .save_camera_detection(self.camera.id, &settings)
            .await
            .unwrap();
    }

    async fn set_mode(&self, mode: ArmingMode) {
        change_mode_now(self, mode).await;
        // The detector's cache takes the change within its 30 s.
        self.clock.advance(TimeDelta::seconds(31));
    }

    /// Sends three person frames from `first`, each standing at the labelled default spot
    /// (feet at 0.6, 0.9 of the frame) unless `label` says otherwise.
    async fn three(&self, first: u64, label: &str) -> Vec<&'static str> {
        let mut decisions = Vec::new();
        for seq in first..first + 3 {
            decisions.push(decision(&self.send(seq, label).await));
        }
        decisions
    }
}

#[tokio::test]
async fn people_outside_every_zone_open_nothing() {
    let w = world();
    w.set_detection(DetectionBody {
        zones: vec![ZoneBody {
            name: "gate".into(),
            polygon: square(0.0, 0.0, 0.3, 0.5),
        }],
        ..DetectionBody::default()
    })
    .await;
    assert_eq!(w.three(1, "person").await, ["none"; 3]);
    let [frame, ..] = &w.store.frames()[..] else {
        panic!("no frame")
    };
    let FrameOutcome::Analysed {
        boxes, counted, person, ..
    } = &frame.outcome
    else {
        panic!("not analysed")
    };
    assert_eq!(
        (boxes.len(), counted.len(), *person),
        (1, 0, false),
        "the raw box is kept, uncounted"
    );
}

#[tokio::test]
async fn a_zone_around_the_person_opens_one_intrusion_named_after_it() {
    let w = world();
    w.set_detection(DetectionBody {
        zones: vec![
            ZoneBody {
                name: "gate".into(),
                polygon: square(0.0, 0.0, 0.3, 0.5),
            },
            ZoneBody {
                name: "yard".into(),
                polygon: square(0.1, 0.5, 0.9, 1.0),
            },
        ],
        ..DetectionBody::default()
    })
    .await;
    assert_eq!(w.three(1, "person").await, ["none", "none", "opened"]);
    let [intrusion] = w.store.intrusions().try_into().expect("one intrusion");
    assert_eq!(intrusion.zones, vec!["yard".to_owned()]);
}

#[tokio::test]
async fn a_mask_over_the_person_opens_nothing() {
    let w = world();
    w.set_detection(DetectionBody {
        masks: vec![MaskBody {
            polygon: square(0.5, 0.8, 0.7, 1.0),
        }],
        ..DetectionBody::default()
    })
    .await;
    assert_eq!(w.three(1, "person").await, ["none"; 3]);
}

#[tokio::test]
async fn people_below_the_minimum_score_or_size_open_nothing() {
    let w = world();
    w.set_detection(DetectionBody {
        min_score: Some(0.8),
        min_box_area: Some(0.05),
        ..DetectionBody::default()
    })
    .await;
    assert_eq!(w.three(1, "person 0.7").await, ["none"; 3], "below minScore");
    assert_eq!(
        w.three(10, "person 0.9 50 80 55 90").await,
        ["none"; 3],
        "0.005 of the frame"
    );
    assert_eq!(w.three(20, "person 0.9").await, ["none", "none", "opened"]);
}

#[tokio::test]
async fn a_disarmed_site_opens_nothing_and_armed_again_it_does() {
    let w = world();
    w.set_mode(ArmingMode::Disarmed).await;
    assert_eq!(w.three(1, "person").await, ["none"; 3]);
    assert!(w.spans().is_empty());
    w.set_mode(ArmingMode::Armed).await;
    assert_eq!(w.three(10, "person").await, ["none", "none", "opened"]);
    assert_eq!(w.spans(), vec![(10, 12)]);
}

#[tokio::test]
async fn arming_is_judged_by_when_the_frame_was_captured() {
    let w = world();
    let arming =
        SiteArming::default().set_by_hand(false, Some(start() + TimeDelta::seconds(1)), "guard", start(), None);
    let change = ArmingChange {
        at: start(),
        by: "guard".into(),
        action: ArmingAction::Disarm,
        mode: ArmingMode::Armed,
        until: Some(start() + TimeDelta::seconds(1)),
        note: None,
    };
    w.controls
        .save_arming(w.camera.site_id, &arming, &change)
        .await
        .unwrap();
    // Frames 1 and 2 are captured at 0.5 s and 1 s: the first while disarmed.
    assert_eq!(w.three(1, "person").await, ["none", "none", "none"]);
    assert_eq!(decision(&w.send(4, "person").await), "opened");
    assert_eq!(w.spans(), vec![(2, 4)]);
}

#[tokio::test]
async fn an_open_intrusion_is_not_closed_by_disarming() {
    let w = world();
    assert_eq!(w.three(1, "person").await, ["none", "none", "opened"]);
    w.set_mode(ArmingMode::Disarmed).await;
    assert_eq!(decision(&w.send(4, "person").await), "none");
    let [intrusion] = w.store.intrusions().try_into().expect("one intrusion");
    assert_eq!((intrusion.status, intrusion.last_seq), (IntrusionStatus::Open, 3));
}

#[tokio::test]
async fn frames_with_nobody_in_them_are_judged_through_the_cache() {
    let w = world();
    for seq in 1..=6 {
        w.send(seq, "empty").await;
    }
    let reads = w.controls.reads();
    assert_eq!(reads, 2, "arming and camera settings, read once each");
    w.clock.advance(TimeDelta::seconds(31));
    w.send(7, "empty").await;
    assert_eq!(w.controls.reads(), reads + 2);
}

#[tokio::test]
async fn a_frame_with_someone_in_it_is_judged_on_the_settings_as_stored() {
    let w = world();
    for seq in 1..=3 {
        w.send(seq, "person").await;
    }
    assert_eq!(
        w.controls.reads(),
        6,
        "arming and camera settings, once each per notification"
    );
    let bundle = w.upload_bundle(4, &["person", "person", "empty", "person"]);
    w.observe_all(&bundle).await;
    assert_eq!(w.controls.reads(), 8, "once each for the whole bundle");
}

/// Saves the site's mode as a person would, with no time for any cache to expire.
async fn change_mode_now(w: &World, mode: ArmingMode) {
    let arming = SiteArming {
        plan: ArmingPlan {
            mode,
            ..ArmingPlan::default()
        },
        manual: None,
    };
    let change = ArmingChange {
        at: w.clock.now(),
        by: "client".into(),
        action: ArmingAction::Plan,
        mode,
        until: None,
        note: None,
    };
    w.controls
        .save_arming(w.camera.site_id, &arming, &change)
        .await
        .unwrap();
}

#[tokio::test]
async fn arming_applies_to_the_next_frame_in_both_directions() {
    let w = world();
    change_mode_now(&w, ArmingMode::Disarmed).await;
    assert_eq!(w.three(1, "person").await, ["none"; 3], "disarmed");
    w.send(4, "empty").await;
    change_mode_now(&w, ArmingMode::Armed).await;
    assert_eq!(
        w.three(5, "person").await,
        ["none", "none", "opened"],
        "armed a moment ago"
    );
    w.send(8, "empty").await;
    change_mode_now(&w, ArmingMode::Disarmed).await;
    assert_eq!(w.three(20, "person").await, ["none"; 3], "disarmed a moment ago");
    assert_eq!(w.spans(), vec![(5, 7)]);
}

#[tokio::test]
async fn zones_masks_and_thresholds_apply_to_the_next_frame() {
    let w = world();
    w.send(1, "empty").await;
    w.controls
        .save_camera_detection(
            w.camera.id,
            &DetectionBody {
                min_score: Some(0.95),
                ..DetectionBody::default()
            }
            .parse()
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(w.three(2, "person 0.9").await, ["none"; 3], "below the new minimum");
    w.controls
        .save_camera_detection(w.camera.id, &DetectionBody::default().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(w.three(10, "person 0.9").await, ["none", "none", "opened"]);
}

#[tokio::test]
async fn the_latest_analysed_frame_of_a_camera_is_found_for_drawing_zones() {
    let w = world();
    assert_eq!(w.store.latest_frame(w.camera.id).await.unwrap(), None);
    w.send(1, "empty").await;
    w.clock.advance(crate::detection::LATEST_FRAME_EVERY);
    w.send(2, "person").await;
    w.clock.advance(crate::detection::LATEST_FRAME_EVERY);
    w.send(3, "not a picture").await;
    let latest = w.store.latest_frame(w.camera.id).await.unwrap().expect("a frame");
    assert_eq!(latest.seq, 2, "the rejected frame 3 has nothing to draw on");
}

impl World {
    /// Uploads frames `first..` as one bundle, captured half a second apart; answers its key.
    fn upload_bundle(&self, first: u64, labels: &[&str]) -> String {
        let key = BundleKey::new(self.camera.id, first, labels.len() as u64).expect("a bundle");
        let frames: Vec<(u64, DateTime<Utc>, &[u8])> = (first..)
            .zip(labels)
            .map(|(seq, label)| {
                (
                    seq,
                    start() + TimeDelta::milliseconds(500 * seq as i64),
                    label.as_bytes(),
                )
            })
            .collect();
        let bytes = bundle::pack(&frames).expect("packed");
        self.frames.put(
            key.to_string(),
            FrameBytes {
                bytes,
                captured_at: None,
            },
        );
        key.to_string()
    }

    async fn observe_all(&self, key: &str) -> Vec<FrameReport> {
        self.observer.observe(key, self.clock.now()).await.expect("observed")
    }
}

#[tokio::test]
async fn a_bundle_opens_an_intrusion_with_its_frames_as_evidence_in_one_notification() {
    let w = world();
    let key = w.upload_bundle(11, &["empty", "person", "person 0.97", "person"]);
    let reports = w.observe_all(&key).await;
    let decisions: Vec<&str> = reports.iter().map(decision).collect();
    // The bundle's frames are all recorded before the rule runs: the run is
    // found at its first frame, and the later ones are already in it.
    assert_eq!(decisions, ["none", "opened", "unchanged", "unchanged"]);
    let [intrusion] = w.store.intrusions().try_into().expect("one intrusion");
    assert_eq!(
        (intrusion.first_seq, intrusion.last_seq, intrusion.peak_score),
        (12, 14, 0.97)
    );
    assert_eq!(intrusion.started_at, start() + TimeDelta::milliseconds(6_000));
    assert_eq!(intrusion.frame_keys, [12, 13, 14].map(|seq| format!("{key}/{seq:020}")));
    let kept: Vec<String> = intrusion.evidence_keys().into_iter().map(|(_, kept)| kept).collect();
    assert_eq!(kept[0], format!("evidence/{}/00000000000000000012", intrusion.id));
    assert_eq!(w.evidence.kept(intrusion.id), Some((intrusion.frame_keys.clone(), 12)));
}

#[tokio::test]
async fn a_run_across_two_bundles_and_a_repeated_bundle_open_one_intrusion() {
    let w = world();
    let first = w.upload_bundle(1, &["empty", "person"]);
    let second = w.upload_bundle(3, &["person", "person", "empty"]);
    assert!(w.observe_all(&first).await.iter().all(|r| decision(r) == "none"));
    let decisions: Vec<&str> = w.observe_all(&second).await.iter().map(decision).collect();
    assert_eq!(decisions, ["opened", "unchanged", "none"]);
    let again: Vec<&str> = w.observe_all(&second).await.iter().map(decision).collect();
    assert_eq!(again, ["unchanged", "unchanged", "none"]);
    assert_eq!(w.spans(), vec![(2, 4)]);
    assert_eq!(w.store.frames().len(), 5, "each frame is stored once");
}

#[tokio::test]
async fn a_bundle_with_gaps_keeps_the_frames_it_has_and_an_unreadable_one_is_rejected_once() {
    let w = world();
    let key = BundleKey::new(w.camera.id, 1, 4).unwrap();
    let packed = bundle::pack(&[(1, start(), b"person"), (4, start(), b"person")]).unwrap();
    w.frames.put(
        key.to_string(),
        FrameBytes {
            bytes: packed,
            captured_at: None,
        },
    );
    assert_eq!(w.observe_all(&key.to_string()).await.len(), 2);
    let bad = BundleKey::new(w.camera.id, 9, 4).unwrap().to_string();
    w.frames.put(
        bad.clone(),
        FrameBytes {
            bytes: b"not a tar".to_vec(),
            captured_at: None,
        },
    );
    for _ in 0..2 {
        let reports = w.observe_all(&bad).await;
        assert!(
            matches!(reports.as_slice(), [FrameReport::Rejected { code, key, .. }] if code == "bad-bundle" && *key == bad),
            "{reports:?}"
        );
    }
    let seqs: Vec<u64> = w.store.frames().iter().map(|f| f.seq).collect();
    assert_eq!(seqs, [1, 4, 9]);
}

#[path = "resolution_tests.rs"]
mod after_a_resolution;

#[tokio::test]
async fn the_latest_frame_is_the_latest_analysed_whatever_its_number() {
    let w = world();
    // Found from outside: a frame at the highest sequence number stayed the camera's latest frame.
    let far = crate::detection::bundle::MAX_FIRST_SEQ;
    let key = w.upload_at(far, "empty", start());
    w.observe(&key).await;
    assert_eq!(w.store.latest_frame(w.camera.id).await.unwrap().unwrap().seq, far);
    w.clock.advance(crate::detection::LATEST_FRAME_EVERY);
    w.send(5, "empty").await;
    assert_eq!(w.store.latest_frame(w.camera.id).await.unwrap().unwrap().seq, 5);
    w.clock.advance(TimeDelta::seconds(1));
    w.send(6, "empty").await;
    assert_eq!(
        w.store.latest_frame(w.camera.id).await.unwrap().unwrap().seq,
        5,
        "kept at most once in each interval"
    );
}
