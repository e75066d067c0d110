//! Privacy masks through the local stack: a camera's region marked private is
//! blurred in the evidence frames kept of an intrusion, and nowhere else; the
//! detector still saw the whole frame (the intrusion opened); and a full-frame
//! mask leaves no pixel unblurred in any picture a person is shown.

use image::RgbImage;
use reqwest::Method;
use seccom_domain::detection::zones::Polygon;
use seccom_system_tests::{TestStack, test_image};
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
    let bytes = stack.frame_object(&kept).await;
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

/// Whether `shown` keeps any pixel of `original` unblurred: among the pixels
/// the blur changes clearly, the share that look like the original (within
/// JPEG's error of it and nearer it than the blurred picture; the boxes a
/// snapshot draws are near neither).
fn unblurred_share(original: &RgbImage, shown: &RgbImage) -> f64 {
    let everywhere = Polygon::parse(&[vec![0.0, 0.0], vec![1.0, 0.0], vec![1.0, 1.0], vec![0.0, 1.0]]).unwrap();
    let blurred = seccom_pictures::privacy::blur(&image::DynamicImage::ImageRgb8(original.clone()), &[everywhere]);
    let distance = |a: &image::Rgb<u8>, b: &image::Rgb<u8>| (0..3).map(|c| u32::from(a[c].abs_diff(b[c]))).sum::<u32>();
    let (mut changed, mut unblurred) = (0u32, 0u32);
    for (x, y, pixel) in shown.enumerate_pixels() {
        let (raw, soft) = (original.get_pixel(x, y), blurred.get_pixel(x, y));
        if distance(raw, soft) > 90 {
            changed += 1;
            if distance(pixel, raw) < distance(pixel, soft).min(45) {
                unblurred += 1;
            }
        }
    }
    assert!(changed > 1000, "the picture has detail the blur removes");
    f64::from(unblurred) / f64::from(changed)
}

/// Marks the whole of `camera`'s view private.
async fn mask_everything(stack: &TestStack, camera: &str) {
    let everything = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    stack
        .call(
            Method::PUT,
            &format!("/api/cameras/{camera}/detection"),
            Some(&stack.admin()),
            Some(json!({ "privacy": [{ "polygon": everything }] })),
        )
        .await
        .expect(200);
}

async fn fetched(url: &str, cookie: Option<&str>) -> RgbImage {
    let mut request = reqwest::Client::new().get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{url}: {}", response.status());
    image::load_from_memory(&response.bytes().await.unwrap())
        .unwrap()
        .to_rgb8()
}

