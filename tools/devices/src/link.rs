//! A device's side of the devices API: frames (asking for a presigned upload,
//! then uploading straight to S3, as a real camera does), heartbeats that hand
//! over waiting commands, and the endpoint commands are pushed to.

use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use seccom_domain::response::Command;
use serde::Deserialize;

/// How many times an upload waits out the camera's upload budget before giving up.
const MAX_BUDGET_WAITS: u32 = 30;

/// Where to upload one frame, as the devices API answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameUpload {
    pub key: String,
    pub upload_url: String,
    pub headers: std::collections::BTreeMap<String, String>,
}

/// What SecCom answers a heartbeat with.
#[derive(Debug, Deserialize)]
pub struct Heartbeat {
    /// The commands that were waiting for the device.
    pub commands: Vec<Command>,
    /// Whether the device's site is armed: a camera sends no frames while it is not.
    pub armed: bool,
}

/// One device talking to the devices API.
#[derive(Clone)]
pub struct DeviceLink {
    http: reqwest::Client,
    api: String,
    id: String,
    credential: String,
    /// What is wrong with the device, told with every heartbeat until it clears.
    fault: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

async fn refused(what: &str, response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    anyhow::anyhow!("{what}: {status} {}", response.text().await.unwrap_or_default())
}

impl DeviceLink {
    /// A device with its id and credential, using the API at `api` (the ALB's URL).
    pub fn new(api: &str, id: &str, credential: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            api: api.trim_end_matches('/').to_owned(),
            id: id.to_owned(),
            credential: credential.to_owned(),
            fault: Default::default(),
        }
    }

