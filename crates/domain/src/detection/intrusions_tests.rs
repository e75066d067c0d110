//! The intrusion use cases users reach, over the in-memory stores and a fixed
//! clock: lists scoped by tenant and filters, and acknowledging and resolving.

use std::sync::Arc;

use chrono::TimeDelta;

use super::*;
use crate::clock::FixedClock;
use crate::detection::ports::{Commit, IntrusionChange};
use crate::directory::Site;
use crate::fixtures::{self, page, staff, start, user_of};
use crate::memory::MemoryDetectionStore;

struct World {
    intrusions: Intrusions,
    directory: Directory,
    store: Arc<MemoryDetectionStore>,
    clock: Arc<FixedClock>,
}

fn world() -> World {
    let clock = Arc::new(FixedClock::at(start()));
    let (directory, _) = fixtures::directory(clock.clone());
    let store = Arc::new(MemoryDetectionStore::default());
    World {
        intrusions: Intrusions::with_clock(directory.clone(), store.clone(), clock.clone()),
        directory,
        store,
        clock,
    }
}

impl World {
    /// An open intrusion seen by a new camera of `site`, `minutes` after the start.
    async fn intrusion(&self, site: &Site, minutes: i64) -> Intrusion {
        let camera = fixtures::register(&self.directory, site.id, DeviceKind::Camera, "Gate")
            .await
            .device;
        let intrusion = fixtures::intrusion(
            site.client_id,
            site.id,
            camera.id,
            start() + TimeDelta::minutes(minutes),
        );
        let change = IntrusionChange::Open(intrusion.clone());
        assert_eq!(self.store.commit(camera.id, 0, &change).await.unwrap(), Commit::Done);
        intrusion
    }
}

fn note(text: &str) -> HandlingBody {
    HandlingBody {
        note: Some(text.into()),
        false_alarm: None,
    }
}

#[tokio::test]
async fn a_client_user_lists_only_its_own_intrusions_newest_first() {
    let w = world();
    let (acme, depot) = fixtures::client_with_site(&w.directory, "Acme").await;
    let (_, theirs) = fixtures::client_with_site(&w.directory, "Other").await;
    let first = w.intrusion(&depot, 0).await;
    let second = w.intrusion(&depot, 5).await;
    let foreign = w.intrusion(&theirs, 1).await;
    let own = w
        .intrusions
        .list(&user_of(acme.id), IntrusionFilter::default(), page())
        .await
        .unwrap();
    assert_eq!(
        own.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );
    let all = w
        .intrusions
        .list(&staff(), IntrusionFilter::default(), page())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 3);
    assert!(matches!(
        w.intrusions.get(&user_of(acme.id), foreign.id).await,
        Err(DomainError::NotFound("intrusion"))
    ));
    let filter = IntrusionFilter {
        site: Some(theirs.id),
        ..Default::default()
    };
    assert!(matches!(
        w.intrusions.list(&user_of(acme.id), filter, page()).await,
        Err(DomainError::NotFound(_))
    ));
}

#[tokio::test]
async fn filters_narrow_by_camera_and_time_and_a_reversed_range_is_a_bad_query() {
    let w = world();
    let (_, depot) = fixtures::client_with_site(&w.directory, "Acme").await;
    let early = w.intrusion(&depot, 0).await;
    let late = w.intrusion(&depot, 60).await;
    let by_camera = IntrusionFilter {
        camera: Some(late.camera_id),
        ..Default::default()
    };
    let found = w.intrusions.list(&staff(), by_camera, page()).await.unwrap();
    assert_eq!(found.items.iter().map(|i| i.id).collect::<Vec<_>>(), [late.id]);
    let by_time = IntrusionFilter {
        to: Some(start() + TimeDelta::minutes(30)),
        ..Default::default()
    };
    let found = w.intrusions.list(&staff(), by_time, page()).await.unwrap();
    assert_eq!(found.items.iter().map(|i| i.id).collect::<Vec<_>>(), [early.id]);
    let reversed = IntrusionFilter {
        from: Some(start() + TimeDelta::minutes(30)),
        to: Some(start()),
        ..Default::default()
    };
    match w.intrusions.list(&staff(), reversed, page()).await {
        Err(DomainError::InvalidQuery(errors)) => assert_eq!(errors[0].name, "from"),
        other => panic!("a reversed range was answered: {other:?}"),
    }
}

