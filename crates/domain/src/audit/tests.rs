//! The audit trail against in-memory stores and a fixed clock: each audited
//! action appears once with its actor and address, a look at an intrusion's
//! footage is recorded, and clients read only their own entries.

use std::sync::Arc;

use super::*;
use crate::arming::ManualBody;
use crate::clock::FixedClock;
use crate::controls::SiteControls;
use crate::detection::ports::{DetectionStore, IntrusionChange};
use crate::detection::{HandlingBody, Intrusions};
use crate::directory::{DeviceBody, DeviceKind, Directory};
use crate::fixtures::{self, page, staff, start, user_of};
use crate::memory::{MemoryAudit, MemoryControls, MemoryDetectionStore, MemoryResponses, MemoryRetention};
use crate::response::Responses;
use crate::retention::{HoldBody, LegalHolds, RetentionBody, RetentionBounds, RetentionPeriods};

#[tokio::test]
async fn every_audited_action_is_recorded_once_with_who_and_from_where() {
    let clock = Arc::new(FixedClock::at(start()));
    let audit = Arc::new(MemoryAudit::default());
    let (plain, _) = fixtures::directory(clock.clone());
    let directory: Directory = plain.with_audit(audit.clone());
    let detection = Arc::new(MemoryDetectionStore::default());
    let intrusions = Intrusions::with_clock(directory.clone(), detection.clone(), clock.clone());
    let responses = Responses::new(
        directory.clone(),
        intrusions.clone(),
        Arc::new(MemoryResponses::default()),
    );
    let controls = SiteControls::new(directory.clone(), Arc::new(MemoryControls::default()), clock.clone());
    let retention = Arc::new(MemoryRetention::default());
    let periods = RetentionPeriods::new(directory.clone(), retention.clone(), RetentionBounds::default());
    let holds = LegalHolds::new(intrusions.clone(), retention, clock.clone());

    let (acme, depot) = fixtures::client_with_site(&directory, "Acme").await;
    let (other, _) = fixtures::client_with_site(&directory, "Other").await;
    let admin = staff()
        .with_email(Some("duty@seccom.example".into()))
        .with_address(Some("203.0.113.7".into()));
    let user = user_of(acme.id).with_address(Some("198.51.100.2".into()));
    let camera = directory
        .register_device(&admin, depot.id, DeviceKind::Camera, DeviceBody { name: "Gate".into() })
        .await
        .unwrap()
        .device;
    controls
        .set_by_hand(
            &user,
            depot.id,
            false,
            ManualBody {
                until: None,
                note: None,
            },
        )
        .await
        .unwrap();
    let intrusion = fixtures::intrusion(acme.id, depot.id, camera.id, start());
    detection
        .commit(camera.id, 0, &IntrusionChange::Open(intrusion.clone()))
        .await
        .unwrap();
    responses.intrusion(&user, intrusion.id, true).await.unwrap();
    responses.intrusion(&user, intrusion.id, false).await.unwrap();
    let note = || HandlingBody {
        note: None,
        false_alarm: None,
    };
    intrusions.acknowledge(&user, intrusion.id, note()).await.unwrap();
    intrusions.resolve(&admin, intrusion.id, note()).await.unwrap();
    responses.rotate_webhook_secret(&user, acme.id).await.unwrap();
    periods
        .set_retention(&admin, acme.id, RetentionBody { days: 60 })
        .await
        .unwrap();
    holds
        .place_hold(&admin, intrusion.id, HoldBody { reason: "case".into() })
        .await
        .unwrap();
    holds.release_hold(&admin, intrusion.id).await.unwrap();
    directory
        .remove_device(&admin, camera.id, DeviceKind::Camera)
        .await
        .unwrap();
    let refused = periods.set_retention(&user, acme.id, RetentionBody { days: 5 }).await;
    assert!(refused.is_err(), "a refused action is not recorded");

    let entries = audit.all();
    let recorded: Vec<(AuditAction, &str, Option<&str>)> = entries
        .iter()
        .map(|e| {
            let who = if e.actor == admin.subject { "staff" } else { "user" };
            (e.action, who, e.address.as_deref())
        })
        .collect();
    let (staff_at, user_at) = (Some("203.0.113.7"), Some("198.51.100.2"));
    assert_eq!(
        recorded,
        [
            (AuditAction::RegisteredDevice, "staff", staff_at),
            (AuditAction::ChangedArming, "user", user_at),
            (AuditAction::ViewedIntrusion, "user", user_at),
            (AuditAction::AcknowledgedIntrusion, "user", user_at),
            (AuditAction::ResolvedIntrusion, "staff", staff_at),
            (AuditAction::RotatedWebhookSecret, "user", user_at),
            (AuditAction::ChangedRetention, "staff", staff_at),
            (AuditAction::PlacedLegalHold, "staff", staff_at),
            (AuditAction::ReleasedLegalHold, "staff", staff_at),
            (AuditAction::RemovedDevice, "staff", staff_at),
        ]
    );
    assert!(entries.iter().all(|e| e.client_id == Some(acme.id) && e.at == start()));
    assert_eq!(entries[2].target, format!("intrusion/{}", intrusion.id));
    assert_eq!(entries[4].actor_email.as_deref(), Some("duty@seccom.example"));

    // Reading: a client its own, staff all or by actor; never another client's.
    let trail = directory.audit();
    let own = trail.entries(&user, AuditFilter::default(), page()).await.unwrap();
    assert_eq!(own.items.len(), 10);
    assert_eq!(own.items[0].action, AuditAction::RemovedDevice, "newest first");
    let foreign = AuditFilter {
        client_id: Some(other.id),
        ..AuditFilter::default()
    };
    assert!(matches!(
        trail.entries(&user, foreign.clone(), page()).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(trail.entries(&staff(), foreign, page()).await.unwrap().items.is_empty());
    let by = AuditFilter {
        actor: Some("duty@seccom.example".into()),
        ..AuditFilter::default()
    };
    assert_eq!(trail.entries(&staff(), by, page()).await.unwrap().items.len(), 6);
    // A sign-in is recorded once per session, staff's without a client.
    let session = start() - chrono::TimeDelta::minutes(5);
    for _ in 0..3 {
        trail.record_sign_in(&user, session).await.unwrap();
        trail.record_sign_in(&admin, session).await.unwrap();
    }
    let sign_ins: Vec<Option<ClientId>> = audit
        .all()
        .iter()
        .filter(|e| e.action == AuditAction::SignedIn)
        .map(|e| e.client_id)
        .collect();
    assert_eq!(sign_ins, [Some(acme.id), None]);
    let own = trail.entries(&user, AuditFilter::default(), page()).await.unwrap();
    assert_eq!(own.items.len(), 11, "its own sign-in, not staff's");
    let reversed = AuditFilter {
        from: Some(start()),
        to: Some(start() - chrono::TimeDelta::seconds(1)),
        ..AuditFilter::default()
    };
    assert!(matches!(
        trail.entries(&staff(), reversed, page()).await,
        Err(DomainError::InvalidQuery(_))
    ));
}

#[tokio::test]
async fn a_clients_users_see_staff_as_seccom_staff_without_their_email_or_address() {
    let clock = Arc::new(FixedClock::at(start()));
    let audit = Arc::new(MemoryAudit::default());
    let (plain, _) = fixtures::directory(clock.clone());
    let directory: Directory = plain.with_audit(audit.clone());
    let (acme, depot) = fixtures::client_with_site(&directory, "Acme").await;
    let admin = staff()
        .with_email(Some("duty@seccom.example".into()))
        .with_address(Some("203.0.113.7".into()));
    let user = user_of(acme.id)
        .with_email(Some("owner@acme.example".into()))
        .with_address(Some("198.51.100.2".into()));
    directory
        .register_device(&admin, depot.id, DeviceKind::Camera, DeviceBody { name: "Gate".into() })
        .await
        .unwrap();
    directory.audit().record_sign_in(&user, start()).await.unwrap();
    let trail = directory.audit();

    let seen = trail
        .entries(&user, AuditFilter::default(), page())
        .await
        .unwrap()
        .items;
    let by = |action| seen.iter().find(|e| e.action == action).unwrap();
    let registered = by(AuditAction::RegisteredDevice);
    assert_eq!(
        (
            registered.actor.as_str(),
            registered.actor_email.as_deref(),
            registered.address.as_deref()
        ),
        (STAFF_ACTOR, None, None)
    );
    let signed_in = by(AuditAction::SignedIn);
    assert_eq!(
        signed_in.actor_email.as_deref(),
        Some("owner@acme.example"),
        "their own users by name"
    );
    for actor in ["duty@seccom.example", "staff-1"] {
        let filter = AuditFilter {
            actor: Some(actor.into()),
            ..AuditFilter::default()
        };
        assert!(
            trail.entries(&user, filter, page()).await.unwrap().items.is_empty(),
            "a filter is no way to learn a staff member's e-mail"
        );
    }
    let staff_view = trail
        .entries(&admin, AuditFilter::default(), page())
        .await
        .unwrap()
        .items;
    let registered = staff_view
        .iter()
        .find(|e| e.action == AuditAction::RegisteredDevice)
        .unwrap();
    assert_eq!(
        registered.actor_email.as_deref(),
        Some("duty@seccom.example"),
        "staff see everything"
    );
}
