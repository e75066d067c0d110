//! Verified recipients through the local stack: a new address is sent a link,
//! the link's page confirms with one button and works once, and only staff
//! vouch for a recipient.

use reqwest::Method;
use seccom_system_tests::TestStack;
use serde_json::{Value, json};

async fn status_of(stack: &TestStack, client: &str, address: &str) -> String {
    stack
        .recipient_status(client, address)
        .await
        .expect("the recipient is listed")
}

#[tokio::test]
async fn a_new_address_confirms_once_through_the_link_it_is_sent() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Keyholder Ltd").await;
    stack
        .call(
            Method::PUT,
            &format!("/api/clients/{client}/notification-preferences"),
            Some(&stack.client_user(&client)),
            Some(json!({ "recipients": [
                { "role": "buildingAdministrator", "channel": "email", "address": "desk@tower.example", "status": "confirmed" },
            ]})),
        )
        .await
        .expect(200);
    assert_eq!(
        status_of(&stack, &client, "desk@tower.example").await,
        "awaitingConfirmation",
        "a status sent by the client is ignored"
    );
    stack.settled().await;
    let outbox = seccom_local::outbox(stack.data_dir.path()).unwrap();
    let request: &Value = outbox.iter().find(|m| m["to"] == "desk@tower.example").unwrap();
    let text = request["message"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|word| word.contains("/api/recipient-confirmations/"))
        .unwrap();
    assert!(link.starts_with(&stack.url("")), "{link}");

    let browser = reqwest::Client::new();
    let page = browser.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("form-action 'self'")
    );
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    assert_eq!(
        status_of(&stack, &client, "desk@tower.example").await,
        "awaitingConfirmation",
        "opening the link confirms nothing"
    );
    let confirmed = browser.post(link).header("accept", "text/html").send().await.unwrap();
    assert_eq!(confirmed.status(), 200);
    assert!(confirmed.text().await.unwrap().contains("desk@tower.example"));
    assert_eq!(status_of(&stack, &client, "desk@tower.example").await, "confirmed");
    let again = browser.post(link).header("accept", "text/html").send().await.unwrap();
    assert_eq!(again.status(), 404);
    assert!(again.text().await.unwrap().contains("This link does not work"));
    let made_up = stack
        .call(Method::POST, "/api/recipient-confirmations/not-a-token", None, None)
        .await;
    made_up.assert_problem(404);
}

#[tokio::test]
async fn only_staff_vouch_for_a_recipient() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Vouched Ltd").await;
    let user = stack.client_user(&client);
    stack
        .call(
            Method::PUT,
            &format!("/api/clients/{client}/notification-preferences"),
            Some(&user),
            Some(json!({ "recipients": [{ "role": "police", "channel": "sms", "address": "+44 20 7946 0999" }] })),
        )
        .await
        .expect(200);
    let path = format!("/api/clients/{client}/recipients/verify");
    let body = json!({ "channel": "sms", "address": "+44 20 7946 0999" });
    stack
        .call(Method::POST, &path, Some(&user), Some(body.clone()))
        .await
        .assert_problem(403);
    let other = stack.create_client("Other Ltd").await;
    stack
        .call(
            Method::POST,
            &path,
            Some(&stack.client_user(&other)),
            Some(body.clone()),
        )
        .await
        .assert_problem(403);
    let verified = stack
        .call(Method::POST, &path, Some(&stack.admin()), Some(body))
        .await
        .expect(200);
    assert_eq!(verified["recipients"][0]["status"], "verifiedByStaff");
    stack
        .call(
            Method::POST,
            &path,
            Some(&stack.admin()),
            Some(json!({ "channel": "email", "address": "nobody@example.com" })),
        )
        .await
        .assert_problem(404);
}

fn phones(first: usize, count: usize) -> Value {
    (first..first + count)
        .map(|i| json!({ "role": "client", "channel": "sms", "address": format!("+4420794611{i:02}") }))
        .collect()
}

#[tokio::test]
async fn removing_and_adding_recipients_again_pumps_no_messages() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Pumped Ltd").await;
    let user = stack.client_user(&client);
    let path = format!("/api/clients/{client}/notification-preferences");
    let save = |recipients: Value| {
        let (stack, path, user) = (&stack, &path, &user);
        async move {
            stack
                .call(Method::PUT, path, Some(user), Some(json!({ "recipients": recipients })))
                .await
        }
    };
    for _ in 0..5 {
        save(phones(0, 20)).await.expect(200);
        save(json!([])).await.expect(200);
    }
    stack.settled().await;
    let sms = |outbox: &[Value]| outbox.iter().filter(|m| m["channel"] == "sms").count();
    let outbox = seccom_local::outbox(stack.data_dir.path()).unwrap();
    assert_eq!(sms(&outbox), 20, "five cycles of twenty numbers: one message each");
    let link = outbox
        .iter()
        .find(|m| m["to"] == "+442079461100")
        .and_then(|m| m["message"].as_str())
        .and_then(|text| {
            text.split_whitespace()
                .find(|w| w.contains("/api/recipient-confirmations/"))
        })
        .unwrap()
        .to_owned();
    let browser = reqwest::Client::new();
    let removed = browser.post(&link).send().await.unwrap();
    assert_eq!(removed.status(), 404, "the recipient is removed: its link is dead");

    // Twenty more new numbers reach the client's 40 a day; one more is refused whole.
    save(phones(20, 20)).await.expect(200);
    let refused = save(
        phones(0, 1)
            .as_array()
            .unwrap()
            .iter()
            .chain(phones(40, 1).as_array().unwrap())
            .cloned()
            .collect(),
    )
    .await;
    refused.assert_problem(429);
    assert!(refused.headers.contains_key("retry-after"), "{:?}", refused.headers);
    let kept = stack.call(Method::GET, &path, Some(&user), None).await.expect(200);
    assert_eq!(
        kept["recipients"].as_array().unwrap().len(),
        20,
        "the refused save changed nothing"
    );

    // Added back within the hour, a number's first link works again.
    save(phones(0, 1)).await.expect(200);
    let confirmed = browser.post(&link).send().await.unwrap();
    assert_eq!(confirmed.status(), 200);
    assert_eq!(status_of(&stack, &client, "+442079461100").await, "confirmed");
    stack.settled().await;
    assert_eq!(sms(&seccom_local::outbox(stack.data_dir.path()).unwrap()), 40);
}
