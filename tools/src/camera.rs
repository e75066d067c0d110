//! A camera's side of the devices API: ask for a presigned upload, then upload
//! the frame straight to S3, as a real camera does.

use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Where to upload one frame, as the devices API answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameUpload {
    pub key: String,
    pub upload_url: String,
    pub headers: std::collections::BTreeMap<String, String>,
}

/// One camera talking to the devices API.
pub struct Camera {
    http: reqwest::Client,
    api: String,
    id: String,
    credential: String,
}

impl Camera {
    /// A camera with its id and credential, using the API at `api` (the ALB's URL).
    pub fn new(api: &str, id: &str, credential: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            api: api.trim_end_matches('/').to_owned(),
            id: id.to_owned(),
            credential: credential.to_owned(),
        }
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
            let status = response.status();
            bail!(
                "the devices API refused frame {seq}: {status} {}",
                response.text().await.unwrap_or_default()
            );
        }
        let upload: FrameUpload = response.json().await.context("the devices API answered unexpectedly")?;
        let mut put = self.http.put(&upload.upload_url).body(frame);
        for (name, value) in &upload.headers {
            put = put.header(name, value);
        }
        let stored = put.send().await.context("S3 cannot be reached")?;
        if !stored.status().is_success() {
            bail!(
                "S3 refused frame {seq}: {} {}",
                stored.status(),
                stored.text().await.unwrap_or_default()
            );
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
}
