//! Erasure against in-memory stores and a fixed clock: only staff ask for it;
//! a client's erasure, run one step per pass as if cut off after every step,
//! leaves nothing of the client but what a legal hold keeps, and leaves
//! another client untouched; a site's erasure leaves the rest of its client.

use std::sync::Arc;

use chrono::TimeDelta;

use super::{Erasure, ErasureRequests, ErasureStatus, ErasureTarget, Progress};
use crate::arming::ManualBody;
use crate::audit::{AuditFilter, AuditStore};
use crate::clock::FixedClock;
use crate::controls::{ControlStore, SiteControls};
use crate::detection::ports::{Commit, DetectionStore, IntrusionChange};
use crate::detection::zones::DetectionBody;
use crate::detection::{FrameOutcome, FrameRecord, Intrusion, IntrusionScope, Intrusions};
use crate::directory::Directory;
use crate::directory::{Device, DeviceBody, DeviceKind, Site, SiteBody};
use crate::error::DomainError;
use crate::fixtures::{self, page, staff, start, user_of};
use crate::ids::ClientId;
use crate::media::Store;
use crate::memory::{
    MemoryAudit, MemoryControls, MemoryDetectionStore, MemoryErasureQueue, MemoryFootage, MemoryResponses,
    MemoryRetention,
};
use crate::response::ResponseStore;
use crate::retention::ports::RetentionStore;
use crate::retention::{HoldBody, LegalHolds, RetentionBody, RetentionBounds, RetentionPeriods};

struct World {
    directory: Directory,
    requests: ErasureRequests,
    erasure: Erasure,
    controls: SiteControls,
    holds: LegalHolds,
    periods: RetentionPeriods,
    queue: Arc<MemoryErasureQueue>,
    detection: Arc<MemoryDetectionStore>,
    control_store: Arc<MemoryControls>,
    responses: Arc<MemoryResponses>,
    retention: Arc<MemoryRetention>,
    footage: Arc<MemoryFootage>,
    audit: Arc<MemoryAudit>,
}

fn world() -> World {
    let clock = Arc::new(FixedClock::at(start()));
    let audit = Arc::new(MemoryAudit::default());
    let (directory, _) = fixtures::directory(clock.clone());
    let directory = directory.with_audit(audit.clone());
    let detection = Arc::new(MemoryDetectionStore::default());
    let control_store = Arc::new(MemoryControls::default());
    let responses = Arc::new(MemoryResponses::default());
    let retention = Arc::new(MemoryRetention::default());
    let footage = Arc::new(MemoryFootage::default());
    let queue = Arc::new(MemoryErasureQueue::default());
    let intrusions = Intrusions::new(directory.clone(), detection.clone());
    World {
        requests: ErasureRequests::new(directory.clone(), retention.clone(), queue.clone()),
        erasure: Erasure {
            directory: directory.clone(),
            retention: retention.clone(),
            detection: detection.clone(),
            controls: control_store.clone(),
            responses: responses.clone(),
            footage: footage.clone(),
            push: Arc::new(crate::memory::MemoryPush::default()),
            limit: 1,
        },
        controls: SiteControls::new(directory.clone(), control_store.clone(), clock.clone()),
        holds: LegalHolds::new(intrusions, retention.clone(), clock),
        periods: RetentionPeriods::new(directory.clone(), retention.clone(), RetentionBounds::default()),
        directory,
        queue,
        detection,
        control_store,
        responses,
        retention,
        footage,
        audit,
    }
}

/// What a site holds: its camera and alarm, and an intrusion of the camera.
struct Recorded {
    site: Site,
    camera: Device,
    alarm: Device,
    intrusion: Intrusion,
}