/// The picture the camera page of `portal` shows as the camera's latest frame.
async fn camera_page_picture(stack: &TestStack, portal: &str, camera: &str, cookie: &str) -> RgbImage {
    let page = reqwest::Client::new()
        .get(stack.url(&format!("{portal}/cameras/{camera}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let src = page
        .split("<img")
        .nth(1)
        .and_then(|tag| tag.split("src=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the camera page shows a picture: {page}"))
        .replace("&amp;", "&");
    let url = if src.starts_with("http") { src } else { stack.url(&src) };
    fetched(&url, Some(cookie)).await
}

#[tokio::test]
async fn a_full_frame_privacy_mask_leaves_no_unblurred_pixel_in_any_picture_shown() {
    let stack = TestStack::start().await;
    let client = stack.create_client("Masked Ltd").await;
    let site = stack.create_site(&client, "Depot").await;
    let camera = stack.create_device(&site, "cameras", "Gate").await;
    mask_everything(&stack, &camera).await;
    let original = image::load_from_memory(&test_image("astronaut.png")).unwrap().to_rgb8();
    let intrusion = stack.person_seen(&camera).await;
    assert!(
        intrusion.snapshot_key.is_some(),
        "the detector saw the person all the same"
    );
    let user = stack.client_user(&client);
    let detail = stack
        .call(
            Method::GET,
            &format!("/api/intrusions/{}", intrusion.id),
            Some(&user),
            None,
        )
        .await
        .expect(200);
    let mut shown = vec![(
        "snapshot".to_owned(),
        fetched(detail["snapshotUrl"].as_str().unwrap(), None).await,
    )];
    for (index, url) in detail["evidenceUrls"].as_array().unwrap().iter().enumerate() {
        shown.push((format!("evidence {index}"), fetched(url.as_str().unwrap(), None).await));
    }
    // The camera page's latest frame, a frame uploaded alone, in both portals.
    let staff = stack.portal_session("admin").await;
    let own = stack.portal_session(&format!("client:{client}")).await;
    shown.push((
        "manager portal's latest frame".into(),
        camera_page_picture(&stack, "/manage", &camera, &staff).await,
    ));
    shown.push((
        "client portal's latest frame".into(),
        camera_page_picture(&stack, "", &camera, &own).await,
    ));
    // The export's footage links.
    let document = stack.export(&client, &user).await;
    let exported = &document["intrusions"][0];
    shown.push((
        "exported snapshot".into(),
        fetched(exported["snapshotUrl"].as_str().unwrap(), None).await,
    ));
    for url in exported["evidenceUrls"].as_array().unwrap() {
        shown.push(("exported evidence".into(), fetched(url.as_str().unwrap(), None).await));
    }
    // A bundle member as a camera's latest frame (another camera: a camera's latest
    // frame is kept at most every 30 s).
    let camera = stack.create_device(&site, "cameras", "Yard").await;
    mask_everything(&stack, &camera).await;
    let bundle = seccom_domain::detection::bundle::BundleKey::new(camera.parse().unwrap(), 10, 2).unwrap();
    let person = test_image("astronaut.png");
    let now = chrono::Utc::now();
    let packed = seccom_domain::detection::bundle::pack(&[(10, now, &person), (11, now, &person)]).unwrap();
    stack.put_object(&bundle.to_string(), packed, Some(now)).await;
    stack.settled().await;
    shown.push((
        "bundled latest frame".into(),
        camera_page_picture(&stack, "", &camera, &own).await,
    ));

    for (what, picture) in &shown {
        assert_eq!(picture.dimensions(), original.dimensions(), "{what}");
        let share = unblurred_share(&original, picture);
        assert!(
            share == 0.0,
            "{what}: {:.3} % of the pixels the blur changes are shown unblurred",
            share * 100.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_frame_privacy_mask_leaves_no_unblurred_pixel_in_the_clip_and_the_upload_is_not_kept() {
    let settings = [
        ("CLIP_PRE_ROLL_SECONDS", "3"),
        ("CLIP_POST_ROLL_SECONDS", "3"),
        ("CLIP_GRACE_SECONDS", "60"),
    ];
    let stack = TestStack::start_with(tempfile::tempdir().unwrap(), &settings).await;
    let client = stack.create_client("Masked Clips Ltd").await;
    let site = stack.create_site(&client, "Depot").await;
    let (camera, credential) = stack.register_device(&site, "cameras", "Gate").await;
    mask_everything(&stack, &camera).await;
    // The camera films the astronaut for 3 seconds at 4 pictures a second.
    let mut sent = Vec::new();
    image::load_from_memory(&test_image("astronaut.png"))
        .unwrap()
        .to_rgb8()
        .write_to(&mut std::io::Cursor::new(&mut sent), image::ImageFormat::Jpeg)
        .unwrap();
    let original = image::load_from_memory(&sent).unwrap().to_rgb8();
    let work = tempfile::tempdir().unwrap();
    let frames = work.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    for index in 0..12 {
        std::fs::write(frames.join(format!("{index:03}.jpg")), &sent).unwrap();
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let camera_task = tokio::spawn(seccom_devices::camera::run(
        seccom_devices::camera::CameraOptions {
            device: seccom_devices::DeviceOptions {
                api: stack.url(""),
                id: camera.clone(),
                credential,
                listen: "127.0.0.1:0".parse().unwrap(),
                heartbeat_every: std::time::Duration::from_millis(500),
            },
            frames: seccom_devices::camera::frames_in(&frames).unwrap(),
            fps: 4.0,
            buffer_dir: work.path().join("buffer"),
            buffer_for: std::time::Duration::from_secs(420),
            once: true,
        },
        stopped,
    ));
    let detail = stack
        .eventually(90, "the clip is stored", || async {
            let detail = stack.intrusion_detail(&stack.newest_intrusion_id(&camera).await?).await;
            (detail["clip"]["state"] == "stored").then_some(detail)
        })
        .await;
    let _ = stop.send(true);
    let _ = camera_task.await;
    let intrusion = detail["id"].as_str().unwrap();
    let url = detail["clip"]["url"].as_str().unwrap();
    assert!(url.contains(".masked.mp4"), "the masked rendition is shown: {url}");
    let video = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    let mut pictures = Vec::new();
    seccom_footage::rework::rework(&video, |picture| {
        pictures.push(picture.clone());
        picture
    })
    .unwrap();
    assert!(
        pictures.len() >= 8,
        "the clip has the pictures filmed: {}",
        pictures.len()
    );
    for (index, picture) in pictures.iter().enumerate() {
        let share = unblurred_share(&original, picture);
        assert!(share == 0.0, "picture {index}: {:.3} % shown unblurred", share * 100.0);
    }
    // The camera's upload is not kept.
    let upload = stack
        .s3()
        .await
        .head_object()
        .bucket(seccom_local::template::local_bucket_name("ClipsBucket"))
        .key(format!("clips/{camera}/{intrusion}.mp4"))
        .send()
        .await;
    assert!(upload.is_err(), "the unmasked upload is gone: {upload:?}");
}
