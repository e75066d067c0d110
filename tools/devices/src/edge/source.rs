//! Where a camera's pictures come from: an RTSP session (retina, H.264 over
//! RTP, interleaved on TCP by default), reconnected with backoff, whose access
//! units go to the camera's worker as they arrive; or, for cameras with
//! nothing else, an HTTP snapshot URL polled at the sampling rate.

use std::sync::mpsc::SyncSender;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use futures::StreamExt;
use retina::client::{Credentials, PlayOptions, SessionOptions, SetupOptions, Transport};
use retina::codec::{CodecItem, FrameFormat};
use tokio::sync::watch;

use super::Input;
use super::config::CameraConfig;
use super::recorder::Recorded;
use crate::DeviceLink;

/// How long a stream may stay silent before it counts as dropped.
const SILENCE: Duration = Duration::from_secs(10);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The RTSP URL without credentials, and the credentials (from the URL or the configuration).
fn url_and_credentials(camera: &CameraConfig, raw: &str) -> anyhow::Result<(url::Url, Option<Credentials>)> {
    let mut url = url::Url::parse(raw).with_context(|| format!("{raw:?} is not a URL"))?;
    if url.scheme() != "rtsp" {
        bail!("{raw:?} is not an rtsp:// URL");
    }
    let in_url = (!url.username().is_empty()).then(|| Credentials {
        username: percent_encoding::percent_decode_str(url.username())
            .decode_utf8_lossy()
            .into_owned(),
        password: percent_encoding::percent_decode_str(url.password().unwrap_or_default())
            .decode_utf8_lossy()
            .into_owned(),
    });
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let configured = camera.username.clone().map(|username| Credentials {
        username,
        password: camera.password.clone().unwrap_or_default(),
    });
    Ok((url, configured.or(in_url)))
}

/// One RTSP session, until it fails or stops; `Ok` only when stopped.
async fn session(
    camera: &CameraConfig,
    raw_url: &str,
    link: &DeviceLink,
    units: &SyncSender<Input>,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (url, creds) = url_and_credentials(camera, raw_url)?;
    let options = SessionOptions::default().creds(creds).user_agent("SecCom edge".into());
    let mut described = retina::client::Session::describe(url, options)
        .await
        .context("the camera refused DESCRIBE")?;
    let video = described
        .streams()
        .iter()
        .position(|s| s.media() == "video")
        .context("the camera offers no video stream")?;
    let encoding = described.streams()[video].encoding_name().to_ascii_lowercase();
    if encoding != "h264" {
        bail!(
            "the camera sends {encoding}; the edge samples and records H.264 only: \
             choose the camera's H.264 stream (most cameras offer one as a main or sub stream)"
        );
    }
    let transport: Transport = camera.transport.parse().context("transport is tcp or udp")?;
    described
        .setup(
            video,
            SetupOptions::default()
                .transport(transport)
                .frame_format(FrameFormat::SIMPLE),
        )
        .await
        .context("the camera refused SETUP")?;
    let mut frames = described
        .play(PlayOptions::default())
        .await
        .context("the camera refused PLAY")?
        .demuxed()
        .context("the stream cannot be depacketised")?;
    let _ = units.send(Input::NewStream);
    let mut healthy = false;
    loop {
        let item = tokio::select! {
            item = tokio::time::timeout(SILENCE, frames.next()) => item,
            _ = stop.wait_for(|stopped| *stopped) => return Ok(()),
        };
        let item = match item {
            Err(_) => bail!("no picture for {} s", SILENCE.as_secs()),
            Ok(None) => bail!("the camera ended the stream"),
            Ok(Some(item)) => item.context("the stream broke")?,
        };
        if let CodecItem::VideoFrame(frame) = item {
            if !healthy {
                healthy = true;
                link.set_fault(None);
                tracing::info!(camera = camera.id, "streaming");
            }
            let unit = Recorded {
                captured_at_ms: Utc::now().timestamp_millis(),
                keyframe: frame.is_random_access_point(),
                data: frame.into_data(),
            };
            if units.try_send(Input::Unit(unit)).is_err() {
                tracing::warn!(camera = camera.id, "the worker falls behind; an access unit is dropped");
            }
        }
    }
}

/// Streams from the camera until `stop`, reconnecting with backoff; while the
/// stream is down the camera's heartbeats report it faulty, with the reason.
pub async fn rtsp(
    camera: CameraConfig,
    raw_url: String,
    link: DeviceLink,
    units: SyncSender<Input>,
    reconnects: std::sync::Arc<std::sync::atomic::AtomicU64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = std::time::Instant::now();
        match session(&camera, &raw_url, &link, &units, &mut stop).await {
            Ok(()) => return,
            Err(error) => {
                let reason = format!("{error:#}");
                tracing::warn!(camera = camera.id, reason, "the RTSP stream is down; reconnecting");
                link.set_fault(Some(format!("RTSP stream down: {reason}")));
                reconnects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        if started.elapsed() > MAX_BACKOFF {
            backoff = Duration::from_secs(1);
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Polls a snapshot URL at the sampling rate until `stop`.
pub async fn snapshots(
    camera: CameraConfig,
    url: String,
    link: DeviceLink,
    units: SyncSender<Input>,
    mut stop: watch::Receiver<bool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a plain HTTP client builds");
    let mut ticker = tokio::time::interval(Duration::from_secs_f32(1.0 / camera.fps));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let fetched = async {
            let response = http.get(&url).send().await?.error_for_status()?;
            anyhow::Ok(response.bytes().await?.to_vec())
        }
        .await;
        match fetched {
            Ok(jpeg) => {
                link.set_fault(None);
                let _ = units.try_send(Input::Picture {
                    captured_at_ms: Utc::now().timestamp_millis(),
                    jpeg,
                });
            }
            Err(error) => link.set_fault(Some(format!("the snapshot URL failed: {error:#}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera() -> CameraConfig {
        toml::from_str("id = \"c\"\ncredential = \"x\"\nrtsp = \"rtsp://h/p\"").unwrap()
    }

    #[test]
    fn credentials_leave_the_url_and_the_configured_ones_win() {
        let (url, creds) = url_and_credentials(&camera(), "rtsp://admin:p%40ss@192.0.2.1:554/Streaming/101").unwrap();
        assert_eq!(url.as_str(), "rtsp://192.0.2.1:554/Streaming/101");
        assert_eq!(creds.unwrap().password, "p@ss");
        let mut configured = camera();
        configured.username = Some("viewer".into());
        let (_, creds) = url_and_credentials(&configured, "rtsp://admin:x@192.0.2.1/s").unwrap();
        assert_eq!(creds.unwrap().username, "viewer");
        assert!(url_and_credentials(&camera(), "http://192.0.2.1/s").is_err());
    }
}
