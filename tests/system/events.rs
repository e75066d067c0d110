//! The events in `events/` are fed to their function in-process, exactly as the
//! Lambda runtime hands them over, and every answer is checked.

use aws_lambda_events::s3::S3Event;
use axum::Router;
use axum::body::to_bytes;
use base64::Engine;
use clip_archiver::{ClipArchiver, ClipReport};
use human_detection::HumanDetection;
use intrusion_responder::IntrusionResponder;
use lambda_http::request::RequestContext;
use lambda_http::{RequestExt, request::from_str};
use notifier::NotifierFunction;
use seccom_domain::detection::FrameReport;
use seccom_runtime::runner::EventFunction;
use seccom_system_tests::{TestStack, frames_bucket, repository_root, test_image};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The camera id the event files use; tests put a registered camera's id in its place.
const EVENT_CAMERA: &str = "5c3e9a7b-1d2f-4e6a-8b0c-9f7e2d1a3b4c";

/// The answer each ALB event file must get from a fresh stack, with a staff token
/// and the credential of a camera registered in the event camera's place.
const EXPECTED: &[(&str, u16)] = &[
    ("cameras-api/health-check.json", 200),
    ("cameras-api/heartbeat.json", 200),
    ("cameras-api/register-endpoint.json", 200),
    ("cameras-api/request-frame-upload.json", 201),
    ("intrusion-management-api/get-intrusion-unknown.json", 404),
    ("intrusion-management-api/get-preferences-unknown-client.json", 404),
    ("intrusion-management-api/list-intrusions-of-unknown-camera.json", 404),
    ("intrusion-management-api/list-intrusions.json", 200),
    ("intrusion-management-api/list-notifications.json", 200),
    ("intrusion-management-api/resolve-intrusion-unknown.json", 404),
    ("sites-management-api/create-client.json", 201),
    ("sites-management-api/create-site-unknown-client.json", 422),
    ("sites-management-api/delete-alarm-unknown.json", 404),
    ("sites-management-api/disarm-unknown-site.json", 404),
    ("sites-management-api/get-arming-unknown-site.json", 404),
    ("sites-management-api/get-site-unknown.json", 404),
    ("sites-management-api/health-check.json", 200),
    ("sites-management-api/list-alarms-unknown-site.json", 404),
    ("sites-management-api/list-clients-multi-value-headers.json", 200),
    ("sites-management-api/list-clients-without-token.json", 401),
    ("sites-management-api/list-clients.json", 200),
    ("sites-management-api/list-sites.json", 200),
    ("sites-management-api/register-camera-unknown-site.json", 404),
    ("sites-management-api/rename-camera-unknown.json", 404),
    ("sites-management-api/set-detection-unknown-camera.json", 404),
];

/// An HTTP function wired to the stack's emulators, as its `main.rs` wires it in Lambda.
async fn http_function(stack: &TestStack, name: &str) -> Router {
    let sdk = seccom_local::sdk_config(stack.stack.endpoints()).await;
    let config = stack.function_settings();
    match name {
        "sites-management-api" => sites_management_api::app(&sdk, &config).unwrap(),
        "cameras-api" => cameras_api::app(&sdk, &config).unwrap(),
        "intrusion-management-api" => intrusion_management_api::app(&sdk, &config).unwrap(),
        "client-web-ui" => client_web_ui::app(&sdk, &config).unwrap(),
        "manager-web-ui" => manager_web_ui::app(&sdk, &config).unwrap(),
        other => panic!("no HTTP function {other}"),
    }
}

/// Invokes a function with an ALB event, returning status, content type and body.
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

