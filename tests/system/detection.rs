//! The intrusion rule through the local stack's real S3 event path: frames are
//! stored in the S3 emulator, which notifies the detector function, which
//! stores results and intrusions in the DynamoDB emulator.

use chrono::{DateTime, TimeDelta, Utc};
use seccom_domain::detection::{FrameOutcome, IntrusionStatus};
use seccom_system_tests::{TestStack, frames_bucket, test_image};

fn person() -> Vec<u8> {
    test_image("astronaut.png")
}

fn empty() -> Vec<u8> {
    test_image("coffee.png")
}

fn at(seq: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap() + TimeDelta::milliseconds(500 * seq as i64)
}

async fn send(stack: &TestStack, camera: &str, frames: &[(u64, bool)]) {
    for &(seq, has_person) in frames {
        stack
            .upload_frame(camera, seq, if has_person { person() } else { empty() }, at(seq))
            .await;
    }
    stack.settled().await;
}

#[tokio::test]
async fn three_consecutive_person_frames_open_one_intrusion_with_a_snapshot() {
    let stack = TestStack::start().await;
    let camera = stack.camera().await;
    send(&stack, &camera, &[(1, true), (2, true), (3, true)]).await;

    let intrusions = stack.intrusions(&camera).await;
    assert_eq!(intrusions.len(), 1, "{intrusions:?}");
    let intrusion = &intrusions[0];
    assert_eq!(intrusion.status, IntrusionStatus::Open);
    assert_eq!((intrusion.first_seq, intrusion.last_seq), (1, 3));
    assert_eq!(intrusion.started_at, at(1));
    assert_eq!(intrusion.camera_id.to_string(), camera);
    assert_eq!(intrusion.frame_keys.len(), 3);
    assert!(intrusion.frame_keys[0].ends_with("/00000000000000000001"));
    assert!(intrusion.peak_score > 0.9);

    let snapshot_key = intrusion.snapshot_key.clone().expect("a snapshot");
    let snapshot = stack
        .s3()
        .await
        .get_object()
        .bucket(frames_bucket())
        .key(snapshot_key)
        .send()
        .await
        .unwrap();
    let bytes = snapshot.body.collect().await.unwrap().to_vec();
    assert_eq!(image::guess_format(&bytes).unwrap(), image::ImageFormat::Jpeg);

    // The opening frames are kept as evidence beyond the frames' one-week lifecycle.
    let evidence = stack
        .s3()
        .await
        .list_objects_v2()
        .bucket(frames_bucket())
        .prefix(format!("evidence/{}/", intrusion.id))
        .send()
        .await
        .unwrap();
    assert_eq!(evidence.contents().len(), 3);

    let record = stack.frame(&camera, 2).await.expect("frame 2 was stored");
    assert!(matches!(record.outcome, FrameOutcome::Analysed { person: true, .. }));
    assert_eq!(record.captured_at, at(2));
    assert!(record.expires_at > Utc::now().timestamp());
}

#[tokio::test]
async fn an_empty_frame_resets_the_count() {
    let stack = TestStack::start().await;
    let camera = stack.camera().await;
    send(&stack, &camera, &[(1, true), (2, false), (3, true), (4, true)]).await;
    assert!(stack.intrusions(&camera).await.is_empty());
    send(&stack, &camera, &[(5, true)]).await;
    let intrusions = stack.intrusions(&camera).await;
    assert_eq!(intrusions.len(), 1);
    assert_eq!((intrusions[0].first_seq, intrusions[0].last_seq), (3, 5));
}

#[tokio::test]
async fn reordered_and_duplicated_notifications_still_give_one_intrusion() {
    let stack = TestStack::start().await;
    let camera = stack.camera().await;
    send(&stack, &camera, &[(3, true), (1, true)]).await;
    assert!(stack.intrusions(&camera).await.is_empty());
    send(&stack, &camera, &[(2, true)]).await;
    let first = stack.intrusions(&camera).await;
    send(&stack, &camera, &[(2, true), (3, true), (1, true)]).await;
    let after_duplicates = stack.intrusions(&camera).await;
    assert_eq!(after_duplicates.len(), 1);
    assert_eq!(first, after_duplicates, "duplicates changed the intrusion");
}

