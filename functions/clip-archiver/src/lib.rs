//! The clip archiver: when a camera's clip lands in the clips bucket, the core's
//! clip-arrived use case ([`clip_arrived`]) marks the intrusion's clip stored,
//! so the intrusion shows it (and stops counting down to "missing").

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::s3::S3Event;
use chrono::Utc;
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::error::DomainError;
use seccom_domain::response::{ResponseStore, clip_arrived};
use seccom_runtime::runner::EventFunction;

pub use seccom_domain::response::{ClipReport, MAX_CLIP_BYTES};

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
            reports.push(clip_arrived(self.table.as_ref(), key, size, Utc::now()).await?);
        }
        Ok(reports)
    }
}
