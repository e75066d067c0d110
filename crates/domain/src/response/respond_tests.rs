//! The device-facing response use cases against in-memory adapters and a fixed
//! clock: intrusion opened → response (and its replay), heartbeat → command
//! handover, clip arrived, and the device health check.

use chrono::TimeDelta;

use super::outbound::Queued;
use super::world::*;
use super::*;
use crate::controls::ControlStore;
use crate::directory::{DeviceState, HealthChange};
use crate::fixtures::start;
use crate::ids::SiteId;
use crate::memory::{FAILING_ATTEMPTS, MemoryClips, UNREADABLE_CLIP};

#[tokio::test]
async fn an_intrusion_rings_every_alarm_requests_its_clip_and_tells_the_client() {
    let w = world().await;
    let intrusion = w.intrusion();
    let report = w.responder().respond(&intrusion).await.unwrap();
    assert_eq!(
        report,
        ResponseReport {
            commands_pushed: 2,
            commands_queued: 1,
            notifications_queued: 2,
        }
    );
    assert!(
        w.channels.sent().iter().all(|s| s.channel.is_none()),
        "the response sends only device pushes; notifications wait in their queue"
    );
    let delivered = w.deliver_queued().await;
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|(_, d)| *d == Delivered::Sent));
    let records = w.store.records(intrusion.id).await.unwrap();
    assert_eq!(records.deliveries.len(), 3, "two alarms and the camera");
    let clip = records.clip.expect("a clip request");
    assert_eq!(
        (clip.from, clip.to),
        (start() - TimeDelta::minutes(3), start() + TimeDelta::minutes(3))
    );
    let camera_push = w.channels.sent().into_iter().find(|s| s.to == CAMERA_URL).unwrap();
    assert!(camera_push.body.contains("\"type\":\"recordClip\""));
    assert!(camera_push.body.contains(&format!("memory://upload/{}", clip.key)));
    let bell = w.store.queued(w.bell.id).await.unwrap();
    assert_eq!(bell.len(), 1, "waits for the bell's heartbeat");
    assert!(
        w.store.queued(w.siren.id).await.unwrap().is_empty(),
        "pushed, so off the queue"
    );
    let channels: Vec<_> = records.notifications.iter().map(|n| n.recipient.channel).collect();
    assert_eq!(channels.len(), 2);
    assert!(channels.contains(&Channel::Email) && channels.contains(&Channel::Sms));
    assert!(
        records
            .notifications
            .iter()
            .all(|n| n.status == NotificationStatus::Sent)
    );
    assert!(
        records.notifications[0]
            .message
            .contains("Gate at Depot (1 High Street)")
    );
}

#[tokio::test]
async fn a_replayed_intrusion_sends_nothing_twice() {
    let w = world().await;
    let intrusion = w.intrusion();
    w.responder().respond(&intrusion).await.unwrap();
    w.deliver_queued().await;
    let sent = w.channels.sent().len();
    w.clock.advance(TimeDelta::seconds(30));
    let again = w.responder().respond(&intrusion).await.unwrap();
    assert_eq!(
        again,
        ResponseReport {
            commands_queued: 1,
            ..Default::default()
        },
        "only the bell's queued command is looked at again"
    );
    assert_eq!(
        w.channels.sent().len(),
        sent,
        "no alarm rang twice, nobody was told twice"
    );
    assert_eq!(w.store.queued(w.bell.id).await.unwrap().len(), 1);
    // Only the push goes again: the browser shows one notification per intrusion (its tag).
    assert!(
        w.queue
            .take()
            .iter()
            .all(|queued| matches!(queued, super::outbound::Queued::Push(_))),
        "nothing sent is queued again"
    );
}

#[tokio::test]
async fn only_what_failed_is_tried_again() {
    let w = world().await;
    let intrusion = w.intrusion();
    w.channels.fail("+351912345678");
    w.responder().respond(&intrusion).await.unwrap();
    let queued = w.queue.take();
    let mut outcomes = Vec::new();
    for message in &queued {
        outcomes.push(w.notifier().deliver(message).await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|d| **d == Delivered::Failed).count(), 1);
    let sms = w
        .store
        .records(intrusion.id)
        .await
        .unwrap()
        .notifications
        .into_iter()
        .find(|n| n.recipient.channel == Channel::Sms)
        .unwrap();
    assert_eq!(sms.status, NotificationStatus::Failed);
    assert_eq!(sms.attempts, FAILING_ATTEMPTS);
    assert_eq!(sms.last_error.as_deref(), Some("the endpoint did not accept the call"));
    for message in &queued {
        w.notifier().deliver(message).await.unwrap();
    }
    assert_eq!(w.sent_to("+351912345678"), 2, "the queue retries the failed SMS");
    assert_eq!(
        w.sent_to("owner@example.com"),
        1,
        "a redelivered sent e-mail is not sent again"
    );
    w.responder().respond(&intrusion).await.unwrap();
    let requeued: Vec<_> = w
        .queue
        .take()
        .into_iter()
        .filter_map(|q| q.address().map(str::to_owned))
        .collect();
    assert_eq!(
        requeued,
        ["+351912345678"],
        "a replayed intrusion queues only what was not sent"
    );
}

