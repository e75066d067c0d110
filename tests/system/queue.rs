//! The alarm queue and the status filter through the local stack: what nobody
//! has resolved yet stays in the queue's sparse index, oldest first, and leaves
//! it when resolved (and returns when staff reopen it); `GET
//! /api/intrusions?status=` narrows lists within the caller's tenant.

use chrono::{TimeDelta, Utc};
use reqwest::Method;
use seccom_domain::detection::ports::DetectionStore;
use seccom_domain::page::PageRequest;
use seccom_system_tests::{TestStack, test_image};
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn resolved_intrusions_leave_the_queue_and_lists_filter_by_status() {
    let stack = TestStack::start().await;
    let mut clients = Vec::new();
    let mut opened = Vec::new();
    let person = test_image("astronaut.png");
    for (name, minutes_ago) in [("Early Ltd", 10), ("Late Ltd", 5)] {
        let client = stack.create_client(name).await;
        let site = stack.create_site(&client, "Depot").await;
        let camera = stack.create_device(&site, "cameras", "Gate").await;
        let at = Utc::now() - TimeDelta::minutes(minutes_ago);
        for seq in 1..=3 {
            stack
                .upload_frame(&camera, seq, person.clone(), at + TimeDelta::seconds(seq as i64))
                .await;
        }
        stack.settled().await;
        opened.push(stack.intrusions(&camera).await[0].id.to_string());
        clients.push(client);
    }
    let admin = stack.admin();
    let list = |query: &'static str, token: String| {
        let stack = &stack;
        async move {
            stack
                .call(Method::GET, &format!("/api/intrusions{query}"), Some(&token), None)
                .await
        }
    };
    let acknowledged = stack
        .call(
            Method::POST,
            &format!("/api/intrusions/{}/acknowledge", opened[0]),
            Some(&admin),
            Some(json!({ "note": "guard sent" })),
        )
        .await
        .expect(200);
    assert_eq!(
        acknowledged["acknowledged"]["byEmail"], "admin@seccom.local",
        "who acknowledged, as people read it"
    );
    assert_eq!(
        ids(&list("?status=open", admin.clone()).await.expect(200)),
        [opened[1].clone()]
    );
    assert_eq!(
        ids(&list("?status=acknowledged", admin.clone()).await.expect(200)),
        [opened[0].clone()]
    );
    let own = stack.client_user(&clients[1]);
    assert_eq!(
        ids(&list("?status=open", own.clone()).await.expect(200)),
        [opened[1].clone()]
    );
    assert!(
        ids(&list("?status=acknowledged", own).await.expect(200)).is_empty(),
        "another client's"
    );
    list("?status=pending", admin.clone()).await.assert_problem(400);

    let tables = stack.detection_tables().await;
    let queue = || async {
        let page = PageRequest { limit: 50, token: None };
        let waiting = tables.unresolved(&page).await.unwrap().items;
        waiting.iter().map(|i| i.id.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(queue().await, opened, "open and acknowledged, oldest first");
    stack
        .call(
            Method::POST,
            &format!("/api/intrusions/{}/resolve", opened[0]),
            Some(&admin),
            Some(json!({ "falseAlarm": false })),
        )
        .await
        .expect(200);
    assert_eq!(queue().await, [opened[1].clone()], "resolved: out of the queue");
    assert_eq!(
        ids(&list("?status=resolved", admin.clone()).await.expect(200)),
        [opened[0].clone()]
    );

    let reopen = format!("/api/intrusions/{}/reopen", opened[0]);
    let owner = stack.client_user(&clients[0]);
    stack
        .call(Method::POST, &reopen, Some(&owner), Some(json!({})))
        .await
        .assert_problem(403);
    let reopened = stack
        .call(
            Method::POST,
            &reopen,
            Some(&admin),
            Some(json!({ "note": "seen again" })),
        )
        .await
        .expect(200);
    assert_eq!(reopened["status"], "acknowledged", "it was acknowledged before");
    assert_eq!(reopened["reopened"]["undid"]["falseAlarm"], false);
    assert!(reopened.get("resolved").is_none());
    assert_eq!(queue().await, opened, "back in the queue, in its place");
    stack
        .call(Method::POST, &reopen, Some(&admin), Some(json!({})))
        .await
        .assert_problem(409);
}
