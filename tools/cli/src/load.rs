//! `seccom load`: a load run anyone can repeat. It starts a local stack of its
//! own (loopback only, in a temporary folder, optionally with injected faults),
//! registers N cameras that each send pedestrian footage at F frames a second
//! (alone, or in bundles of K) through the devices API, S3, the detector and
//! the intrusion rule for S seconds (uploading as a camera does: a few at a
//! time, retrying failures), while U API users list intrusions and read the
//! newest. Then it waits for the stack to settle and checks the invariants:
//! every uploaded frame has a result or a recorded rejection (nothing lost), no
//! two intrusions of one camera cover the same frame (nothing doubled), no
//! request got a 5xx. It reports throughput and p50/p99 latencies; its last
//! line is one JSON object.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use seccom_devices::DeviceLink;
use seccom_domain::detection::IntrusionScope;
use seccom_domain::detection::ports::DetectionStore;
use seccom_domain::ids::DeviceId;
use seccom_domain::page::{MAX_LIMIT, PageRequest};
use seccom_local::faults::FaultOptions;
use seccom_local::idp::{LocalIdp, LocalUser};
use seccom_local::{LocalOptions, LocalStack};
use serde::Serialize;
use serde_json::{Value, json};

/// What a load run does.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub cameras: usize,
    pub fps: f64,
    pub seconds: u64,
    pub users: usize,
    /// Frames per upload: 1, or bundles of up to 16.
    pub bundle: usize,
    /// JPEG frames each camera plays, each from its own starting point.
    pub frames_dir: PathBuf,
    pub template: PathBuf,
    pub faults: FaultOptions,
}

/// The figures of one run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    pub cameras: usize,
    pub fps: f64,
    pub seconds: u64,
    pub users: usize,
    pub bundle: usize,
    pub fault_rate: f64,
    /// Frames the cameras captured.
    pub frames_sent: usize,
    /// Frames the cameras gave up: a failed upload of a frame already 30 s old
    /// is not retried (it happens when the stack cannot keep up).
    pub frames_failed_to_send: usize,
    pub frames_with_result: usize,
    pub frames_lost: usize,
    /// Frames with a result per second, from the first upload to the last result
    /// (the cameras offer cameras x fps).
    pub frames_per_second: f64,
    pub decision_p50_ms: f64,
    pub decision_p99_ms: f64,
    pub upload_p50_ms: f64,
    pub upload_p99_ms: f64,
    pub api_requests: usize,
    pub api_p50_ms: f64,
    pub api_p99_ms: f64,
    pub responses_5xx: usize,
    pub intrusions: usize,
    pub intrusions_duplicated: usize,
    pub faults_injected: u64,
    pub settle_seconds: f64,
}

/// One frame as its camera sent it.
struct Sent {
    camera: DeviceId,
    seq: u64,
    /// When the upload to S3 finished; `None` when it was given up.
    stored_at: Option<DateTime<Utc>>,
    /// From capture to stored (waiting for an upload slot and retries included).
    took: Duration,
}

fn percentile(values: &mut [f64], share: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((values.len() as f64 * share).ceil() as usize).clamp(1, values.len());
    (values[rank - 1] * 10.0).round() / 10.0
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> anyhow::Result<Value> {
    let response = http.post(&url).bearer_auth(token).json(&body).send().await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "POST {url} answered {status}: {answer}");
    Ok(answer)
}

/// Registers a client, a site and the cameras; answers each camera's link.
async fn set_up(api: &str, token: &str, cameras: usize) -> anyhow::Result<Vec<DeviceLink>> {
    let http = reqwest::Client::new();
    let client = post(
        &http,
        format!("{api}/api/clients"),
        token,
        json!({ "name": "Load Ltd", "email": "ops@load.example" }),
    )
    .await?;
    let site = post(
        &http,
        format!("{api}/api/sites"),
        token,
        json!({ "clientId": client["id"], "name": "Load site", "address": "1 Load Lane" }),
    )
    .await?;
    let mut links = Vec::new();
    for index in 0..cameras {
        let camera = post(
            &http,
            format!("{api}/api/sites/{}/cameras", site["id"].as_str().unwrap_or_default()),
            token,
            json!({ "name": format!("Camera {}", index + 1) }),
        )
        .await?;
        links.push(DeviceLink::new(
            api,
            camera["id"].as_str().context("a camera id")?,
            camera["credential"].as_str().context("a credential")?,
        ));
    }
    Ok(links)
}