#[tokio::test]
async fn a_notification_retried_by_the_queue_counts_every_attempt_and_ends_sent() {
    let w = world().await;
    let intrusion = w.intrusion();
    w.channels.fail("owner@example.com");
    w.responder().respond(&intrusion).await.unwrap();
    let email = w
        .queue
        .take()
        .into_iter()
        .find(|q| matches!(q, Queued::Notification(n) if n.notification.recipient.channel == Channel::Email))
        .unwrap();
    assert_eq!(w.notifier().deliver(&email).await.unwrap(), Delivered::Failed);
    w.channels.recover("owner@example.com");
    w.clock.advance(TimeDelta::minutes(3));
    assert_eq!(w.notifier().deliver(&email).await.unwrap(), Delivered::Sent);
    assert_eq!(w.notifier().deliver(&email).await.unwrap(), Delivered::AlreadySent);
    let stored = w.store.records(intrusion.id).await.unwrap().notifications;
    let stored = stored.iter().find(|n| n.recipient.channel == Channel::Email).unwrap();
    assert_eq!(stored.status, NotificationStatus::Sent);
    assert_eq!(stored.attempts, FAILING_ATTEMPTS + 1);
    assert_eq!(stored.last_error, None);
    assert_eq!(stored.sent_at, Some(start() + TimeDelta::minutes(3)));
}

#[tokio::test]
async fn a_command_whose_push_fails_reaches_the_device_with_its_next_heartbeat_once() {
    let w = world().await;
    let intrusion = w.intrusion();
    w.channels.fail(ALARM_URL);
    w.responder().respond(&intrusion).await.unwrap();
    let records = w.store.records(intrusion.id).await.unwrap();
    let siren = records
        .deliveries
        .iter()
        .find(|d| d.command.device_id == w.siren.id)
        .unwrap();
    assert_eq!(
        (siren.push_attempts, siren.delivered_at),
        (1, None),
        "one attempt, then the queue"
    );

    w.clock.advance(TimeDelta::seconds(20));
    let beat = w.heartbeats().beat(&w.siren, false).await.unwrap();
    assert_eq!(beat.commands.len(), 1);
    assert!(matches!(beat.commands[0].action, CommandAction::ActivateAlarm { .. }));
    assert_eq!(beat.device.state, DeviceState::Online);
    assert!(beat.armed, "a site with no arming set is armed");
    let records = w.store.records(intrusion.id).await.unwrap();
    let siren = records
        .deliveries
        .iter()
        .find(|d| d.command.device_id == w.siren.id)
        .unwrap();
    assert_eq!(siren.delivered_by, Some(DeliveredBy::Heartbeat));
    assert_eq!(siren.delivered_at, Some(start() + TimeDelta::seconds(20)));
    assert!(w.heartbeats().beat(&w.siren, false).await.unwrap().commands.is_empty());
    let pushes = w.sent_to(ALARM_URL);
    w.responder().respond(&intrusion).await.unwrap();
    assert_eq!(
        w.sent_to(ALARM_URL),
        pushes,
        "a delivered command is never pushed again"
    );
}

#[tokio::test]
async fn a_webhook_covers_only_its_site_and_is_signed_with_the_clients_secret() {
    let w = world().await;
    let mut preferences = preferences_of(w.store.as_ref(), &w.client).await.unwrap();
    preferences.recipients = vec![
        Recipient {
            role: RecipientRole::Client,
            channel: Channel::Webhook,
            address: WEBHOOK_URL.into(),
            site_id: Some(w.site),
            status: RecipientStatus::Confirmed,
        },
        Recipient {
            role: RecipientRole::Police,
            channel: Channel::Email,
            address: "police@example.com".into(),
            site_id: Some(SiteId::generate()),
            status: RecipientStatus::VerifiedByStaff,
        },
    ];
    w.store.save_recipients(&preferences).await.unwrap();
    let intrusion = w.intrusion();
    w.responder().respond(&intrusion).await.unwrap();
    w.deliver_queued().await;
    let hook = w.channels.sent().into_iter().find(|s| s.to == WEBHOOK_URL).unwrap();
    let payload: serde_json::Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(payload["type"], "intrusion.opened");
    assert_eq!(payload["camera"]["name"], "Gate");
    assert_eq!(
        payload["notificationId"],
        Notification::id_for(intrusion.id, &preferences.recipients[0])
    );
    assert_eq!(w.sent_to("police@example.com"), 0, "another site's recipient");
}

