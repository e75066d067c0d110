//! The clip archiver: when a camera's clip lands in the clips bucket, the
//! intrusion's clip is marked as stored, so the intrusion shows it (and stops
//! counting down to "missing").

use aws_config::SdkConfig;
use aws_lambda_events::s3::S3Event;
use chrono::Utc;
use std::sync::Arc;

use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::error::DomainError;
use seccom_domain::response::{Clip, ResponseStore};
use seccom_runtime::runner::EventFunction;
use serde::Serialize;

/// What happened to one notified object.
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum ClipReport {
    /// The clip of a requested intrusion was recorded as stored.
    Stored { key: String },
    /// An object nobody asked for (wrong layout or no request); left alone and logged.
    Unexpected { key: String },
    /// A clip larger than any 6-minute camera recording; not accepted as the intrusion's clip.
    TooLarge { key: String, size: u64 },
}

/// The largest clip accepted: 6 minutes at 8 Mbit/s is 360 MB.
pub const MAX_CLIP_BYTES: u64 = 400 * 1024 * 1024;

/// What the function holds between invocations.
pub struct ClipArchiver {
    table: Arc<dyn ResponseStore>,
}

impl ClipArchiver {
    /// Connects to the responses table named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        Ok(Self {
            table: seccom_aws::Stores::new(sdk, config).responses()?,
        })
    }
}

impl EventFunction for ClipArchiver {
    type Event = S3Event;
    type Output = Vec<ClipReport>;
    type Error = DomainError;

    /// Records every clip of the notification; only a store failure fails the invocation (and is retried).
    async fn handle(&self, event: S3Event) -> Result<Vec<ClipReport>, DomainError> {
        let mut reports = Vec::with_capacity(event.records.len());
        for record in &event.records {
            let key = seccom_domain::s3_key::from_notification(record.s3.object.key.as_deref().unwrap_or_default());
            let size = record.s3.object.size.unwrap_or_default().max(0) as u64;
            if size > MAX_CLIP_BYTES {
                tracing::error!(key, size, "a clip larger than any recording of the window was refused");
                reports.push(ClipReport::TooLarge { key, size });
                continue;
            }
            let stored = match Clip::intrusion_of_key(&key) {
                Some((_, intrusion)) => self.table.clip_stored(intrusion, &key, size, Utc::now()).await?,
                None => false,
            };
            let report = if stored {
                tracing::info!(key, size, "clip stored");
                ClipReport::Stored { key }
            } else {
                tracing::warn!(key, "an object no clip request expects landed in the clips bucket");
                ClipReport::Unexpected { key }
            };
            reports.push(report);
        }
        Ok(reports)
    }
}
