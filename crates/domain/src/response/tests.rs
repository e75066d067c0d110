//! The response use cases users reach, against in-memory stores and a fixed
//! clock: preferences and their scope, an intrusion with what its response
//! did, and the media links users get for it.

use std::sync::Arc;

use chrono::TimeDelta;

use super::*;
use crate::clock::FixedClock;
use crate::detection::Intrusion;
use crate::detection::ports::{Commit, DetectionStore, IntrusionChange};
use crate::directory::Site;
use crate::fixtures::{self, page, staff, start, user_of};
use crate::ids::{DeviceId, SiteId};
use crate::media::MediaLinks;
use crate::memory::{MemoryDetectionStore, MemoryLinks, MemoryNotificationQueue, MemoryResponses};

struct World {
    responses: Responses,
    directory: Directory,
    store: Arc<MemoryResponses>,
    detection: Arc<MemoryDetectionStore>,
    staff: Principal,
}

fn world() -> World {
    let (directory, _) = fixtures::directory(Arc::new(FixedClock::at(start())));
    let detection = Arc::new(MemoryDetectionStore::default());
    let intrusions = Intrusions::new(directory.clone(), detection.clone());
    let store = Arc::new(MemoryResponses::default());
    World {
        responses: Responses::new(directory.clone(), intrusions, store.clone()).with_confirmations(
            ConfirmationSender {
                queue: Arc::new(MemoryNotificationQueue::default()),
                base_url: "https://seccom.example.com".into(),
            },
        ),
        directory,
        store,
        detection,
        staff: staff(),
    }
}

impl World {
    async fn client_with_site(&self, name: &str) -> (Client, Site) {
        fixtures::client_with_site(&self.directory, name).await
    }

    async fn intrusion(&self, site: &Site) -> Intrusion {
        let intrusion = Intrusion {
            snapshot_key: Some("snapshots/one.jpg".into()),
            ..fixtures::intrusion(site.client_id, site.id, DeviceId::generate(), start())
        };
        let commit = self
            .detection
            .commit(intrusion.camera_id, 0, &IntrusionChange::Open(intrusion.clone()))
            .await
            .unwrap();
        assert_eq!(commit, Commit::Done);
        intrusion
    }
}

fn recipients(site: Option<SiteId>) -> PreferencesBody {
    PreferencesBody {
        recipients: vec![Recipient {
            role: RecipientRole::BuildingAdministrator,
            channel: Channel::Email,
            address: "admin@example.com".into(),
            site_id: site,
            status: RecipientStatus::default(),
        }],
    }
}

#[tokio::test]
async fn a_clients_defaults_are_its_contacts_with_one_lasting_webhook_secret() {
    let w = world();
    let (acme, _) = w.client_with_site("Acme").await;
    let first = w.responses.preferences(&user_of(acme.id), acme.id).await.unwrap();
    let channels: Vec<Channel> = first.recipients.iter().map(|r| r.channel).collect();
    assert_eq!(channels, [Channel::Email, Channel::Sms]);
    assert!(first.webhook_secret.starts_with("whsec_"));
    let again = w.responses.preferences(&w.staff, acme.id).await.unwrap();
    assert_eq!(again.webhook_secret, first.webhook_secret, "saved on first use");
}

#[tokio::test]
async fn a_rotated_webhook_secret_is_shown_once_and_the_old_one_signs_for_a_day() {
    let w = world();
    let (acme, _) = w.client_with_site("Acme").await;
    let (other, _) = w.client_with_site("Other").await;
    let user = user_of(acme.id);
    let first = w.responses.preferences(&user, acme.id).await.unwrap();
    let shown = w.responses.view(&first);
    assert!(
        first
            .webhook_secret
            .ends_with(&shown.webhook_secret_hint["whsec_…".len()..])
    );
    assert_eq!(shown.webhook_secret_hint.chars().count(), "whsec_…".chars().count() + 4);
    assert_eq!(shown.retiring_secret_valid_until, None);

    let rotated = w.responses.rotate_webhook_secret(&user, acme.id).await.unwrap();
    assert_ne!(rotated.webhook_secret, first.webhook_secret);
    assert_eq!(
        rotated.retiring_secret_valid_until,
        start() + TimeDelta::hours(RETIRING_SECRET_HOURS)
    );
    let now = w.responses.preferences(&w.staff, acme.id).await.unwrap();
    assert_eq!(
        now.webhook_secrets(start()),
        [rotated.webhook_secret.clone(), first.webhook_secret]
    );
    let after_a_day = start() + TimeDelta::hours(RETIRING_SECRET_HOURS);
    assert_eq!(now.webhook_secrets(after_a_day), [rotated.webhook_secret]);
    assert_eq!(now.view(after_a_day).retiring_secret_valid_until, None);
    assert_eq!(now.webhook_secret_rotated_at, Some(start()));
    assert_eq!(now.recipients, first.recipients, "recipients are kept");

    let refused = w.responses.rotate_webhook_secret(&user_of(other.id), acme.id).await;
    assert!(matches!(refused, Err(DomainError::NotFound(_))), "{refused:?}");
}

