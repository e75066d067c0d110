//! `edge.toml`: the cameras one edge box serves. Each camera has its SecCom
//! id and credential (in the file, an environment variable, or a file), where
//! its pictures come from (an RTSP URL, or an HTTP snapshot URL for cameras
//! that offer nothing else), the sampling rate, motion settings and how much
//! recording to keep.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use seccom_domain::detection::bundle::MAX_BUNDLE_FRAMES;
use serde::Deserialize;

use super::motion::MotionSettings;

fn default_fps() -> f32 {
    2.0
}
fn default_record_seconds() -> u64 {
    420
}
fn default_record_mb() -> u64 {
    512
}
fn default_heartbeat_seconds() -> u64 {
    30
}
fn default_figures_seconds() -> u64 {
    60
}
fn default_max_frame_age_seconds() -> u64 {
    10
}
fn one_frame() -> u64 {
    1
}
fn default_bundle_seconds() -> f32 {
    1.5
}
fn default_transport() -> String {
    "tcp".into()
}

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeConfig {
    /// SecCom's address (the load balancer's URL).
    pub api: String,
    /// Where recordings are kept, a folder per camera.
    pub buffer_dir: PathBuf,
    #[serde(default = "default_heartbeat_seconds")]
    pub heartbeat_seconds: u64,
    /// How often the figures are printed (they are also printed on SIGUSR1).
    #[serde(default = "default_figures_seconds")]
    pub figures_seconds: u64,
    /// Frames that could not be sent within this many seconds are dropped (and counted).
    #[serde(default = "default_max_frame_age_seconds")]
    pub max_frame_age_seconds: u64,
    #[serde(rename = "camera")]
    pub cameras: Vec<CameraConfig>,
}

/// One camera.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// The camera's SecCom id (from its registration).
    pub id: String,
    pub credential: Option<String>,
    /// The environment variable holding the credential.
    pub credential_env: Option<String>,
    /// The file holding the credential.
    pub credential_file: Option<PathBuf>,
    /// `rtsp://[user:password@]host[:port]/path` (the path is in the camera's manual).
    pub rtsp: Option<String>,
    /// RTSP user and password, when not in the URL.
    pub username: Option<String>,
    pub password: Option<String>,
    /// `tcp` (RTP interleaved on the RTSP connection, the default) or `udp`.
    #[serde(default = "default_transport")]
    pub transport: String,
    /// For cameras without RTSP: a URL that answers one JPEG picture.
    pub snapshot_url: Option<String>,
    /// Pictures sampled per second.
    #[serde(default = "default_fps")]
    pub fps: f32,
    #[serde(default)]
    pub motion: MotionSettings,
    /// Seconds of recording kept (at least the clip window: 3 minutes before and after).
    #[serde(default = "default_record_seconds")]
    pub record_seconds: u64,
    /// The most disk the recording may use, in MB.
    #[serde(default = "default_record_mb")]
    pub record_mb: u64,
    /// Up to this many sampled pictures (within 16 consecutive numbers) go up as
    /// one bundle: one upload, one object and one detector run instead of one
    /// each. 1 (the default) sends each picture alone.
    #[serde(default = "one_frame")]
    pub bundle_frames: u64,
    /// The longest a picture waits for others to join its bundle, in seconds:
    /// the delay bundling adds to an alarm (1.5 by default).
    #[serde(default = "default_bundle_seconds")]
    pub bundle_seconds: f32,
}

