//! Least privilege, enforced locally: each function's calls to DynamoDB, S3 and
//! SQS are checked against its policy in the template the stack was started with,
//! so a permission missing from the template fails here as it would in AWS.

use reqwest::Method;
use seccom_system_tests::{TestStack, repository_root, test_image};
use serde_json::json;

/// A copy of the repository's template with `line` removed from `resource`'s definition.
fn without(line: &str, resource: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let template = std::fs::read_to_string(repository_root().join("template.yaml")).unwrap();
    let start = template
        .find(&format!("\n  {resource}:\n"))
        .expect("the resource is in the template");
    let at = start + template[start..].find(line).expect("the line is in the resource");
    let changed = format!("{}{}", &template[..at], &template[at + line.len()..]);
    let path = dir.join("template.yaml");
    std::fs::write(&path, changed).unwrap();
    path
}

#[tokio::test]
async fn a_write_the_template_does_not_allow_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let template = without(
        "                - dynamodb:PutItem\n",
        "SitesManagementApiFunction",
        dir.path(),
    );
    let stack = TestStack::start_from(&template, tempfile::tempdir().unwrap(), &[]).await;
    let admin = stack.admin();
    stack
        .call(Method::GET, "/api/clients", Some(&admin), None)
        .await
        .expect(200);
    let refused = stack
        .call(
            Method::POST,
            "/api/clients",
            Some(&admin),
            Some(json!({"name": "Denied Ltd", "email": "ops@denied.example"})),
        )
        .await;
    refused.assert_problem(503);
    assert!(
        !refused.body.to_string().contains("not authorized"),
        "the cause is logged, never shown: {}",
        refused.body
    );
}

#[tokio::test]
async fn an_upload_presigned_by_a_function_without_the_permission_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let template = without(
        "            - Effect: Allow\n              Action: s3:PutObject\n              Resource: !Sub \"${FramesBucket.Arn}/frames/*\"\n",
        "CamerasApiFunction",
        dir.path(),
    );
    let stack = TestStack::start_from(&template, tempfile::tempdir().unwrap(), &[]).await;
    let client = stack.create_client("Presigned Ltd").await;
    let site = stack.create_site(&client, "Yard").await;
    let (camera, credential) = stack.register_device(&site, "cameras", "Gate").await;
    let granted = stack
        .call(
            Method::POST,
            &format!("/api/devices/cameras/{camera}/frames"),
            Some(&credential),
            Some(json!({"seq": 1, "capturedAt": "2026-11-30T22:00:00Z", "bytes": test_image("astronaut.png").len()})),
        )
        .await
        .expect(201);
    let mut upload = reqwest::Client::new().put(granted["uploadUrl"].as_str().unwrap());
    for (name, value) in granted["headers"].as_object().unwrap() {
        upload = upload.header(name, value.as_str().unwrap());
    }
    let answer = upload.body(test_image("astronaut.png")).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 403, "S3 refuses what the signer may not do");
    assert!(answer.text().await.unwrap().contains("AccessDenied"));
}

#[tokio::test]
async fn a_notification_the_responder_may_not_queue_is_refused_and_stays_pending() {
    let dir = tempfile::tempdir().unwrap();
    let template = without(
        ", !GetAtt NotificationQueue.Arn",
        "IntrusionResponderFunction",
        dir.path(),
    );
    let stack = TestStack::start_from(&template, tempfile::tempdir().unwrap(), &[]).await;
    let client = stack.create_client("Unqueued Ltd").await;
    let site = stack.create_site(&client, "Yard").await;
    let (camera, _) = stack.register_device(&site, "cameras", "Gate").await;
    let person = test_image("astronaut.png");
    for seq in 1..=3 {
        stack
            .upload_frame(&camera, seq, person.clone(), chrono::Utc::now())
            .await;
    }
    stack.settled().await;
    let intrusion = stack.newest_intrusion_id(&camera).await.expect("an intrusion opened");
    let detail = stack.intrusion_detail(&intrusion).await;
    let notifications = detail["notifications"].as_array().unwrap();
    assert!(!notifications.is_empty());
    assert!(
        notifications.iter().all(|n| n["status"] == "pending"),
        "claimed, never queued: {notifications:?}"
    );
    assert!(seccom_local::outbox(stack.data_dir.path()).unwrap().is_empty());
    assert_eq!(
        stack.stack.queue_depth("NotificationQueue"),
        (0, 0),
        "SQS refused every send"
    );
}
