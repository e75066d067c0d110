//! The edge agent against a real RTSP server (GStreamer's, serving H.264 files
//! that ffmpeg encodes from the pedestrian footage and from one still picture)
//! and the local stack: a pedestrian stream, its pictures sent in bundles, opens
//! an intrusion whose clip is the recording unchanged from the keyframe at or
//! before the window's start; a
//! still scene sends no frame; a dropped stream makes the camera faulty until
//! it is back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use seccom_devices::clip;
use seccom_devices::edge::{self, config::CameraConfig, config::EdgeConfig};
use seccom_system_tests::{TestStack, repository_root};
use serde_json::{Value, json};
use tokio::sync::watch;

/// The test streams, encoded once into `target/rtsp-media` by `scripts/make-rtsp-media`.
fn media() -> PathBuf {
    let status = Command::new(repository_root().join("scripts/make-rtsp-media"))
        .status()
        .expect("scripts/make-rtsp-media runs");
    assert!(
        status.success(),
        "the test streams could not be encoded (is ffmpeg installed?)"
    );
    repository_root().join("target/rtsp-media")
}

/// GStreamer's RTSP server, stopped when dropped.
struct RtspServer {
    child: Child,
    port: u16,
}

impl RtspServer {
    fn start(port: u16, media: &Path) -> Self {
        let mut child = Command::new("/usr/bin/python3")
            .arg(repository_root().join("tests/rtsp/serve.py"))
            .arg(port.to_string())
            .arg(format!("pedestrians={}", media.join("pedestrians.mp4").display()))
            .arg(format!("still={}", media.join("still.mp4").display()))
            .stdout(Stdio::piped())
            .spawn()
            .expect("the RTSP server starts (scripts/install-test-tools installs GStreamer)");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the RTSP server did not start");
        Self { child, port }
    }

