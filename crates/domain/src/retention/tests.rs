//! Retention and legal holds against in-memory stores and a fixed clock:
//! who may set what, and a purge that deletes exactly what is past each
//! client's period, keeps what is held, and deletes it once released.

use std::sync::Arc;

use chrono::TimeDelta;

use super::purge::{Purge, PurgeReport};
use super::*;
use crate::clock::FixedClock;
use crate::detection::ports::{Commit, DetectionStore, IntrusionChange};
use crate::detection::{Intrusion, Intrusions};
use crate::directory::Site;
use crate::fixtures::{self, page, staff, start, user_of};
use crate::ids::DeviceId;
use crate::media::Store;
use crate::memory::{MemoryDetectionStore, MemoryFootage, MemoryResponses, MemoryRetention};
use crate::response::{Clip, ResponseStore};

struct World {
    periods: RetentionPeriods,
    holds: LegalHolds,
    purge: Purge,
    directory: Directory,
    detection: Arc<MemoryDetectionStore>,
    responses: Arc<MemoryResponses>,
    footage: Arc<MemoryFootage>,
    clock: Arc<FixedClock>,
}

fn world() -> World {
    let clock = Arc::new(FixedClock::at(start()));
    let (directory, _) = fixtures::directory(clock.clone());
    let detection = Arc::new(MemoryDetectionStore::default());
    let responses = Arc::new(MemoryResponses::default());
    let retention = Arc::new(MemoryRetention::default());
    let footage = Arc::new(MemoryFootage::default());
    let intrusions = Intrusions::new(directory.clone(), detection.clone());
    let bounds = RetentionBounds::default();
    World {
        periods: RetentionPeriods::new(directory.clone(), retention.clone(), bounds),
        holds: LegalHolds::new(intrusions, retention.clone(), clock.clone()),
        purge: Purge {
            directory: directory.clone(),
            retention,
            detection: detection.clone(),
            responses: responses.clone(),
            footage: footage.clone(),
            clock: clock.clone(),
            bounds,
            limit: 100,
        },
        directory,
        detection,
        responses,
        footage,
        clock,
    }
}

impl World {
    /// An intrusion `days_ago`, with its three evidence frames, snapshot and clip stored.
    async fn intrusion(&self, site: &Site, days_ago: i64) -> Intrusion {
        let at = start() - TimeDelta::days(days_ago);
        let camera = DeviceId::generate();
        let mut intrusion = fixtures::intrusion(site.client_id, site.id, camera, at);
        intrusion.frame_keys = (1..=3).map(|n| format!("frames/{camera}/{n:020}.jpg")).collect();
        intrusion.snapshot_key = Some(format!("snapshots/{}.jpg", intrusion.id));
        let commit = self
            .detection
            .commit(camera, 0, &IntrusionChange::Open(intrusion.clone()))
            .await
            .unwrap();
        assert_eq!(commit, Commit::Done);
        for (_, kept) in intrusion.evidence_keys() {
            self.footage.put(Store::Frames, kept);
        }
        self.footage.put(Store::Frames, intrusion.snapshot_key.clone().unwrap());
        let clip = Clip {
            intrusion_id: intrusion.id,
            camera_id: camera,
            key: format!("clips/{}.mp4", intrusion.id),
            from: at - TimeDelta::minutes(3),
            to: at + TimeDelta::minutes(3),
            due_by: at + TimeDelta::days(1),
            stored_at: Some(at + TimeDelta::minutes(5)),
            size: Some(1000),
        };
        self.responses.claim_clip(&clip).await.unwrap();
        self.footage.put(Store::Clips, clip.key);
        intrusion
    }

    /// Whether the intrusion, its records and every object of it are still there (all or none).
    async fn kept(&self, intrusion: &Intrusion) -> bool {
        let stored = self.detection.intrusions().iter().any(|i| i.id == intrusion.id);
        let records = self.responses.records(intrusion.id).await.unwrap();
        let mut objects: Vec<bool> = intrusion
            .evidence_keys()
            .iter()
            .map(|(_, kept)| self.footage.has(Store::Frames, kept))
            .collect();
        objects.push(
            self.footage
                .has(Store::Frames, intrusion.snapshot_key.as_deref().unwrap()),
        );
        objects.push(self.footage.has(Store::Clips, &format!("clips/{}.mp4", intrusion.id)));
        let parts = [stored, records.clip.is_some()].into_iter().chain(objects);
        let parts: Vec<bool> = parts.collect();
        assert!(
            parts.iter().all(|p| *p) || parts.iter().all(|p| !*p),
            "half purged: {parts:?}"
        );
        stored
    }
}

