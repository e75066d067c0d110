//! Escalation through the local stack: staff set a site's policy over the
//! Sites API, the responder queues the first step held back by SQS's
//! `DelaySeconds`, and the notifier tells each step's contacts when nobody
//! acknowledged, and nobody once someone did.

use chrono::{TimeDelta, Utc};
use reqwest::Method;
use seccom_system_tests::{TestStack, test_image};
use serde_json::{Value, json};

const DUTY: &str = "duty@seccom.example";
const KEYHOLDER: &str = "+447946000111";

/// Opens an intrusion on a new camera of `site`; its id.
async fn intrusion_at(stack: &TestStack, site: &str, camera_name: &str) -> String {
    let camera = stack.create_device(site, "cameras", camera_name).await;
    let person = test_image("astronaut.png");
    let at = Utc::now() - TimeDelta::seconds(10);
    for seq in 1..=3 {
        stack
            .upload_frame(&camera, seq, person.clone(), at + TimeDelta::seconds(seq as i64))
            .await;
    }
    stack.settled().await;
    stack.intrusions(&camera).await[0].id.to_string()
}

fn escalation_mail(stack: &TestStack, intrusion: &str) -> Vec<Value> {
    seccom_local::outbox(stack.data_dir.path())
        .unwrap()
        .into_iter()
        .filter(|m| m["message"].as_str().is_some_and(|text| text.contains(intrusion)))
        .filter(|m| m["subject"].as_str().is_some_and(|s| s.starts_with("Not acknowledged")))
        .collect()
}

#[tokio::test]
async fn an_unacknowledged_intrusion_escalates_step_by_step_and_an_acknowledged_one_does_not() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Night Shift Ltd").await;
    let site = stack.create_site(&client, "Warehouse").await;
    let path = format!("/api/sites/{site}/escalation");
    let policy = json!({ "steps": [
        { "afterSeconds": 3, "notify": [{ "channel": "email", "address": DUTY }] },
        { "afterSeconds": 5, "notify": [{ "channel": "sms", "address": "+44 7946 000111" }] },
    ]});
    let user = stack.client_user(&client);
    stack
        .call(Method::PUT, &path, Some(&user), Some(policy.clone()))
        .await
        .assert_problem(403);
    let backwards = json!({ "steps": [
        { "afterSeconds": 60, "notify": [{ "channel": "email", "address": DUTY }] },
        { "afterSeconds": 30, "notify": [{ "channel": "email", "address": DUTY }] },
    ]});
    stack
        .call(Method::PUT, &path, Some(&stack.admin()), Some(backwards))
        .await
        .assert_problem(422);
    let saved = stack
        .call(Method::PUT, &path, Some(&stack.admin()), Some(policy))
        .await
        .expect(200);
    assert_eq!(saved["steps"][1]["notify"][0]["address"], KEYHOLDER);
    let read = stack.call(Method::GET, &path, Some(&user), None).await.expect(200);
    assert_eq!(read, saved, "the client reads its site's policy");

    let ignored = intrusion_at(&stack, &site, "Yard").await;
    let handled = intrusion_at(&stack, &site, "Door").await;
    stack
        .call(
            Method::POST,
            &format!("/api/intrusions/{handled}/acknowledge"),
            Some(&user),
            Some(json!({ "note": "guard on the way" })),
        )
        .await
        .expect(200);

    let detail = stack
        .eventually(20, "both steps of the ignored intrusion", || async {
            let detail = stack
                .call(Method::GET, &format!("/api/intrusions/{ignored}"), Some(&user), None)
                .await
                .expect(200);
            (detail["escalations"].as_array()?.len() == 2).then_some(detail)
        })
        .await;
    assert_eq!(detail["escalations"][0]["notified"], json!([DUTY]));
    assert_eq!(detail["escalations"][1]["notified"], json!([KEYHOLDER]));
    stack
        .eventually(10, "the step messages sent", || async {
            (escalation_mail(&stack, &ignored).len() == 2).then_some(())
        })
        .await;
    let told: Vec<_> = escalation_mail(&stack, &ignored)
        .iter()
        .map(|m| m["to"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        told.contains(&DUTY.to_owned()) && told.contains(&KEYHOLDER.to_owned()),
        "{told:?}"
    );

    let handled_detail = stack
        .call(Method::GET, &format!("/api/intrusions/{handled}"), Some(&user), None)
        .await
        .expect(200);
    assert_eq!(handled_detail["escalations"], json!([]), "acknowledged in time");
    assert!(escalation_mail(&stack, &handled).is_empty());
}