#[tokio::test]
async fn a_clip_is_recorded_only_when_an_intrusion_asked_for_it() {
    let w = world().await;
    let intrusion = w.intrusion();
    w.responder().respond(&intrusion).await.unwrap();
    let key = Clip::key_for(w.camera.id, intrusion.id);
    let clips = MemoryClips::default();
    let ports = clip_ports(&w, &clips);
    let arrived = |key: &str, size| ArrivedClip {
        key: key.to_owned(),
        version: None,
        size,
    };
    let too_large = clip_arrived(&ports, arrived(&key, MAX_CLIP_BYTES + 1), start()).await;
    assert!(matches!(too_large, Ok(ClipReport::TooLarge { .. })));
    let stray = "clips/other.mp4";
    clips.put(stray, b"anything");
    let report = clip_arrived(&ports, arrived(stray, 10), start()).await;
    assert!(matches!(report, Ok(ClipReport::Unexpected { .. })));
    assert_eq!(clips.get(stray), None, "what nobody asked for is not kept");
    let unasked = Clip::key_for(w.camera.id, IntrusionId::generate());
    clips.put(&unasked, b"an erased camera's recording");
    let report = clip_arrived(&ports, arrived(&unasked, 10), start()).await;
    assert!(matches!(report, Ok(ClipReport::Unexpected { .. })));
    assert_eq!(clips.get(&unasked), None);
    clips.put(&key, b"the recording");
    let stored = clip_arrived(&ports, arrived(&key, 2048), start()).await.unwrap();
    assert!(matches!(stored, ClipReport::Stored { .. }));
    let clip = w.store.records(intrusion.id).await.unwrap().clip.unwrap();
    assert_eq!((clip.size, clip.stored_at), (Some(2048), Some(start())));
    assert!(clips.get(&key).is_some(), "the clip asked for is kept");
    let before = w.channels.sent().len();
    w.responder().respond(&intrusion).await.unwrap();
    assert_eq!(w.channels.sent().len(), before, "a stored clip is not asked for again");
}

#[tokio::test]
async fn a_silent_device_is_reported_once_to_its_client_and_staff_and_its_recovery_once() {
    let w = world().await;
    w.heartbeats().beat(&w.camera, false).await.unwrap();
    w.channels.fail("ops@seccom.example");
    w.clock.advance(TimeDelta::seconds(200));
    let events = w.health_check().run().await.unwrap();
    assert_eq!(events.len(), 1, "only the camera was ever heard from");
    let event = &events[0];
    assert_eq!(
        (event.device_id, event.change),
        (w.camera.id, HealthChange::WentOffline)
    );
    let told: Vec<(&str, bool)> = event.notices.iter().map(|n| (n.to.as_str(), n.sent)).collect();
    assert!(told.contains(&("owner@example.com", true)));
    assert!(told.contains(&("+351912345678", true)));
    assert!(
        told.contains(&("ops@seccom.example", false)),
        "a failure is recorded, not fatal"
    );
    assert!(w.health_check().run().await.unwrap().is_empty(), "reported once");
    let stored = w
        .store
        .health_events(
            NotificationScope::Client(w.client.id),
            &PageRequest { limit: 10, token: None },
        )
        .await
        .unwrap();
    assert_eq!(stored.items.len(), 1);

    w.heartbeats().beat(&w.camera, false).await.unwrap();
    let back = w.health_check().run().await.unwrap();
    assert_eq!(
        back.iter().map(|e| e.change).collect::<Vec<_>>(),
        [HealthChange::Recovered]
    );
}

fn clip_ports<'a>(w: &'a World, clips: &'a MemoryClips) -> ClipPorts<'a> {
    ClipPorts {
        store: w.store.as_ref(),
        controls: w.controls.as_ref(),
        bucket: clips,
    }
}

/// A world whose camera has a privacy mask over its left half, and an intrusion it responded to.
async fn masked_camera() -> (World, crate::detection::Intrusion, MemoryClips) {
    let w = world().await;
    let settings = crate::detection::zones::DetectionBody {
        privacy: vec![crate::detection::zones::MaskBody {
            polygon: vec![vec![0.0, 0.0], vec![0.5, 0.0], vec![0.5, 1.0], vec![0.0, 1.0]],
        }],
        ..Default::default()
    }
    .parse()
    .unwrap();
    w.controls.save_camera_detection(w.camera.id, &settings).await.unwrap();
    let intrusion = w.intrusion();
    w.responder().respond(&intrusion).await.unwrap();
    (w, intrusion, MemoryClips::default())
}