#[tokio::test]
async fn footage_past_each_clients_period_is_purged_and_held_footage_kept_until_released() {
    let w = world();
    let (_, depot) = w.client_with_site_named("Acme").await;
    let (careful, yard) = w.client_with_site_named("Careful").await;
    w.periods
        .set_retention(&staff(), careful.id, RetentionBody { days: 90 })
        .await
        .unwrap();
    let old = w.intrusion(&depot, 31).await;
    let recent = w.intrusion(&depot, 29).await;
    let evidence = w.intrusion(&depot, 45).await;
    let theirs = w.intrusion(&yard, 60).await;
    let hold = w
        .holds
        .place_hold(
            &staff(),
            evidence.id,
            HoldBody {
                reason: "  Police case 2026/114 ".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(hold.reason, "Police case 2026/114");

    let report = w.purge.run().await.unwrap();
    assert_eq!(
        report,
        PurgeReport {
            clients: 2,
            intrusions_deleted: 1,
            objects_deleted: 5,
            held: 1,
            unfinished: false
        }
    );
    assert!(!w.kept(&old).await, "past Acme's default 30 days");
    assert!(w.kept(&recent).await);
    assert!(w.kept(&evidence).await, "held");
    assert!(w.kept(&theirs).await, "within Careful's 90 days");

    w.holds.release_hold(&staff(), evidence.id).await.unwrap();
    let again = w.purge.run().await.unwrap();
    assert_eq!(again.intrusions_deleted, 1);
    assert!(!w.kept(&evidence).await, "released, then purged");

    w.clock.advance(TimeDelta::days(2));
    w.purge.run().await.unwrap();
    assert!(!w.kept(&recent).await, "its time came");
    assert!(w.kept(&theirs).await);
}

#[tokio::test]
async fn a_purge_stops_at_its_limit_and_the_next_one_carries_on() {
    let mut w = world();
    w.purge.limit = 2;
    let (_, depot) = w.client_with_site_named("Acme").await;
    let mut old = Vec::new();
    for days in 31..34 {
        old.push(w.intrusion(&depot, days).await);
    }
    let first = w.purge.run().await.unwrap();
    assert_eq!((first.intrusions_deleted, first.unfinished), (2, true));
    let second = w.purge.run().await.unwrap();
    assert_eq!((second.intrusions_deleted, second.unfinished), (1, false));
    for intrusion in &old {
        assert!(!w.kept(intrusion).await);
    }
}

#[tokio::test]
async fn staff_set_a_period_within_bounds_and_clients_read_their_own() {
    let w = world();
    let (acme, _) = w.client_with_site_named("Acme").await;
    let (other, _) = w.client_with_site_named("Other").await;
    let user = user_of(acme.id);
    let default = w.periods.retention(&user, acme.id).await.unwrap();
    assert_eq!((default.days, default.is_default, default.max_days), (30, true, 365));
    for days in [0, -1, 366, i64::MAX] {
        let refused = w.periods.set_retention(&staff(), acme.id, RetentionBody { days }).await;
        assert!(
            matches!(&refused, Err(DomainError::Invalid(e)) if e[0].name == "days"),
            "{days}: {refused:?}"
        );
    }
    let refused = w.periods.set_retention(&user, acme.id, RetentionBody { days: 7 }).await;
    assert!(
        matches!(refused, Err(DomainError::Forbidden(_))),
        "clients do not set it"
    );
    let set = w
        .periods
        .set_retention(&staff(), acme.id, RetentionBody { days: 7 })
        .await
        .unwrap();
    assert_eq!((set.days, set.is_default, set.updated_at), (7, false, Some(start())));
    assert_eq!(w.periods.retention(&user, acme.id).await.unwrap().days, 7);
    let foreign = w.periods.retention(&user, other.id).await;
    assert!(matches!(foreign, Err(DomainError::NotFound(_))));
}

#[tokio::test]
async fn only_staff_hold_and_release_and_clients_see_only_their_own_holds() {
    let w = world();
    let (acme, depot) = w.client_with_site_named("Acme").await;
    let (other, yard) = w.client_with_site_named("Other").await;
    let ours = w.intrusion(&depot, 1).await;
    let theirs = w.intrusion(&yard, 1).await;
    let user = user_of(acme.id);
    let reason = || HoldBody {
        reason: "Insurance claim".into(),
    };
    let refused = w.holds.place_hold(&user, ours.id, reason()).await;
    assert!(matches!(refused, Err(DomainError::Forbidden(_))));
    let blank = w
        .holds
        .place_hold(&staff(), ours.id, HoldBody { reason: " ".into() })
        .await;
    assert!(matches!(&blank, Err(DomainError::Invalid(e)) if e[0].name == "reason"));
    w.holds.place_hold(&staff(), ours.id, reason()).await.unwrap();
    w.holds.place_hold(&staff(), theirs.id, reason()).await.unwrap();
    let own = w.holds.holds(&user, None, page()).await.unwrap();
    assert_eq!(own.items.iter().map(|h| h.intrusion_id).collect::<Vec<_>>(), [ours.id]);
    assert!(matches!(
        w.holds.holds(&user, Some(other.id), page()).await,
        Err(DomainError::NotFound(_))
    ));
    assert_eq!(w.holds.holds(&staff(), None, page()).await.unwrap().items.len(), 2);
    assert!(w.holds.hold(&user, ours.id).await.unwrap().is_some());
    assert!(matches!(
        w.holds.hold(&user, theirs.id).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.holds.release_hold(&user, ours.id).await,
        Err(DomainError::Forbidden(_))
    ));
    w.holds.release_hold(&staff(), ours.id).await.unwrap();
    assert!(matches!(
        w.holds.release_hold(&staff(), ours.id).await,
        Err(DomainError::NotFound(_))
    ));
}

impl World {
    async fn client_with_site_named(&self, name: &str) -> (crate::directory::Client, Site) {
        fixtures::client_with_site(&self.directory, name).await
    }
}
