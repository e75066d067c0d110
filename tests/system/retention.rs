//! Retention through the local stack: staff set a client's period, place and
//! release legal holds; the footage purge, fed EventBridge's scheduled event
//! with a time a month on, deletes the intrusion records, snapshot, evidence
//! frames and clip of what is past each client's period from the real
//! DynamoDB and S3 emulators, keeps what is held, and deletes it once released.

use chrono::{DateTime, TimeDelta, Utc};
use footage_retention::{FootageRetention, Outcome, Trigger};
use reqwest::Method;
use seccom_domain::retention::purge::PurgeReport;
use seccom_runtime::runner::EventFunction;
use seccom_system_tests::{TestStack, frames_bucket, repository_root};
use serde_json::json;

/// The id of the intrusion a camera of a new site of `client` opens on seeing a person.
async fn intrusion(stack: &TestStack, client: &str, site: &str) -> String {
    let site = stack.create_site(client, site).await;
    let camera = stack.create_device(&site, "cameras", "Gate").await;
    stack.person_seen(&camera).await.id.to_string()
}

/// Every key under `prefix` in `bucket`.
async fn keys(stack: &TestStack, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = stack
        .s3()
        .await
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// The sample scheduled event, fired at `time`.
fn scheduled_at(time: DateTime<Utc>) -> Trigger {
    let sample = std::fs::read_to_string(repository_root().join("events/footage-retention/scheduled.json")).unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&sample).unwrap();
    event["time"] = json!(time.to_rfc3339());
    serde_json::from_value(event).unwrap()
}

/// What a scheduled run answers: the purge's report.
fn purged(outcome: Outcome) -> PurgeReport {
    match outcome {
        Outcome::Purged(report) => report,
        other => panic!("a scheduled event was taken for something else: {other:?}"),
    }
}

#[tokio::test]
async fn footage_past_retention_is_purged_and_a_legal_hold_keeps_it_until_released() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let acme = stack.create_client("Acme Retail").await;
    let careful = stack.create_client("Careful Bank").await;
    let user = stack.client_user(&acme);

    // Staff set a period within bounds; the client reads it and cannot change it.
    // (The test stack's default and bound are ten years: see `TestStack`.)
    let path = format!("/api/clients/{careful}/retention");
    for days in [0, 3651] {
        stack
            .call(Method::PUT, &path, Some(&admin), Some(json!({ "days": days })))
            .await
            .assert_problem(422);
    }
    let set = stack
        .call(Method::PUT, &path, Some(&admin), Some(json!({ "days": 60 })))
        .await
        .expect(200);
    assert_eq!(
        (set["days"].as_u64(), set["isDefault"].as_bool()),
        (Some(60), Some(false))
    );
    let own = format!("/api/clients/{acme}/retention");
    let read = stack.call(Method::GET, &own, Some(&user), None).await.expect(200);
    assert_eq!(
        (read["days"].as_u64(), read["isDefault"].as_bool()),
        (Some(3650), Some(true))
    );
    stack
        .call(Method::PUT, &own, Some(&admin), Some(json!({ "days": 30 })))
        .await
        .expect(200);
    stack
        .call(Method::PUT, &own, Some(&user), Some(json!({ "days": 365 })))
        .await
        .assert_problem(403);
    stack
        .call(Method::GET, &path, Some(&user), None)
        .await
        .assert_problem(404);

    let old = intrusion(&stack, &acme, "Shop").await;
    let evidence = intrusion(&stack, &acme, "Warehouse").await;
    let theirs = intrusion(&stack, &careful, "Vault").await;
    let snapshots = keys(&stack, &frames_bucket(), "snapshots/").await;
    assert_eq!(snapshots.len(), 3, "{snapshots:?}");
    assert_eq!(
        keys(&stack, &frames_bucket(), &format!("evidence/{old}/")).await.len(),
        3
    );

    // Staff hold one intrusion; clients see the hold and cannot place or lift one.
    let hold = format!("/api/intrusions/{evidence}/hold");
    stack
        .call(Method::PUT, &hold, Some(&user), Some(json!({ "reason": "mine" })))
        .await
        .assert_problem(403);
    let placed = stack
        .call(
            Method::PUT,
            &hold,
            Some(&admin),
            Some(json!({ "reason": "Police case 2026/114" })),
        )
        .await
        .expect(200);
    assert_eq!(placed["placedBy"], "admin@seccom.local");
    let listed = stack
        .call(Method::GET, "/api/holds", Some(&user), None)
        .await
        .expect(200);
    assert_eq!(listed["items"][0]["intrusionId"], evidence.as_str());
    let others = stack.client_user(&careful);
    let none = stack
        .call(Method::GET, "/api/holds", Some(&others), None)
        .await
        .expect(200);
    assert_eq!(none["items"].as_array().unwrap().len(), 0, "another client's holds");

    // A month on: Acme's 30 days are over, Careful's 60 are not.
    let sdk = seccom_local::sdk_config(stack.stack.endpoints()).await;
    let purge = FootageRetention::new(&sdk, &stack.function_settings()).unwrap();
    let month_on = Utc::now() + TimeDelta::days(31);
    let report = purged(purge.handle(scheduled_at(month_on)).await.unwrap());
    assert_eq!((report.intrusions_deleted, report.held), (1, 1), "{report:?}");
    let detail = |id: &str| format!("/api/intrusions/{id}");
    stack
        .call(Method::GET, &detail(&old), Some(&admin), None)
        .await
        .assert_problem(404);
    stack
        .call(Method::GET, &detail(&evidence), Some(&admin), None)
        .await
        .expect(200);
    stack
        .call(Method::GET, &detail(&theirs), Some(&admin), None)
        .await
        .expect(200);
    assert!(
        keys(&stack, &frames_bucket(), &format!("evidence/{old}/"))
            .await
            .is_empty()
    );
    let left = keys(&stack, &frames_bucket(), "snapshots/").await;
    assert_eq!(left.len(), 2, "the purged intrusion's snapshot is gone: {left:?}");
    assert!(left.iter().all(|k| !k.contains(&old)));
    let notifications = stack
        .call(
            Method::GET,
            &format!("/api/notifications?clientId={acme}"),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    assert!(
        notifications["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["intrusionId"] != old.as_str()),
        "its notifications are gone too"
    );

    // Released, the held intrusion goes at the next purge; the bank's stays.
    stack.call(Method::DELETE, &hold, Some(&admin), None).await.expect(204);
    stack
        .call(Method::DELETE, &hold, Some(&admin), None)
        .await
        .assert_problem(404);
    let again = purged(purge.handle(scheduled_at(month_on)).await.unwrap());
    assert_eq!((again.intrusions_deleted, again.held), (1, 0), "{again:?}");
    stack
        .call(Method::GET, &detail(&evidence), Some(&admin), None)
        .await
        .assert_problem(404);
    stack
        .call(Method::GET, &detail(&theirs), Some(&admin), None)
        .await
        .expect(200);
    let later = purged(
        purge
            .handle(scheduled_at(Utc::now() + TimeDelta::days(61)))
            .await
            .unwrap(),
    );
    assert_eq!(later.intrusions_deleted, 1, "the bank's 60 days are over too");
}
