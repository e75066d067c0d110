//! Device health through the local stack, with the schedule running every
//! half second: a silent camera goes offline once, is told about once, and
//! recovers once; a faulty report counts too; every metric record is valid EMF.

use std::time::Duration;

use reqwest::Method;
use seccom_devices::DeviceLink;
use seccom_system_tests::TestStack;
use serde_json::{Value, json};

async fn events(stack: &TestStack, client: &str) -> Vec<Value> {
    let page = stack
        .call(
            Method::GET,
            "/api/health-events",
            Some(&stack.client_user(client)),
            None,
        )
        .await
        .expect(200);
    page["items"].as_array().unwrap().clone()
}

fn health_messages(stack: &TestStack, device: &str) -> usize {
    seccom_local::outbox(stack.data_dir.path())
        .unwrap()
        .iter()
        .filter(|m| m["deviceId"] == device)
        .count()
}

#[tokio::test]
async fn a_silent_camera_goes_offline_once_is_reported_once_and_recovers() {
    let stack = TestStack::start_with(
        tempfile::tempdir().unwrap(),
        &[
            ("DEVICE_OFFLINE_AFTER_SECONDS", "2"),
            ("STAFF_ALERT_EMAIL", "noc@seccom.example"),
        ],
    )
    .await;
    let body = json!({ "name": "Quiet Ltd", "email": "ops@quiet.example", "phone": "+44 20 7946 0002" });
    let client = stack
        .call(Method::POST, "/api/clients", Some(&stack.admin()), Some(body))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let site = stack.create_site(&client, "Quiet Yard").await;
    let (camera, credential) = stack.register_device(&site, "cameras", "Back door").await;
    let never_seen = stack.create_device(&site, "alarms", "Not installed yet").await;
    let link = DeviceLink::new(&stack.url(""), &camera, &credential);
    link.heartbeat().await.unwrap();

    let first = stack
        .eventually(20, "the camera goes offline", || async {
            let found = events(&stack, &client).await;
            (!found.is_empty()).then_some(found)
        })
        .await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["change"], "wentOffline");
    assert_eq!(first[0]["deviceId"], camera.as_str());
    let notices = first[0]["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 3, "client e-mail and SMS, and staff: {notices:?}");
    assert!(notices.iter().all(|n| n["sent"] == true));
    assert!(notices.iter().any(|n| n["to"] == "noc@seccom.example"));
    let device = stack
        .call(
            Method::GET,
            &format!("/api/cameras/{camera}"),
            Some(&stack.admin()),
            None,
        )
        .await
        .expect(200);
    assert_eq!(device["state"], "offline");
    assert_eq!(device["healthAlarm"], "offline");

    // Further checks change nothing: one outage, one report.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(events(&stack, &client).await.len(), 1);
    assert_eq!(health_messages(&stack, &camera), 3);
    assert_eq!(
        health_messages(&stack, &never_seen),
        0,
        "a device never heard from is not an outage"
    );

    // A heartbeat brings it back, reported once.
    link.heartbeat().await.unwrap();
    let recovered = stack
        .eventually(20, "the camera recovers", || async {
            let found = events(&stack, &client).await;
            (found.len() == 2).then_some(found)
        })
        .await;
    assert_eq!(recovered[0]["change"], "recovered");
    assert_eq!(health_messages(&stack, &camera), 6);

    // A device that says it is faulty raises an alarm too.
    let faulty = stack
        .request(Method::POST, &format!("/api/devices/{camera}/heartbeat"))
        .bearer_auth(&credential)
        .json(&json!({ "status": "faulty" }));
    stack.send(faulty).await.expect(200);
    let reported = stack
        .eventually(20, "the fault is reported", || async {
            let found = events(&stack, &client).await;
            (found.len() == 3).then_some(found)
        })
        .await;
    assert_eq!(reported[0]["change"], "reportedFaulty");

    // Another client sees none of it; staff see all of it.
    let other = stack.create_client("Loud Ltd").await;
    assert!(events(&stack, &other).await.is_empty());
    let all = stack
        .call(Method::GET, "/api/health-events", Some(&stack.admin()), None)
        .await
        .expect(200);
    // (At least: the camera, silent again since its fault report, may have gone offline once more.)
    assert!(all["items"].as_array().unwrap().len() >= 3, "{all}");

    // Every metric record the functions wrote is valid Embedded Metric Format.
    let summary = seccom_local::metrics_summary(stack.data_dir.path()).unwrap();
    assert!(summary.contains("DevicesWentOffline"), "{summary}");
}
