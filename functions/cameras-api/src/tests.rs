//! The devices API called as the load balancer would, over the in-memory
//! adapters: credentials, the size a frame URL is signed for, the upload
//! budget, and devices acting only for themselves.

use axum::http::StatusCode;
use seccom_domain::clock::SystemClock;
use seccom_domain::fixtures;
use seccom_domain::memory::{MemoryControls, MemoryDirectory, MemoryLinks, MemoryResponses};
use seccom_http::testing;
use serde_json::{Value, json};

use super::*;

struct World {
    app: Router,
    camera: String,
    credential: String,
    alarm_credential: String,
}

async fn world() -> World {
    let directory = Directory::new(Arc::new(MemoryDirectory::default()));
    let (_, site) = fixtures::client_with_site(&directory, "Acme").await;
    let camera = fixtures::register(&directory, site.id, DeviceKind::Camera, "Gate").await;
    let alarm = fixtures::register(&directory, site.id, DeviceKind::Alarm, "Siren").await;
    let heartbeats = Heartbeats {
        directory: directory.clone(),
        store: Arc::new(MemoryResponses::default()),
        controls: Arc::new(MemoryControls::default()),
        clock: Arc::new(SystemClock),
    };
    let state = AppState::new(directory, heartbeats, Arc::new(MemoryLinks), Destinations::default());
    World {
        app: router(state),
        camera: camera.device.id.to_string(),
        credential: camera.credential,
        alarm_credential: alarm.credential,
    }
}

impl World {
    /// Asks for a frame URL with `credential`; answers the status, `Retry-After` and body.
    async fn ask(&self, credential: &str, body: Value) -> (StatusCode, Option<String>, Value) {
        let path = format!("/api/devices/cameras/{}/frames", self.camera);
        let answer = testing::call(&self.app, "POST", &path, Some(credential), Some(body)).await;
        let retry_after = answer.header("retry-after").map(str::to_owned);
        (answer.status, retry_after, answer.body)
    }
}

fn frame(seq: u64, bytes: u64) -> Value {
    json!({ "seq": seq, "capturedAt": "2026-12-08T02:00:00Z", "bytes": bytes })
}

#[tokio::test]
async fn a_frame_url_is_signed_for_the_size_the_camera_declares() {
    let w = world().await;
    let (status, _, granted) = w.ask(&w.credential, frame(7, 48_213)).await;
    assert_eq!(status, StatusCode::CREATED, "{granted}");
    assert_eq!(granted["headers"]["content-length"], "48213");
    assert!(granted["key"].as_str().unwrap().ends_with("00000000000000000007"));

    let (status, _, problem) = w.ask(&w.credential, frame(8, 10 * 1024 * 1024 + 1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["invalidParams"][0]["name"], "bytes");
    let bundle = json!({ "seq": 8, "capturedAt": "2026-12-08T02:00:00Z", "frames": 16, "bytes": 20_000_000 });
    assert_eq!(
        w.ask(&w.credential, bundle).await.0,
        StatusCode::CREATED,
        "a bundle may be larger"
    );
}

#[tokio::test]
async fn only_the_cameras_own_credential_asks_for_its_frames() {
    let w = world().await;
    let (status, _, problem) = w.ask("sck_garbage", frame(1, 10)).await;
    assert_eq!(
        (status, problem["status"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(401))
    );
    let (status, _, _) = w.ask(&w.alarm_credential, frame(1, 10)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an alarm acts only for itself");
}

#[tokio::test]
async fn a_camera_past_its_upload_budget_is_told_when_to_ask_again() {
    let w = world().await;
    let mut answers = Vec::new();
    for seq in 0..30 {
        let (status, retry_after, _) = w.ask(&w.credential, frame(seq, 10)).await;
        answers.push((status, retry_after));
    }
    let refused = answers
        .iter()
        .position(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
        .expect("refused within 30 asks");
    assert!(refused >= 20, "a burst of 20 first: refused at {refused}");
    assert_eq!(answers[refused].1.as_deref(), Some("1"));
}
