//! `seccom edge`: the agent on a client's premises that connects real IP
//! cameras to SecCom. Per camera it takes the RTSP stream (or polls a snapshot
//! URL), records the encoded stream unchanged in a ring buffer on disk, samples
//! pictures at a low rate, sends only those with motion (and none while the site
//! is disarmed), heartbeats (faulty, with the reason, while the stream is down),
//! and answers clip requests from its recording. Its figures are printed as
//! JSON lines at an interval and on SIGUSR1.

pub mod config;
pub mod motion;
pub mod recorder;
mod source;
mod worker;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use seccom_domain::response::{Command, CommandAction};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use seccom_domain::detection::bundle::MAX_BUNDLE_FRAMES;

use crate::DeviceLink;
use config::{CameraConfig, EdgeConfig};
use recorder::{Recorded, Recorder};

/// What a camera's source hands its worker.
pub enum Input {
    /// A new stream starts: the decoder starts afresh.
    NewStream,
    /// One H.264 access unit, as it arrived.
    Unit(Recorded),
    /// One JPEG picture from a snapshot URL.
    Picture { captured_at_ms: i64, jpeg: Vec<u8> },
}

/// A sampled picture to send.
pub struct Sample {
    pub seq: u64,
    pub captured_at: DateTime<Utc>,
    pub jpeg: Vec<u8>,
}

/// A camera's running counts.
#[derive(Default)]
pub struct Figures {
    pub sampled: AtomicU64,
    pub sent: AtomicU64,
    /// Uploads made: frames sent alone, or bundles.
    pub uploads: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub skipped_no_motion: AtomicU64,
    pub skipped_disarmed: AtomicU64,
    pub dropped_stale: AtomicU64,
    pub decoded: AtomicU64,
    pub decode_micros: AtomicU64,
    pub reconnects: Arc<AtomicU64>,
    pub clips_uploaded: AtomicU64,
}

impl Figures {
    /// The counts as one JSON line's object.
    pub fn report(&self, camera: &str) -> serde_json::Value {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let decoded = get(&self.decoded);
        json!({
            "event": "edgeFigures",
            "cameraId": camera,
            "at": Utc::now(),
            "framesSampled": get(&self.sampled),
            "framesSent": get(&self.sent),
            "uploads": get(&self.uploads),
            "bytesSent": get(&self.bytes_sent),
            "skippedNoMotion": get(&self.skipped_no_motion),
            "skippedDisarmed": get(&self.skipped_disarmed),
            "droppedStale": get(&self.dropped_stale),
            "accessUnitsDecoded": decoded,
            "decodeMillisecondsPerUnit": if decoded == 0 { 0.0 } else { get(&self.decode_micros) as f64 / decoded as f64 / 1000.0 },
            "reconnects": self.reconnects.load(Ordering::Relaxed),
            "clipsUploaded": get(&self.clips_uploaded),
        })
    }
}

/// One running camera.
struct Camera {
    id: String,
    figures: Arc<Figures>,
}

/// Runs every configured camera until `stop`.
pub async fn run(config: EdgeConfig, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let mut cameras = Vec::new();
    let mut tasks = Vec::new();
    for camera in &config.cameras {
        let figures = Arc::new(Figures::default());
        cameras.push(Camera {
            id: camera.id.clone(),
            figures: figures.clone(),
        });
        tasks.push(tokio::spawn(run_camera(
            config.clone(),
            camera.clone(),
            figures,
            stop.clone(),
        )));
    }
    let print = |cameras: &[Camera]| {
        for camera in cameras {
            println!("{}", camera.figures.report(&camera.id));
        }
    };
    let mut every = tokio::time::interval(Duration::from_secs(config.figures_seconds.max(1)));
    every.tick().await;
    #[cfg(unix)]
    let mut asked = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())?;
    let mut stopping = stop.clone();
    loop {
        #[cfg(unix)]
        let on_request = asked.recv();
        #[cfg(not(unix))]
        let on_request = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = every.tick() => print(&cameras),
            _ = on_request => print(&cameras),
            _ = stopping.wait_for(|stopped| *stopped) => break,
        }
    }
    for task in tasks {
        task.await??;
    }
    print(&cameras);
    Ok(())
}

