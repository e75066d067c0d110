//! The response to an intrusion through the local stack, with the camera and
//! alarm simulators: alarms, the clip, notifications, replays and failures.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use image::RgbImage;
use reqwest::Method;
use seccom_devices::camera::{self, CameraOptions};
use seccom_devices::clip;
use seccom_devices::{DeviceLink, DeviceOptions, alarm};
use seccom_domain::response::{CommandAction, signing};
use seccom_system_tests::{TestStack, test_image};
use serde_json::{Value, json};
use tokio::sync::watch;

/// Short windows and patient-but-quick retries, so a test takes seconds.
const SETTINGS: &[(&str, &str)] = &[
    ("CLIP_PRE_ROLL_SECONDS", "3"),
    ("CLIP_POST_ROLL_SECONDS", "3"),
    ("CLIP_GRACE_SECONDS", "60"),
    ("DELIVERY_ATTEMPTS", "3"),
    ("DELIVERY_BACKOFF_MS", "50"),
    ("DELIVERY_TIMEOUT_MS", "800"),
];

/// A webhook receiver that records what it gets, answers a confirmation
/// challenge by calling its link back (as a receiver must to be told anything),
/// and answers every call `delay` late.
#[derive(Clone, Default)]
struct Webhooks {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

impl Webhooks {
    async fn serve(delay: Duration) -> (Self, String) {
        let hooks = Self::default();
        let recorded = hooks.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let recorded = recorded.clone();
                async move {
                    recorded.received.lock().unwrap().push((headers, body.clone()));
                    let payload: Value = serde_json::from_slice(&body).unwrap_or_default();
                    if payload["type"] == "recipient.confirmation" {
                        let link = payload["confirmUrl"].as_str().unwrap_or_default();
                        // A retried challenge finds its link used: only the first call confirms.
                        let _ = reqwest::Client::new().post(link).send().await;
                    }
                    tokio::time::sleep(delay).await;
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (hooks, url)
    }

    /// The intrusion notifications received (challenges aside).
    fn count(&self) -> usize {
        self.intrusion_calls().len()
    }

    fn intrusion_calls(&self) -> Vec<(HeaderMap, Bytes)> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, body)| serde_json::from_slice::<Value>(body).unwrap_or_default()["type"] == "intrusion.opened")
            .cloned()
            .collect()
    }
}

/// Waits until the client's recipient at `address` has confirmed.
async fn confirmed(stack: &TestStack, client: &str, address: &str) {
    stack
        .eventually(30, "the recipient confirms", || async {
            (stack.recipient_status(client, address).await.as_deref() == Some("confirmed")).then_some(())
        })
        .await;
}

/// The intrusion notifications in the outbox (confirmation requests aside).
fn intrusion_messages(stack: &TestStack) -> Vec<Value> {
    seccom_local::outbox(stack.data_dir.path())
        .unwrap()
        .into_iter()
        .filter(|m| m.get("intrusionId").is_some())
        .collect()
}

/// A JPEG of a test image at 384x288, as a camera would send.
fn jpeg(name: &str) -> Vec<u8> {
    let image = image::load_from_memory(&test_image(name)).unwrap().to_rgb8();
    let resized = image::imageops::resize(&image, 384, 288, image::imageops::FilterType::Triangle);
    let mut bytes = Vec::new();
    resized
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
        .unwrap();
    bytes
}

/// A site with a client (with a phone), a camera and an alarm; returns ids and credentials.
struct Premises {
    client: String,
    site: String,
    camera: (String, String),
    alarm: (String, String),
}

async fn premises(stack: &TestStack, name: &str) -> Premises {
    let body = json!({ "name": name, "email": "ops@premises.example", "phone": "+44 20 7946 0001" });
    let client = stack
        .call(Method::POST, "/api/clients", Some(&stack.admin()), Some(body))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let site = stack.create_site(&client, "Warehouse").await;
    let camera = stack.register_device(&site, "cameras", "Gate").await;
    let alarm = stack.register_device(&site, "alarms", "Siren").await;
    Premises {
        client,
        site,
        camera,
        alarm,
    }
}