    fn url(&self, name: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Edge {
    stop: watch::Sender<bool>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
    camera: String,
    _buffer: tempfile::TempDir,
}

impl Edge {
    /// Registers a camera at a new site and connects it to `url` through the edge agent.
    async fn start(stack: &TestStack, name: &str, url: String, armed: bool, bundle_frames: u64) -> (Self, String) {
        let client = stack.create_client(name).await;
        let site = stack.create_site(&client, "Yard").await;
        let (camera, credential) = stack.register_device(&site, "cameras", "Gate").await;
        if !armed {
            set_mode(stack, &site, "disarmed").await;
        }
        let buffer = tempfile::tempdir().unwrap();
        let config = EdgeConfig {
            api: stack.url(""),
            buffer_dir: buffer.path().to_path_buf(),
            heartbeat_seconds: 1,
            figures_seconds: 5,
            max_frame_age_seconds: 10,
            cameras: vec![CameraConfig {
                rtsp: Some(url),
                bundle_frames,
                ..CameraConfig::new(&camera, &credential)
            }],
        };
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(edge::run(config, stopped));
        (
            Self {
                stop,
                running,
                camera,
                _buffer: buffer,
            },
            site,
        )
    }

    async fn stop(self) {
        self.stop.send_replace(true);
        self.running.await.unwrap().unwrap();
    }
}

async fn set_mode(stack: &TestStack, site: &str, mode: &str) {
    stack
        .call(
            Method::PUT,
            &format!("/api/sites/{site}/arming"),
            Some(&stack.admin()),
            Some(json!({ "mode": mode })),
        )
        .await
        .expect(200);
}

async fn camera_state(stack: &TestStack, camera: &str) -> Value {
    stack
        .call(
            Method::GET,
            &format!("/api/cameras/{camera}"),
            Some(&stack.admin()),
            None,
        )
        .await
        .expect(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pedestrian_stream_opens_an_intrusion_whose_clip_is_the_recording_from_a_keyframe() {
    let media = media();
    let server = RtspServer::start(free_port(), &media);
    let settings = [("CLIP_PRE_ROLL_SECONDS", "3"), ("CLIP_POST_ROLL_SECONDS", "2")];
    let stack = TestStack::start_with(tempfile::tempdir().unwrap(), &settings).await;
    // Disarmed first, so seconds of recording exist before the intrusion's pre-roll.
    let (edge, site) = Edge::start(&stack, "Edge Pedestrians", server.url("pedestrians"), false, 4).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(
        stack.intrusions(&edge.camera).await.is_empty(),
        "nothing is sent while disarmed"
    );
    set_mode(&stack, &site, "armed").await;
    let intrusion = stack
        .eventually(60, "an intrusion", || async {
            stack.intrusions(&edge.camera).await.into_iter().next()
        })
        .await;
    assert!(
        intrusion
            .frame_keys
            .iter()
            .all(|key| seccom_domain::detection::bundle::frame_location(key).1.is_some()),
        "the agent sent its pictures in bundles: {:?}",
        intrusion.frame_keys
    );
    let detail = stack
        .eventually(60, "the clip is stored", || async {
            let detail = stack
                .call(
                    Method::GET,
                    &format!("/api/intrusions/{}", intrusion.id),
                    Some(&stack.admin()),
                    None,
                )
                .await
                .expect(200);
            (detail["clip"]["state"] == "stored").then_some(detail)
        })
        .await;
    let from: DateTime<Utc> = detail["clip"]["from"].as_str().unwrap().parse().unwrap();
    let to: DateTime<Utc> = detail["clip"]["to"].as_str().unwrap().parse().unwrap();
    let video = reqwest::get(detail["clip"]["url"].as_str().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let position = |name: &[u8]| video.windows(4).position(|w| w == name).unwrap();
    assert!(position(b"moov") < position(b"mdat"), "moov first, for browsers");
    let summary = clip::summarise(&video).unwrap();
    assert_eq!(
        (summary.width, summary.height),
        (768, 576),
        "the camera's own stream, not re-encoded"
    );
    let window = (to - from).num_milliseconds() as u64;
    assert!(
        summary.duration_ms >= window,
        "the clip starts at or before the window's start: {} ms for a {window} ms window",
        summary.duration_ms
    );
    assert!(
        summary.duration_ms <= window + 2_100,
        "it starts at the keyframe before (one every 2 s), not earlier: {} ms",
        summary.duration_ms
    );
    assert!(
        summary.frames as u64 >= window / 40,
        "every frame of the stream is kept"
    );
    let mut reader = mp4::Mp4Reader::read_header(std::io::Cursor::new(&video), video.len() as u64).unwrap();
    let track = *reader.tracks().keys().next().unwrap();
    assert!(
        reader.read_sample(track, 1).unwrap().unwrap().is_sync,
        "it starts at a keyframe"
    );
    std::fs::write(repository_root().join("target/rtsp-media/last-edge-clip.mp4"), &video).unwrap();
    edge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_still_scene_sends_no_frame_while_its_heartbeats_continue() {
    let media = media();
    let server = RtspServer::start(free_port(), &media);
    let stack = TestStack::start().await;
    let started = Utc::now();
    let (edge, _) = Edge::start(&stack, "Edge Still", server.url("still"), true, 1).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let ended = Utc::now();
    stack.settled().await;
    let first = (started.timestamp_millis() * 2 / 1000) as u64;
    let last = (ended.timestamp_millis() * 2 / 1000) as u64;
    for seq in first..=last {
        assert!(
            stack.frame(&edge.camera, seq).await.is_none(),
            "frame {seq} of a still scene was sent"
        );
    }
    let camera = camera_state(&stack, &edge.camera).await;
    assert_eq!(camera["state"], "online", "{camera}");
    let last_seen: DateTime<Utc> = camera["lastSeenAt"].as_str().unwrap().parse().unwrap();
    assert!(
        Utc::now() - last_seen < TimeDelta::seconds(5),
        "heartbeats continue: {camera}"
    );
    edge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_makes_the_camera_faulty_until_it_is_back() {
    let media = media();
    let port = free_port();
    let server = RtspServer::start(port, &media);
    let stack = TestStack::start().await;
    let (edge, _) = Edge::start(&stack, "Edge Dropped", server.url("still"), true, 1).await;
    stack
        .eventually(20, "the camera online", || async {
            (camera_state(&stack, &edge.camera).await["state"] == "online").then_some(())
        })
        .await;
    drop(server);
    stack
        .eventually(30, "the camera faulty", || async {
            (camera_state(&stack, &edge.camera).await["state"] == "faulty").then_some(())
        })
        .await;
    let _back = RtspServer::start(port, &media);
    stack
        .eventually(60, "the camera online again", || async {
            (camera_state(&stack, &edge.camera).await["state"] == "online").then_some(())
        })
        .await;
    edge.stop().await;
}
