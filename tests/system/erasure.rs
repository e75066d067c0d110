//! Erasure through the local stack: a client with two sites, cameras, an
//! alarm, intrusions with their footage, commands and notifications, settings,
//! preferences, a pending confirmation, a retention period and an export is
//! erased by staff; the erasure queue hands the job to the data-protection
//! function, and afterwards no item of any table and no object of any bucket
//! of the real emulators mentions the client, except the intrusion under a
//! legal hold (with its footage) and the job itself. Another client's data is
//! untouched, and the audit trail keeps the request.

use footage_retention::{FootageRetention, Outcome};
use reqwest::Method;
use seccom_runtime::runner::EventFunction;
use seccom_system_tests::{TestStack, frames_bucket, repository_root};
use serde_json::{Value, json};

/// Every item of a local table, as text.
async fn items(stack: &TestStack, table: &str) -> Vec<String> {
    let sdk = seccom_local::sdk_config(stack.stack.endpoints()).await;
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    let mut pages = db.scan().table_name(table).into_paginator().items().send();
    let mut all = Vec::new();
    while let Some(item) = pages.next().await {
        all.push(format!("{:?}", item.expect("the table scans")));
    }
    all
}

/// Every key of a local bucket.
async fn objects(stack: &TestStack, bucket: &str) -> Vec<String> {
    let s3 = stack.s3().await;
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("the bucket lists");
        all.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
    }
    all
}

/// What mentions any of `ids` but not `kept`, among `found`.
fn left<'a>(found: &'a [String], ids: &[&str], kept: &[&str]) -> Vec<&'a String> {
    found
        .iter()
        .filter(|f| ids.iter().any(|id| f.contains(id)) && !kept.iter().any(|k| f.contains(k)))
        .collect()
}

/// The ids of one client's records: client, sites, devices, intrusions.
struct Client {
    id: String,
    sites: Vec<String>,
    devices: Vec<String>,
    intrusions: Vec<String>,
}

impl Client {
    fn ids(&self) -> Vec<&str> {
        [&self.id]
            .into_iter()
            .chain(&self.sites)
            .chain(&self.devices)
            .chain(&self.intrusions)
            .map(String::as_str)
            .collect()
    }
}

/// A client with a site, a camera and an alarm, an intrusion the camera saw,
/// and settings of every kind.
async fn recorded_client(stack: &TestStack, name: &str) -> Client {
    let admin = stack.admin();
    let id = stack.create_client(name).await;
    let site = stack.create_site(&id, "Depot").await;
    let camera = stack.create_device(&site, "cameras", "Gate").await;
    let alarm = stack.create_device(&site, "alarms", "Siren").await;
    let intrusion = stack.person_seen(&camera).await.id.to_string();
    let calls = [
        (
            Method::POST,
            format!("/api/sites/{site}/arming/arm"),
            json!({ "note": "opening" }),
        ),
        (
            Method::PUT,
            format!("/api/cameras/{camera}/detection"),
            json!({ "minScore": 0.6 }),
        ),
        (
            Method::PUT,
            format!("/api/sites/{site}/escalation"),
            json!({ "steps": [{ "afterSeconds": 600, "notify": [{ "channel": "email", "address": "duty@seccom.example" }] }] }),
        ),
        (
            Method::PUT,
            format!("/api/clients/{id}/notification-preferences"),
            json!({ "recipients": [{ "role": "police", "channel": "email", "address": "desk@police.example" }] }),
        ),
        (
            Method::PUT,
            format!("/api/clients/{id}/retention"),
            json!({ "days": 60 }),
        ),
        (Method::POST, format!("/api/clients/{id}/export"), Value::Null),
    ];
    // A client user's browser asked for pushes.
    let browser = stack.push_subscription().await;
    let subscription = json!({ "endpoint": browser["endpoint"], "keys": browser["keys"] });
    stack
        .call(
            Method::POST,
            "/api/push-subscriptions",
            Some(&stack.client_user(&id)),
            Some(subscription),
        )
        .await
        .expect(201);
    for (method, path, body) in calls {
        let answer = stack
            .call(method, &path, Some(&admin), Some(body).filter(|b| !b.is_null()))
            .await;
        assert!(answer.status.is_success(), "{path}: {} {}", answer.status, answer.body);
    }
    Client {
        id,
        sites: vec![site],
        devices: vec![camera, alarm],
        intrusions: vec![intrusion],
    }
}

