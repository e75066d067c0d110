//! A device's side of the devices API: frames (asking for a presigned upload,
//! then uploading straight to S3, as a real camera does), heartbeats that hand
//! over waiting commands, and the endpoint commands are pushed to.

use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use seccom_domain::response::Command;
use serde::Deserialize;

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
        let response = self
            .http
            .post(format!("{}/api/devices/cameras/{}/frames", self.api, self.id))
            .bearer_auth(&self.credential)
            .json(&serde_json::json!({ "seq": seq, "capturedAt": captured_at }))
            .send()
            .await
            .context("the devices API cannot be reached")?;
        if !response.status().is_success() {
            return Err(refused(&format!("the devices API refused frame {seq}"), response).await);
        }
        let upload: FrameUpload = response.json().await.context("the devices API answered unexpectedly")?;
        let mut put = self.http.put(&upload.upload_url).body(frame);
        for (name, value) in &upload.headers {
            put = put.header(name, value);
        }
        let stored = put.send().await.context("S3 cannot be reached")?;
        if !stored.status().is_success() {
            return Err(refused(&format!("S3 refused frame {seq}"), stored).await);
        }
        Ok(upload.key)
    }

    /// Uploads files as consecutive frames from `first_seq`, captured now; prints one JSON line per frame.
    pub async fn send_files(
        &self,
        first_seq: u64,
        captured_at: Option<DateTime<Utc>>,
        files: &[impl AsRef<Path>],
    ) -> anyhow::Result<()> {
        for (offset, file) in files.iter().enumerate() {
            let file = file.as_ref();
            let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let seq = first_seq + offset as u64;
            let key = self
                .send_frame(seq, captured_at.unwrap_or_else(Utc::now), bytes)
                .await?;
            println!("{}", serde_json::json!({ "file": file, "seq": seq, "key": key }));
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
