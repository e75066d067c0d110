//! The devices API end to end: a camera uploads frames through it (alone or
//! in bundles), the frames become an intrusion, and the intrusion is visible to
//! that client only.

use reqwest::Method;
use seccom_devices::DeviceLink;
use seccom_domain::detection::FrameOutcome;
use seccom_domain::detection::bundle::BundleKey;
use seccom_system_tests::{TestStack, frames_bucket, test_image};
use serde_json::json;

struct Installed {
    client: String,
    camera: String,
    credential: String,
    alarm: String,
    alarm_credential: String,
}

async fn install(stack: &TestStack, name: &str) -> Installed {
    let admin = stack.admin();
    let client = stack.create_client(name).await;
    let site = stack.create_site(&client, "HQ").await;
    let register = async |collection: &str| {
        let path = format!("/api/sites/{site}/{collection}");
        let device = stack
            .call(Method::POST, &path, Some(&admin), Some(json!({ "name": "Device" })))
            .await
            .expect(201);
        (
            device["id"].as_str().unwrap().to_owned(),
            device["credential"].as_str().unwrap().to_owned(),
        )
    };
    let (camera, credential) = register("cameras").await;
    let (alarm, alarm_credential) = register("alarms").await;
    Installed {
        client,
        camera,
        credential,
        alarm,
        alarm_credential,
    }
}

