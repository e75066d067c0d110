//! Web Push through the local stack: client users and staff save their
//! browsers' subscriptions (minted by the local push-service stand-in, as a
//! browser vendor's would be); a new intrusion reaches each, VAPID-signed and
//! encrypted, which the stand-in checks and decrypts, each audience with its
//! own page to open and nothing for another client; a subscription the push
//! service calls gone is forgotten.

use reqwest::Method;
use seccom_system_tests::TestStack;
use serde_json::{Value, json};

/// Saves `subscription` for `token`'s user; answers its id.
async fn subscribe(stack: &TestStack, token: &str, subscription: &Value) -> String {
    let body = json!({
        "endpoint": subscription["endpoint"],
        "expirationTime": null,
        "keys": subscription["keys"],
    });
    let saved = stack
        .call(Method::POST, "/api/push-subscriptions", Some(token), Some(body))
        .await
        .expect(201);
    saved["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_intrusion_is_pushed_to_staff_and_the_clients_browsers_and_gone_ones_are_forgotten() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let client = stack.create_client("Pushed Ltd").await;
    let other = stack.create_client("Quiet Ltd").await;
    let site = stack.create_site(&client, "Depot").await;
    let camera = stack.create_device(&site, "cameras", "Gate").await;
    let user = stack.client_user(&client);

    let key = stack
        .call(Method::GET, "/api/push-key", Some(&user), None)
        .await
        .expect(200);
    let public_key = key["publicKey"].as_str().unwrap().to_owned();
    let again = stack
        .call(Method::GET, "/api/push-key", Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(again["publicKey"], public_key.as_str(), "one key per deployment");
    stack
        .call(Method::GET, "/api/push-key", None, None)
        .await
        .assert_problem(401);

    let phone = stack.push_subscription().await;
    let phone_id = subscribe(&stack, &user, &phone).await;
    let desk = stack.push_subscription().await;
    let desk_id = subscribe(&stack, &admin, &desk).await;
    let elsewhere = stack.push_subscription().await;
    subscribe(&stack, &stack.client_user(&other), &elsewhere).await;
    let mut bad = phone.clone();
    bad["keys"]["p256dh"] = json!("AAAA");
    let body = json!({ "endpoint": bad["endpoint"], "keys": bad["keys"] });
    stack
        .call(Method::POST, "/api/push-subscriptions", Some(&user), Some(body))
        .await
        .assert_problem(422);

    let intrusion = stack.person_seen(&camera).await.id.to_string();
    let pushed = stack.pushes_received(&phone).await;
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(
        pushed[0]["vapidKey"],
        public_key.as_str(),
        "signed with the deployment's key"
    );
    let message = &pushed[0]["message"];
    assert_eq!(message["title"], "Intrusion at Depot");
    assert_eq!(message["url"], format!("/intrusions/{intrusion}"));
    assert_eq!(message["tag"], intrusion.as_str());
    assert!(message["body"].as_str().unwrap().starts_with("Gate saw a person at "));
    let staff_got = stack.pushes_received(&desk).await;
    assert_eq!(
        staff_got[0]["message"]["url"],
        format!("/manage/intrusions/{intrusion}")
    );
    assert!(
        stack.pushes_received(&elsewhere).await.is_empty(),
        "another client hears nothing"
    );

    // The phone's user revoked it: the next push is answered 410 and the subscription forgotten.
    let id = phone["id"].as_str().unwrap();
    let retire = format!("{}/subscriptions/{id}", stack.stack.endpoints().push_service());
    reqwest::Client::new().delete(retire).send().await.unwrap();
    let second = stack.create_device(&site, "cameras", "Yard").await;
    stack.person_seen(&second).await;
    assert_eq!(stack.pushes_received(&desk).await.len(), 2);
    let forget = format!("/api/push-subscriptions/{phone_id}");
    stack
        .call(Method::DELETE, &forget, Some(&user), None)
        .await
        .assert_problem(404);

    // Only its own user ends a subscription.
    let staff_one = format!("/api/push-subscriptions/{desk_id}");
    stack
        .call(Method::DELETE, &staff_one, Some(&user), None)
        .await
        .assert_problem(404);
    stack
        .call(Method::DELETE, &staff_one, Some(&admin), None)
        .await
        .expect(204);
}