impl World {
    /// A site of `client` with a camera and an alarm, and something recorded in
    /// every store: frames and their results, a rejected frame, settings, the
    /// arming and its history, a health event, and an intrusion with its footage.
    async fn site(&self, client: ClientId, name: &str) -> Recorded {
        let body = SiteBody {
            client_id: client.to_string(),
            name: name.into(),
            address: "1 High Street".into(),
        };
        let site = self.directory.create_site(&staff(), body).await.unwrap();
        let device = |kind, name: &str| {
            let body = DeviceBody { name: name.into() };
            let directory = self.directory.clone();
            async move {
                directory
                    .register_device(&staff(), site.id, kind, body)
                    .await
                    .unwrap()
                    .device
            }
        };
        let camera = device(DeviceKind::Camera, "Gate").await;
        let alarm = device(DeviceKind::Alarm, "Siren").await;
        for seq in 1..=3 {
            let key = format!("frames/{}/{seq:020}.jpg", camera.id);
            self.footage.put(Store::Frames, key.clone());
            let record = FrameRecord {
                camera_id: camera.id,
                seq,
                captured_at: start(),
                object_key: key,
                outcome: FrameOutcome::Rejected {
                    code: "blurred".into(),
                    reason: "too blurred to analyse".into(),
                },
                analysed_at: start(),
                expires_at: 0,
            };
            self.detection.put_frame(&record).await.unwrap();
        }
        self.detection
            .record_unroutable(&format!("frames/{}/bad.jpg", camera.id), "not a JPEG", 0)
            .await
            .unwrap();
        self.controls
            .set_detection(&staff(), camera.id, DetectionBody::default())
            .await
            .unwrap();
        self.controls
            .set_by_hand(&staff(), site.id, false, ManualBody::default())
            .await
            .unwrap();
        let mut intrusion = fixtures::intrusion(client, site.id, camera.id, start() - TimeDelta::days(1));
        intrusion.frame_keys = (1..=3).map(|n| format!("frames/{}/{n:020}.jpg", camera.id)).collect();
        intrusion.snapshot_key = Some(format!("snapshots/{}.jpg", intrusion.id));
        let commit = self
            .detection
            .commit(camera.id, 0, &IntrusionChange::Open(intrusion.clone()))
            .await
            .unwrap();
        assert_eq!(commit, Commit::Done);
        for (_, kept) in intrusion.evidence_keys() {
            self.footage.put(Store::Frames, kept);
        }
        self.footage.put(Store::Frames, intrusion.snapshot_key.clone().unwrap());
        Recorded {
            site,
            camera,
            alarm,
            intrusion,
        }
    }

    /// Runs the job's passes until it is done, as the queue would hand it over again; answers how many.
    async fn run(&self) -> u32 {
        let jobs = self.queue.take();
        assert_eq!(jobs.len(), 1, "one job handed over");
        let mut passes = 0;
        loop {
            passes += 1;
            assert!(passes < 100, "the erasure never finished");
            if self.erasure.advance(jobs[0]).await.unwrap() == Progress::Done {
                return passes;
            }
        }
    }

    /// Whether anything of `recorded` but `kept` is left, store by store.
    async fn remains(&self, recorded: &Recorded) -> Vec<&'static str> {
        let camera = recorded.camera.id;
        let mut left = Vec::new();
        if self.directory.find_site(recorded.site.id).await.unwrap().is_some() {
            left.push("site");
        }
        for device in [&recorded.camera, &recorded.alarm] {
            if self.directory.find_device(device.id).await.unwrap().is_some() {
                left.push("device");
            }
        }
        if self.detection.frames().iter().any(|f| f.camera_id == camera) {
            left.push("frame results");
        }
        if self.detection.camera_state(camera).await.unwrap().version > 0 {
            left.push("camera state");
        }
        if self
            .detection
            .unroutable()
            .iter()
            .any(|(k, _)| k.contains(&camera.to_string()))
        {
            left.push("rejected frames");
        }
        if self.control_store.camera_detection(camera).await.unwrap().is_some() {
            left.push("detection settings");
        }
        if self.control_store.arming(recorded.site.id).await.unwrap().is_some() {
            left.push("arming");
        }
        let history = self
            .control_store
            .arming_history(recorded.site.id, &page())
            .await
            .unwrap();
        if !history.items.is_empty() {
            left.push("arming history");
        }
        if self
            .footage
            .has(Store::Frames, &format!("frames/{camera}/{:020}.jpg", 1))
        {
            left.push("routine frames");
        }
        if self.detection.intrusions().iter().any(|i| i.camera_id == camera) {
            left.push("intrusions");
        }
        left
    }
}

#[tokio::test]
async fn only_staff_may_erase_and_the_request_is_audited_and_queued() {
    let w = world();
    let (acme, _) = fixtures::client_with_site(&w.directory, "Acme").await;
    let target = ErasureTarget::Client(acme.id);
    let refused = w.requests.request(&user_of(acme.id), target).await.unwrap_err();
    assert!(matches!(refused, DomainError::Forbidden(_)));
    let site = ErasureTarget::Site(crate::ids::SiteId::generate());
    let missing = w.requests.request(&staff(), site).await.unwrap_err();
    assert!(matches!(missing, DomainError::NotFound("site")));
    assert!(w.queue.take().is_empty());

    let job = w.requests.request(&staff(), target).await.unwrap();
    assert_eq!(
        (job.status, job.client_id, job.passes),
        (ErasureStatus::Running, acme.id, 0)
    );
    assert_eq!(job.name, "Acme", "what was erased, by name");
    assert_eq!(w.requests.job(&staff(), job.id).await.unwrap(), job);
    assert!(w.requests.job(&user_of(acme.id), job.id).await.is_err());
    let entries = w.audit.entries(&AuditFilter::default(), &page()).await.unwrap().items;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, crate::audit::AuditAction::RequestedErasure);
    assert_eq!(entries[0].target, format!("client/{}", acme.id));
    assert_eq!(w.queue.take(), vec![job.id]);
}

