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
    /// The function over `responder`, writing `metrics`.
    pub fn with(responder: Responder, metrics: Metrics) -> Self {
        Self { responder, metrics }
    }

    /// Connects to the tables, bucket and channels named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        let seconds = |name, default| config.number(name, default).map(TimeDelta::seconds);
        Ok(Self::with(
            Responder {
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
            Metrics::from_config(config, "intrusion-responder"),
        ))
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

#[cfg(test)]
mod tests {
    use seccom_domain::clock::SystemClock;
    use seccom_domain::directory::{DeviceKind, Directory};
    use seccom_domain::fixtures;
    use seccom_domain::memory::{
        MemoryChannels, MemoryControls, MemoryDirectory, MemoryLinks, MemoryNotificationQueue, MemoryResponses,
    };
    use seccom_domain::response::ResponseStore;

    use super::*;

    /// The sample stream batch's camera.
    const SAMPLE_CAMERA: &str = "5c3e9a7b-1d2f-4e6a-8b0c-9f7e2d1a3b4c";

    struct World {
        function: IntrusionResponder,
        responses: Arc<MemoryResponses>,
        /// The sample batch, about a camera and an alarm of a site in the directory.
        sample: String,
        metrics: tempfile::TempDir,
    }

    /// The function over in-memory stores and a site with a camera and an alarm.
    async fn world() -> World {
        let metrics = tempfile::tempdir().unwrap();
        let metrics_file = metrics.path().join("metrics.jsonl").display().to_string();
        let config = Config::from_pairs([(seccom_domain::config::METRICS_FILE.to_owned(), metrics_file)]);
        let directory = Directory::new(Arc::new(MemoryDirectory::default()));
        let (client, site) = fixtures::client_with_site(&directory, "Acme").await;
        let camera = fixtures::register(&directory, site.id, DeviceKind::Camera, "Gate")
            .await
            .device;
        fixtures::register(&directory, site.id, DeviceKind::Alarm, "Siren").await;
        let responses = Arc::new(MemoryResponses::default());
        let window = ClipWindow {
            pre_roll: TimeDelta::minutes(3),
            post_roll: TimeDelta::minutes(3),
            grace: TimeDelta::minutes(10),
        };
        let function = IntrusionResponder::with(
            Responder {
                directory,
                store: responses.clone(),
                channels: Arc::new(MemoryChannels::default()),
                queue: Arc::new(MemoryNotificationQueue::default()),
                uploads: Arc::new(MemoryLinks),
                controls: Arc::new(MemoryControls::default()),
                clock: Arc::new(SystemClock),
                window,
            },
            Metrics::from_config(&config, "intrusion-responder"),
        );
        let sample = include_str!("../../../events/intrusion-responder/intrusion-opened.json")
            .replace("REPLACE_WITH_CLIENT_ID", &client.id.to_string())
            .replace("REPLACE_WITH_SITE_ID", &site.id.to_string())
            .replace(SAMPLE_CAMERA, &camera.id.to_string());
        World {
            function,
            responses,
            sample,
            metrics,
        }
    }

    impl World {
        fn batch(&self) -> Event {
            serde_json::from_str(&self.sample).unwrap()
        }
    }

    #[tokio::test]
    async fn the_sample_batch_rings_the_sites_alarm_and_asks_for_the_clip() {
        let w = world().await;
        let event = w.batch();
        let intrusion = new_intrusion(&event.records[0]).expect("an intrusion");
        let response = w.function.handle(event).await.unwrap();
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        let records = w.responses.records(intrusion.id).await.unwrap();
        let commands: Vec<&str> = records.deliveries.iter().map(|d| d.command.id.as_str()).collect();
        assert!(
            commands.iter().any(|id| id.ends_with(".activate")),
            "the alarm: {commands:?}"
        );
        assert!(
            commands.iter().any(|id| id.ends_with(".clip")),
            "the camera: {commands:?}"
        );
        assert!(records.clip.is_some(), "the clip: {records:?}");
        let mut told: Vec<&str> = records
            .notifications
            .iter()
            .map(|n| n.recipient.address.as_str())
            .collect();
        told.sort_unstable();
        assert_eq!(
            told,
            ["+351912345678", "owner@example.com"],
            "the client's own contacts"
        );
    }

    #[tokio::test]
    async fn a_batch_delivered_again_repeats_nothing() {
        let w = world().await;
        for _ in 0..2 {
            let response = w.function.handle(w.batch()).await.unwrap();
            assert!(response.batch_item_failures.is_empty());
        }
        let intrusion = new_intrusion(&w.batch().records[0]).unwrap();
        let records = w.responses.records(intrusion.id).await.unwrap();
        assert_eq!(
            (records.deliveries.len(), records.notifications.len()),
            (2, 2),
            "{records:?}"
        );
    }

    #[tokio::test]
    async fn records_that_insert_no_intrusion_are_passed_over() {
        let w = world().await;
        let mut event = w.batch();
        let mut modified = event.records[0].clone();
        modified.event_name = "MODIFY".into();
        let mut other = event.records[0].clone();
        other.change.new_image = serde_dynamo::to_item(serde_json::json!({ "pk": "X", "sk": "Y" })).unwrap();
        event.records = vec![modified, other];
        let response = w.function.handle(event).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let metrics = w.metrics.path().join("metrics.jsonl");
        assert!(!metrics.exists(), "nothing was answered");
    }
}
