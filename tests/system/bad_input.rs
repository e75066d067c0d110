//! Bad input answers a problem document with the right 4xx status and loses nothing.

use reqwest::Method;
use seccom_system_tests::TestStack;
use serde_json::json;

#[tokio::test]
async fn malformed_bodies_get_problem_details_and_change_nothing() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let client = stack.create_client("Keeper").await;
    let before = stack
        .call(Method::GET, "/api/clients", Some(&admin), None)
        .await
        .expect(200);

    let raw = |method: Method, path: &str, content_type: Option<&str>, body: &'static str| {
        let mut request = stack.request(method, path).bearer_auth(&admin).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        stack.send(request)
    };
    raw(
        Method::POST,
        "/api/clients",
        Some("application/json"),
        "{\"name\": \"Broken\",",
    )
    .await
    .assert_problem(400);
    raw(
        Method::POST,
        "/api/clients",
        None,
        "{\"name\":\"A\",\"email\":\"a@b.co\"}",
    )
    .await
    .assert_problem(415);
    raw(
        Method::POST,
        "/api/clients",
        Some("text/plain"),
        "{\"name\":\"A\",\"email\":\"a@b.co\"}",
    )
    .await
    .assert_problem(415);
    raw(Method::POST, "/api/clients", Some("application/json"), "[]")
        .await
        .assert_problem(422);
    raw(Method::POST, "/api/clients", Some("application/json"), "")
        .await
        .assert_problem(400);
    // serde reads a struct from an array too: `[null, null]` would be an empty change.
    let patch = format!("/api/clients/{client}");
    raw(Method::PATCH, &patch, Some("application/json"), "[null, null]")
        .await
        .assert_problem(422);

    let admin_call = async |method: Method, path: String, body: serde_json::Value| {
        stack.call(method, &path, Some(&admin), Some(body)).await
    };
    admin_call(
        Method::POST,
        "/api/clients".into(),
        json!({ "name": 5, "email": "a@b.co" }),
    )
    .await
    .assert_problem(422);
    admin_call(Method::POST, "/api/clients".into(), json!({ "email": "a@b.co" }))
        .await
        .assert_problem(422);
    admin_call(
        Method::POST,
        "/api/clients".into(),
        json!({ "name": "A", "email": "a@b.co", "role": "admin" }),
    )
    .await
    .assert_problem(422);
    let invalid = admin_call(
        Method::POST,
        "/api/clients".into(),
        json!({ "name": " ", "email": "nope", "phone": "12" }),
    )
    .await;
    invalid.assert_problem(422);
    let fields: Vec<_> = invalid.body["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].clone())
        .collect();
    assert_eq!(fields, [json!("name"), json!("email"), json!("phone")]);

    let unknown_client = json!({ "clientId": uuid::Uuid::new_v4(), "name": "Orphan", "address": "Nowhere 1" });
    let orphan = admin_call(Method::POST, "/api/sites".into(), unknown_client).await;
    orphan.assert_problem(422);
    assert_eq!(orphan.body["invalidParams"][0]["name"], "clientId");
    admin_call(
        Method::POST,
        "/api/sites".into(),
        json!({ "clientId": "not-a-uuid", "name": "A", "address": "B" }),
    )
    .await
    .assert_problem(422);
    admin_call(
        Method::PATCH,
        format!("/api/clients/{client}"),
        json!({ "email": "broken" }),
    )
    .await
    .assert_problem(422);
    admin_call(
        Method::PATCH,
        format!("/api/sites/{}", uuid::Uuid::new_v4()),
        json!({ "name": "Ghost" }),
    )
    .await
    .assert_problem(404);

    let after = stack
        .call(Method::GET, "/api/clients", Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(before, after);
}

#[tokio::test]
async fn unknown_ids_routes_methods_and_parameters_are_reported() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let get = async |path: String| stack.call(Method::GET, &path, Some(&admin), None).await;
    get(format!("/api/clients/{}", uuid::Uuid::new_v4()))
        .await
        .assert_problem(404);
    get("/api/clients/not-a-uuid".into()).await.assert_problem(404);
    get(format!("/api/sites/{}/cameras", uuid::Uuid::new_v4()))
        .await
        .assert_problem(404);
    get(format!("/api/sites/{}/doors", uuid::Uuid::new_v4()))
        .await
        .assert_problem(404);
    get("/api/clients/a/b/c".into()).await.assert_problem(404);
    get("/api/clients?limit=0".into()).await.assert_problem(400);
    get("/api/clients?limit=101".into()).await.assert_problem(400);
    get("/api/clients?limit=ten".into()).await.assert_problem(400);
    get("/api/clients?nextToken=garbage".into()).await.assert_problem(400);
    get("/api/sites?clientId=nope".into()).await.assert_problem(400);
    stack
        .call(Method::PUT, "/api/clients", Some(&admin), None)
        .await
        .assert_problem(405);

    // Paths no listener rule routes get the listener's fixed response; ALB fixed
    // responses cannot be typed application/problem+json, so it is plain JSON.
    let outside = stack.call(Method::GET, "/somewhere/else", Some(&admin), None).await;
    assert_eq!(
        (outside.status.as_u16(), outside.content_type()),
        (404, "application/json")
    );
    assert_eq!(outside.body["status"], 404);
}

#[tokio::test]
async fn bodies_over_the_alb_limit_are_refused_and_lose_nothing() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let huge = format!("{{\"name\":\"{}\",\"email\":\"a@b.co\"}}", "x".repeat(1024 * 1024));
    let request = stack
        .request(Method::POST, "/api/clients")
        .bearer_auth(&admin)
        .header("content-type", "application/json");
    let answer = stack.send(request.body(huge)).await;
    assert_eq!(answer.status.as_u16(), 413, "{:?}", answer.body);
    let listed = stack
        .call(Method::GET, "/api/clients", Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn a_reversed_date_range_is_a_bad_request_not_an_outage() {
    let stack = TestStack::start().await;
    let answer = stack
        .call(
            Method::GET,
            "/api/intrusions?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z",
            Some(&stack.admin()),
            None,
        )
        .await;
    answer.assert_problem(400);
    assert_eq!(answer.body["invalidParams"][0]["name"], "from");
}