#[tokio::test]
async fn erasing_a_client_step_by_step_leaves_only_what_a_hold_keeps_and_no_other_clients_data_is_touched() {
    let w = world();
    let (acme, _) = fixtures::client_with_site(&w.directory, "Acme").await;
    let (other, _) = fixtures::client_with_site(&w.directory, "Other").await;
    let depot = w.site(acme.id, "Warehouse").await;
    let yard = w.site(acme.id, "Yard").await;
    let theirs = w.site(other.id, "Theirs").await;
    w.periods
        .set_retention(&staff(), acme.id, RetentionBody { days: 60 })
        .await
        .unwrap();
    w.footage
        .put(Store::Frames, format!("exports/{}/records.json", acme.id));
    w.footage
        .put(Store::Frames, format!("exports/{}/records.json", other.id));
    let body = HoldBody {
        reason: "Police case 2026/7".into(),
    };
    w.holds.place_hold(&staff(), yard.intrusion.id, body).await.unwrap();

    let job = w
        .requests
        .request(&staff(), ErasureTarget::Client(acme.id))
        .await
        .unwrap();
    let passes = w.run().await;
    // One step a pass: the devices, the intrusion not held, the sites, then the client.
    assert!(passes >= 7, "{passes} passes");

    let done = w.requests.job(&staff(), job.id).await.unwrap();
    assert_eq!(done.status, ErasureStatus::Done);
    assert_eq!(done.passes, passes);
    assert_eq!(done.held, vec![yard.intrusion.id]);
    assert_eq!(
        (done.deleted.sites, done.deleted.devices, done.deleted.intrusions),
        (3, 4, 1)
    );
    // Two cameras' routine frames, the erased intrusion's evidence and snapshot, the export.
    assert_eq!(done.deleted.objects, 3 + 3 + 3 + 1 + 1, "{:?}", done.deleted);
    assert!(done.finished_at.is_some());

    assert!(w.directory.find_client(acme.id).await.unwrap().is_none());
    assert!(w.retention.retention(acme.id).await.unwrap().is_none());
    assert!(
        !w.footage
            .has(Store::Frames, &format!("exports/{}/records.json", acme.id))
    );
    assert_eq!(w.remains(&depot).await, Vec::<&str>::new());
    // The held intrusion stays with its footage and hold; nothing else of its site.
    assert_eq!(w.remains(&yard).await, vec!["intrusions"]);
    let held = &yard.intrusion;
    assert!(w.footage.has(Store::Frames, held.snapshot_key.as_deref().unwrap()));
    assert!(w.retention.hold(held.id).await.unwrap().is_some());
    let listed = w
        .detection
        .list_intrusions(IntrusionScope::Client(acme.id), None, None, None, &page())
        .await
        .unwrap();
    assert_eq!(listed.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![held.id]);

    // The other client is as it was.
    assert!(w.directory.find_client(other.id).await.unwrap().is_some());
    assert!(
        w.footage
            .has(Store::Frames, &format!("exports/{}/records.json", other.id))
    );
    let all = [
        "site",
        "device",
        "device",
        "frame results",
        "camera state",
        "rejected frames",
        "detection settings",
        "arming",
        "arming history",
        "routine frames",
        "intrusions",
    ];
    assert_eq!(w.remains(&theirs).await, all.to_vec());

    // Run again (a message delivered twice): nothing changes.
    assert_eq!(w.erasure.advance(job.id).await.unwrap(), Progress::Done);
    assert_eq!(w.requests.job(&staff(), job.id).await.unwrap(), done);
}

#[tokio::test]
async fn erasing_a_site_or_a_device_leaves_the_rest_of_the_client() {
    let w = world();
    let (acme, _) = fixtures::client_with_site(&w.directory, "Acme").await;
    let closing = w.site(acme.id, "Closing").await;
    let staying = w.site(acme.id, "Staying").await;
    w.responses
        .record_health(&crate::response::HealthEvent {
            device_id: staying.alarm.id,
            device_name: "Siren".into(),
            kind: DeviceKind::Alarm,
            site_id: staying.site.id,
            client_id: acme.id,
            change: crate::directory::HealthChange::WentOffline,
            at: start(),
            last_seen_at: None,
            notices: vec![],
        })
        .await
        .unwrap();

    w.requests
        .request(&staff(), ErasureTarget::Site(closing.site.id))
        .await
        .unwrap();
    w.run().await;
    assert_eq!(w.remains(&closing).await, Vec::<&str>::new());
    assert_eq!(w.remains(&staying).await.len(), 11);
    assert!(w.directory.find_client(acme.id).await.unwrap().is_some());

    w.requests
        .request(&staff(), ErasureTarget::Device(staying.alarm.id))
        .await
        .unwrap();
    w.run().await;
    assert!(w.directory.find_device(staying.alarm.id).await.unwrap().is_none());
    let health = w
        .responses
        .health_events(crate::response::NotificationScope::Client(acme.id), &page())
        .await
        .unwrap();
    assert!(health.items.is_empty(), "the alarm's health events went with it");
    // The camera, its site and its intrusion stay.
    assert_eq!(w.remains(&staying).await.len(), 10);
}
