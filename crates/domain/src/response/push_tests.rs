//! Web Push against in-memory stores and push service: what a subscription
//! must be, who is told of which intrusion (and on which page), gone
//! subscriptions forgotten, and the responder's push reaching the notifier.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::clock::FixedClock;
use crate::fixtures::{staff, start, user_of};
use crate::memory::{MemoryPush, MemoryPushService};
use crate::response::Delivered;
use crate::response::outbound::Queued;
use crate::response::world::world;

fn web_push(store: Arc<MemoryPush>) -> WebPush {
    WebPush::new(store, Destinations::default(), Arc::new(FixedClock::at(start())))
}

/// A browser's subscription at `endpoint`, with real key material.
fn body(endpoint: &str) -> SubscriptionBody {
    SubscriptionBody {
        endpoint: endpoint.into(),
        p256dh: VapidKeys::generate().unwrap().public_key,
        auth: URL_SAFE_NO_PAD.encode([7u8; 16]),
    }
}

fn refused_field(error: DomainError) -> String {
    match error {
        DomainError::Invalid(fields) => fields[0].name.clone(),
        other => panic!("not a 422: {other:?}"),
    }
}

#[tokio::test]
async fn a_subscription_needs_a_public_https_endpoint_and_real_keys() {
    let push = web_push(Arc::new(MemoryPush::default()));
    for endpoint in [
        "http://push.example.com/abc",
        "https://127.0.0.1/push",
        "https://169.254.169.254/latest",
        "not a url",
    ] {
        let refused = push.subscribe(&staff(), body(endpoint)).await.unwrap_err();
        assert_eq!(refused_field(refused), "endpoint", "{endpoint}");
    }
    let mut short = body("https://push.example.com/a");
    short.p256dh = URL_SAFE_NO_PAD.encode([4u8; 33]);
    assert_eq!(
        refused_field(push.subscribe(&staff(), short).await.unwrap_err()),
        "p256dh"
    );
    let mut auth = body("https://push.example.com/a");
    auth.auth = "not base64!".into();
    assert_eq!(refused_field(push.subscribe(&staff(), auth).await.unwrap_err()), "auth");

    let client = crate::ids::ClientId::generate();
    let saved = push
        .subscribe(&user_of(client), body("https://push.example.com/a"))
        .await
        .unwrap();
    assert_eq!(saved.audience, PushAudience::Client(client));
    let staff_one = push
        .subscribe(&staff(), body("https://push.example.com/b"))
        .await
        .unwrap();
    assert_eq!(staff_one.audience, PushAudience::Staff);
}

#[tokio::test]
async fn the_vapid_key_is_made_once_and_is_a_p256_point() {
    let push = web_push(Arc::new(MemoryPush::default()));
    let first = push.public_key().await.unwrap();
    assert_eq!(push.public_key().await.unwrap(), first, "made once, then kept");
    let point = URL_SAFE_NO_PAD.decode(&first).unwrap();
    assert_eq!((point.len(), point[0]), (65, 4));
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(push.keys().await.unwrap().private_key)
            .unwrap()
            .len(),
        32
    );
}

