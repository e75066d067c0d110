//! `seccom camera run`: a live camera. It plays a folder of JPEG frames at a
//! frame rate, keeps every frame it captured in a ring buffer on disk (named
//! by capture time and sequence number), uploads each frame through the
//! devices API, and answers a clip request by encoding the buffered frames of
//! the window into an MP4 once the window's end has passed, then uploading it
//! to the request's presigned URL.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use seccom_domain::response::{Command, CommandAction};
use tokio::sync::{Semaphore, watch};

use super::clip::{self, ClipFrame};
use super::inbox::{Connection, DeviceOptions};
use super::link::DeviceLink;

/// Uploads running at once; a slow upload must not stall the capture clock.
const PARALLEL_UPLOADS: usize = 4;

/// How a simulated camera records.
#[derive(Clone, Debug)]
pub struct CameraOptions {
    pub device: DeviceOptions,
    /// The JPEG frames to play, in order.
    pub frames: Vec<PathBuf>,
    pub fps: f32,
    /// Where the ring buffer lives.
    pub buffer_dir: PathBuf,
    /// How much recording the buffer keeps (at least the 6-minute clip window).
    pub buffer_for: Duration,
    /// Play the frames once instead of looping (then keep answering commands).
    pub once: bool,
}

/// A buffered frame's file name: capture time in milliseconds, then sequence number.
fn buffer_name(captured_at: DateTime<Utc>, seq: u64) -> String {
    format!("{:013}-{seq:020}.jpg", captured_at.timestamp_millis())
}

/// The capture time a buffered frame's name records.
fn captured_at_of(path: &Path) -> Option<DateTime<Utc>> {
    let name = path.file_name()?.to_str()?;
    let millis: i64 = name.split_once('-')?.0.parse().ok()?;
    DateTime::from_timestamp_millis(millis)
}

/// The buffered frames captured within `from`..=`to`, oldest first.
pub fn buffered_between(buffer_dir: &Path, from: DateTime<Utc>, to: DateTime<Utc>) -> anyhow::Result<Vec<PathBuf>> {
    let mut frames: Vec<(DateTime<Utc>, PathBuf)> = std::fs::read_dir(buffer_dir)
        .with_context(|| format!("cannot read the buffer {}", buffer_dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter_map(|path| captured_at_of(&path).map(|at| (at, path)))
        .filter(|(at, _)| *at >= from && *at <= to)
        .collect();
    frames.sort();
    Ok(frames.into_iter().map(|(_, path)| path).collect())
}

/// The JPEG files of a folder, in name order.
pub fn frames_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut frames: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the frames folder {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    frames.sort();
    anyhow::ensure!(!frames.is_empty(), "{} holds no JPEG frames", dir.display());
    Ok(frames)
}

/// The next sequence number, kept in the buffer so a restarted camera never reuses one.
fn next_seq(buffer_dir: &Path) -> u64 {
    std::fs::read_to_string(buffer_dir.join("next-seq"))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1)
}

/// Runs a camera until `stop`.
pub async fn run(options: CameraOptions, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    anyhow::ensure!(!options.frames.is_empty(), "no frames to play");
    anyhow::ensure!(
        options.fps > 0.0 && options.fps <= 30.0,
        "--fps must be above 0 and at most 30"
    );
    std::fs::create_dir_all(&options.buffer_dir)
        .with_context(|| format!("cannot create {}", options.buffer_dir.display()))?;
    let mut connection = Connection::open(&options.device, stop.clone()).await?;
    tracing::info!(
        camera = options.device.id,
        endpoint = connection.endpoint,
        "camera ready"
    );
    let link = connection.link.clone();
    let armed = connection.armed.clone();
    let uploader = link.clone();
    let answering = options.clone();
    let mut answer_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            let (command, via) = tokio::select! {
                received = connection.commands.recv() => match received {
                    Some(received) => received,
                    None => return,
                },
                _ = answer_stop.wait_for(|stopped| *stopped) => return,
            };
            tracing::info!(command = command.id, ?via, "command received");
            tokio::spawn(answer(link.clone(), answering.clone(), command));
        }
    });

    let uploads = Arc::new(Semaphore::new(PARALLEL_UPLOADS));
    let mut ticker = tokio::time::interval(Duration::from_secs_f32(1.0 / options.fps));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq = next_seq(&options.buffer_dir);
    let mut played = 0usize;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return Ok(()),
        }
        if options.once && played == options.frames.len() {
            continue;
        }
        let source = &options.frames[played % options.frames.len()];
        played += 1;
        let bytes = tokio::fs::read(source)
            .await
            .with_context(|| format!("cannot read {}", source.display()))?;
        let captured_at = Utc::now();
        tokio::fs::write(options.buffer_dir.join(buffer_name(captured_at, seq)), &bytes).await?;
        std::fs::write(options.buffer_dir.join("next-seq"), (seq + 1).to_string())?;
        if !*armed.borrow() {
            // Recorded for clips, but not sent: nothing counts while the site is disarmed,
            // and each frame sent costs. The skipped number is a gap the rule sees.
            seq += 1;
            continue;
        }
        let permit = uploads.clone().acquire_owned().await?;
        let link = uploader.clone();
        let frame_seq = seq;
        tokio::spawn(async move {
            match link.send_frame(frame_seq, captured_at, bytes).await {
                Ok(key) => tracing::debug!(seq = frame_seq, key, "frame uploaded"),
                Err(error) => tracing::warn!(seq = frame_seq, error = format!("{error:#}"), "frame upload failed"),
            }
            drop(permit);
        });
        seq += 1;
        prune(
            &options.buffer_dir,
            captured_at - TimeDelta::from_std(options.buffer_for)?,
        );
    }
}

