//! The intrusion responder: triggered by the intrusions table's stream, it
//! hands each new intrusion to the core's response use case
//! ([`Responder`]: alarms and clip request sent, notifications queued for the
//! notifier, side by side, each claimed first so a retried batch repeats
//! nothing) and reports
//! the records whose response could not be recorded, so Lambda retries from them.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::DynamoDbEventResponse;
use chrono::TimeDelta;
use seccom_aws::StoredIntrusion;
use seccom_domain::clock::SystemClock;
use seccom_domain::config::{
    CLIP_GRACE_SECONDS, CLIP_POST_ROLL_SECONDS, CLIP_PRE_ROLL_SECONDS, Config, MissingSetting,
};
use seccom_domain::detection::Intrusion;
use seccom_domain::response::{ClipWindow, Responder};
use seccom_outbound::OutboundChannels;
use seccom_runtime::batch;
use seccom_runtime::metrics::Metrics;
use seccom_runtime::runner::EventFunction;

/// What the function holds between invocations.
pub struct IntrusionResponder {
    responder: Responder,
    metrics: Metrics,
}

impl IntrusionResponder {
    /// Connects to the tables, bucket and channels named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        let seconds = |name, default| config.number(name, default).map(TimeDelta::seconds);
        Ok(Self {
            responder: Responder {
                directory: stores.directory()?,
                store: stores.responses()?,
                channels: Arc::new(OutboundChannels::from_config(sdk, config)?),
                queue: Arc::new(seccom_aws::SqsNotificationQueue::from_config(sdk, config)?),
                uploads: Arc::new(seccom_aws::S3Media::from_config(
                    sdk,
                    config,
                    &[seccom_domain::media::Store::Clips],
                )?),
                controls: stores.controls()?,
                clock: Arc::new(SystemClock),
                window: ClipWindow {
                    pre_roll: seconds(CLIP_PRE_ROLL_SECONDS, 180)?,
                    post_roll: seconds(CLIP_POST_ROLL_SECONDS, 180)?,
                    grace: seconds(CLIP_GRACE_SECONDS, 600)?,
                },
            },
            metrics: Metrics::from_config(config, "intrusion-responder"),
        })
    }
}

impl EventFunction for IntrusionResponder {
    type Event = Event;
    type Output = DynamoDbEventResponse;
    type Error = std::convert::Infallible;

    /// Responds to every new intrusion of a stream batch, side by side, so no
    /// intrusion waits for another's devices. The first record (in stream
    /// order) whose response could not be recorded (a store failure) is
    /// reported, so Lambda retries from it; what was done for it and the
    /// records after it was claimed, and is not done again.
    async fn handle(&self, event: Event) -> Result<DynamoDbEventResponse, Self::Error> {
        let intrusions: Vec<(&EventRecord, Intrusion)> = event
            .records
            .iter()
            .filter_map(|record| new_intrusion(record).map(|intrusion| (record, intrusion)))
            .collect();
        let responses = batch::side_by_side(
            &intrusions,
            |(_, intrusion)| tracing::info_span!("respond", intrusion = %intrusion.id),
            |(_, intrusion)| self.responder.respond(intrusion),
        )
        .await;
        let mut failed = Vec::with_capacity(responses.len());
        for ((_, intrusion), result) in intrusions.iter().zip(responses) {
            failed.push(result.is_err());
            match result {
                Ok(report) => self.metrics.emit(&[
                    ("CommandsPushed", f64::from(report.commands_pushed), "Count"),
                    ("CommandsQueuedForHeartbeat", f64::from(report.commands_queued), "Count"),
                    ("NotificationsQueued", f64::from(report.notifications_queued), "Count"),
                ]),
                Err(error) => {
                    tracing::error!(intrusion = %intrusion.id, error = %error, source = ?std::error::Error::source(&error), "the response could not be recorded; the stream will retry it");
                }
            }
        }
        Ok(batch::stream_failures(&intrusions, &failed, |(record, _)| {
            record.change.sequence_number.clone()
        }))
    }
}

/// The intrusion a stream record inserted, if it is one.
fn new_intrusion(record: &EventRecord) -> Option<Intrusion> {
    if record.event_name != "INSERT" {
        return None;
    }
    match serde_dynamo::from_item::<_, StoredIntrusion>(record.change.new_image.clone()) {
        Ok(stored) if stored.entity == "INTRUSION" => Some(stored.intrusion),
        Ok(_) => None,
        Err(error) => {
            tracing::error!(error = %error, event = record.event_id, "a stream record is not an intrusion; skipped");
            None
        }
    }
}