#[tokio::test]
async fn recipients_may_be_limited_to_the_clients_own_sites_only() {
    let w = world();
    let (acme, depot) = w.client_with_site("Acme").await;
    let (_, theirs) = w.client_with_site("Other").await;
    let user = user_of(acme.id);
    let saved = w
        .responses
        .set_preferences(&user, acme.id, recipients(Some(depot.id)))
        .await
        .unwrap();
    assert_eq!(saved.recipients[0].site_id, Some(depot.id));
    assert!(saved.updated_at.is_some());
    match w
        .responses
        .set_preferences(&user, acme.id, recipients(Some(theirs.id)))
        .await
    {
        Err(DomainError::Invalid(errors)) => assert_eq!(errors[0].name, "recipients[0].siteId"),
        other => panic!("another client's site was accepted: {other:?}"),
    }
    let kept = w.store.preferences(acme.id).await.unwrap().unwrap();
    assert_eq!(kept.recipients, saved.recipients, "a refused change loses nothing");
}

#[tokio::test]
async fn a_client_user_reaches_neither_another_clients_preferences_nor_its_lists() {
    let w = world();
    let (acme, _) = w.client_with_site("Acme").await;
    let (other, _) = w.client_with_site("Other").await;
    let user = user_of(acme.id);
    assert!(matches!(
        w.responses.preferences(&user, other.id).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.responses.set_preferences(&user, other.id, recipients(None)).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.responses.notifications(&user, Some(other.id), page()).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.responses.health_events(&user, Some(other.id), page()).await,
        Err(DomainError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_intrusion_comes_with_what_its_response_did_for_those_who_may_see_it() {
    let w = world();
    let (acme, site) = w.client_with_site("Acme").await;
    let (other, _) = w.client_with_site("Other").await;
    let intrusion = w.intrusion(&site).await;
    let clip = Clip {
        intrusion_id: intrusion.id,
        camera_id: intrusion.camera_id,
        key: Clip::key_for(intrusion.camera_id, intrusion.id),
        from: start() - TimeDelta::minutes(3),
        to: start() + TimeDelta::minutes(3),
        due_by: start() + TimeDelta::minutes(13),
        stored_at: None,
        size: None,
    };
    assert!(matches!(w.store.claim_clip(&clip).await.unwrap(), Claim::New));
    assert!(matches!(w.store.claim_clip(&clip).await.unwrap(), Claim::Existing(_)));
    assert!(
        !w.store
            .clip_stored(intrusion.id, "clips/elsewhere.mp4", "clips/elsewhere.mp4", 10, start())
            .await
            .unwrap(),
        "only the requested key counts"
    );
    let record = w
        .responses
        .intrusion(&user_of(acme.id), intrusion.id, true)
        .await
        .unwrap();
    assert_eq!(record.records.clip.as_ref().map(|c| c.stored_at), Some(None));
    assert_eq!(record.subject.client_name.as_deref(), Some("Acme"));
    assert_eq!(record.subject.client_email.as_deref(), Some(acme.email.as_str()));
    assert_eq!(record.subject.site_name.as_deref(), Some(site.name.as_str()));
    assert_eq!(
        record.subject.camera_name, None,
        "a camera removed since is named by nobody"
    );
    assert!(matches!(
        w.responses.intrusion(&user_of(other.id), intrusion.id, true).await,
        Err(DomainError::NotFound(_))
    ));

    let clock = Arc::new(FixedClock::at(start() + TimeDelta::minutes(1)));
    let links = MediaLinks::with_clock(Arc::new(MemoryLinks), clock);
    let pending = links.detail(record).await.unwrap();
    assert_eq!(
        pending.snapshot_url.as_deref(),
        Some("memory://frames/snapshots/one.jpg?lifetime=900")
    );
    let view = pending.clip.expect("a clip view");
    assert_eq!((view.state, view.url), (ClipState::Pending, None));
    assert_eq!(pending.links_expire_at, start() + TimeDelta::minutes(16));

    assert!(
        w.store
            .clip_stored(intrusion.id, &clip.key, &clip.key, 1024, start())
            .await
            .unwrap()
    );
    let record = w.responses.intrusion(&w.staff, intrusion.id, false).await.unwrap();
    let stored = links.detail(record).await.unwrap().clip.expect("a clip view");
    assert_eq!(stored.state, ClipState::Stored);
    assert_eq!(stored.url, Some(format!("memory://clips/{}?lifetime=900", clip.key)));
}
