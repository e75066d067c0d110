//! Injected faults (`seccom local --fault-rate`): with a share of DynamoDB and S3
//! requests answered with AWS's own retryable errors, the SDK's retries absorb
//! them and the system ends as it would without faults: one intrusion with its
//! snapshot and evidence, every frame's result stored, the API answering.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use seccom_local::faults::FaultOptions;
use seccom_system_tests::{TestStack, frames_bucket, repository_root, test_image};

fn at(seq: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap() + TimeDelta::milliseconds(500 * seq as i64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_tenth_of_dynamodb_and_s3_calls_failing_nothing_is_lost_or_doubled() {
    let faults = FaultOptions {
        rate: 0.1,
        seed: 14,
        ..Default::default()
    };
    let template = repository_root().join("template.yaml");
    let stack = TestStack::start_with_faults(&template, tempfile::tempdir().unwrap(), &[], faults).await;
    let camera = stack.camera().await;
    let (person, empty) = (test_image("astronaut.png"), test_image("coffee.png"));
    for seq in 1..=6 {
        let bytes = if seq <= 4 { person.clone() } else { empty.clone() };
        stack.upload_frame(&camera, seq, bytes, at(seq)).await;
    }
    // A notification delivered twice is handled once.
    stack.upload_frame(&camera, 2, person.clone(), at(2)).await;
    stack.settled().await;

    let intrusions = stack.intrusions(&camera).await;
    assert_eq!(intrusions.len(), 1, "{intrusions:?}");
    assert_eq!((intrusions[0].first_seq, intrusions[0].last_seq), (1, 4));
    let snapshot = intrusions[0].snapshot_key.clone().expect("a snapshot");
    let s3 = stack.s3().await;
    s3.head_object()
        .bucket(frames_bucket())
        .key(snapshot)
        .send()
        .await
        .unwrap();
    let evidence = s3
        .list_objects_v2()
        .bucket(frames_bucket())
        .prefix(format!("evidence/{}/", intrusions[0].id))
        .send()
        .await
        .unwrap();
    assert_eq!(evidence.contents().len(), 3);
    for seq in 1..=6 {
        assert!(stack.frame(&camera, seq).await.is_some(), "frame {seq} has a result");
    }
    let listed = stack
        .call(Method::GET, "/api/intrusions", Some(&stack.admin()), None)
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(
        stack.faults_injected() >= 5,
        "{} faults injected",
        stack.faults_injected()
    );
}