fn event_files(folder: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repository_root().join("events").join(folder))
        .unwrap()
        .map(|entry| format!("{folder}/{}", entry.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_alb_event_file_gets_its_expected_answer() {
    let stack = TestStack::start().await;
    let listed: Vec<String> = ["cameras-api", "intrusion-management-api", "sites-management-api"]
        .iter()
        .flat_map(|folder| event_files(folder))
        .collect();
    let expected: Vec<&str> = EXPECTED.iter().map(|(file, _)| *file).collect();
    assert_eq!(listed, expected, "every event file needs an expected answer here");

    let client = stack.create_client("Events Ltd").await;
    let site = stack.create_site(&client, "Events HQ").await;
    let registered = stack
        .call(
            reqwest::Method::POST,
            &format!("/api/sites/{site}/cameras"),
            Some(&stack.admin()),
            Some(json!({ "name": "Gate" })),
        )
        .await
        .expect(201);
    let (camera, credential) = (
        registered["id"].as_str().unwrap(),
        registered["credential"].as_str().unwrap(),
    );
    let token = stack.admin();
    for (file, status) in EXPECTED {
        let function = http_function(&stack, file.split('/').next().unwrap()).await;
        let event = std::fs::read_to_string(repository_root().join("events").join(file))
            .unwrap()
            .replace("REPLACE_WITH_TOKEN", &token)
            .replace("REPLACE_WITH_DEVICE_CREDENTIAL", credential);
        let event = if file.starts_with("cameras-api") {
            event.replace(EVENT_CAMERA, camera)
        } else {
            event
        };
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
async fn portal_events_without_the_albs_sign_in_get_a_readable_page() {
    let stack = TestStack::start().await;
    for file in [
        "client-web-ui/sites-without-sign-in.json",
        "manager-web-ui/clients-without-sign-in.json",
    ] {
        assert_eq!(event_files(file.split('/').next().unwrap()), [file]);
        let function = http_function(&stack, file.split('/').next().unwrap()).await;
        let event = std::fs::read_to_string(repository_root().join("events").join(file)).unwrap();
        let request = from_str(&event).expect("lambda_http accepts the event");
        let response = function.oneshot(request).await.expect("the router is infallible");
        assert_eq!(response.status().as_u16(), 401, "{file}");
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8", "{file}");
        assert!(
            response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        let page = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert!(String::from_utf8_lossy(&page).contains("Please sign in"), "{file}");
    }
}

#[tokio::test]
async fn the_sample_s3_event_is_analysed_by_the_detector() {
    let stack = TestStack::start().await;
    assert_eq!(event_files("human-detection"), ["human-detection/frame-uploaded.json"]);
    let camera = stack.camera().await;
    let event = std::fs::read_to_string(repository_root().join("events/human-detection/frame-uploaded.json"))
        .unwrap()
        .replace(EVENT_CAMERA, &camera)
        .replace("seccom-frames-123456789012-us-east-1", &frames_bucket());
    let event: S3Event = serde_json::from_str(&event).unwrap();
    let key = event.records[0].s3.object.key.clone().unwrap();
    stack.put_object(&key, test_image("astronaut.png"), None).await;
    stack.settled().await;

    let sdk = seccom_local::sdk_config(stack.stack.endpoints()).await;
    let function = HumanDetection::new(&sdk, &stack.function_settings()).unwrap();
    let reports = function.handle(event).await.unwrap();
    assert!(
        matches!(&reports[..], [FrameReport::Analysed { person: true, .. }]),
        "{reports:?}"
    );
}

#[tokio::test]
async fn the_sample_stream_queue_and_clip_events_respond_notify_and_store_once() {
    let stack = TestStack::start().await;
    assert_eq!(
        event_files("intrusion-responder"),
        ["intrusion-responder/intrusion-opened.json"]
    );
    assert_eq!(event_files("notifier"), ["notifier/notification-queued.json"]);
    assert_eq!(event_files("clip-archiver"), ["clip-archiver/clip-uploaded.json"]);
    let client = stack.create_client("Stream Ltd").await;
    let site = stack.create_site(&client, "Stream HQ").await;
    let camera = stack.create_device(&site, "cameras", "Gate").await;
    let event = std::fs::read_to_string(repository_root().join("events/intrusion-responder/intrusion-opened.json"))
        .unwrap()
        .replace(EVENT_CAMERA, &camera)
        .replace("REPLACE_WITH_CLIENT_ID", &client)
        .replace("REPLACE_WITH_SITE_ID", &site);
    let event: aws_lambda_events::dynamodb::Event = serde_json::from_str(&event).unwrap();
    let sdk = seccom_local::sdk_config(stack.stack.endpoints()).await;
    let responder = IntrusionResponder::new(&sdk, &stack.function_settings()).unwrap();
    for delivery in ["first", "retried"] {
        let Ok(answer) = responder.handle(event.clone()).await;
        assert!(answer.batch_item_failures.is_empty(), "{delivery}: {answer:?}");
        // The stack's notifier sends what the responder queued.
        stack.settled().await;
    }
    let outbox = seccom_local::outbox(stack.data_dir.path()).unwrap();
    assert_eq!(
        outbox.len(),
        1,
        "one e-mail to the client, however often the batch comes: {outbox:?}"
    );

    let event = std::fs::read_to_string(repository_root().join("events/notifier/notification-queued.json"))
        .unwrap()
        .replace("REPLACE_WITH_CLIENT_ID", &client)
        .replace("REPLACE_WITH_SITE_ID", &site);
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_str(&event).unwrap();
    let notifier = NotifierFunction::new(&sdk, &stack.function_settings()).unwrap();
    for delivery in ["first", "again"] {
        let Ok(answer) = notifier.handle(event.clone()).await;
        assert!(answer.batch_item_failures.is_empty(), "{delivery}: {answer:?}");
    }
    let outbox = seccom_local::outbox(stack.data_dir.path()).unwrap();
    assert_eq!(
        outbox.iter().filter(|m| m["to"] == "keyholder@example.com").count(),
        1,
        "a message received twice is sent once: {outbox:?}"
    );

    let clips = seccom_local::template::local_bucket_name("ClipsBucket");
    let event = std::fs::read_to_string(repository_root().join("events/clip-archiver/clip-uploaded.json"))
        .unwrap()
        .replace(EVENT_CAMERA, &camera)
        .replace("seccom-clips-123456789012-us-east-1", &clips);
    let event: S3Event = serde_json::from_str(&event).unwrap();
    let archiver = ClipArchiver::new(&sdk, &stack.function_settings()).unwrap();
    let reports = archiver.handle(event).await.unwrap();
    assert!(matches!(&reports[..], [ClipReport::Stored { .. }]), "{reports:?}");
}

#[tokio::test]
async fn an_oversized_body_that_reaches_the_function_is_a_problem_not_a_crash() {
    let stack = TestStack::start().await;
    let function = http_function(&stack, "sites-management-api").await;
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

/// Any ALB event, however mangled its method, path, query, headers and body,
/// is either refused by the parser or answered by each function: never a crash,
/// never a 500.
#[test]
fn mangled_alb_events_are_answered_never_crash() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (stack, functions) = runtime.block_on(async {
        let stack = TestStack::start().await;
        let mut functions = Vec::new();
        for name in [
            "sites-management-api",
            "cameras-api",
            "intrusion-management-api",
            "client-web-ui",
        ] {
            functions.push(http_function(&stack, name).await);
        }
        (stack, functions)
    });
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(repository_root().join("events/sites-management-api/list-clients.json")).unwrap(),
    )
    .unwrap();
    let text = "[ -~\u{0}-\u{1f}\u{80}-\u{10FFFF}]{0,40}";
    let strategy = (
        prop_oneof![
            Just("GET"),
            Just("POST"),
            Just("PUT"),
            Just("DELETE"),
            Just("PATCH"),
            Just("BREW")
        ],
        prop_oneof![
            Just("/api/clients"),
            Just("/api/sites/x/arming"),
            Just("/api/devices/y/heartbeat"),
            Just("/intrusions")
        ],
        text,
        text,
        text,
        any::<bool>(),
    );
    proptest!(ProptestConfig::with_cases(48), |((method, path, suffix, header, body, base64) in strategy)| {
        let mut event = fixture.clone();
        event["httpMethod"] = json!(method);
        event["path"] = json!(format!("{path}{suffix}"));
        event["queryStringParameters"] = json!({ "limit": suffix, "nextToken": header });
        event["headers"]["authorization"] = json!(format!("Bearer {header}"));
        event["headers"]["content-type"] = json!(header);
        // The ALB base64-encodes a binary body itself, so the body is valid base64 whenever
        // the flag says so (aws_lambda_events 1.2.1 panics on an invalid one the ALB never sends).
        event["body"] = json!(if base64 { base64::engine::general_purpose::STANDARD.encode(&body) } else { body.clone() });
        event["isBase64Encoded"] = json!(base64);
        let Ok(request) = from_str(&event.to_string()) else { return Ok(()) };
        for function in &functions {
            let status = runtime.block_on(function.clone().oneshot(request.clone())).unwrap().status();
            prop_assert!(status.as_u16() < 500 || status.as_u16() == 503, "{method} {path}{suffix}: {status}");
        }
    });
    drop(stack);
}