#[tokio::test]
async fn staff_and_the_clients_users_are_told_on_their_own_pages_and_gone_subscriptions_are_forgotten() {
    let store = Arc::new(MemoryPush::default());
    let push = web_push(store.clone());
    let service = MemoryPushService::default();
    let acme = crate::ids::ClientId::generate();
    let other = crate::ids::ClientId::generate();
    push.subscribe(&staff(), body("https://push.example.com/staff"))
        .await
        .unwrap();
    push.subscribe(&user_of(acme), body("https://push.example.com/acme"))
        .await
        .unwrap();
    push.subscribe(&user_of(acme), body("https://push.example.com/acme-old"))
        .await
        .unwrap();
    push.subscribe(&user_of(other), body("https://push.example.com/other"))
        .await
        .unwrap();
    service.retire("https://push.example.com/acme-old");

    let due = PushDue {
        intrusion_id: crate::ids::IntrusionId::generate(),
        client_id: acme,
        title: "Intrusion at Depot".into(),
        body: "Gate saw a person at 22:00:01 UTC.".into(),
    };
    let report = push.announce(&service, &due).await.unwrap();
    assert_eq!(
        report,
        PushReport {
            delivered: 2,
            gone: 1,
            failed: 0
        }
    );
    let sent = service.sent();
    let to = |endpoint: &str| sent.iter().find(|(e, _)| e.ends_with(endpoint)).map(|(_, m)| m.clone());
    let id = due.intrusion_id;
    assert_eq!(to("/staff").unwrap().url, format!("/manage/intrusions/{id}"));
    let acme_message = to("/acme").unwrap();
    assert_eq!(acme_message.url, format!("/intrusions/{id}"));
    assert_eq!(
        (acme_message.title.as_str(), acme_message.tag),
        ("Intrusion at Depot", id.to_string())
    );
    assert!(to("/other").is_none(), "another client's users hear nothing");
    assert_eq!(
        store.subscriptions(PushAudience::Client(acme)).await.unwrap().len(),
        1,
        "the gone one is forgotten"
    );

    // Unsubscribing: one's own only.
    let id = subscription_id(&user_of(acme), "https://push.example.com/acme");
    let refused = push.unsubscribe(&user_of(other), &id).await;
    assert!(matches!(refused, Err(DomainError::NotFound(_))));
    push.unsubscribe(&user_of(acme), &id).await.unwrap();
    assert!(
        store
            .subscriptions(PushAudience::Client(acme))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_opened_intrusion_is_pushed_through_the_queue() {
    let w = world().await;
    let push = WebPush::new(w.push.clone(), Destinations::default(), w.clock.clone());
    push.subscribe(&user_of(w.client.id), body("https://push.example.com/keyholder"))
        .await
        .unwrap();
    let intrusion = w.intrusion();
    w.responder().respond(&intrusion).await.unwrap();
    let pushes: Vec<Queued> = w
        .queue
        .take()
        .into_iter()
        .filter(|queued| matches!(queued, Queued::Push(_)))
        .collect();
    assert_eq!(pushes.len(), 1, "one push per intrusion");
    let delivered = w.notifier().deliver(&pushes[0]).await.unwrap();
    assert_eq!(delivered, Delivered::Pushed);
    let sent = w.push_service.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.title, "Intrusion at Depot");
    assert!(sent[0].1.body.starts_with("Gate saw a person at "), "{:?}", sent[0].1);
}

#[tokio::test]
async fn an_endpoint_saved_by_another_user_is_another_subscription_never_a_takeover() {
    // Found from outside: saving someone's endpoint again rewrote its owner and
    // audience, so the victim's alerts went silent and the taker got them.
    let store = Arc::new(MemoryPush::default());
    let push = web_push(store.clone());
    let (victim, taker) = (ClientId::generate(), ClientId::generate());
    let endpoint = "https://push.example.com/victim";
    let own = push.subscribe(&user_of(victim), body(endpoint)).await.unwrap();
    let taken = push.subscribe(&user_of(taker), body(endpoint)).await.unwrap();
    assert_ne!(own.id, taken.id);
    let kept = store.subscriptions(PushAudience::Client(victim)).await.unwrap();
    assert_eq!(kept.len(), 1, "the victim still hears of its intrusions");
    assert_eq!(
        (kept[0].id.as_str(), kept[0].subject.as_str()),
        (own.id.as_str(), own.subject.as_str())
    );
    assert_eq!(kept[0].p256dh, own.p256dh, "with its own keys");
    // Saving one's own again replaces it in place.
    let again = push.subscribe(&user_of(victim), body(endpoint)).await.unwrap();
    assert_eq!(again.id, own.id);
    assert_eq!(
        store.subscriptions(PushAudience::Client(victim)).await.unwrap().len(),
        1
    );
}