#[tokio::test]
async fn an_erased_client_leaves_nothing_in_any_table_or_bucket_but_what_a_hold_keeps() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let mut acme = recorded_client(&stack, "Acme Retail").await;
    let other = recorded_client(&stack, "Other Bank").await;
    // A second site whose intrusion is under a legal hold.
    let yard = stack.create_site(&acme.id, "Yard").await;
    let watching = stack.create_device(&yard, "cameras", "Fence").await;
    let held = stack.person_seen(&watching).await.id.to_string();
    stack
        .call(
            Method::PUT,
            &format!("/api/intrusions/{held}/hold"),
            Some(&admin),
            Some(json!({ "reason": "Police case 2026/7" })),
        )
        .await
        .expect(200);
    acme.sites.push(yard);
    acme.devices.push(watching);
    // A client's notifications list past its pending confirmation (kept in the same index).
    let notifications = format!("/api/notifications?clientId={}", other.id);
    stack
        .call(Method::GET, &notifications, Some(&admin), None)
        .await
        .expect(200);
    let tables = ["DirectoryTable", "FramesTable", "IntrusionsTable", "ResponsesTable"];
    let buckets = [
        frames_bucket(),
        seccom_local::template::local_bucket_name("ClipsBucket"),
    ];
    for table in tables {
        let found = items(&stack, table).await;
        assert!(
            !left(&found, &acme.ids(), &[]).is_empty(),
            "{table} holds Acme's records before"
        );
    }

    // Only staff erase; an unknown client is a 404.
    let erase = format!("/api/clients/{}/erase", acme.id);
    stack
        .call(Method::POST, &erase, Some(&stack.client_user(&acme.id)), None)
        .await
        .assert_problem(403);
    let unknown = format!("/api/clients/{}/erase", uuid::Uuid::new_v4());
    stack
        .call(Method::POST, &unknown, Some(&admin), None)
        .await
        .assert_problem(404);
    let request = stack.request(Method::POST, &erase).bearer_auth(&admin);
    let answer = stack.send(request).await;
    let location = answer.headers["location"].to_str().unwrap().to_owned();
    let job = answer.expect(202);
    assert_eq!(
        (job["status"].as_str(), job["target"]["client"].as_str()),
        (Some("running"), Some(acme.id.as_str()))
    );
    assert_eq!(location, format!("/api/erasures/{}", job["id"].as_str().unwrap()));
    assert_eq!(job["name"], "Acme Retail");

    stack.settled().await;
    let done: Value = stack.call(Method::GET, &location, Some(&admin), None).await.expect(200);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["held"], json!([held]));
    assert_eq!(done["deleted"]["sites"], 2);
    assert_eq!(done["deleted"]["devices"], 3);
    assert_eq!(done["deleted"]["intrusions"], 1);
    assert!(done["deleted"]["objects"].as_u64().unwrap() >= 6, "{done}");
    let listed = stack
        .call(
            Method::GET,
            &format!("/api/erasures?clientId={}", acme.id),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    assert_eq!(listed["items"][0]["id"], done["id"]);

    // The sample event, as the queue would hand the job over again: nothing more to do.
    let event = std::fs::read_to_string(repository_root().join("events/footage-retention/erasure-requested.json"))
        .unwrap()
        .replace("0b7e2f4c-5d1a-4c3e-9f8b-6a2d1e0c4b9f", done["id"].as_str().unwrap());
    let sdk = seccom_local::sdk_config(stack.stack.endpoints()).await;
    let function = FootageRetention::new(&sdk, &stack.function_settings()).unwrap();
    let again = function.handle(serde_json::from_str(&event).unwrap()).await.unwrap();
    let Outcome::Erasures(again) = again else {
        panic!("an SQS event was taken for something else: {again:?}");
    };
    assert!(again.batch_item_failures.is_empty(), "{again:?}");
    let after = stack.call(Method::GET, &location, Some(&admin), None).await.expect(200);
    assert_eq!(after, done, "a job handed over twice is done once");

    // Table by table, bucket by bucket: nothing of Acme but the held intrusion and the job.
    let job_key = format!("ERASURE#{}", done["id"].as_str().unwrap());
    for table in tables {
        let found = items(&stack, table).await;
        let remaining = left(&found, &acme.ids(), &[&held, &job_key]);
        assert!(remaining.is_empty(), "{table} still holds {remaining:#?}");
        assert!(
            !left(&found, &other.ids(), &[]).is_empty(),
            "{table} lost the other client's records"
        );
    }
    for bucket in &buckets {
        let found = objects(&stack, bucket).await;
        let remaining = left(&found, &acme.ids(), &[&held]);
        assert!(remaining.is_empty(), "{bucket} still holds {remaining:#?}");
    }
    let frames = objects(&stack, &frames_bucket()).await;
    assert!(
        frames.iter().any(|k| k.starts_with(&format!("evidence/{held}/"))),
        "held evidence kept"
    );
    assert!(
        frames.iter().any(|k| k.contains(&other.devices[0])),
        "the other client's frames kept"
    );
    assert!(frames.iter().any(|k| k.starts_with(&format!("exports/{}/", other.id))));

    // Through the API: the client is gone, the held intrusion is not, the other client is whole.
    let gone = format!("/api/clients/{}", acme.id);
    stack
        .call(Method::GET, &gone, Some(&admin), None)
        .await
        .assert_problem(404);
    let intrusion = |id: &str| format!("/api/intrusions/{id}");
    stack
        .call(Method::GET, &intrusion(&held), Some(&admin), None)
        .await
        .expect(200);
    // Found from outside: the erased client's users still read the held intrusion and the links to its snapshot.
    let erased_user = stack.client_user(&acme.id);
    for path in [
        intrusion(&held),
        format!("{}/hold", intrusion(&held)),
        "/api/intrusions".into(),
    ] {
        stack
            .call(Method::GET, &path, Some(&erased_user), None)
            .await
            .assert_problem(403);
    }
    let erased = &acme.intrusions[0];
    stack
        .call(Method::GET, &intrusion(erased), Some(&admin), None)
        .await
        .assert_problem(404);
    stack
        .call(Method::GET, &intrusion(&other.intrusions[0]), Some(&admin), None)
        .await
        .expect(200);
    let audit = stack
        .call(
            Method::GET,
            &format!("/api/audit?clientId={}", acme.id),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    let requested: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "requestedErasure")
        .collect();
    assert_eq!(requested.len(), 1, "the request is audited once: {audit}");
    assert_eq!(requested[0]["target"], format!("client/{}", acme.id));
}