/// Uploads that may be under way at once per camera, as the edge agent allows.
const UPLOADS_PER_CAMERA: usize = 4;
/// A frame not uploaded this long after capture is given up, as the edge agent does.
const MAX_FRAME_AGE: Duration = Duration::from_secs(30);

/// Uploads frames (one, or a bundle), retrying a failure with backoff as the
/// edge agent does (S3 answering 503 SlowDown, for one); `None` when they could
/// not be sent before the oldest was `MAX_FRAME_AGE` old.
async fn upload(link: &DeviceLink, frames: &[(u64, Instant, Vec<u8>)]) -> Option<DateTime<Utc>> {
    let (seq, captured) = (frames[0].0, frames[0].1);
    let bundle: Vec<(u64, DateTime<Utc>, Vec<u8>)> = frames
        .iter()
        .map(|(seq, at, bytes)| {
            let captured_at = Utc::now() - chrono::TimeDelta::from_std(at.elapsed()).unwrap_or_default();
            (*seq, captured_at, bytes.clone())
        })
        .collect();
    let mut pause = Duration::from_millis(250);
    loop {
        match link.send_bundle(&bundle).await {
            Ok(_) => return Some(Utc::now()),
            Err(error) if captured.elapsed() + pause < MAX_FRAME_AGE => {
                tracing::warn!(
                    camera = link.id(),
                    seq,
                    error = format!("{error:#}"),
                    "an upload failed; retrying"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(error) => {
                tracing::error!(
                    camera = link.id(),
                    seq,
                    error = format!("{error:#}"),
                    "an upload was given up"
                );
                return None;
            }
        }
    }
}

/// Captures `count` frames at `fps`, starting `offset` frames into the footage,
/// and uploads them as they are captured, `bundle` per upload (a few uploads at
/// a time), as a camera does.
async fn camera(
    link: DeviceLink,
    frames: Arc<Vec<Vec<u8>>>,
    offset: usize,
    count: u64,
    fps: f64,
    bundle: usize,
) -> Vec<Sent> {
    let camera: DeviceId = link.id().parse().expect("the API issues UUIDs");
    let link = Arc::new(link);
    let slots = Arc::new(tokio::sync::Semaphore::new(UPLOADS_PER_CAMERA));
    let start = tokio::time::Instant::now();
    let mut uploads = Vec::new();
    let mut pending = Vec::with_capacity(bundle);
    for seq in 1..=count {
        tokio::time::sleep_until(start + Duration::from_secs_f64((seq - 1) as f64 / fps)).await;
        let bytes = frames[(offset + seq as usize) % frames.len()].clone();
        pending.push((seq, Instant::now(), bytes));
        if pending.len() < bundle && seq < count {
            continue;
        }
        let taken = std::mem::take(&mut pending);
        let (link, slots) = (link.clone(), slots.clone());
        uploads.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await.expect("the semaphore is never closed");
            let stored_at = upload(&link, &taken).await;
            taken
                .iter()
                .map(|(seq, captured, _)| Sent {
                    camera,
                    seq: *seq,
                    stored_at,
                    took: captured.elapsed(),
                })
                .collect::<Vec<Sent>>()
        }));
    }
    let mut sent = Vec::new();
    for upload in uploads {
        sent.extend(upload.await.expect("an upload task does not panic"));
    }
    sent
}

/// API calls' durations (ms) and how many answered 5xx.
#[derive(Default)]
struct ApiCalls {
    durations: Vec<f64>,
    server_errors: usize,
}

