//! The chain from a person in view to a siren, through the local stack with the
//! detector's settings cache at its deployed default: activity after a
//! false-alarm resolution opens a new intrusion that rings again; arming and
//! disarming apply to the next frame; a plan saved during a manual disarm
//! keeps it.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use seccom_system_tests::{TestStack, test_image};
use serde_json::{Value, json};

struct Premises {
    client: String,
    site: String,
    camera: String,
    alarm: (String, String),
}

async fn premises(stack: &TestStack, name: &str) -> Premises {
    let client = stack.create_client(name).await;
    let site = stack.create_site(&client, "Warehouse").await;
    let camera = stack.create_device(&site, "cameras", "Gate").await;
    let alarm = stack.register_device(&site, "alarms", "Siren").await;
    Premises {
        client,
        site,
        camera,
        alarm,
    }
}

fn activations_for(path: &Path, intrusion: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|a| a["intrusionId"] == intrusion)
        .count()
}

/// Frames `seqs` of the astronaut (a person), captured `at` and after, uploaded all at once.
async fn people_at(stack: &TestStack, camera: &str, seqs: std::ops::RangeInclusive<u64>, at: DateTime<Utc>) {
    let person = test_image("astronaut.png");
    let first = *seqs.start();
    futures::future::join_all(seqs.map(|seq| {
        let captured = at + TimeDelta::milliseconds(500 * (seq - first) as i64);
        stack.upload_frame(camera, seq, person.clone(), captured)
    }))
    .await;
    stack.settled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_person_two_seconds_after_a_false_alarm_resolution_opens_a_second_intrusion_that_rings() {
    let stack = TestStack::start().await;
    let place = premises(&stack, "Cleaned Ltd").await;
    let activations = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let (stop, _) = stack.run_alarm(&place.alarm, &activations);
    people_at(&stack, &place.camera, 1..=3, Utc::now()).await;
    let [first] = stack.intrusions(&place.camera).await.try_into().expect("one intrusion");
    let first = first.id.to_string();
    stack
        .eventually(20, "the siren rings for the first intrusion", || async {
            (activations_for(&activations, &first) == 1).then_some(())
        })
        .await;

    // The client resolves it: the cleaner.
    let user = stack.client_user(&place.client);
    stack
        .call(
            Method::POST,
            &format!("/api/intrusions/{first}/resolve"),
            Some(&user),
            Some(json!({ "falseAlarm": true, "note": "the cleaner" })),
        )
        .await
        .expect(200);
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Two seconds later someone is in view again.
    people_at(&stack, &place.camera, 4..=7, Utc::now()).await;
    let intrusions = stack.intrusions(&place.camera).await;
    assert_eq!(intrusions.len(), 2, "a second intrusion: {intrusions:?}");
    let second = intrusions[0].id.to_string();
    assert_eq!((intrusions[0].first_seq, intrusions[0].last_seq), (4, 7));
    assert_eq!(
        (intrusions[1].first_seq, intrusions[1].last_seq),
        (1, 3),
        "the resolved one never grows"
    );
    stack
        .eventually(20, "the siren rings for the second intrusion", || async {
            (activations_for(&activations, &second) == 1).then_some(())
        })
        .await;
    let resolved = stack.intrusion_detail(&first).await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["followedBy"], second.as_str());
    let next = stack.intrusion_detail(&second).await;
    assert_eq!(next["status"], "open");
    assert_eq!(next["follows"], first.as_str());
    assert!(next["snapshotUrl"].is_string(), "the second keeps its own evidence");
    let _ = stop.send(true);
}

async fn arming(stack: &TestStack, site: &str, action: &str, body: Value) -> Value {
    stack
        .call(
            Method::POST,
            &format!("/api/sites/{site}/arming/{action}"),
            Some(&stack.admin()),
            Some(body),
        )
        .await
        .expect(200)
}