#[tokio::test]
async fn frames_sent_through_the_devices_api_become_an_intrusion_its_client_sees() {
    let stack = TestStack::start().await;
    let ours = install(&stack, "Alpha").await;
    let theirs = install(&stack, "Bravo").await;
    let camera = DeviceLink::new(&stack.url(""), &ours.camera, &ours.credential);
    for seq in 7..10 {
        let key = camera
            .send_frame(seq, chrono::Utc::now(), test_image("astronaut.png"))
            .await
            .unwrap();
        assert!(key.ends_with(&format!("{seq:020}")));
    }
    stack.settled().await;
    let record = stack
        .frame(&ours.camera, 8)
        .await
        .expect("the uploaded frame was analysed");
    assert!(matches!(
        record.outcome,
        seccom_domain::detection::FrameOutcome::Analysed { person: true, .. }
    ));

    let own = stack.client_user(&ours.client);
    let listed = stack
        .call(Method::GET, "/api/intrusions", Some(&own), None)
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["cameraId"], ours.camera.as_str());
    assert_eq!(listed["items"][0]["firstSeq"], 7);
    let by_camera = format!("/api/intrusions?cameraId={}", ours.camera);
    assert_eq!(
        stack.call(Method::GET, &by_camera, Some(&own), None).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let future = "/api/intrusions?from=2999-01-01T00:00:00Z";
    assert_eq!(
        stack.call(Method::GET, future, Some(&own), None).await.expect(200)["items"],
        json!([])
    );

    let other = stack.client_user(&theirs.client);
    assert_eq!(
        stack
            .call(Method::GET, "/api/intrusions", Some(&other), None)
            .await
            .expect(200)["items"],
        json!([])
    );
    stack
        .call(Method::GET, &by_camera, Some(&other), None)
        .await
        .assert_problem(404);
    let all = stack
        .call(Method::GET, "/api/intrusions", Some(&stack.admin()), None)
        .await
        .expect(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    stack
        .call(Method::GET, "/api/intrusions", None, None)
        .await
        .assert_problem(401);
    stack
        .call(Method::GET, "/api/intrusions?from=yesterday", Some(&own), None)
        .await
        .assert_problem(400);

    // What the camera's uploads cost in detector time is in the metrics, by camera.
    let summary = seccom_local::metrics_summary(stack.data_dir.path()).unwrap();
    let line = summary
        .lines()
        .find(|l| l.starts_with(&ours.camera))
        .unwrap_or_else(|| panic!("no detector time for the camera: {summary}"));
    assert!(line.ends_with(" ms") && !line.contains(" 0.0 ms"), "{line}");
}

#[tokio::test]
async fn devices_act_only_as_themselves() {
    let stack = TestStack::start().await;
    let a = install(&stack, "Alpha").await;
    let b = install(&stack, "Bravo").await;
    let frame = json!({ "seq": 1, "capturedAt": "2026-11-28T06:00:00Z", "bytes": 1000 });
    let post = async |path: String, credential: Option<&str>, body: serde_json::Value| {
        let mut request = stack.request(Method::POST, &path).json(&body);
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        stack.send(request).await
    };
    let upload = |camera: &str| format!("/api/devices/cameras/{camera}/frames");
    post(upload(&a.camera), None, frame.clone()).await.assert_problem(401);
    post(upload(&a.camera), Some("sck_garbage"), frame.clone())
        .await
        .assert_problem(401);
    post(
        upload(&a.camera),
        Some(&b.credential.replace(&b.camera, &a.camera)),
        frame.clone(),
    )
    .await
    .assert_problem(401);
    post(upload(&a.camera), Some(&stack.admin()), frame.clone())
        .await
        .assert_problem(401);
    post(upload(&b.camera), Some(&a.credential), frame.clone())
        .await
        .assert_problem(403);
    post(upload(&a.alarm), Some(&a.alarm_credential), frame.clone())
        .await
        .assert_problem(403);
    post(
        upload(&a.camera),
        Some(&a.credential),
        json!({ "seq": -1, "capturedAt": "now" }),
    )
    .await
    .assert_problem(422);
    let granted = post(upload(&a.camera), Some(&a.credential), frame).await.expect(201);
    assert!(granted["uploadUrl"].as_str().unwrap().contains("X-Amz-Signature"));
    assert!(granted["headers"]["x-amz-meta-captured-at"].is_string());

    let heartbeat = |device: &str| format!("/api/devices/{device}/heartbeat");
    post(heartbeat(&b.alarm), Some(&a.alarm_credential), json!({}))
        .await
        .assert_problem(403);
    let alive = post(heartbeat(&a.alarm), Some(&a.alarm_credential), json!({}))
        .await
        .expect(200);
    assert_eq!(alive["state"], "online");
    let faulty = post(heartbeat(&a.camera), Some(&a.credential), json!({ "status": "faulty" }))
        .await
        .expect(200);
    assert_eq!(faulty["state"], "faulty");
    let seen = stack
        .call(
            Method::GET,
            &format!("/api/alarms/{}", a.alarm),
            Some(&stack.admin()),
            None,
        )
        .await
        .expect(200);
    assert_eq!(seen["state"], "online");
    assert!(seen["lastSeenAt"].is_string());
}

#[tokio::test]
async fn repeated_wrong_credentials_are_slowed_down_and_the_right_one_still_works() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Guessed Ltd").await;
    let site = stack.create_site(&client, "Yard").await;
    let (camera, credential) = stack.register_device(&site, "cameras", "Gate").await;
    let path = format!("/api/devices/{camera}/heartbeat");
    let wrong = format!("sck_{camera}_{}", "A".repeat(43));
    for attempt in 1..=10 {
        let answer = stack.call(Method::POST, &path, Some(&wrong), None).await;
        assert_eq!(answer.status.as_u16(), 401, "attempt {attempt}");
    }
    let slowed = stack.call(Method::POST, &path, Some(&wrong), None).await;
    slowed.assert_problem(429);
    let retry_after: u64 = slowed.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 900, "{retry_after}");
    stack
        .call(Method::POST, &path, Some(&credential), None)
        .await
        .expect(200);
}