async fn run_camera(
    config: EdgeConfig,
    camera: CameraConfig,
    figures: Arc<Figures>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let link = DeviceLink::new(&config.api, &camera.id, &camera.credential()?);
    let (armed_sender, armed) = watch::channel(true);
    let dimensions = Arc::new(Mutex::new(None));
    let buffer = config.buffer_dir.join(&camera.id);
    let recorder = match camera.rtsp {
        Some(_) => Some(Recorder::open(
            &buffer,
            Duration::from_secs(camera.record_seconds),
            camera.record_mb * 1024 * 1024,
        )?),
        None => None,
    };
    let (samples_sender, samples) = mpsc::channel(16);
    let (units, inputs) = std::sync::mpsc::sync_channel(512);
    let worker = worker::Worker {
        camera: camera.id.clone(),
        fps: camera.fps,
        motion: camera.motion.clone(),
        recorder,
        dimensions: dimensions.clone(),
        armed,
        samples: samples_sender,
        figures: figures.clone(),
    };
    let worker = std::thread::Builder::new()
        .name(format!("edge-{}", camera.id))
        .spawn(move || worker.run(inputs))?;

    let heartbeats = tokio::spawn(heartbeat(
        link.clone(),
        Duration::from_secs(config.heartbeat_seconds.max(1)),
        armed_sender,
        ClipContext {
            buffer: buffer.clone(),
            dimensions,
            recording: camera.rtsp.is_some(),
            figures: figures.clone(),
        },
        stop.clone(),
    ));
    let uploads = tokio::spawn(upload(
        link.clone(),
        samples,
        Bundling {
            frames: camera.bundle_frames,
            wait: Duration::from_secs_f32(camera.bundle_seconds),
        },
        Duration::from_secs(config.max_frame_age_seconds),
        figures.clone(),
    ));
    match (&camera.rtsp, &camera.snapshot_url) {
        (Some(url), _) => {
            let reconnects = figures.reconnects.clone();
            source::rtsp(camera.clone(), url.clone(), link, units, reconnects, stop).await
        }
        (None, Some(url)) => source::snapshots(camera.clone(), url.clone(), link, units, stop).await,
        (None, None) => {}
    }
    // The source has stopped: the worker drains and ends, then the uploader.
    let _ = tokio::task::spawn_blocking(move || worker.join()).await;
    uploads.await?;
    heartbeats.await?;
    Ok(())
}

/// How a camera's pictures are grouped into uploads.
#[derive(Clone, Copy)]
struct Bundling {
    /// At most this many pictures per upload.
    frames: u64,
    /// The longest the first picture waits for the others.
    wait: Duration,
}

/// Sends sampled pictures, oldest first, alone or in bundles; a picture that
/// cannot be sent before it is `max_age` old is dropped and counted (the cloud
/// is unreachable).
async fn upload(
    link: DeviceLink,
    mut samples: mpsc::Receiver<Sample>,
    bundling: Bundling,
    max_age: Duration,
    figures: Arc<Figures>,
) {
    let mut next: Option<Sample> = None;
    loop {
        let first = match next.take() {
            Some(sample) => sample,
            None => match samples.recv().await {
                Some(sample) => sample,
                None => return,
            },
        };
        let (bundle, left) = gather(first, &mut samples, bundling).await;
        next = left;
        send(&link, bundle, max_age, &figures).await;
    }
}

/// The next upload: `first` and the pictures that arrive within `bundling.wait`
/// of it, up to `bundling.frames` within 16 consecutive numbers; a picture that
/// cannot join is handed back for the next upload.
async fn gather(
    first: Sample,
    samples: &mut mpsc::Receiver<Sample>,
    bundling: Bundling,
) -> (Vec<Sample>, Option<Sample>) {
    let mut bundle = vec![first];
    let deadline = tokio::time::Instant::now() + bundling.wait;
    while (bundle.len() as u64) < bundling.frames {
        let Ok(Some(sample)) = tokio::time::timeout_at(deadline, samples.recv()).await else {
            break;
        };
        if sample.seq.saturating_sub(bundle[0].seq) >= MAX_BUNDLE_FRAMES || sample.seq <= bundle[bundle.len() - 1].seq {
            return (bundle, Some(sample));
        }
        bundle.push(sample);
    }
    (bundle, None)
}

