//! The ALB events in `events/` are fed to their function in-process, exactly as
//! `lambda_http` receives them in Lambda, and every answer is checked.

use axum::Router;
use axum::body::to_bytes;
use lambda_http::request::RequestContext;
use lambda_http::{RequestExt, request::from_str};
use seccom_domain::config::{Config, DIRECTORY_TABLE};
use seccom_system_tests::{TestStack, repository_root};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The answer each event file must get from a fresh directory with a staff token.
const EXPECTED: &[(&str, u16)] = &[
    ("create-client.json", 201),
    ("create-site-unknown-client.json", 422),
    ("delete-alarm-unknown.json", 404),
    ("get-site-unknown.json", 404),
    ("health-check.json", 200),
    ("list-alarms-unknown-site.json", 404),
    ("list-clients-multi-value-headers.json", 200),
    ("list-clients-without-token.json", 401),
    ("list-clients.json", 200),
    ("list-sites.json", 200),
    ("register-camera-unknown-site.json", 404),
    ("rename-camera-unknown.json", 404),
];

/// The Sites Management API wired to the stack's emulators, as `main.rs` wires it in Lambda.
async fn sites_management_api(stack: &TestStack) -> Router {
    let endpoints = stack.stack.endpoints();
    let sdk = seccom_tools::local::sdk_config(endpoints).await;
    let mut settings: Vec<(String, String)> = endpoints
        .environment()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    settings.push((DIRECTORY_TABLE.to_owned(), "DirectoryTable".to_owned()));
    sites_management_api::app(&sdk, &Config::from_pairs(settings)).expect("the function starts")
}

/// Invokes the function with an ALB event, returning status, content type and body.
async fn invoke(function: &Router, event: &str) -> (u16, String, Value) {
    let request = from_str(event).expect("lambda_http accepts the event");
    assert!(
        matches!(request.request_context_ref(), Some(RequestContext::Alb(_))),
        "not an ALB event"
    );
    let response = function
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("a JSON body")
    };
    (status, content_type, body)
}

#[tokio::test]
async fn every_event_file_gets_its_expected_answer() {
    let stack = TestStack::start().await;
    let function = sites_management_api(&stack).await;
    let folder = repository_root().join("events/sites-management-api");
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .expect("events/sites-management-api exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let expected: Vec<&str> = EXPECTED.iter().map(|(file, _)| *file).collect();
    assert_eq!(files, expected, "every event file needs an expected answer here");

    let token = stack.admin();
    for (file, status) in EXPECTED {
        let event = std::fs::read_to_string(folder.join(file))
            .unwrap()
            .replace("REPLACE_WITH_TOKEN", &token);
        let (actual, content_type, body) = invoke(&function, &event).await;
        assert_eq!(actual, *status, "{file}: {body}");
        let expected_type = if *status < 400 {
            "application/json"
        } else {
            "application/problem+json"
        };
        assert_eq!(content_type, expected_type, "{file}");
        if *status >= 400 {
            assert_eq!(body["status"], *status, "{file}");
        }
    }
}

#[tokio::test]
async fn an_oversized_body_that_reaches_the_function_is_a_problem_not_a_crash() {
    let stack = TestStack::start().await;
    let function = sites_management_api(&stack).await;
    let event = json!({
        "requestContext": { "elb": { "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/seccom-sites-api/1" } },
        "httpMethod": "POST",
        "path": "/api/clients",
        "queryStringParameters": {},
        "headers": { "authorization": format!("Bearer {}", stack.admin()), "content-type": "application/json" },
        "body": format!("{{\"name\":\"{}\",\"email\":\"a@b.co\"}}", "x".repeat(1024 * 1024)),
        "isBase64Encoded": false,
    });
    let (status, content_type, body) = invoke(&function, &event.to_string()).await;
    assert_eq!(
        (status, content_type.as_str()),
        (413, "application/problem+json"),
        "{body}"
    );
}