#[tokio::test]
async fn frames_processed_at_the_same_time_open_exactly_one_intrusion() {
    let stack = TestStack::start().await;
    let camera = stack.camera().await;
    for round in 0..3u64 {
        let base = round * 1000 + 1;
        let (person_a, person_b, person_c) = (person(), person(), person());
        tokio::join!(
            stack.upload_frame(&camera, base, person_a, at(base)),
            stack.upload_frame(&camera, base + 1, person_b, at(base + 1)),
            stack.upload_frame(&camera, base + 2, person_c, at(base + 2)),
        );
        stack.settled().await;
    }
    // Three bursts 500 s apart: three intrusions, one each.
    let intrusions = stack.intrusions(&camera).await;
    assert_eq!(intrusions.len(), 3, "{intrusions:#?}");
}

#[tokio::test]
async fn a_long_burst_is_one_intrusion_and_a_quiet_gap_starts_another() {
    let stack = TestStack::start().await;
    let camera = stack.camera().await;
    send(&stack, &camera, &(1..=6).map(|s| (s, true)).collect::<Vec<_>>()).await;
    let intrusions = stack.intrusions(&camera).await;
    assert_eq!(intrusions.len(), 1);
    assert_eq!((intrusions[0].first_seq, intrusions[0].last_seq), (1, 6));

    // 10 s later (within the 30 s quiet gap): the same intrusion goes on.
    send(&stack, &camera, &[(26, true), (27, true), (28, true)]).await;
    assert_eq!(stack.intrusions(&camera).await.len(), 1);
    // 60 s after that: a new one.
    send(&stack, &camera, &[(150, true), (151, true), (152, true)]).await;
    let intrusions = stack.intrusions(&camera).await;
    assert_eq!(intrusions.len(), 2);
    assert_eq!(intrusions[1].last_seq, 28);
    assert_eq!(intrusions[0].first_seq, 150);
}

#[tokio::test]
async fn bad_frames_are_recorded_as_rejected_and_never_break_the_function() {
    let stack = TestStack::start().await;
    let camera = stack.camera().await;
    let jpeg = test_image("rocket.jpg");
    // A decompression bomb: a real JPEG whose frame header claims 60000x60000 pixels.
    let mut bomb = jpeg.clone();
    let start_of_frame = bomb
        .windows(2)
        .position(|m| m[0] == 0xff && (m[1] == 0xc0 || m[1] == 0xc2))
        .unwrap();
    bomb[start_of_frame + 5..start_of_frame + 9].copy_from_slice(&[0xea, 0x60, 0xea, 0x60]);
    let bad: Vec<(u64, Vec<u8>, &str)> = vec![
        (1, Vec::new(), "empty"),
        (2, b"this is not an image".to_vec(), "not-an-image"),
        (3, jpeg[..jpeg.len() / 3].to_vec(), "corrupt"),
        (4, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(), "unsupported-format"),
        (5, bomb, "too-large"),
    ];
    for (seq, bytes, _) in &bad {
        stack.upload_frame(&camera, *seq, bytes.clone(), at(*seq)).await;
    }
    let stranger = uuid::Uuid::new_v4();
    stack
        .put_object(&format!("frames/{stranger}/00000000000000000001"), person(), None)
        .await;
    stack
        .put_object("frames/not-a-camera/00000000000000000001", person(), None)
        .await;
    stack.put_object(&format!("frames/{camera}/12"), person(), None).await;
    stack.settled().await;

    for (seq, _, code) in &bad {
        let record = stack
            .frame(&camera, *seq)
            .await
            .unwrap_or_else(|| panic!("frame {seq} was not recorded"));
        match record.outcome {
            FrameOutcome::Rejected { code: actual, reason } => {
                assert_eq!(actual, *code, "frame {seq}: {reason}");
                assert!(!reason.is_empty());
            }
            other => panic!("frame {seq} was not rejected: {other:?}"),
        }
    }
    let unknown = stack
        .frame(&stranger.to_string(), 1)
        .await
        .expect("the unknown camera's frame was recorded");
    assert!(matches!(unknown.outcome, FrameOutcome::Rejected { ref code, .. } if code == "unknown-camera"));
    assert!(stack.intrusions(&camera).await.is_empty());

    // The function still works afterwards.
    send(&stack, &camera, &[(6, true), (7, true), (8, true)]).await;
    assert_eq!(stack.intrusions(&camera).await.len(), 1);
}