/// Sends one upload, retrying with a growing pause; the pictures grown too old are dropped.
async fn send(link: &DeviceLink, mut bundle: Vec<Sample>, max_age: Duration, figures: &Figures) {
    let mut pause = Duration::from_millis(250);
    loop {
        let fresh = |sample: &Sample| (Utc::now() - sample.captured_at).to_std().unwrap_or_default() <= max_age;
        let before = bundle.len();
        bundle.retain(fresh);
        figures
            .dropped_stale
            .fetch_add((before - bundle.len()) as u64, Ordering::Relaxed);
        if bundle.is_empty() {
            return;
        }
        let frames: Vec<(u64, DateTime<Utc>, Vec<u8>)> =
            bundle.iter().map(|s| (s.seq, s.captured_at, s.jpeg.clone())).collect();
        let bytes: u64 = bundle.iter().map(|s| s.jpeg.len() as u64).sum();
        match link.send_bundle(&frames).await {
            Ok(_) => {
                figures.sent.fetch_add(bundle.len() as u64, Ordering::Relaxed);
                figures.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
                figures.uploads.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(error) => {
                tracing::warn!(
                    camera = link.id(),
                    error = format!("{error:#}"),
                    "a frame upload failed; retrying"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// What answering a clip request needs.
#[derive(Clone)]
struct ClipContext {
    buffer: std::path::PathBuf,
    dimensions: Arc<Mutex<Option<(u16, u16)>>>,
    recording: bool,
    figures: Arc<Figures>,
}

/// Heartbeats until `stop`: learns the site's arming and takes waiting commands.
async fn heartbeat(
    link: DeviceLink,
    every: Duration,
    armed: watch::Sender<bool>,
    clips: ClipContext,
    mut stop: watch::Receiver<bool>,
) {
    let mut seen = HashSet::new();
    loop {
        match link.heartbeat().await {
            Ok(answer) => {
                armed.send_replace(answer.armed);
                for command in answer.commands {
                    if seen.insert(command.id.clone()) {
                        tokio::spawn(answer_command(link.clone(), clips.clone(), command));
                    }
                }
            }
            Err(error) => tracing::warn!(camera = link.id(), error = format!("{error:#}"), "heartbeat failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// Answers a clip request once its window has passed: the recording of the
/// window, from the keyframe at or before its start, uploaded as MP4, retried
/// until the upload URL expires.
async fn answer_command(link: DeviceLink, clips: ClipContext, command: Command) {
    let CommandAction::RecordClip {
        from,
        to,
        upload_url,
        upload_expires_at,
        upload_headers,
    } = command.action
    else {
        tracing::warn!(
            command = command.id,
            "a camera ignores commands other than clip requests"
        );
        return;
    };
    if !clips.recording {
        tracing::error!(
            command = command.id,
            "a snapshot camera records nothing: no clip can be sent"
        );
        return;
    }
    let wait = (to - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(2);
    tracing::info!(command = command.id, %from, %to, "clip requested; recording until the window ends");
    tokio::time::sleep(wait).await;
    let clip = {
        let (buffer, dimensions) = (
            clips.buffer.clone(),
            *clips.dimensions.lock().unwrap_or_else(|p| p.into_inner()),
        );
        tokio::task::spawn_blocking(move || clip_of(&buffer, from, to, dimensions)).await
    };
    let bytes = match clip {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            tracing::error!(
                command = command.id,
                error = format!("{error:#}"),
                "the clip cannot be made"
            );
            return;
        }
        Err(error) => {
            tracing::error!(command = command.id, %error, "the clip maker stopped");
            return;
        }
    };
    let mut pause = Duration::from_secs(2);
    while Utc::now() < upload_expires_at {
        match link.upload_clip(&upload_url, &upload_headers, bytes.clone()).await {
            Ok(()) => {
                clips.figures.clips_uploaded.fetch_add(1, Ordering::Relaxed);
                println!(
                    "{}",
                    json!({"event": "clipUploaded", "cameraId": link.id(), "intrusionId": command.intrusion_id,
                           "from": from, "to": to, "bytes": bytes.len()})
                );
                return;
            }
            Err(error) => {
                tracing::warn!(
                    command = command.id,
                    error = format!("{error:#}"),
                    "a clip upload failed; retrying"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        }
    }
    tracing::error!(
        command = command.id,
        "the clip's upload URL expired before it could be sent"
    );
}

fn clip_of(
    buffer: &Path,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    dimensions: Option<(u16, u16)>,
) -> anyhow::Result<Vec<u8>> {
    let dimensions = dimensions.ok_or_else(|| anyhow::anyhow!("no picture was decoded yet, so its size is unknown"))?;
    let units = recorder::between(buffer, from, to)?;
    recorder::to_mp4(&units, dimensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u64) -> Sample {
        Sample {
            seq,
            captured_at: Utc::now(),
            jpeg: Vec::new(),
        }
    }

    #[tokio::test]
    async fn pictures_are_gathered_up_to_the_bundle_size_and_within_sixteen_numbers() {
        let (sender, mut samples) = mpsc::channel(16);
        let bundling = Bundling {
            frames: 4,
            wait: Duration::from_secs(5),
        };
        for seq in [2, 3, 5, 6, 7, 30] {
            sender.send(sample(seq)).await.unwrap();
        }
        let (bundle, left) = gather(sample(1), &mut samples, bundling).await;
        assert_eq!(bundle.iter().map(|s| s.seq).collect::<Vec<_>>(), [1, 2, 3, 5]);
        assert!(left.is_none());
        let (bundle, left) = gather(samples.recv().await.unwrap(), &mut samples, bundling).await;
        assert_eq!(bundle.iter().map(|s| s.seq).collect::<Vec<_>>(), [6, 7]);
        assert_eq!(
            left.map(|s| s.seq),
            Some(30),
            "30 is 24 numbers after 6: the next bundle's"
        );
    }

    #[tokio::test]
    async fn a_bundle_goes_when_its_first_picture_has_waited_long_enough() {
        let (_sender, mut samples) = mpsc::channel(16);
        let bundling = Bundling {
            frames: 8,
            wait: Duration::from_millis(50),
        };
        let started = std::time::Instant::now();
        let (bundle, left) = gather(sample(1), &mut samples, bundling).await;
        assert_eq!((bundle.len(), left.is_none()), (1, true));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