#[tokio::test]
async fn a_clip_of_a_camera_with_privacy_masks_is_stored_masked_and_its_upload_deleted() {
    let (w, intrusion, clips) = masked_camera().await;
    let ports = clip_ports(&w, &clips);
    let key = Clip::key_for(w.camera.id, intrusion.id);
    clips.put(&key, b"the camera's recording");
    let arrived = ArrivedClip {
        key: key.clone(),
        version: Some("v1".into()),
        size: 22,
    };
    let report = clip_arrived(&ports, arrived.clone(), start()).await.unwrap();
    let masked = Clip::masked_key(w.camera.id, intrusion.id);
    assert_eq!(
        report,
        ClipReport::Masked {
            key: masked.clone(),
            uploaded: key.clone()
        }
    );
    assert_eq!(clips.get(&key), None, "the unmasked upload is not kept");
    assert_eq!(
        clips.get(&masked).as_deref(),
        Some(&b"masked 1 regions: the camera's recording"[..])
    );
    let clip = w.store.records(intrusion.id).await.unwrap().clip.unwrap();
    assert_eq!(
        (clip.key.as_str(), clip.size, clip.stored_at),
        (masked.as_str(), Some(40), Some(start()))
    );
    // The rendition's own notification, and the upload's again, change nothing.
    let rendition = ArrivedClip {
        key: masked.clone(),
        version: None,
        size: 40,
    };
    assert_eq!(
        clip_arrived(&ports, rendition, start()).await.unwrap(),
        ClipReport::Rendition { key: masked.clone() }
    );
    assert_eq!(
        clip_arrived(&ports, arrived, start()).await.unwrap(),
        ClipReport::Unexpected { key }
    );
}

#[tokio::test]
async fn an_upload_that_cannot_be_masked_is_deleted_and_never_shown() {
    let (w, intrusion, clips) = masked_camera().await;
    let ports = clip_ports(&w, &clips);
    let key = Clip::key_for(w.camera.id, intrusion.id);
    clips.put(&key, UNREADABLE_CLIP);
    let arrived = ArrivedClip {
        key: key.clone(),
        version: None,
        size: 10,
    };
    let report = clip_arrived(&ports, arrived, start()).await.unwrap();
    assert!(matches!(report, ClipReport::Unmaskable { .. }), "{report:?}");
    assert_eq!(clips.get(&key), None);
    let clip = w.store.records(intrusion.id).await.unwrap().clip.unwrap();
    assert_eq!((clip.key, clip.stored_at), (key, None), "still awaited, then missing");
}

#[tokio::test]
async fn a_clip_nobody_asked_for_is_not_decoded_even_with_masks() {
    let (w, _, clips) = masked_camera().await;
    let ports = clip_ports(&w, &clips);
    let unasked = Clip::key_for(w.camera.id, IntrusionId::generate());
    clips.put(&unasked, b"anything");
    let arrived = ArrivedClip {
        key: unasked.clone(),
        version: None,
        size: 8,
    };
    assert_eq!(
        clip_arrived(&ports, arrived, start()).await.unwrap(),
        ClipReport::Unexpected { key: unasked.clone() }
    );
    assert_eq!(clips.get(&unasked), None, "not decoded, and not kept either");
}

#[tokio::test]
async fn a_command_whose_first_push_fails_is_retried_from_the_queue_until_delivered_once() {
    let w = world().await;
    let intrusion = w.intrusion();
    w.channels.fail(ALARM_URL);
    w.responder().respond(&intrusion).await.unwrap();
    let retries: Vec<Command> = w
        .queue
        .take()
        .into_iter()
        .filter_map(|queued| match queued {
            super::outbound::Queued::Command(command) => Some(command),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 1, "only the siren's push failed");
    assert_eq!(retries[0].device_id, w.siren.id);
    let retry = super::outbound::Queued::Command(retries[0].clone());

    // Still failing: recorded with the policy's attempts, and the queue retries the message.
    assert_eq!(w.notifier().deliver(&retry).await.unwrap(), Delivered::Failed);
    let attempts = async |w: &World| {
        let records = w.store.records(intrusion.id).await.unwrap();
        let siren = records
            .deliveries
            .into_iter()
            .find(|d| d.command.device_id == w.siren.id)
            .unwrap();
        (siren.push_attempts, siren.delivered_by)
    };
    assert_eq!(attempts(&w).await, (1 + FAILING_ATTEMPTS, None));

    // The siren answers again: delivered by push, once.
    w.channels.recover(ALARM_URL);
    assert_eq!(w.notifier().deliver(&retry).await.unwrap(), Delivered::Sent);
    assert_eq!(attempts(&w).await.1, Some(DeliveredBy::Push));
    let pushes = w.sent_to(ALARM_URL);
    assert_eq!(w.notifier().deliver(&retry).await.unwrap(), Delivered::AlreadySent);
    assert_eq!(
        w.sent_to(ALARM_URL),
        pushes,
        "a delivered command is never pushed again"
    );
    assert!(w.heartbeats().beat(&w.siren, false).await.unwrap().commands.is_empty());
}
