//! Privacy masks through the local stack: a camera's region marked private is
//! blurred in the evidence frames kept of an intrusion, and nowhere else; the
//! detector still saw the whole frame (the intrusion opened).

use image::RgbImage;
use reqwest::Method;
use seccom_system_tests::{TestStack, frames_bucket, test_image};
use serde_json::json;

/// How much neighbouring pixels differ in the part `xs` × `ys` (fractions) of a picture.
fn detail(image: &RgbImage, xs: (f32, f32), ys: (f32, f32)) -> f64 {
    let (width, height) = image.dimensions();
    let span = |(from, to): (f32, f32), size: u32| (from * size as f32) as u32..(to * size as f32) as u32 - 1;
    let (mut total, mut count) = (0.0, 0.0);
    for y in span(ys, height) {
        for x in span(xs, width) {
            let (a, b) = (image.get_pixel(x, y), image.get_pixel(x + 1, y));
            total += (0..3).map(|c| f64::from(a[c].abs_diff(b[c]))).sum::<f64>();
            count += 1.0;
        }
    }
    total / count
}

#[tokio::test]
async fn a_private_region_is_blurred_in_the_evidence_and_nowhere_else() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Private Ltd").await;
    let site = stack.create_site(&client, "Depot").await;
    let camera = stack.create_device(&site, "cameras", "Gate").await;
    let left = [[0.0, 0.0], [0.4, 0.0], [0.4, 1.0], [0.0, 1.0]];
    let saved = stack
        .call(
            Method::PUT,
            &format!("/api/cameras/{camera}/detection"),
            Some(&stack.admin()),
            Some(json!({ "privacy": [{ "polygon": left }] })),
        )
        .await
        .expect(200);
    assert_eq!(saved["privacy"][0]["polygon"], json!(left));

    let intrusion = stack.person_seen(&camera).await;
    let (_, kept) = intrusion.evidence_keys().remove(0);
    let bytes = stack
        .s3()
        .await
        .get_object()
        .bucket(frames_bucket())
        .key(kept)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec();
    let evidence = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let original = image::load_from_memory(&test_image("astronaut.png")).unwrap().to_rgb8();
    assert_eq!(evidence.dimensions(), original.dimensions());
    let inside = ((0.05, 0.35), (0.05, 0.95));
    let outside = ((0.5, 0.95), (0.05, 0.95));
    let (before, after) = (
        detail(&original, inside.0, inside.1),
        detail(&evidence, inside.0, inside.1),
    );
    assert!(after < before / 4.0, "blurred inside: {before:.1} -> {after:.1}");
    let (before, after) = (
        detail(&original, outside.0, outside.1),
        detail(&evidence, outside.0, outside.1),
    );
    assert!(
        (after - before).abs() < before * 0.25,
        "kept outside: {before:.1} -> {after:.1}"
    );
    assert!(
        intrusion.snapshot_key.is_some(),
        "the detector saw the person all the same"
    );
}
