//! The create, read, update, delete and list flows of every directory resource.

use reqwest::Method;
use seccom_system_tests::TestStack;
use serde_json::json;

#[tokio::test]
async fn clients_can_be_created_read_changed_listed_and_deleted() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let body = json!({ "name": "Acme Storage", "email": "ops@acme.example", "phone": "+44 20 7946 0958" });
    let answer = stack.call(Method::POST, "/api/clients", Some(&admin), Some(body)).await;
    let location = answer.headers["location"].to_str().unwrap().to_owned();
    let created = answer.expect(201);
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/clients/{id}"));
    assert_eq!(created["phone"], "+442079460958");

    let read = stack.call(Method::GET, &location, Some(&admin), None).await.expect(200);
    assert_eq!(read, created);

    let changed = stack
        .call(
            Method::PATCH,
            &location,
            Some(&admin),
            Some(json!({ "name": "Acme Ltd", "phone": null })),
        )
        .await
        .expect(200);
    assert_eq!(changed["name"], "Acme Ltd");
    assert_eq!(changed["email"], "ops@acme.example");
    assert!(changed.get("phone").is_none(), "phone was not cleared: {changed}");
    assert_ne!(changed["updatedAt"], created["updatedAt"]);

    let listed = stack
        .call(Method::GET, "/api/clients", Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(listed["items"], json!([changed]));
    assert!(listed["nextToken"].is_null());

    assert_eq!(
        stack
            .call(Method::DELETE, &location, Some(&admin), None)
            .await
            .expect(204),
        serde_json::Value::Null
    );
    stack
        .call(Method::GET, &location, Some(&admin), None)
        .await
        .assert_problem(404);
    stack
        .call(Method::DELETE, &location, Some(&admin), None)
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn sites_belong_to_clients_and_block_deletion_while_they_have_devices() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let client = stack.create_client("Harbour Logistics").await;
    let site = stack.create_site(&client, "Warehouse 7").await;
    let other_client = stack.create_client("Quay Foods").await;
    stack.create_site(&other_client, "Cold Store").await;

    let site_path = format!("/api/sites/{site}");
    let read = stack
        .call(Method::GET, &site_path, Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(read["clientId"], client.as_str());
    assert_eq!(read["name"], "Warehouse 7");

    let of_client = stack
        .call(
            Method::GET,
            &format!("/api/sites?clientId={client}"),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    assert_eq!(of_client["items"].as_array().unwrap().len(), 1);
    let all = stack
        .call(Method::GET, "/api/sites", Some(&admin), None)
        .await
        .expect(200);
    let names: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Cold Store", "Warehouse 7"]);

    let changed = stack
        .call(
            Method::PATCH,
            &site_path,
            Some(&admin),
            Some(json!({ "address": "7 Dock Road, Portsmouth" })),
        )
        .await
        .expect(200);
    assert_eq!(changed["address"], "7 Dock Road, Portsmouth");
    assert_eq!(changed["name"], "Warehouse 7");

    let camera = stack.create_device(&site, "cameras", "Gate").await;
    stack
        .call(Method::DELETE, &site_path, Some(&admin), None)
        .await
        .assert_problem(409);
    stack
        .call(Method::DELETE, &format!("/api/clients/{client}"), Some(&admin), None)
        .await
        .assert_problem(409);
    stack
        .call(Method::DELETE, &format!("/api/cameras/{camera}"), Some(&admin), None)
        .await
        .expect(204);
    stack
        .call(Method::DELETE, &site_path, Some(&admin), None)
        .await
        .expect(204);
    stack
        .call(Method::DELETE, &format!("/api/clients/{client}"), Some(&admin), None)
        .await
        .expect(204);
}

#[tokio::test]
async fn cameras_and_alarms_are_registered_with_a_credential_shown_once() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let client = stack.create_client("Riverside School").await;
    let site = stack.create_site(&client, "Main Building").await;

    for (collection, other) in [("cameras", "alarms"), ("alarms", "cameras")] {
        let registered = stack
            .call(
                Method::POST,
                &format!("/api/sites/{site}/{collection}"),
                Some(&admin),
                Some(json!({ "name": "North Door" })),
            )
            .await
            .expect(201);
        let id = registered["id"].as_str().unwrap();
        assert!(registered["credential"].as_str().unwrap().starts_with("sck_"));
        assert_eq!(registered["state"], "unknown");
        assert_eq!(registered["siteId"], site.as_str());
        assert_eq!(registered["clientId"], client.as_str());

        let path = format!("/api/{collection}/{id}");
        let read = stack.call(Method::GET, &path, Some(&admin), None).await.expect(200);
        assert!(
            read.get("credential").is_none(),
            "the credential must only be shown at registration"
        );
        assert!(read.get("credentialHash").is_none());
        stack
            .call(Method::GET, &format!("/api/{other}/{id}"), Some(&admin), None)
            .await
            .assert_problem(404);
        stack
            .call(
                Method::PATCH,
                &format!("/api/{other}/{id}"),
                Some(&admin),
                Some(json!({ "name": "x" })),
            )
            .await
            .assert_problem(404);

        let renamed = stack
            .call(
                Method::PATCH,
                &path,
                Some(&admin),
                Some(json!({ "name": "South Door" })),
            )
            .await
            .expect(200);
        assert_eq!(renamed["name"], "South Door");
        let listed = stack
            .call(
                Method::GET,
                &format!("/api/sites/{site}/{collection}"),
                Some(&admin),
                None,
            )
            .await
            .expect(200);
        assert_eq!(listed["items"], json!([renamed]));
    }
    let cameras = stack
        .call(Method::GET, &format!("/api/sites/{site}/cameras"), Some(&admin), None)
        .await
        .expect(200);
    let camera = cameras["items"][0]["id"].as_str().unwrap().to_owned();
    stack
        .call(Method::DELETE, &format!("/api/cameras/{camera}"), Some(&admin), None)
        .await
        .expect(204);
    let cameras = stack
        .call(Method::GET, &format!("/api/sites/{site}/cameras"), Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(cameras["items"], json!([]));
}

#[tokio::test]
async fn lists_page_through_every_item_in_name_order() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    for name in ["Echo", "alpha", "Delta", "charlie", "Bravo"] {
        stack.create_client(name).await;
    }
    let mut names = Vec::new();
    let mut path = "/api/clients?limit=2".to_owned();
    loop {
        let page = stack.call(Method::GET, &path, Some(&admin), None).await.expect(200);
        assert!(page["items"].as_array().unwrap().len() <= 2);
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned()),
        );
        match page["nextToken"].as_str() {
            Some(token) => path = format!("/api/clients?limit=2&nextToken={token}"),
            None => break,
        }
    }
    assert_eq!(names, ["alpha", "Bravo", "charlie", "Delta", "Echo"]);
}