    /// Reports the device faulty (with why) or well again (`None`) from the next heartbeat on.
    pub fn set_fault(&self, reason: Option<String>) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = reason;
    }

    /// The device's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key SecCom signs this device's commands with: the SHA-256 of its credential, in hex.
    pub fn signing_key(&self) -> Vec<u8> {
        seccom_domain::credential::hash(&self.credential).into_bytes()
    }

    /// Uploads one frame with its sequence number and capture time; returns its object key.
    pub async fn send_frame(&self, seq: u64, captured_at: DateTime<Utc>, frame: Vec<u8>) -> anyhow::Result<String> {
        self.upload_frames(seq, 1, captured_at, frame).await
    }

    /// Uploads frames (sequence number, capture time, bytes; in order, within 16
    /// consecutive numbers) as one bundle, or as a single frame when there is one;
    /// returns the object key.
    pub async fn send_bundle(&self, frames: &[(u64, DateTime<Utc>, Vec<u8>)]) -> anyhow::Result<String> {
        let (Some((first, captured_at, _)), Some((last, _, _))) = (frames.first(), frames.last()) else {
            anyhow::bail!("a bundle needs frames");
        };
        if frames.len() == 1 {
            return self.send_frame(*first, *captured_at, frames[0].2.clone()).await;
        }
        let members: Vec<(u64, DateTime<Utc>, &[u8])> =
            frames.iter().map(|(s, at, b)| (*s, *at, b.as_slice())).collect();
        let bundle = seccom_domain::detection::bundle::pack(&members).context("cannot pack the bundle")?;
        self.upload_frames(*first, last - first + 1, *captured_at, bundle).await
    }

    async fn upload_frames(
        &self,
        seq: u64,
        frames: u64,
        captured_at: DateTime<Utc>,
        body: Vec<u8>,
    ) -> anyhow::Result<String> {
        let what = match frames {
            1 => format!("frame {seq}"),
            _ => format!("the bundle of frames {seq}-{}", seq + frames - 1),
        };
        // Beyond its upload budget a camera is told when to ask again (429,
        // `Retry-After`): it waits, as a camera catching up after an outage does.
        let mut waits = 0;
        let response = loop {
            let response = self
                .http
                .post(format!("{}/api/devices/cameras/{}/frames", self.api, self.id))
                .bearer_auth(&self.credential)
                .json(&serde_json::json!({ "seq": seq, "capturedAt": captured_at, "frames": frames, "bytes": body.len() }))
                .send()
                .await
                .context("the devices API cannot be reached")?;
            if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS || waits == MAX_BUDGET_WAITS {
                break response;
            }
            let seconds = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1)
                .clamp(1, 60);
            tracing::info!(seconds, "over the upload budget; waiting");
            tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
            waits += 1;
        };
        if !response.status().is_success() {
            return Err(refused(&format!("the devices API refused {what}"), response).await);
        }
        let upload: FrameUpload = response.json().await.context("the devices API answered unexpectedly")?;
        let mut put = self.http.put(&upload.upload_url).body(body);
        for (name, value) in &upload.headers {
            put = put.header(name, value);
        }
        let stored = put.send().await.context("S3 cannot be reached")?;
        // A frame's URL is single-use: 412 says an earlier attempt stored it.
        if !stored.status().is_success() && stored.status() != reqwest::StatusCode::PRECONDITION_FAILED {
            return Err(refused(&format!("S3 refused {what}"), stored).await);
        }
        Ok(upload.key)
    }

    /// Uploads files as consecutive frames from `first_seq`, `bundle` per upload,
    /// captured now (or at `captured_at`); prints one JSON line per upload.
    pub async fn send_files(
        &self,
        first_seq: u64,
        captured_at: Option<DateTime<Utc>>,
        bundle: u64,
        files: &[impl AsRef<Path>],
    ) -> anyhow::Result<()> {
        let mut seq = first_seq;
        for chunk in files.chunks(usize::try_from(bundle.max(1)).unwrap_or(1)) {
            let mut frames = Vec::with_capacity(chunk.len());
            for file in chunk {
                let file = file.as_ref();
                let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
                frames.push((seq, captured_at.unwrap_or_else(Utc::now), bytes));
                seq += 1;
            }
            let key = self.send_bundle(&frames).await?;
            let files: Vec<&Path> = chunk.iter().map(AsRef::as_ref).collect();
            println!(
                "{}",
                serde_json::json!({ "files": files, "firstSeq": frames[0].0, "key": key })
            );
        }
        Ok(())
    }

    /// Reports the device alive; answers with the commands that were waiting for it and the site's arming.
    pub async fn heartbeat(&self) -> anyhow::Result<Heartbeat> {
        let request = self
            .http
            .post(format!("{}/api/devices/{}/heartbeat", self.api, self.id))
            .bearer_auth(&self.credential);
        let fault = self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let response = match fault {
            Some(reason) => request.json(&serde_json::json!({ "status": "faulty", "reason": reason })),
            None => request,
        }
        .send()
        .await
        .context("the devices API cannot be reached")?;
        if !response.status().is_success() {
            return Err(refused("the devices API refused a heartbeat", response).await);
        }
        response.json().await.context("the devices API answered unexpectedly")
    }

    /// Tells SecCom where to push commands.
    pub async fn register_endpoint(&self, url: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .put(format!("{}/api/devices/{}/endpoint", self.api, self.id))
            .bearer_auth(&self.credential)
            .json(&serde_json::json!({ "url": url }))
            .send()
            .await
            .context("the devices API cannot be reached")?;
        if !response.status().is_success() {
            return Err(refused("the devices API refused the endpoint", response).await);
        }
        Ok(())
    }

    /// Uploads a clip to the presigned URL of a clip request, with the headers it was signed with.
    pub async fn upload_clip(
        &self,
        url: &str,
        headers: &std::collections::BTreeMap<String, String>,
        clip: Vec<u8>,
    ) -> anyhow::Result<()> {
        let mut request = self.http.put(url);
        if !headers.keys().any(|name| name.eq_ignore_ascii_case("content-type")) {
            request = request.header(reqwest::header::CONTENT_TYPE, "video/mp4");
        }
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.body(clip).send().await.context("S3 cannot be reached")?;
        if response.status() == reqwest::StatusCode::PRECONDITION_FAILED {
            // Stored by an earlier attempt whose answer was lost: a clip is written once.
            return Ok(());
        }
        if !response.status().is_success() {
            bail!("{}", refused("S3 refused the clip", response).await);
        }
        Ok(())
    }
}
