//! The clip archiver: when a camera's clip lands in the clips bucket, the core's
//! clip-arrived use case ([`clip_arrived`]) marks the intrusion's clip stored,
//! so the intrusion shows it (and stops counting down to "missing"). When the
//! camera has privacy masks, the clip stored is a rendition with them blurred
//! in every picture ([`masker::S3ClipMasker`]); the upload is deleted, as is
//! anything that lands in the bucket without an intrusion waiting for it.

pub mod masker;

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::s3::S3Event;
use seccom_domain::clock::{Clock, SystemClock};
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::controls::ControlStore;
use seccom_domain::error::DomainError;
use seccom_domain::response::{ArrivedClip, ClipPorts, ResponseStore, clip_arrived};
use seccom_runtime::metrics::Metrics;
use seccom_runtime::runner::EventFunction;
use seccom_runtime::s3::NotifiedObject;

pub use seccom_domain::response::{ClipReport, MAX_CLIP_BYTES};

use masker::S3ClipMasker;

/// What the function holds between invocations.
pub struct ClipArchiver {
    table: Arc<dyn ResponseStore>,
    controls: Arc<dyn ControlStore>,
    s3: aws_sdk_s3::Client,
    metrics: Metrics,
    clock: Arc<dyn Clock>,
}

impl ClipArchiver {
    /// Connects to the responses and directory tables named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        Ok(Self {
            table: stores.responses()?,
            controls: stores.controls()?,
            s3: seccom_aws::s3_client(sdk, config),
            metrics: Metrics::from_config(config, "clip-archiver"),
            clock: Arc::new(SystemClock),
        })
    }
}

impl EventFunction for ClipArchiver {
    type Event = S3Event;
    type Output = Vec<ClipReport>;
    type Error = DomainError;

    /// Records every clip of the notification, masked first where its camera
    /// has privacy masks; only a store failure fails the invocation (and is retried).
    async fn handle(&self, event: S3Event) -> Result<Vec<ClipReport>, DomainError> {
        let mut reports = Vec::with_capacity(event.records.len());
        for object in NotifiedObject::all(&event) {
            let masker = S3ClipMasker {
                s3: self.s3.clone(),
                bucket: object.bucket,
                metrics: self.metrics.clone(),
            };
            let ports = ClipPorts {
                store: self.table.as_ref(),
                controls: self.controls.as_ref(),
                bucket: &masker,
            };
            let arrived = ArrivedClip {
                key: object.key,
                version: object.version,
                size: object.size,
            };
            reports.push(clip_arrived(&ports, arrived, self.clock.now()).await?);
        }
        Ok(reports)
    }
}