#[tokio::test]
async fn arming_and_disarming_apply_to_the_very_next_frames() {
    // The detector's settings cache at its deployed 30 s.
    let stack = TestStack::start().await;
    let place = premises(&stack, "Armed Ltd").await;
    assert_eq!(
        arming(&stack, &place.site, "disarm", json!({})).await["armedNow"],
        false
    );
    // While disarmed: nothing, and the detector has read (and may keep) the disarmed state.
    people_at(&stack, &place.camera, 1..=3, Utc::now()).await;
    assert!(stack.intrusions(&place.camera).await.is_empty());

    // Armed, then three person frames within the second.
    assert_eq!(arming(&stack, &place.site, "arm", json!({})).await["armedNow"], true);
    people_at(&stack, &place.camera, 10..=12, Utc::now()).await;
    let intrusions = stack.intrusions(&place.camera).await;
    assert_eq!(intrusions.len(), 1, "arming applied to the next frames: {intrusions:?}");
    assert_eq!((intrusions[0].first_seq, intrusions[0].last_seq), (10, 12));

    // Disarmed, then three more person frames within the second: nothing grows or opens.
    assert_eq!(
        arming(&stack, &place.site, "disarm", json!({})).await["armedNow"],
        false
    );
    people_at(&stack, &place.camera, 13..=15, Utc::now()).await;
    let intrusions = stack.intrusions(&place.camera).await;
    assert_eq!(intrusions.len(), 1);
    assert_eq!(intrusions[0].last_seq, 12, "disarming applied to the next frames");
    for seq in 13..=15 {
        let frame = stack.frame(&place.camera, seq).await.expect("the frame is recorded");
        assert!(
            matches!(
                frame.outcome,
                seccom_domain::detection::FrameOutcome::Analysed { armed: false, .. }
            ),
            "frame {seq}: {frame:?}"
        );
    }
}

#[tokio::test]
async fn a_plan_saved_during_a_manual_disarm_leaves_the_site_disarmed_until_it_ends() {
    let stack = TestStack::start().await;
    let place = premises(&stack, "Stocktake Ltd").await;
    let user = stack.client_user(&place.client);
    let until = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
    let path = format!("/api/sites/{}/arming", place.site);
    stack
        .call(
            Method::POST,
            &format!("{path}/disarm"),
            Some(&user),
            Some(json!({ "until": until, "note": "stocktake" })),
        )
        .await
        .expect(200);
    let plan = json!({ "mode": "armed", "timeZone": "Europe/Lisbon" });
    let saved = stack
        .call(Method::PUT, &path, Some(&user), Some(plan.clone()))
        .await
        .expect(200);
    assert_eq!(saved["armedNow"], false, "the manual disarm stays: {saved}");
    assert_eq!(saved["mode"], "armed");
    assert_eq!(saved["manual"]["armed"], false);
    let kept_until: DateTime<Utc> = saved["manual"]["until"].as_str().unwrap().parse().unwrap();
    assert_eq!(kept_until, until.parse::<DateTime<Utc>>().unwrap());
    people_at(&stack, &place.camera, 1..=3, Utc::now()).await;
    assert!(stack.intrusions(&place.camera).await.is_empty(), "still disarmed");
    let history = stack
        .call(Method::GET, &format!("{path}/history"), Some(&user), None)
        .await
        .expect(200);
    assert_eq!(history["items"][0]["action"], "plan");
    assert_eq!(history["items"][0]["note"], "the manual disarm stays in force");

    // Asked to, the plan ends it.
    let mut ending = plan;
    ending["endManual"] = json!(true);
    let saved = stack
        .call(Method::PUT, &path, Some(&user), Some(ending))
        .await
        .expect(200);
    assert_eq!(saved["armedNow"], true);
    assert!(saved.get("manual").is_none());
    people_at(&stack, &place.camera, 10..=12, Utc::now()).await;
    assert_eq!(stack.intrusions(&place.camera).await.len(), 1);
}