#[tokio::test]
async fn erasing_a_site_or_a_camera_leaves_the_rest_of_the_client() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let acme = recorded_client(&stack, "Acme Retail").await;
    let closing = stack.create_site(&acme.id, "Closing").await;
    let camera = stack.create_device(&closing, "cameras", "Door").await;
    let seen = stack.person_seen(&camera).await.id.to_string();

    // A camera's erasure: the camera, its frames and its intrusion go.
    let path = format!("/api/alarms/{camera}/erase");
    stack
        .call(Method::POST, &path, Some(&admin), None)
        .await
        .assert_problem(404);
    let path = format!("/api/cameras/{camera}/erase");
    let job = stack.call(Method::POST, &path, Some(&admin), None).await.expect(202);
    stack.settled().await;
    let job = stack
        .call(
            Method::GET,
            &format!("/api/erasures/{}", job["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        (job["status"].as_str(), job["deleted"]["intrusions"].as_u64()),
        (Some("done"), Some(1))
    );
    let devices = format!("/api/cameras/{camera}");
    stack
        .call(Method::GET, &devices, Some(&admin), None)
        .await
        .assert_problem(404);
    let frames = objects(&stack, &frames_bucket()).await;
    assert!(
        left(&frames, &[&camera, &seen], &[]).is_empty(),
        "the camera's objects are gone"
    );

    // A site's erasure: the site goes, the client and its other site stay.
    let path = format!("/api/sites/{closing}/erase");
    stack.call(Method::POST, &path, Some(&admin), None).await.expect(202);
    stack.settled().await;
    let site = format!("/api/sites/{closing}");
    stack
        .call(Method::GET, &site, Some(&admin), None)
        .await
        .assert_problem(404);
    let kept = format!("/api/sites/{}", acme.sites[0]);
    stack.call(Method::GET, &kept, Some(&admin), None).await.expect(200);
    let intrusion = format!("/api/intrusions/{}", acme.intrusions[0]);
    stack
        .call(Method::GET, &intrusion, Some(&admin), None)
        .await
        .expect(200);
}

#[tokio::test]
async fn upload_urls_kept_by_an_erased_camera_bring_no_footage_back() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let client = stack.create_client("Erased Camera Ltd").await;
    let site = stack.create_site(&client, "Depot").await;
    let (camera, credential) = stack.register_device(&site, "cameras", "Gate").await;
    stack.person_seen(&camera).await;
    // The camera keeps the clip request its heartbeat handed over.
    let link = seccom_devices::DeviceLink::new(&stack.url(""), &camera, &credential);
    let commands = link.heartbeat().await.unwrap().commands;
    let (url, headers) = commands
        .iter()
        .find_map(|c| match &c.action {
            seccom_domain::response::CommandAction::RecordClip {
                upload_url,
                upload_headers,
                ..
            } => Some((upload_url.clone(), upload_headers.clone())),
            _ => None,
        })
        .expect("a clip request");

    // And a frame URL it asked for.
    let request = stack
        .request(Method::POST, &format!("/api/devices/cameras/{camera}/frames"))
        .bearer_auth(&credential)
        .json(&serde_json::json!({ "seq": 100, "capturedAt": chrono::Utc::now(), "bytes": seccom_system_tests::test_image("astronaut.png").len() }));
    let frame_url = stack.send(request).await.expect(201);

    let path = format!("/api/cameras/{camera}/erase");
    stack.call(Method::POST, &path, Some(&admin), None).await.expect(202);
    stack.settled().await;

    let mut put = reqwest::Client::new()
        .put(frame_url["uploadUrl"].as_str().unwrap())
        .body(seccom_system_tests::test_image("astronaut.png"));
    for (name, value) in frame_url["headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    assert!(
        put.send().await.unwrap().status().is_success(),
        "S3 cannot revoke the URL"
    );
    stack.settled().await;
    let frames = objects(&stack, &frames_bucket()).await;
    assert!(
        left(&frames, &[&camera], &[]).is_empty(),
        "the detector deleted the frame no camera owns: {frames:?}"
    );

    // Found from outside: the URL still stores a clip (S3 cannot revoke it), which
    // stayed in the bucket with no record, no expiry, invisible to purge and export.
    link.upload_clip(&url, &headers, b"footage after erasure".to_vec())
        .await
        .unwrap();
    stack.settled().await;
    let clips = objects(&stack, &seccom_local::template::local_bucket_name("ClipsBucket")).await;
    assert!(
        left(&clips, &[&camera], &[]).is_empty(),
        "the archiver deleted what no record expects: {clips:?}"
    );
}
