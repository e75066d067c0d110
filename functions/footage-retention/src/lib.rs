//! Data protection, in one function with two triggers. Every hour an
//! EventBridge schedule runs the footage purge: each client's snapshots,
//! evidence frames, clips and intrusion records older than its retention
//! period are deleted, except what a legal hold keeps (see
//! [`seccom_domain::retention`]); time is the schedule's (the event's `time`),
//! so a purge retried later still judges by when it was due. The erasure
//! queue hands it erasure jobs (see [`seccom_domain::retention::erasure`]):
//! it runs passes of a job until it is done or its time is nearly up, and
//! reports an unfinished job as a failed message, so SQS hands it over again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use seccom_aws::ErasureMessage;
use seccom_domain::clock::{FixedClock, SystemClock};
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::error::DomainError;
use seccom_domain::media::Store;
use seccom_domain::retention::erasure::{Erasure, Progress};
use seccom_domain::retention::purge::{Purge, PurgeReport};
use seccom_runtime::batch;
use seccom_runtime::metrics::Metrics;
use seccom_runtime::runner::EventFunction;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

/// The most intrusions one run deletes (`PURGE_LIMIT`, default 500), so it
/// ends well within its timeout; the next run carries on.
pub const PURGE_LIMIT: &str = "PURGE_LIMIT";

/// How long one invocation works on an erasure job before handing it back
/// to the queue (`ERASURE_BUDGET_SECONDS`, default 200; the timeout is 300).
pub const ERASURE_BUDGET_SECONDS: &str = "ERASURE_BUDGET_SECONDS";

/// The most devices, intrusions and sites one erasure pass erases; the job
/// is saved after each pass.
const ERASURE_PASS_LIMIT: u32 = 100;

/// The part of EventBridge's scheduled event the purge reads.
#[derive(Debug, Deserialize)]
pub struct ScheduledEvent {
    /// When the schedule fired.
    pub time: DateTime<Utc>,
}

/// What invoked the function.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Trigger {
    /// The hourly schedule: purge.
    Schedule(ScheduledEvent),
    /// Erasure jobs from the erasure queue.
    Erasures(SqsEvent),
}

/// What the function answers: the purge's report, or the erasure messages to retry.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Purged(PurgeReport),
    Erasures(SqsBatchResponse),
}

/// What the function holds between invocations: the purge and the erasure,
/// their stores and clients built once.
pub struct FootageRetention {
    purge: Purge,
    erasure: Erasure,
    budget: Duration,
    metrics: Metrics,
}

impl FootageRetention {
    /// The function running `purge` and `erasure`, working on an erasure job
    /// for at most `budget` an invocation, writing `metrics`.
    pub fn with(purge: Purge, erasure: Erasure, budget: Duration, metrics: Metrics) -> Self {
        Self {
            purge,
            erasure,
            budget,
            metrics,
        }
    }

    /// Connects to what the purge and erasure need (`DIRECTORY_TABLE`,
    /// `FRAMES_TABLE`, `INTRUSIONS_TABLE`, `RESPONSES_TABLE`, `FRAMES_BUCKET`,
    /// `CLIPS_BUCKET`).
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        let footage = Arc::new(seccom_aws::S3Media::from_config(
            sdk,
            config,
            &[Store::Frames, Store::Clips],
        )?);
        let directory = stores.directory()?;
        let retention = stores.retention()?;
        let detection = stores.detection()?;
        let responses = stores.responses()?;
        Ok(Self::with(
            Purge {
                directory: directory.clone(),
                retention: retention.clone(),
                detection: detection.clone(),
                responses: responses.clone(),
                footage: footage.clone(),
                clock: Arc::new(SystemClock),
                bounds: config.retention_bounds()?,
                limit: u32::try_from(config.number(PURGE_LIMIT, 500)?.clamp(1, 10_000)).unwrap_or(500),
            },
            Erasure {
                directory,
                retention,
                detection,
                controls: stores.controls()?,
                responses,
                footage,
                push: stores.push()?,
                limit: ERASURE_PASS_LIMIT,
            },
            Duration::from_secs(config.number(ERASURE_BUDGET_SECONDS, 200)?.clamp(1, 840).unsigned_abs()),
            Metrics::from_config(config, "footage-retention"),
        ))
    }

    async fn purge(&self, event: ScheduledEvent) -> Result<PurgeReport, DomainError> {
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

    /// Runs passes of the message's job until it is done (`true`) or the
    /// budget, shared by the batch, is spent.
    async fn erase(&self, message: &SqsMessage, started: Instant) -> bool {
        let job = match serde_json::from_str::<ErasureMessage>(message.body.as_deref().unwrap_or_default()) {
            Ok(job) => job.erasure,
            Err(error) => {
                tracing::error!(%error, "a queued message is not an erasure job");
                return false;
            }
        };
        while started.elapsed() < self.budget {
            match self.erasure.advance(job).await {
                Ok(Progress::Done) => return true,
                Ok(Progress::Unfinished) => {}
                Err(error) => {
                    tracing::error!(%job, %error, source = ?std::error::Error::source(&error), "an erasure pass failed; the queue will hand the job over again");
                    return false;
                }
            }
        }
        tracing::info!(%job, "erasure unfinished at the end of its budget; handed back to the queue");
        false
    }

    /// Each erasure job of the batch in turn (they share one budget); those not
    /// done are handed back.
    async fn erasures(&self, event: SqsEvent) -> SqsBatchResponse {
        let started = Instant::now();
        let mut failed = Vec::with_capacity(event.records.len());
        for message in &event.records {
            let span = tracing::info_span!("erasure", message = message.message_id.as_deref().unwrap_or_default());
            failed.push(!self.erase(message, started).instrument(span).await);
        }
        let handed_back = failed.iter().filter(|f| **f).count();
        self.metrics.emit(&[
            ("ErasuresDone", (event.records.len() - handed_back) as f64, "Count"),
            ("ErasuresHandedBack", handed_back as f64, "Count"),
        ]);
        batch::sqs_failures(&event.records, &failed, |message| message.message_id.clone())
    }
}

impl EventFunction for FootageRetention {
    type Event = Trigger;
    type Output = Outcome;
    type Error = DomainError;

    async fn handle(&self, event: Trigger) -> Result<Outcome, DomainError> {
        match event {
            Trigger::Schedule(event) => self.purge(event).await.map(Outcome::Purged),
            Trigger::Erasures(event) => Ok(Outcome::Erasures(self.erasures(event).await)),
        }
    }
}

#[cfg(test)]
mod tests;