impl EdgeConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let config: Self =
            toml::from_str(&text).with_context(|| format!("{} is not a valid edge configuration", path.display()))?;
        config.check()?;
        Ok(config)
    }

    /// Refuses what cannot work, naming the camera.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.cameras.is_empty() {
            bail!("no [[camera]] is configured");
        }
        for camera in &self.cameras {
            let name = &camera.id;
            match (&camera.rtsp, &camera.snapshot_url) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => bail!("camera {name}: give either rtsp or snapshot_url"),
            }
            if !(camera.fps > 0.0 && camera.fps <= 10.0) {
                bail!("camera {name}: fps must be above 0 and at most 10");
            }
            if !(1..=MAX_BUNDLE_FRAMES).contains(&camera.bundle_frames) {
                bail!("camera {name}: bundle_frames is 1 to {MAX_BUNDLE_FRAMES}");
            }
            if !(camera.bundle_seconds >= 0.0 && camera.bundle_seconds <= 10.0) {
                bail!("camera {name}: bundle_seconds is 0 to 10");
            }
            if !["tcp", "udp"].contains(&camera.transport.as_str()) {
                bail!("camera {name}: transport is tcp or udp");
            }
            camera.credential()?;
        }
        Ok(())
    }
}

impl CameraConfig {
    /// A camera with its credential and every default, still without a source.
    pub fn new(id: &str, credential: &str) -> Self {
        Self {
            id: id.to_owned(),
            credential: Some(credential.to_owned()),
            credential_env: None,
            credential_file: None,
            rtsp: None,
            username: None,
            password: None,
            transport: default_transport(),
            snapshot_url: None,
            fps: default_fps(),
            motion: MotionSettings::default(),
            record_seconds: default_record_seconds(),
            record_mb: default_record_mb(),
            bundle_frames: one_frame(),
            bundle_seconds: default_bundle_seconds(),
        }
    }

    /// The credential, from wherever it is configured.
    pub fn credential(&self) -> anyhow::Result<String> {
        let name = &self.id;
        let found = match (&self.credential, &self.credential_env, &self.credential_file) {
            (Some(value), None, None) => value.clone(),
            (None, Some(variable), None) => std::env::var(variable)
                .with_context(|| format!("camera {name}: the environment variable {variable} is not set"))?,
            (None, None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("camera {name}: cannot read {}", file.display()))?,
            _ => bail!("camera {name}: give one of credential, credential_env or credential_file"),
        };
        Ok(found.trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_two_cameras_reads_with_defaults() {
        let config: EdgeConfig = toml::from_str(
            r#"
            api = "https://seccom.example"
            buffer_dir = "/var/lib/seccom-edge"
            [[camera]]
            id = "cam-1"
            credential = "sck_cam-1_secret"
            rtsp = "rtsp://user:pass@192.0.2.10:554/Streaming/Channels/101"
            [camera.motion]
            hold_seconds = 5
            ignore = [[[0.0, 0.0], [1.0, 0.0], [1.0, 0.1]]]
            [[camera]]
            id = "cam-2"
            credential_env = "PATH"
            snapshot_url = "http://192.0.2.11/snapshot.jpg"
            fps = 1
            "#,
        )
        .unwrap();
        config.check().unwrap();
        assert_eq!(config.cameras[0].fps, 2.0);
        assert_eq!(config.cameras[0].transport, "tcp");
        assert_eq!(config.cameras[0].motion.hold_seconds, 5.0);
        assert_eq!(config.cameras[0].motion.threshold, 25.0);
        assert_eq!(config.cameras[1].record_seconds, 420);
    }

    #[test]
    fn a_camera_needs_one_source_and_one_credential() {
        let mut config: EdgeConfig = toml::from_str(
            r#"
            api = "http://127.0.0.1:1"
            buffer_dir = "buffer"
            [[camera]]
            id = "cam"
            rtsp = "rtsp://127.0.0.1/x"
            snapshot_url = "http://127.0.0.1/x.jpg"
            credential = "x"
            "#,
        )
        .unwrap();
        assert!(
            config
                .check()
                .unwrap_err()
                .to_string()
                .contains("either rtsp or snapshot_url")
        );
        config.cameras[0].snapshot_url = None;
        config.cameras[0].credential_env = Some("PATH".into());
        assert!(config.check().unwrap_err().to_string().contains("one of credential"));
    }
}