#[tokio::test]
async fn an_intrusion_is_acknowledged_then_resolved_once_by_whoever_may_see_it() {
    let w = world();
    let (acme, depot) = fixtures::client_with_site(&w.directory, "Acme").await;
    let (other, _) = fixtures::client_with_site(&w.directory, "Other").await;
    let intrusion = w.intrusion(&depot, 0).await;
    assert!(matches!(
        w.intrusions
            .acknowledge(&user_of(other.id), intrusion.id, note("mine?"))
            .await,
        Err(DomainError::NotFound(_))
    ));
    w.clock.advance(TimeDelta::minutes(2));
    let acknowledged = w
        .intrusions
        .acknowledge(&user_of(acme.id), intrusion.id, note("guard on the way"))
        .await
        .unwrap();
    assert_eq!(acknowledged.status, IntrusionStatus::Acknowledged);
    let handling = acknowledged.acknowledged.expect("who acknowledged it");
    assert_eq!(
        (handling.by.as_str(), handling.at),
        ("user-1", start() + TimeDelta::minutes(2))
    );
    assert_eq!(handling.note.as_deref(), Some("guard on the way"));
    assert!(matches!(
        w.intrusions.acknowledge(&staff(), intrusion.id, note("again")).await,
        Err(DomainError::Conflict(_))
    ));
    let false_alarm = HandlingBody {
        note: None,
        false_alarm: Some(true),
    };
    assert!(
        matches!(
            w.intrusions
                .acknowledge(&staff(), IntrusionId::generate(), false_alarm)
                .await,
            Err(DomainError::Invalid(_))
        ),
        "falseAlarm belongs to resolving"
    );
    let resolve = HandlingBody {
        note: Some("a fox".into()),
        false_alarm: Some(true),
    };
    let resolved = w.intrusions.resolve(&staff(), intrusion.id, resolve).await.unwrap();
    assert_eq!(resolved.status, IntrusionStatus::Resolved);
    assert_eq!(resolved.resolved.and_then(|h| h.false_alarm), Some(true));
    assert!(matches!(
        w.intrusions
            .resolve(&staff(), intrusion.id, HandlingBody::default())
            .await,
        Err(DomainError::Conflict(_))
    ));
}

#[tokio::test]
async fn the_alarm_queue_holds_what_nobody_resolved_oldest_first_for_staff_only() {
    let w = world();
    let (acme, depot) = fixtures::client_with_site(&w.directory, "Acme").await;
    let (_, yard) = fixtures::client_with_site(&w.directory, "Other").await;
    let first = w.intrusion(&depot, 0).await;
    let second = w.intrusion(&yard, 60).await;
    let third = w.intrusion(&depot, 120).await;
    w.intrusions
        .acknowledge(&staff(), second.id, note("on it"))
        .await
        .unwrap();
    w.intrusions
        .resolve(&staff(), third.id, HandlingBody::default())
        .await
        .unwrap();
    let queue = w.intrusions.queue(&staff(), page()).await.unwrap();
    assert_eq!(
        queue.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        [first.id, second.id],
        "open and acknowledged, of every client, oldest first"
    );
    assert!(matches!(
        w.intrusions.queue(&user_of(acme.id), page()).await,
        Err(DomainError::Forbidden(_))
    ));
    let open = IntrusionFilter {
        status: Some(IntrusionStatus::Open),
        ..Default::default()
    };
    let found = w.intrusions.list(&staff(), open, page()).await.unwrap();
    assert_eq!(found.items.iter().map(|i| i.id).collect::<Vec<_>>(), [first.id]);
    let resolved = IntrusionFilter {
        status: Some(IntrusionStatus::Resolved),
        ..Default::default()
    };
    let found = w.intrusions.list(&user_of(acme.id), resolved, page()).await.unwrap();
    assert_eq!(found.items.iter().map(|i| i.id).collect::<Vec<_>>(), [third.id]);
}

#[tokio::test]
async fn staff_reopen_a_resolved_intrusion_back_into_the_queue_keeping_the_resolution() {
    let w = world();
    let (acme, depot) = fixtures::client_with_site(&w.directory, "Acme").await;
    let acknowledged = w.intrusion(&depot, 0).await;
    let never_acknowledged = w.intrusion(&depot, 60).await;
    w.intrusions
        .acknowledge(&staff(), acknowledged.id, note("on it"))
        .await
        .unwrap();
    for id in [acknowledged.id, never_acknowledged.id] {
        w.intrusions.resolve(&staff(), id, note("all clear")).await.unwrap();
    }
    assert!(matches!(
        w.intrusions
            .reopen(&user_of(acme.id), acknowledged.id, note("again"))
            .await,
        Err(DomainError::Forbidden(_))
    ));
    let reopened = w
        .intrusions
        .reopen(&staff(), acknowledged.id, note("the guard saw someone"))
        .await
        .unwrap();
    assert_eq!(
        reopened.status,
        IntrusionStatus::Acknowledged,
        "it was acknowledged before"
    );
    assert_eq!(reopened.resolved, None);
    let reopening = reopened.reopened.expect("the reopening is kept");
    assert_eq!(reopening.undid.note.as_deref(), Some("all clear"));
    assert_eq!(reopening.handling.note.as_deref(), Some("the guard saw someone"));
    let open = w
        .intrusions
        .reopen(&staff(), never_acknowledged.id, HandlingBody::default())
        .await
        .unwrap();
    assert_eq!(open.status, IntrusionStatus::Open);
    assert!(matches!(
        w.intrusions.reopen(&staff(), open.id, HandlingBody::default()).await,
        Err(DomainError::Conflict(_))
    ));
    let queue = w.intrusions.queue(&staff(), page()).await.unwrap();
    assert_eq!(queue.items.len(), 2, "both back in the alarm queue");
}
