//! Tenant isolation: a client user sees its own records and nothing of another
//! client's, whatever ids it guesses, and changes nothing at all.

use reqwest::Method;
use seccom_system_tests::TestStack;
use serde_json::json;

struct Tenant {
    client: String,
    site: String,
    camera: String,
    alarm: String,
}

async fn tenant(stack: &TestStack, name: &str) -> Tenant {
    let client = stack.create_client(name).await;
    let site = stack.create_site(&client, &format!("{name} HQ")).await;
    let camera = stack.create_device(&site, "cameras", "Lobby").await;
    let alarm = stack.create_device(&site, "alarms", "Siren").await;
    Tenant {
        client,
        site,
        camera,
        alarm,
    }
}

fn readable_paths(t: &Tenant) -> Vec<String> {
    vec![
        format!("/api/clients/{}", t.client),
        format!("/api/sites/{}", t.site),
        format!("/api/sites/{}/cameras", t.site),
        format!("/api/sites/{}/alarms", t.site),
        format!("/api/sites?clientId={}", t.client),
        format!("/api/cameras/{}", t.camera),
        format!("/api/alarms/{}", t.alarm),
    ]
}

#[tokio::test]
async fn a_client_reads_its_own_records_and_only_those() {
    let stack = TestStack::start().await;
    let a = tenant(&stack, "Alpha").await;
    let b = tenant(&stack, "Bravo").await;
    let token_a = stack.client_user(&a.client);

    for path in readable_paths(&a) {
        stack.call(Method::GET, &path, Some(&token_a), None).await.expect(200);
    }
    for path in readable_paths(&b) {
        let answer = stack.call(Method::GET, &path, Some(&token_a), None).await;
        answer.assert_problem(404);
        assert!(
            !answer.body.to_string().contains("Bravo"),
            "{path} leaked: {}",
            answer.body
        );
    }

    let clients = stack
        .call(Method::GET, "/api/clients", Some(&token_a), None)
        .await
        .expect(200);
    assert_eq!(clients["items"].as_array().unwrap().len(), 1);
    assert_eq!(clients["items"][0]["id"], a.client.as_str());
    let sites = stack
        .call(Method::GET, "/api/sites", Some(&token_a), None)
        .await
        .expect(200);
    assert_eq!(sites["items"].as_array().unwrap().len(), 1);
    assert_eq!(sites["items"][0]["id"], a.site.as_str());
}

#[tokio::test]
async fn guessed_ids_and_foreign_page_tokens_reveal_nothing() {
    let stack = TestStack::start().await;
    let a = tenant(&stack, "Alpha").await;
    let b = tenant(&stack, "Bravo").await;
    stack.create_site(&b.client, "Bravo Depot").await;
    let token_a = stack.client_user(&a.client);

    let guess = uuid::Uuid::new_v4();
    for path in [
        format!("/api/clients/{guess}"),
        format!("/api/sites/{guess}"),
        format!("/api/cameras/{guess}"),
    ] {
        stack
            .call(Method::GET, &path, Some(&token_a), None)
            .await
            .assert_problem(404);
    }

    let first_page = stack
        .call(
            Method::GET,
            &format!("/api/sites?clientId={}&limit=1", b.client),
            Some(&stack.admin()),
            None,
        )
        .await
        .expect(200);
    let token = first_page["nextToken"]
        .as_str()
        .expect("Bravo has a second page")
        .to_owned();
    let answer = stack
        .call(
            Method::GET,
            &format!("/api/sites?nextToken={token}"),
            Some(&token_a),
            None,
        )
        .await;
    answer.assert_problem(400);
    assert!(!answer.body.to_string().contains("Bravo"));
}

#[tokio::test]
async fn a_client_changes_nothing_of_its_own_or_of_others() {
    let stack = TestStack::start().await;
    let a = tenant(&stack, "Alpha").await;
    let b = tenant(&stack, "Bravo").await;
    let token_a = stack.client_user(&a.client);
    let admin = stack.admin();
    let before: Vec<_> = {
        let mut snapshot = Vec::new();
        for path in readable_paths(&a).into_iter().chain(readable_paths(&b)) {
            snapshot.push(stack.call(Method::GET, &path, Some(&admin), None).await.expect(200));
        }
        snapshot
    };

    for t in [&a, &b] {
        let rename = json!({ "name": "Pwned" });
        let writes = [
            (
                Method::PATCH,
                format!("/api/clients/{}", t.client),
                Some(rename.clone()),
            ),
            (Method::DELETE, format!("/api/clients/{}", t.client), None),
            (Method::PATCH, format!("/api/sites/{}", t.site), Some(rename.clone())),
            (Method::DELETE, format!("/api/sites/{}", t.site), None),
            (
                Method::POST,
                format!("/api/sites/{}/cameras", t.site),
                Some(rename.clone()),
            ),
            (
                Method::POST,
                format!("/api/sites/{}/alarms", t.site),
                Some(rename.clone()),
            ),
            (
                Method::PATCH,
                format!("/api/cameras/{}", t.camera),
                Some(rename.clone()),
            ),
            (Method::DELETE, format!("/api/cameras/{}", t.camera), None),
            (Method::PATCH, format!("/api/alarms/{}", t.alarm), Some(rename.clone())),
            (Method::DELETE, format!("/api/alarms/{}", t.alarm), None),
            (
                Method::POST,
                "/api/clients".to_owned(),
                Some(json!({ "name": "X", "email": "x@example.com" })),
            ),
            (
                Method::POST,
                "/api/sites".to_owned(),
                Some(json!({ "clientId": t.client, "name": "X", "address": "Y" })),
            ),
        ];
        for (method, path, body) in writes {
            stack
                .call(method, &path, Some(&token_a), body)
                .await
                .assert_problem(403);
        }
    }

    let mut after = Vec::new();
    for path in readable_paths(&a).into_iter().chain(readable_paths(&b)) {
        after.push(stack.call(Method::GET, &path, Some(&admin), None).await.expect(200));
    }
    assert_eq!(before, after);
}