fn device(stack: &TestStack, (id, credential): &(String, String)) -> DeviceOptions {
    DeviceOptions {
        api: stack.url(""),
        id: id.clone(),
        credential: credential.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        heartbeat_every: Duration::from_millis(500),
    }
}

async fn first_intrusion(stack: &TestStack, camera: &str) -> String {
    stack
        .eventually(60, "an intrusion opens", || stack.newest_intrusion_id(camera))
        .await
}

/// Shows `camera` a person in three frames captured now; answers when its
/// intrusion was seen open, and how long after that its site's alarm (logging
/// to `activations`) rang.
async fn opened_and_rang(stack: &TestStack, camera: &str, activations: &Path) -> (tokio::time::Instant, Duration) {
    let person = test_image("astronaut.png");
    for seq in 1..=3 {
        stack.upload_frame(camera, seq, person.clone(), Utc::now()).await;
    }
    let intrusion = first_intrusion(stack, camera).await;
    let opened = tokio::time::Instant::now();
    stack
        .eventually(30, "the alarm rings", || async {
            lines(activations)
                .iter()
                .any(|a| a["intrusionId"] == intrusion.as_str())
                .then_some(())
        })
        .await;
    (opened, opened.elapsed())
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A quiet frame: a flat colour of its own, so every frame can be told apart.
fn quiet_frame(index: u32) -> Vec<u8> {
    let shade = (index * 23 % 256) as u8;
    let image = RgbImage::from_pixel(384, 288, image::Rgb([shade, 255 - shade, 90]));
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
        .unwrap();
    bytes
}

/// The buffered frames around a window's edges: the first and last inside it,
/// and the nearest outside it on each side.
fn edges(buffer: &Path, from: DateTime<Utc>, to: DateTime<Utc>) -> [RgbImage; 4] {
    let second = chrono::TimeDelta::seconds(1);
    let open = |path: &std::path::PathBuf| image::open(path).unwrap().to_rgb8();
    let inside = camera::buffered_between(buffer, from, to).unwrap();
    let before = camera::buffered_between(buffer, from - second, from).unwrap();
    let after = camera::buffered_between(buffer, to, to + second).unwrap();
    let before = before.iter().rev().find(|p| !inside.contains(p)).unwrap();
    let after = after.iter().find(|p| !inside.contains(p)).unwrap();
    [
        open(&inside[0]),
        open(inside.last().unwrap()),
        open(before),
        open(after),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_person_frames_ring_the_alarms_archive_the_clip_and_notify_everyone_once() {
    let data = tempfile::tempdir().unwrap();
    let stack = TestStack::start_with(data, SETTINGS).await;
    let premises = premises(&stack, "Chain Ltd").await;
    let (webhooks, hook_url) = Webhooks::serve(Duration::ZERO).await;
    let elsewhere = stack.create_site(&premises.client, "Elsewhere").await;
    let preferences = json!({ "recipients": [
        { "role": "client", "channel": "email", "address": "ops@premises.example" },
        { "role": "client", "channel": "sms", "address": "+44 20 7946 0001" },
        { "role": "client", "channel": "webhook", "address": hook_url },
        { "role": "police", "channel": "sms", "address": "+44 20 7946 0999", "siteId": premises.site },
        { "role": "buildingAdministrator", "channel": "email", "address": "admin@elsewhere.example", "siteId": elsewhere },
    ]});
    let saved = stack
        .call(
            Method::PUT,
            &format!("/api/clients/{}/notification-preferences", premises.client),
            Some(&stack.client_user(&premises.client)),
            Some(preferences),
        )
        .await
        .expect(200);
    assert!(
        saved.get("webhookSecret").is_none(),
        "the secret is not shown with the preferences"
    );
    let hint = saved["webhookSecretHint"].as_str().unwrap().to_owned();
    let rotated = stack
        .call(
            Method::POST,
            &format!(
                "/api/clients/{}/notification-preferences/webhook-secret",
                premises.client
            ),
            Some(&stack.client_user(&premises.client)),
            None,
        )
        .await
        .expect(200);
    let webhook_secret = rotated["webhookSecret"].as_str().unwrap().to_owned();
    let shown = stack
        .call(
            Method::GET,
            &format!("/api/clients/{}/notification-preferences", premises.client),
            Some(&stack.client_user(&premises.client)),
            None,
        )
        .await
        .expect(200);
    assert_ne!(shown["webhookSecretHint"], hint.as_str(), "a new secret");
    assert!(webhook_secret.ends_with(&shown["webhookSecretHint"].as_str().unwrap()["whsec_…".len()..]));
    assert_eq!(shown["retiringSecretValidUntil"], rotated["retiringSecretValidUntil"]);
    let statuses: Vec<&str> = saved["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "verifiedByStaff",
            "verifiedByStaff",
            "awaitingConfirmation",
            "awaitingConfirmation",
            "awaitingConfirmation"
        ],
        "the client's own contacts are verified; new ones await confirmation"
    );
    // The webhook answers its challenge; staff vouch for the police; the other site's administrator never confirms.
    confirmed(&stack, &premises.client, &hook_url).await;
    stack
        .call(
            Method::POST,
            &format!("/api/clients/{}/recipients/verify", premises.client),
            Some(&stack.admin()),
            Some(json!({ "channel": "sms", "address": "+44 20 7946 0999" })),
        )
        .await
        .expect(200);

    // Frames: quiet, then four with a person, then quiet again; played once at 4 fps.
    let work = tempfile::tempdir().unwrap();
    let frames = work.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    let person = jpeg("camera.png");
    for index in 0..36 {
        let bytes = if (14..18).contains(&index) {
            person.clone()
        } else {
            quiet_frame(index)
        };
        std::fs::write(frames.join(format!("{index:03}.jpg")), bytes).unwrap();
    }
    let (stop, stopped) = watch::channel(false);
    let activations = work.path().join("activations.jsonl");
    let alarm_options = device(&stack, &premises.alarm);
    let alarm_task = tokio::spawn({
        let (activations, stopped) = (activations.clone(), stopped.clone());
        async move { alarm::run(&alarm_options, activations, stopped).await }
    });
    let buffer = work.path().join("buffer");
    let camera_task = tokio::spawn(camera::run(
        CameraOptions {
            device: device(&stack, &premises.camera),
            frames: camera::frames_in(&frames).unwrap(),
            fps: 4.0,
            buffer_dir: buffer.clone(),
            buffer_for: Duration::from_secs(420),
            once: true,
        },
        stopped,
    ));

    let intrusion = first_intrusion(&stack, &premises.camera.0).await;
    let detail = stack
        .eventually(60, "the clip is stored", || async {
            let detail = stack.intrusion_detail(&intrusion).await;
            (detail["clip"]["state"] == "stored").then_some(detail)
        })
        .await;

    // Whom it concerns: the camera, the site and the client's contacts, to call the keyholder.
    assert_eq!(detail["cameraName"], "Gate");
    assert_eq!(detail["siteName"], "Warehouse");
    assert_eq!(detail["clientName"], "Chain Ltd");
    assert_eq!(detail["clientPhone"], "+442079460001");

    // Alarms: one activation, pushed, received once by the alarm.
    let received = lines(&activations);
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["intrusionId"], intrusion.as_str());
    // Commands are queued before they are pushed, so a heartbeat in between may hand one over first.
    assert!(["push", "heartbeat"].contains(&received[0]["via"].as_str().unwrap()));
    let commands = detail["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 2, "{commands:?}");
    for command in commands {
        assert!(!command["deliveredAt"].is_null(), "{command}");
    }

    // The clip covers the window: 6 s, from the frames captured at its edges.
    let from: DateTime<Utc> = detail["clip"]["from"].as_str().unwrap().parse().unwrap();
    let to: DateTime<Utc> = detail["clip"]["to"].as_str().unwrap().parse().unwrap();
    let started: DateTime<Utc> = detail["startedAt"].as_str().unwrap().parse().unwrap();
    assert_eq!((started - from).num_seconds(), 3);
    assert_eq!((to - started).num_seconds(), 3);
    let video = reqwest::get(detail["clip"]["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(video.status(), 200);
    let summary = clip::summarise(&video.bytes().await.unwrap()).unwrap();
    assert!(
        (5_700..=6_300).contains(&summary.duration_ms),
        "{} ms",
        summary.duration_ms
    );
    assert!((20..=26).contains(&summary.frames), "{} frames", summary.frames);
    let [first, last, before, after] = edges(&buffer, from, to);
    assert!(clip::difference(&summary.first, &first) < 6.0);
    assert!(
        clip::difference(&summary.first, &before) > 12.0,
        "the clip starts before its window"
    );
    assert!(clip::difference(&summary.last, &last) < 6.0);
    assert!(
        clip::difference(&summary.last, &after) > 12.0,
        "the clip ends after its window"
    );
    let snapshot = reqwest::get(detail["snapshotUrl"].as_str().unwrap()).await.unwrap();
    assert_eq!(snapshot.status(), 200);

    // Notifications: one per recipient of this site, each sent; the other site's administrator is not told.
    let notifications = detail["notifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 4, "{notifications:?}");
    assert!(
        notifications
            .iter()
            .all(|n| n["status"] == "sent" && n["attempts"] == 1)
    );
    let outbox = intrusion_messages(&stack);
    assert_eq!(outbox.len(), 3, "{outbox:?}");
    assert!(outbox.iter().any(|m| m["to"] == "+442079460999"));
    let requests: Vec<Value> = seccom_local::outbox(stack.data_dir.path())
        .unwrap()
        .into_iter()
        .filter(|m| m.get("intrusionId").is_none())
        .collect();
    assert!(
        requests.iter().any(|m| m["to"] == "admin@elsewhere.example"
            && m["message"].as_str().unwrap().contains("/api/recipient-confirmations/")),
        "new addresses are sent a confirmation link: {requests:?}"
    );
    assert_eq!(webhooks.count(), 1);
    {
        let received = webhooks.intrusion_calls();
        let (headers, body) = &received[0];
        let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
        signing::verify(
            webhook_secret.as_bytes(),
            &header(signing::TIMESTAMP_HEADER),
            &header(signing::SIGNATURE_HEADER),
            body,
            Utc::now(),
        )
        .expect("the webhook is signed with the client's secret");
        assert_eq!(
            header(signing::SIGNATURE_HEADER).matches("v1=").count(),
            2,
            "the replaced secret signs too while it retires"
        );
        let payload: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(payload["intrusion"]["id"], intrusion.as_str());
    }
    let listed = stack
        .call(
            Method::GET,
            "/api/notifications",
            Some(&stack.client_user(&premises.client)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 4);

    // A replayed stream (the whole stream, from its trim horizon) rings and notifies nobody again.
    let _ = stop.send(true);
    let _ = tokio::join!(alarm_task, camera_task);
    let data = stack.stop().await;
    std::fs::remove_file(data.path().join("stream-positions.json")).unwrap();
    let stack = TestStack::start_with(data, SETTINGS).await;
    stack.settled().await;
    let replayed = stack.intrusion_detail(&intrusion).await;
    assert_eq!(replayed["commands"], detail["commands"]);
    assert_eq!(replayed["notifications"], detail["notifications"]);
    assert_eq!(webhooks.count(), 1);
    assert_eq!(intrusion_messages(&stack).len(), 3);
    assert_eq!(lines(&activations).len(), 1);
}

/// Accepts connections and never answers, like a camera whose network is down.
async fn black_hole() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_deliveries_are_retried_recorded_and_never_block_the_alarms() {
    let data = tempfile::tempdir().unwrap();
    // E-mail and SMS fail: the outbox is a file, not a folder (as SES or SNS refusing).
    let broken_outbox = data.path().join("not-a-folder");
    std::fs::write(&broken_outbox, b"").unwrap();
    let outbox = broken_outbox.display().to_string();
    let mut settings = SETTINGS.to_vec();
    settings.push(("OUTBOX_DIR", &outbox));
    let stack = TestStack::start_with(data, &settings).await;
    let premises = premises(&stack, "Failing Ltd").await;
    let (slow_hooks, slow_url) = Webhooks::serve(Duration::from_secs(5)).await;
    stack
        .call(
            Method::PUT,
            &format!("/api/clients/{}/notification-preferences", premises.client),
            Some(&stack.admin()),
            Some(json!({ "recipients": [
                { "role": "client", "channel": "email", "address": "ops@premises.example" },
                { "role": "client", "channel": "webhook", "address": slow_url },
            ]})),
        )
        .await
        .expect(200);
    // It confirms on its challenge, even though it answers the call too late.
    confirmed(&stack, &premises.client, &slow_url).await;
    // The camera's endpoint never answers; the alarm's refuses connections.
    let camera = DeviceLink::new(&stack.url(""), &premises.camera.0, &premises.camera.1);
    camera
        .register_endpoint(&format!("http://{}/commands", black_hole().await))
        .await
        .unwrap();
    let alarm = DeviceLink::new(&stack.url(""), &premises.alarm.0, &premises.alarm.1);
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    alarm
        .register_endpoint(&format!("http://{closed}/commands"))
        .await
        .unwrap();
    // A second alarm that works shows the camera does not hold the alarms up.
    let working = stack.register_device(&premises.site, "alarms", "Strobe").await;
    let (stop, stopped) = watch::channel(false);
    let activations = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let working_options = device(&stack, &working);
    let working_task = tokio::spawn({
        let activations = activations.to_path_buf();
        async move { alarm::run(&working_options, activations, stopped).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let person = test_image("astronaut.png");
    let now = Utc::now();
    for seq in 1..=3 {
        stack.upload_frame(&premises.camera.0, seq, person.clone(), now).await;
    }
    stack.settled().await;
    let intrusion = first_intrusion(&stack, &premises.camera.0).await;
    // One quick push at once; the queue then retries each failed one by the
    // policy (3 attempts) on its own, away from the response.
    let failed = [premises.camera.0.as_str(), premises.alarm.0.as_str()];
    let detail = stack
        .eventually(30, "the failed pushes are retried from the queue", || async {
            let detail = stack.intrusion_detail(&intrusion).await;
            let retried = detail["commands"]
                .as_array()?
                .iter()
                .filter(|c| failed.iter().any(|id| c["deviceId"] == *id))
                .all(|c| c["pushAttempts"].as_u64().is_some_and(|n| n > 3));
            retried.then_some(detail)
        })
        .await;
    let commands = detail["commands"].as_array().unwrap();
    let by_device = |id: &str| commands.iter().find(|c| c["deviceId"] == id).unwrap().clone();

    let working_alarm = by_device(&working.0);
    assert!(!working_alarm["deliveredAt"].is_null(), "{working_alarm}");
    let raised: DateTime<Utc> = working_alarm["raisedAt"].as_str().unwrap().parse().unwrap();
    let delivered: DateTime<Utc> = working_alarm["deliveredAt"].as_str().unwrap().parse().unwrap();
    assert!(
        (delivered - raised).num_milliseconds() < 1500,
        "the alarm waited for the camera"
    );

    let camera_command = by_device(&premises.camera.0);
    assert_eq!(
        camera_command["lastError"], "the endpoint did not accept the call",
        "{detail:#}"
    );
    assert_eq!(
        camera_command["lastError"], "the endpoint did not accept the call",
        "why is in the logs, not shown"
    );
    assert!(camera_command["deliveredAt"].is_null());
    let dead_alarm = by_device(&premises.alarm.0);
    assert!(dead_alarm["deliveredAt"].is_null());

    // Not lost: both devices get their commands with their next heartbeat.
    let waiting = alarm.heartbeat().await.unwrap().commands;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].intrusion_id.to_string(), intrusion);
    assert_eq!(camera.heartbeat().await.unwrap().commands.len(), 1);
    assert!(
        alarm.heartbeat().await.unwrap().commands.is_empty(),
        "a command is handed over once"
    );
    let after = stack.intrusion_detail(&intrusion).await;
    for command in after["commands"].as_array().unwrap() {
        assert!(!command["deliveredAt"].is_null(), "{command}");
    }
    // The two whose pushes failed were handed theirs by heartbeat. The working
    // alarm's own heartbeat may take its command before the push lands, so it
    // is not counted: how it got it does not matter, only how soon (above).
    for command in after["commands"].as_array().unwrap() {
        if failed.iter().any(|id| command["deviceId"] == *id) {
            assert_eq!(command["deliveredBy"], "heartbeat", "{command}");
        }
    }

    // Failed notifications are recorded with their attempts and why.
    let notifications = after["notifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 2);
    for notification in notifications {
        assert_eq!(notification["status"], "failed", "{notification}");
        assert_eq!(notification["attempts"], 3);
    }
    let error_of = |channel: &str| {
        notifications
            .iter()
            .find(|n| n["recipient"]["channel"] == channel)
            .unwrap()["lastError"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(error_of("email"), "the message could not be sent");
    assert_eq!(error_of("webhook"), "the endpoint did not accept the call");
    assert_eq!(slow_hooks.count(), 3);
    let _ = stop.send(true);
    let _ = working_task.await;
}

/// Sets a client's recipients to one webhook.
async fn webhook_only(stack: &TestStack, client: &str, url: &str) {
    stack
        .call(
            Method::PUT,
            &format!("/api/clients/{client}/notification-preferences"),
            Some(&stack.admin()),
            Some(json!({ "recipients": [{ "role": "client", "channel": "webhook", "address": url }] })),
        )
        .await
        .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_webhook_of_one_client_delays_no_other_clients_alarm_or_notification() {
    // One patient attempt per webhook: the slow one really holds its call for 20 s.
    let mut settings = SETTINGS.to_vec();
    settings.retain(|(name, _)| !name.starts_with("DELIVERY_"));
    settings.extend([("DELIVERY_ATTEMPTS", "1"), ("DELIVERY_TIMEOUT_MS", "30000")]);
    let stack = TestStack::start_with(tempfile::tempdir().unwrap(), &settings).await;
    let slow = premises(&stack, "Slow Ltd").await;
    let other = premises(&stack, "Other Ltd").await;
    let (slow_hooks, slow_url) = Webhooks::serve(Duration::from_secs(20)).await;
    let (other_hooks, other_url) = Webhooks::serve(Duration::ZERO).await;
    webhook_only(&stack, &slow.client, &slow_url).await;
    webhook_only(&stack, &other.client, &other_url).await;
    confirmed(&stack, &slow.client, &slow_url).await;
    confirmed(&stack, &other.client, &other_url).await;
    let activations = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let (stop, alarm_task) = stack.run_alarm(&other.alarm, &activations);

    // The slow client's intrusion: its webhook is called and holds on.
    let person = test_image("astronaut.png");
    for seq in 1..=3 {
        stack
            .upload_frame(&slow.camera.0, seq, person.clone(), Utc::now())
            .await;
    }
    stack
        .eventually(60, "the slow webhook is called", || async {
            (slow_hooks.count() == 1).then_some(())
        })
        .await;

    // The other client's intrusion, while the slow webhook is still answering.
    let (opened, rang) = opened_and_rang(&stack, &other.camera.0, &activations).await;
    stack
        .eventually(10, "the other client's webhook is called", || async {
            (other_hooks.count() == 1).then_some(())
        })
        .await;
    let told = opened.elapsed();
    assert!(
        rang < Duration::from_secs(2),
        "the alarm rang {rang:?} after the intrusion opened"
    );
    assert!(
        told < Duration::from_secs(2),
        "the webhook came {told:?} after the intrusion opened"
    );
    assert_eq!(
        slow_hooks.count(),
        1,
        "the slow webhook is still being answered, not retried"
    );
    let _ = stop.send(true);
    let _ = alarm_task.await;
}

#[tokio::test]
async fn intrusions_notifications_and_preferences_stay_within_their_tenant() {
    let stack = TestStack::start_with(tempfile::tempdir().unwrap(), SETTINGS).await;
    let ours = premises(&stack, "Ours Ltd").await;
    let theirs = premises(&stack, "Theirs Ltd").await;
    let person = test_image("astronaut.png");
    for seq in 1..=3 {
        stack
            .upload_frame(&theirs.camera.0, seq, person.clone(), Utc::now())
            .await;
    }
    stack.settled().await;
    let foreign = first_intrusion(&stack, &theirs.camera.0).await;
    let user = stack.client_user(&ours.client);
    let forbidden = [
        (Method::GET, format!("/api/intrusions/{foreign}"), None),
        (
            Method::POST,
            format!("/api/intrusions/{foreign}/acknowledge"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/intrusions/{foreign}/resolve"),
            Some(json!({ "falseAlarm": true })),
        ),
        (
            Method::GET,
            format!("/api/clients/{}/notification-preferences", theirs.client),
            None,
        ),
        (
            Method::PUT,
            format!("/api/clients/{}/notification-preferences", theirs.client),
            Some(json!({ "recipients": [] })),
        ),
        (
            Method::GET,
            format!("/api/notifications?clientId={}", theirs.client),
            None,
        ),
    ];
    for (method, path, body) in forbidden {
        stack
            .call(method.clone(), &path, Some(&user), body)
            .await
            .assert_problem(404);
    }
    let own_list = stack
        .call(Method::GET, "/api/notifications", Some(&user), None)
        .await
        .expect(200);
    assert!(own_list["items"].as_array().unwrap().is_empty());
    let theirs_list = stack
        .call(
            Method::GET,
            "/api/notifications",
            Some(&stack.client_user(&theirs.client)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(theirs_list["items"].as_array().unwrap().len(), 2, "{theirs_list}");

    // The owner handles its intrusion: acknowledge, resolve as a false alarm, and no more.
    let owner = stack.client_user(&theirs.client);
    let acknowledged = stack
        .call(
            Method::POST,
            &format!("/api/intrusions/{foreign}/acknowledge"),
            Some(&owner),
            Some(json!({ "note": "guard on the way" })),
        )
        .await
        .expect(200);
    assert_eq!(acknowledged["status"], "acknowledged");
    stack
        .call(
            Method::POST,
            &format!("/api/intrusions/{foreign}/acknowledge"),
            Some(&owner),
            Some(json!({})),
        )
        .await
        .assert_problem(409);
    let resolved = stack
        .call(
            Method::POST,
            &format!("/api/intrusions/{foreign}/resolve"),
            Some(&owner),
            Some(json!({ "note": "a cleaner", "falseAlarm": true })),
        )
        .await
        .expect(200);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolved"]["falseAlarm"], true);
    assert_eq!(resolved["acknowledged"]["note"], "guard on the way");

    // Bad input is refused with every problem named, and changes nothing.
    let invalid = stack
        .call(
            Method::PUT,
            &format!("/api/clients/{}/notification-preferences", ours.client),
            Some(&user),
            Some(json!({ "recipients": [
                { "role": "client", "channel": "webhook", "address": "ftp://nope" },
                { "role": "police", "channel": "sms", "address": "999", "siteId": theirs.site },
            ]})),
        )
        .await;
    invalid.assert_problem(422);
    assert_eq!(
        invalid.body["invalidParams"].as_array().unwrap().len(),
        2,
        "{:?}",
        invalid.body
    );
    let unchanged = stack
        .call(
            Method::GET,
            &format!("/api/clients/{}/notification-preferences", ours.client),
            Some(&user),
            None,
        )
        .await
        .expect(200);
    assert_eq!(unchanged["recipients"][0]["address"], "ops@premises.example");

    // Devices act only for themselves.
    let camera = DeviceLink::new(&stack.url(""), &ours.camera.0, &ours.camera.1);
    let as_other = stack
        .request(Method::PUT, &format!("/api/devices/{}/endpoint", theirs.alarm.0))
        .bearer_auth(&ours.camera.1)
        .json(&json!({ "url": "http://127.0.0.1:9/commands" }));
    stack.send(as_other).await.assert_problem(403);
    assert!(camera.register_endpoint("not a url").await.is_err());
}

#[tokio::test]
async fn a_clip_is_stored_once_and_never_replaced() {
    let stack = TestStack::start().await;
    let premises = premises(&stack, "Evidence Ltd").await;
    let (camera_id, credential) = &premises.camera;
    let at = Utc::now() - chrono::TimeDelta::seconds(20);
    for seq in 1..=3 {
        stack
            .upload_frame(
                camera_id,
                seq,
                jpeg("astronaut.png"),
                at + chrono::TimeDelta::milliseconds(500 * seq as i64),
            )
            .await;
    }
    stack.settled().await;
    let camera = DeviceLink::new(&stack.url(""), camera_id, credential);
    let request = stack
        .eventually(30, "the clip request", || async {
            camera
                .heartbeat()
                .await
                .ok()?
                .commands
                .into_iter()
                .find_map(|command| match command.action {
                    CommandAction::RecordClip {
                        upload_url,
                        upload_headers,
                        ..
                    } => Some((upload_url, upload_headers)),
                    CommandAction::ActivateAlarm { .. } => None,
                })
        })
        .await;
    let (url, headers) = request;
    assert_eq!(
        headers.get("if-none-match").map(String::as_str),
        Some("*"),
        "{headers:?}"
    );
    let bare = reqwest::Client::new().put(&url).body("unsigned").send().await.unwrap();
    assert_eq!(bare.status().as_u16(), 403, "the signed headers are required");
    camera
        .upload_clip(&url, &headers, b"the first recording".to_vec())
        .await
        .unwrap();
    let mut again = reqwest::Client::new().put(&url);
    for (name, value) in &headers {
        again = again.header(name.as_str(), value.as_str());
    }
    let replaced = again.body("a replacement").send().await.unwrap();
    assert_eq!(replaced.status().as_u16(), 412, "a stored clip is never replaced");
    let path = url.split('?').next().unwrap();
    let key = path
        .split("/clips/")
        .nth(1)
        .map(|rest| format!("clips/{rest}"))
        .unwrap();
    let key = percent_encoding::percent_decode_str(&key)
        .decode_utf8()
        .unwrap()
        .into_owned();
    let stored = stack
        .s3()
        .await
        .get_object()
        .bucket(seccom_local::template::local_bucket_name("ClipsBucket"))
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        &stored.body.collect().await.unwrap().to_vec()[..],
        b"the first recording"
    );
}

/// An alarm endpoint that takes `delay` to answer each push, counting the pushes.
async fn slow_alarm(delay: Duration) -> (Arc<Mutex<u32>>, String) {
    let pushes = Arc::new(Mutex::new(0));
    let counted = pushes.clone();
    let router = axum::Router::new().route(
        "/push",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                *counted.lock().unwrap() += 1;
                tokio::time::sleep(delay).await;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (pushes, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_siren_of_one_client_delays_no_other_clients_siren() {
    // Patient pushes: on the old code each attempt at the slow siren held the stream for 20 s.
    let mut settings = SETTINGS.to_vec();
    settings.retain(|(name, _)| !name.starts_with("DELIVERY_"));
    settings.extend([("DELIVERY_ATTEMPTS", "2"), ("DELIVERY_TIMEOUT_MS", "30000")]);
    let stack = TestStack::start_with(tempfile::tempdir().unwrap(), &settings).await;
    let slow = premises(&stack, "Slow Siren Ltd").await;
    let other = premises(&stack, "Prompt Siren Ltd").await;
    let (pushes, slow_url) = slow_alarm(Duration::from_secs(20)).await;
    DeviceLink::new(&stack.url(""), &slow.alarm.0, &slow.alarm.1)
        .register_endpoint(&slow_url)
        .await
        .unwrap();
    let activations = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let (stop, alarm_task) = stack.run_alarm(&other.alarm, &activations);

    // The slow client's intrusion: its siren is pushed and takes its time.
    let person = test_image("astronaut.png");
    for seq in 1..=3 {
        stack
            .upload_frame(&slow.camera.0, seq, person.clone(), Utc::now())
            .await;
    }
    stack
        .eventually(30, "the slow siren is pushed", || async {
            (*pushes.lock().unwrap() >= 1).then_some(())
        })
        .await;

    // The other client's intrusion, while the slow siren is still answering.
    let (_, rang) = opened_and_rang(&stack, &other.camera.0, &activations).await;
    assert!(
        rang < Duration::from_secs(2),
        "the siren rang {rang:?} after the intrusion opened"
    );
    let _ = stop.send(true);
    let _ = alarm_task.await;
}