/// Lists intrusions and reads the newest, with a short pause between, until `until`.
async fn user(api: String, token: String, until: tokio::time::Instant, calls: Arc<Mutex<ApiCalls>>) {
    let http = reqwest::Client::new();
    let call = |path: String| {
        let (http, token, calls) = (http.clone(), token.clone(), calls.clone());
        let url = format!("{api}{path}");
        async move {
            let began = Instant::now();
            let answer = http.get(&url).bearer_auth(&token).send().await;
            let took = began.elapsed().as_secs_f64() * 1000.0;
            let (status, body) = match answer {
                Ok(response) => (response.status().as_u16(), response.json::<Value>().await.ok()),
                Err(_) => (599, None),
            };
            let mut calls = calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.durations.push(took);
            if status >= 500 {
                calls.server_errors += 1;
            }
            body
        }
    };
    while tokio::time::Instant::now() < until {
        let listed = call("/api/intrusions?limit=20".to_owned()).await;
        if let Some(id) = listed.as_ref().and_then(|l| l["items"][0]["id"].as_str()) {
            call(format!("/api/intrusions/{id}")).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn footage(dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let files = seccom_devices::camera::frames_in(dir)
        .with_context(|| format!("no frames in {}: run scripts/fetch-demo-footage first", dir.display()))?;
    files
        .iter()
        .map(|f| std::fs::read(f).with_context(|| format!("cannot read {}", f.display())))
        .collect()
}

/// Runs the load and checks what it left behind.
pub async fn run(options: &LoadOptions) -> anyhow::Result<LoadReport> {
    let frames = Arc::new(footage(&options.frames_dir)?);
    let data = std::env::temp_dir().join(format!("seccom-load-{}", uuid::Uuid::new_v4()));
    let stack = LocalStack::start(&LocalOptions {
        port: 0,
        data_dir: data.clone(),
        template: options.template.clone(),
        settings: Default::default(),
        schedule_every: None,
        faults: options.faults,
    })
    .await?;
    let api = format!("http://{}", stack.endpoints().alb);
    let token = LocalIdp::open(&data)?.id_token(&LocalUser::admin());
    let links = set_up(&api, &token, options.cameras).await?;
    let count = (options.fps * options.seconds as f64).round() as u64;
    let began = Utc::now();
    let until = tokio::time::Instant::now() + Duration::from_secs(options.seconds);
    let calls = Arc::new(Mutex::new(ApiCalls::default()));
    let users: Vec<_> = (0..options.users)
        .map(|_| tokio::spawn(user(api.clone(), token.clone(), until, calls.clone())))
        .collect();
    let step = frames.len() / options.cameras.max(1);
    let cameras: Vec<_> = links
        .into_iter()
        .enumerate()
        .map(|(index, link)| {
            tokio::spawn(camera(
                link,
                frames.clone(),
                index * step,
                count,
                options.fps,
                options.bundle,
            ))
        })
        .collect();
    let mut sent = Vec::new();
    for camera in cameras {
        sent.extend(camera.await?);
    }
    for user in users {
        user.await?;
    }
    let settling = Instant::now();
    tokio::time::timeout(Duration::from_secs(600), stack.settled())
        .await
        .context("the stack did not settle within 10 minutes")?;
    let settle_seconds = settling.elapsed().as_secs_f64();

    let sdk = seccom_local::sdk_config(stack.endpoints()).await;
    let store = seccom_aws::DetectionTables::new(aws_sdk_dynamodb::Client::new(&sdk), "FramesTable", "IntrusionsTable");
    let mut decisions = Vec::new();
    let mut results = 0;
    let mut last_result = began;
    let mut intrusions = 0;
    let mut duplicated = 0;
    // When each frame was stored, by camera and sequence number (one look-up per result).
    let stored_at: HashMap<(DeviceId, u64), DateTime<Utc>> = sent
        .iter()
        .filter_map(|s| Some(((s.camera, s.seq), s.stored_at?)))
        .collect();
    let camera_ids: BTreeSet<DeviceId> = sent.iter().map(|s| s.camera).collect();
    for camera in camera_ids {
        let records = store.frames_between(camera, 1, count).await?;
        for record in &records {
            results += 1;
            last_result = last_result.max(record.analysed_at);
            if let Some(stored) = stored_at.get(&(camera, record.seq)) {
                decisions.push((record.analysed_at - *stored).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
        let page = store
            .list_intrusions(
                IntrusionScope::Camera(camera),
                None,
                None,
                None,
                &PageRequest {
                    limit: MAX_LIMIT,
                    token: None,
                },
            )
            .await?;
        intrusions += page.items.len();
        for (index, a) in page.items.iter().enumerate() {
            duplicated += page.items[index + 1..]
                .iter()
                .filter(|b| a.first_seq <= b.last_seq && b.first_seq <= a.last_seq)
                .count();
        }
    }
    let stored = stored_at.len();
    let mut uploads: Vec<f64> = sent.iter().map(|s| s.took.as_secs_f64() * 1000.0).collect();
    let calls = std::mem::take(&mut *calls.lock().unwrap_or_else(|p| p.into_inner()));
    let mut api_durations = calls.durations;
    let elapsed = (last_result - began).num_milliseconds().max(1) as f64 / 1000.0;
    let report = LoadReport {
        cameras: options.cameras,
        fps: options.fps,
        seconds: options.seconds,
        users: options.users,
        bundle: options.bundle,
        fault_rate: options.faults.rate,
        frames_sent: sent.len(),
        frames_failed_to_send: sent.len() - stored,
        frames_with_result: results,
        frames_lost: stored.saturating_sub(results),
        frames_per_second: (results as f64 / elapsed * 10.0).round() / 10.0,
        decision_p50_ms: percentile(&mut decisions, 0.5),
        decision_p99_ms: percentile(&mut decisions, 0.99),
        upload_p50_ms: percentile(&mut uploads, 0.5),
        upload_p99_ms: percentile(&mut uploads, 0.99),
        api_requests: api_durations.len(),
        api_p50_ms: percentile(&mut api_durations, 0.5),
        api_p99_ms: percentile(&mut api_durations, 0.99),
        responses_5xx: calls.server_errors,
        intrusions,
        intrusions_duplicated: duplicated,
        faults_injected: stack.faults_injected(),
        settle_seconds: (settle_seconds * 10.0).round() / 10.0,
    };
    stack.stop().await;
    let _ = std::fs::remove_dir_all(&data);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short run with faults, its frames in bundles of three (the last one
    /// of two), so the load run keeps working; its figures are in docs/performance.md.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_run_with_faults_loses_doubles_and_fails_nothing() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let report = run(&LoadOptions {
            cameras: 2,
            fps: 2.0,
            seconds: 4,
            users: 1,
            bundle: 3,
            frames_dir: root.join(crate::demo::DEMO_FRAMES),
            template: root.join("template.yaml"),
            faults: FaultOptions {
                rate: 0.1,
                seed: 3,
                ..Default::default()
            },
        })
        .await
        .unwrap();
        assert_eq!(report.frames_sent, 16);
        assert_eq!(report.frames_with_result, 16, "{report:?}");
        assert_eq!(
            (
                report.frames_lost,
                report.frames_failed_to_send,
                report.responses_5xx,
                report.intrusions_duplicated
            ),
            (0, 0, 0, 0),
            "{report:?}"
        );
        assert_eq!(
            report.intrusions, 2,
            "one per camera: the footage shows people throughout"
        );
        assert!(report.api_requests > 0);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut values, 0.5), 50.0);
        assert_eq!(percentile(&mut values, 0.99), 99.0);
        assert_eq!(percentile(&mut [], 0.5), 0.0);
        assert_eq!(percentile(&mut [7.0], 0.99), 7.0);
    }
}
