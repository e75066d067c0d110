//! The footage purge, run every hour by an EventBridge schedule: each client's
//! snapshots, evidence frames, clips and intrusion records older than its
//! retention period are deleted, except what a legal hold keeps (see
//! [`seccom_domain::retention`]). Time is the schedule's: the event's `time`,
//! so a purge retried later still judges by when it was due.

use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use seccom_domain::clock::{FixedClock, SystemClock};
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::error::DomainError;
use seccom_domain::media::Store;
use seccom_domain::retention::purge::{Purge, PurgeReport};
use seccom_runtime::metrics::Metrics;
use seccom_runtime::runner::EventFunction;
use serde::Deserialize;

/// The most intrusions one run deletes (`PURGE_LIMIT`, default 500), so it
/// ends well within its timeout; the next run carries on.
pub const PURGE_LIMIT: &str = "PURGE_LIMIT";

/// The part of EventBridge's scheduled event the purge reads.
#[derive(Debug, Deserialize)]
pub struct ScheduledEvent {
    /// When the schedule fired.
    pub time: DateTime<Utc>,
}

/// What the function holds between invocations: the purge, its stores and
/// clients built once; each invocation gives it the schedule's time.
pub struct FootageRetention {
    purge: Purge,
    metrics: Metrics,
}

impl FootageRetention {
    /// Connects to what the purge needs (`DIRECTORY_TABLE`, `FRAMES_TABLE`,
    /// `INTRUSIONS_TABLE`, `RESPONSES_TABLE`, `FRAMES_BUCKET`, `CLIPS_BUCKET`).
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        let footage = seccom_aws::S3Media::from_config(sdk, config, &[Store::Frames, Store::Clips])?;
        Ok(Self {
            purge: Purge {
                directory: stores.directory()?,
                retention: stores.retention()?,
                detection: stores.detection()?,
                responses: stores.responses()?,
                footage: Arc::new(footage),
                clock: Arc::new(SystemClock),
                bounds: config.retention_bounds()?,
                limit: u32::try_from(config.number(PURGE_LIMIT, 500)?.clamp(1, 10_000)).unwrap_or(500),
            },
            metrics: Metrics::from_config(config, "footage-retention"),
        })
    }
}

impl EventFunction for FootageRetention {
    type Event = ScheduledEvent;
    type Output = PurgeReport;
    type Error = DomainError;

    async fn handle(&self, event: ScheduledEvent) -> Result<PurgeReport, DomainError> {
        let purge = Purge {
            clock: Arc::new(FixedClock::at(event.time)),
            ..self.purge.clone()
        };
        let report = purge.run().await?;
        self.metrics.emit(&[
            ("IntrusionsPurged", f64::from(report.intrusions_deleted), "Count"),
            ("FootageObjectsPurged", f64::from(report.objects_deleted), "Count"),
            ("IntrusionsHeld", f64::from(report.held), "Count"),
        ]);
        Ok(report)
    }
}
