//! Unit tests of the frame-observed use case over the in-memory adapters and a fixed clock.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::join_all;

use super::*;
use crate::clock::FixedClock;
use crate::detection::ports::FrameBytes;
use crate::directory::{Device, DeviceKind, DeviceState};
use crate::ids::{ClientId, DeviceId, SiteId};
use crate::memory::{LabelledFrames, MemoryCameras, MemoryDetectionStore, MemoryEvidence, MemoryFrames};
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
    let ports = DetectionPorts {
        store: store.clone(),
        cameras: cameras.clone(),
        objects: frames.clone(),
        finder: Arc::new(LabelledFrames),
        evidence: evidence.clone(),
        clock: clock.clone(),
    };
    World {
        store,
        frames,
        evidence,
        cameras,
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
        self.observer.observe(key, self.clock.now()).await.expect("observed")
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
        let report = w.observe(&key).await;
        assert!(
            matches!(&report, FrameReport::Rejected { code, .. } if code == "unknown-camera"),
            "{report:?}"
        );
    }
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