#[tokio::test]
async fn an_address_guessing_credentials_is_refused_everything_while_throttled() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Guessed Ltd").await;
    let site = stack.create_site(&client, "Yard").await;
    let (camera, credential) = stack.register_device(&site, "cameras", "Gate").await;
    let path = format!("/api/devices/{camera}/heartbeat");
    for attempt in 1..=30 {
        let answer = stack.call(Method::POST, &path, Some("sck_garbage"), None).await;
        assert_eq!(answer.status.as_u16(), 401, "attempt {attempt}");
    }
    // Found from outside: the throttle answered 429 but still accepted the right credential.
    let refused = stack.call(Method::POST, &path, Some(&credential), None).await;
    refused.assert_problem(429);
    assert!(refused.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn a_bundle_of_frames_is_one_upload_and_one_detector_run_and_keeps_its_evidence() {
    let stack = TestStack::start().await;
    let ours = install(&stack, "Alpha").await;
    let camera = DeviceLink::new(&stack.url(""), &ours.camera, &ours.credential);
    let person = test_image("astronaut.png");
    let start = chrono::Utc::now();
    let at = |n: i64| start + chrono::TimeDelta::milliseconds(500 * n);
    let frames = vec![
        (1, at(0), test_image("coffee.png")),
        (2, at(1), person.clone()),
        (3, at(2), person.clone()),
        (4, at(3), person.clone()),
    ];
    let runs = || stack.stack.invocation_durations("HumanDetectionFunction").len();
    let before = runs();
    let key = camera.send_bundle(&frames).await.unwrap();
    assert!(key.ends_with("/00000000000000000001-00000000000000000004"), "{key}");
    stack.settled().await;
    assert_eq!(runs() - before, 1, "one notification, one detector run");

    let [intrusion] = stack.intrusions(&ours.camera).await.try_into().expect("one intrusion");
    assert_eq!((intrusion.first_seq, intrusion.last_seq), (2, 4));
    assert_eq!(intrusion.started_at, at(1));
    assert_eq!(intrusion.frame_keys[0], format!("{key}/00000000000000000002"));
    let s3 = stack.s3().await;
    let read = async |key: &str| {
        let object = s3.get_object().bucket(frames_bucket()).key(key).send().await.unwrap();
        let content_type = object.content_type().unwrap_or_default().to_owned();
        (content_type, object.body.collect().await.unwrap().to_vec())
    };
    for (_, kept) in intrusion.evidence_keys() {
        assert_eq!(read(&kept).await, ("image/png".to_owned(), person.clone()), "{kept}");
    }
    let (snapshot_type, _) = read(intrusion.snapshot_key.as_deref().expect("a snapshot")).await;
    assert_eq!(snapshot_type, "image/jpeg");

    // A bundle that is no tar archive is recorded once, as its first frame, refused.
    let bad = BundleKey::new(ours.camera.parse().unwrap(), 10, 3).unwrap().to_string();
    stack.put_object(&bad, b"not a tar".to_vec(), None).await;
    stack.settled().await;
    let refused = stack.frame(&ours.camera, 10).await.expect("recorded");
    assert!(
        matches!(&refused.outcome, FrameOutcome::Rejected { code, .. } if code == "bad-bundle"),
        "{refused:?}"
    );

    // The devices API hands out bundles of 1 to 16 frames within the sequence numbers' range.
    let upload = format!("/api/devices/cameras/{}/frames", ours.camera);
    for body in [
        json!({ "seq": 1, "capturedAt": at(0), "frames": 17, "bytes": 1000 }),
        json!({ "seq": 1, "capturedAt": at(0), "frames": 0, "bytes": 1000 }),
        json!({ "seq": 9007199254740991_u64, "capturedAt": at(0), "frames": 2, "bytes": 1000 }),
        json!({ "seq": 1, "capturedAt": at(0), "bytes": 10 * 1024 * 1024 + 1 }),
        json!({ "seq": 1, "capturedAt": at(0), "frames": 2, "bytes": 32 * 1024 * 1024 + 1 }),
        json!({ "seq": 1, "capturedAt": at(0), "bytes": 0 }),
        json!({ "seq": 1, "capturedAt": at(0) }),
    ] {
        let request = stack
            .request(Method::POST, &upload)
            .bearer_auth(&ours.credential)
            .json(&body);
        stack.send(request).await.assert_problem(422);
    }
}

/// A bundle of two frames whose second member's PAX header claims `claimed` bytes.
fn bundle_claiming(person: &[u8], claimed: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (seq, pax) in [(1, None), (2, Some(claimed))] {
        if let Some(claimed) = pax {
            builder.append_pax_extensions([("size", claimed.as_bytes())]).unwrap();
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(person.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, format!("{seq}.png"), person).unwrap();
    }
    builder.into_inner().unwrap()
}

#[tokio::test]
async fn a_crafted_bundle_is_refused_with_its_reason_and_a_frame_url_stores_one_frame_only() {
    let stack = TestStack::start().await;
    let ours = install(&stack, "Crafted").await;
    let person = test_image("astronaut.png");
    let upload = format!("/api/devices/cameras/{}/frames", ours.camera);
    let url_for = async |seq: u64, frames: u64, bytes: usize| {
        let request = stack
            .request(Method::POST, &upload)
            .bearer_auth(&ours.credential)
            .json(&json!({ "seq": seq, "capturedAt": chrono::Utc::now(), "frames": frames, "bytes": bytes }));
        stack.send(request).await.expect(201)
    };
    // Sends `body` with the headers the URL was signed with, its own length declared.
    let put = async |granted: &serde_json::Value, body: Vec<u8>| {
        let mut request = reqwest::Client::new()
            .put(granted["uploadUrl"].as_str().unwrap())
            .body(body);
        for (name, value) in granted["headers"].as_object().unwrap() {
            if name != "content-length" {
                request = request.header(name, value.as_str().unwrap());
            }
        }
        request.send().await.unwrap().status()
    };

    // Found from outside: a member claiming 2^40 bytes aborted the detector (and the local stack with it).
    let crafted = bundle_claiming(&person, "1099511627776");
    let granted = url_for(1, 2, crafted.len()).await;
    assert!(put(&granted, crafted).await.is_success());
    stack.settled().await;
    let refused = stack.frame(&ours.camera, 1).await.expect("recorded");
    assert!(
        matches!(&refused.outcome, FrameOutcome::Rejected { code, reason } if code == "bad-bundle" && reason.contains("claims")),
        "{refused:?}"
    );

    // A frame's URL stores one object of the size asked for: more bytes are refused,
    // and a second PUT, even of other bytes, is refused and changes nothing.
    let granted = url_for(10, 1, person.len()).await;
    let mut longer = person.clone();
    longer.extend_from_slice(&[0; 1024]);
    assert_eq!(
        put(&granted, longer).await,
        403,
        "the size is signed: S3 takes no other"
    );
    assert!(put(&granted, person.clone()).await.is_success());
    let other: Vec<u8> = person.iter().rev().copied().collect();
    assert_eq!(put(&granted, other).await, 412);
    stack.settled().await;
    let stored = stack.frame_object(granted["key"].as_str().unwrap()).await;
    assert_eq!(stored, person, "the frame analysed is the frame kept");

    // The stack still serves every client after it.
    let camera = DeviceLink::new(&stack.url(""), &ours.camera, &ours.credential);
    let at = chrono::Utc::now();
    for seq in 20..=22 {
        camera.send_frame(seq, at, person.clone()).await.unwrap();
    }
    stack.settled().await;
    assert_eq!(stack.intrusions(&ours.camera).await.len(), 1);
}

#[tokio::test]
async fn a_camera_asking_for_more_upload_urls_than_it_films_is_told_to_wait() {
    let stack = TestStack::start().await;
    let flooding = install(&stack, "Flooding").await;
    let steady = install(&stack, "Steady").await;
    let ask = async |installed: &Installed, seq: u64| {
        let request = stack
            .request(
                Method::POST,
                &format!("/api/devices/cameras/{}/frames", installed.camera),
            )
            .bearer_auth(&installed.credential)
            .json(&json!({ "seq": seq, "capturedAt": chrono::Utc::now(), "bytes": 1000 }));
        stack.send(request).await
    };
    // Found from outside: 100 URLs in a second, all granted. Now 4 a second with bursts of 20.
    let started = std::time::Instant::now();
    let mut granted = 0_u32;
    let refused = loop {
        let answer = ask(&flooding, u64::from(granted)).await;
        if answer.status.as_u16() != 201 {
            break answer;
        }
        granted += 1;
        assert!(granted <= 100, "a hundred URLs granted in {:?}", started.elapsed());
    };
    let elapsed = started.elapsed().as_secs_f64();
    refused.assert_problem(429);
    assert_eq!(refused.headers["retry-after"], "1");
    assert!(
        f64::from(granted) <= 20.0 + 4.0 * elapsed + 1.0,
        "{granted} URLs in {elapsed:.2} s"
    );
    ask(&steady, 1).await.expect(201);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    ask(&flooding, 1000).await.expect(201);
}