/// Drops buffered frames captured before `before`.
fn prune(buffer_dir: &Path, before: DateTime<Utc>) {
    let Ok(entries) = std::fs::read_dir(buffer_dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if captured_at_of(&path).is_some_and(|at| at < before) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Acts on one command: a clip request waits for the window's end, then uploads the clip.
async fn answer(link: DeviceLink, options: CameraOptions, command: Command) {
    let CommandAction::RecordClip {
        from,
        to,
        upload_url,
        upload_headers,
        ..
    } = command.action
    else {
        tracing::warn!(
            command = command.id,
            "a camera ignores commands other than clip requests"
        );
        return;
    };
    let frame_interval = Duration::from_secs_f32(1.0 / options.fps);
    let wait = (to - Utc::now()).to_std().unwrap_or_default() + frame_interval * 2;
    tracing::info!(command = command.id, %from, %to, wait_seconds = wait.as_secs(), "clip requested; recording until the window ends");
    tokio::time::sleep(wait).await;
    let result = async {
        let paths = buffered_between(&options.buffer_dir, from, to)?;
        let fps = options.fps;
        let (frames, bytes) = tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, Vec<u8>)> {
            let mut frames = Vec::with_capacity(paths.len());
            for path in &paths {
                let image = image::open(path)
                    .with_context(|| format!("cannot decode {}", path.display()))?
                    .to_rgb8();
                let captured_at = captured_at_of(path).context("a buffered frame has no capture time")?;
                frames.push(ClipFrame { captured_at, image });
            }
            Ok((frames.len(), clip::encode(&frames, from, to, fps)?))
        })
        .await??;
        let size = bytes.len();
        link.upload_clip(&upload_url, &upload_headers, bytes).await?;
        anyhow::Ok((frames, size))
    }
    .await;
    match result {
        Ok((frames, size)) => println!(
            "{}",
            serde_json::json!({
                "event": "clipUploaded",
                "cameraId": link.id(),
                "intrusionId": command.intrusion_id,
                "from": from,
                "to": to,
                "frames": frames,
                "bytes": size,
            })
        ),
        Err(error) => tracing::error!(
            command = command.id,
            error = format!("{error:#}"),
            "the clip could not be delivered"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffered_frames_are_found_by_capture_time() {
        let dir = tempfile::tempdir().unwrap();
        let start = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        for i in 0..5 {
            let at = start + TimeDelta::seconds(i);
            std::fs::write(dir.path().join(buffer_name(at, i as u64 + 1)), b"x").unwrap();
        }
        let found = buffered_between(dir.path(), start + TimeDelta::seconds(1), start + TimeDelta::seconds(3)).unwrap();
        assert_eq!(found.len(), 3);
        prune(dir.path(), start + TimeDelta::seconds(2));
        assert_eq!(
            buffered_between(dir.path(), start, start + TimeDelta::seconds(9))
                .unwrap()
                .len(),
            3
        );
    }
}
