//! Outbound calls cannot be turned inward: outside the local stack's own
//! loopback allowance, a webhook or device endpoint at a loopback, private,
//! link-local or metadata address (in any spelling) is refused when saved.

use reqwest::Method;
use seccom_system_tests::TestStack;
use serde_json::json;

const INWARD: [&str; 8] = [
    "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
    "http://169.254.169.254/latest/meta-data/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://[::1]/",
    "http://localhost/",
    "http://10.0.0.1/",
    "http://[::ffff:10.0.0.1]/",
];

/// A stack that behaves as in AWS: no loopback allowance.
async fn as_in_aws() -> TestStack {
    TestStack::start_with(tempfile::tempdir().unwrap(), &[("OUTBOUND_ALLOW_PRIVATE", "false")]).await
}

#[tokio::test]
async fn a_device_cannot_register_an_inward_endpoint() {
    let stack = as_in_aws().await;
    let client = stack.create_client("Probe Ltd").await;
    let site = stack.create_site(&client, "Yard").await;
    let (alarm, credential) = stack.register_device(&site, "alarms", "Siren").await;
    let path = format!("/api/devices/{alarm}/endpoint");
    for url in INWARD {
        stack
            .call(Method::PUT, &path, Some(&credential), Some(json!({ "url": url })))
            .await
            .assert_problem(422);
    }
    stack
        .call(
            Method::PUT,
            &path,
            Some(&credential),
            Some(json!({ "url": "https://siren.example.com/commands" })),
        )
        .await
        .expect(200);
}

#[tokio::test]
async fn a_client_cannot_point_a_webhook_inward() {
    let stack = as_in_aws().await;
    let client = stack.create_client("Probe Ltd").await;
    let user = stack.client_user(&client);
    let path = format!("/api/clients/{client}/notification-preferences");
    for url in INWARD {
        let refused = stack
            .call(
                Method::PUT,
                &path,
                Some(&user),
                Some(json!({ "recipients": [{ "role": "client", "channel": "webhook", "address": url }] })),
            )
            .await;
        refused.assert_problem(422);
        assert_eq!(
            refused.body["invalidParams"][0]["name"], "recipients[0].address",
            "{url}"
        );
    }
    stack
        .call(
            Method::PUT,
            &path,
            Some(&user),
            Some(json!({ "recipients": [{ "role": "client", "channel": "webhook", "address": "https://hooks.example.com/seccom" }] })),
        )
        .await
        .expect(200);
}

#[tokio::test]
async fn client_users_do_not_see_where_their_devices_take_commands() {
    let stack = as_in_aws().await;
    let client = stack.create_client("Curious Ltd").await;
    let site = stack.create_site(&client, "Yard").await;
    let (alarm, credential) = stack.register_device(&site, "alarms", "Siren").await;
    stack
        .call(
            Method::PUT,
            &format!("/api/devices/{alarm}/endpoint"),
            Some(&credential),
            Some(json!({ "url": "https://siren.example.com/commands" })),
        )
        .await
        .expect(200);
    let staff = stack
        .call(Method::GET, &format!("/api/alarms/{alarm}"), Some(&stack.admin()), None)
        .await
        .expect(200);
    assert_eq!(staff["endpoint"], "https://siren.example.com/commands");
    let user = stack.client_user(&client);
    let own = stack
        .call(Method::GET, &format!("/api/alarms/{alarm}"), Some(&user), None)
        .await
        .expect(200);
    assert!(own.get("endpoint").is_none(), "{own}");
    let listed = stack
        .call(Method::GET, &format!("/api/sites/{site}/alarms"), Some(&user), None)
        .await
        .expect(200);
    assert!(listed["items"][0].get("endpoint").is_none(), "{listed}");
}
