//! The notifier: triggered by the notification queue, it hands each message to
//! the core's [`Notifier`] (one notification sent and recorded, one new
//! recipient asked to confirm, or one escalation step taken) side by side,
//! so a slow endpoint holds up only its own message, and reports the messages
//! that failed, so SQS retries them alone and, after the queue's last receive,
//! moves them to its dead-letter queue.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use seccom_domain::clock::SystemClock;
use seccom_domain::config::NOTIFY_EMAIL_FROM;
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::response::outbound::Queued;
use seccom_domain::response::{Delivered, Notifier};
use seccom_outbound::{Outbound, OutboundChannels, RetryPolicy, WebPushSender};
use seccom_runtime::batch;
use seccom_runtime::metrics::Metrics;
use seccom_runtime::runner::EventFunction;

/// What the function holds between invocations.
pub struct NotifierFunction {
    notifier: Notifier,
    metrics: Metrics,
}

impl NotifierFunction {
    /// The function over `notifier`, writing `metrics`.
    pub fn with(notifier: Notifier, metrics: Metrics) -> Self {
        Self { notifier, metrics }
    }

    /// Connects to the tables, queue and channels named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        Ok(Self::with(
            Notifier {
                store: stores.responses()?,
                channels: Arc::new(OutboundChannels::from_config(sdk, config)?),
                clock: Arc::new(SystemClock),
                intrusions: stores.detection()?,
                controls: stores.controls()?,
                directory: stores.directory()?,
                queue: Arc::new(seccom_aws::SqsNotificationQueue::from_config(sdk, config)?),
                push: stores.web_push()?,
                push_sender: Arc::new(WebPushSender::new(
                    Outbound::from_config(config, &RetryPolicy::from_config(config)?),
                    config.required(NOTIFY_EMAIL_FROM)?,
                )),
            },
            Metrics::from_config(config, "notifier"),
        ))
    }

    /// Delivers one message; `None` when it could not be read or recorded (it is retried).
    async fn deliver(&self, message: &SqsMessage) -> Option<Delivered> {
        let queued: Queued = match serde_json::from_str(message.body.as_deref().unwrap_or_default()) {
            Ok(queued) => queued,
            Err(error) => {
                // Retrying cannot make it readable: it goes to the dead-letter queue after its receives.
                tracing::error!(error = %error, "a queued message is not a notification, confirmation request or escalation step");
                return None;
            }
        };
        match self.notifier.deliver(&queued).await {
            Ok(delivered) => Some(delivered),
            Err(error) => {
                tracing::error!(error = %error, source = ?std::error::Error::source(&error), "the outcome could not be recorded; the queue will retry the message");
                None
            }
        }
    }
}

impl EventFunction for NotifierFunction {
    type Event = SqsEvent;
    type Output = SqsBatchResponse;
    type Error = std::convert::Infallible;

    /// Delivers every message of the batch side by side and names those to retry.
    async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, Self::Error> {
        let outcomes = batch::side_by_side(
            &event.records,
            |message| tracing::info_span!("message", id = message.message_id.as_deref().unwrap_or_default()),
            |message| self.deliver(message),
        )
        .await;
        let count = |wanted: Delivered| outcomes.iter().filter(|o| **o == Some(wanted)).count() as f64;
        self.metrics.emit(&[
            ("NotificationsSent", count(Delivered::Sent), "Count"),
            ("NotificationsFailed", count(Delivered::Failed), "Count"),
            ("EscalationSteps", count(Delivered::Escalated), "Count"),
            ("IntrusionsPushed", count(Delivered::Pushed), "Count"),
        ]);
        let failed: Vec<bool> = outcomes
            .iter()
            .map(|outcome| matches!(outcome, None | Some(Delivered::Failed)))
            .collect();
        Ok(batch::sqs_failures(&event.records, &failed, |message| {
            message.message_id.clone()
        }))
    }
}

#[cfg(test)]
mod tests {
    use seccom_domain::clock::SystemClock;
    use seccom_domain::config::Config;
    use seccom_domain::directory::Directory;
    use seccom_domain::ids::ClientId;
    use seccom_domain::memory::{
        MemoryChannels, MemoryControls, MemoryDetectionStore, MemoryDirectory, MemoryNotificationQueue, MemoryPush,
        MemoryPushService, MemoryResponses,
    };
    use seccom_domain::response::Channel;
    use seccom_domain::response::outbound::ConfirmationRequest;
    use seccom_domain::response::push::WebPush;

    use super::*;

    /// The function over in-memory stores and channels, with its metrics in `dir`.
    fn function(channels: Arc<MemoryChannels>, dir: &std::path::Path) -> NotifierFunction {
        let clock = Arc::new(SystemClock);
        let metrics_file = dir.join("metrics.jsonl").display().to_string();
        let config = Config::from_pairs([(seccom_domain::config::METRICS_FILE.to_owned(), metrics_file)]);
        NotifierFunction::with(
            Notifier {
                store: Arc::new(MemoryResponses::default()),
                channels,
                clock: clock.clone(),
                intrusions: Arc::new(MemoryDetectionStore::default()),
                controls: Arc::new(MemoryControls::default()),
                directory: Directory::new(Arc::new(MemoryDirectory::default())),
                queue: Arc::new(MemoryNotificationQueue::default()),
                push: WebPush::new(Arc::new(MemoryPush::default()), Default::default(), clock),
                push_sender: Arc::new(MemoryPushService::default()),
            },
            Metrics::from_config(&config, "notifier"),
        )
    }

    fn message(id: &str, body: String) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.into());
        message.body = Some(body);
        message
    }

    fn confirmation(address: &str) -> String {
        serde_json::to_string(&Queued::Confirmation(ConfirmationRequest {
            client_id: ClientId::generate(),
            channel: Channel::Email,
            address: address.into(),
            link: "https://seccom.example.com/api/recipient-confirmations/t".into(),
        }))
        .unwrap()
    }

    fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = messages;
        event
    }

    fn reported(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    #[tokio::test]
    async fn a_batch_reports_only_the_messages_to_retry() {
        let dir = tempfile::tempdir().unwrap();
        let channels = Arc::new(MemoryChannels::default());
        channels.fail("down@example.com");
        let function = function(channels.clone(), dir.path());
        let event = batch(vec![
            message("sent", confirmation("desk@example.com")),
            message("unreadable", "{\"kind\":\"nothing\"}".into()),
            message("failed", confirmation("down@example.com")),
        ]);
        let response = function.handle(event).await.unwrap();
        assert_eq!(reported(&response), ["unreadable", "failed"]);
        let tried: Vec<String> = channels.sent().into_iter().map(|s| s.to).collect();
        assert!(tried.contains(&"desk@example.com".to_owned()), "{tried:?}");
    }

    #[tokio::test]
    async fn an_empty_batch_reports_nothing_and_counts_nothing_sent() {
        let dir = tempfile::tempdir().unwrap();
        let function = function(Arc::default(), dir.path());
        let response = function.handle(SqsEvent::default()).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let metrics = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
        let record: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
        assert_eq!(record["NotificationsSent"], 0.0);
    }

    #[tokio::test]
    async fn the_sample_event_is_read_and_its_notification_sent() {
        let dir = tempfile::tempdir().unwrap();
        let channels = Arc::new(MemoryChannels::default());
        let function = function(channels.clone(), dir.path());
        let sample = include_str!("../../../events/notifier/notification-queued.json")
            .replace("REPLACE_WITH_CLIENT_ID", &ClientId::generate().to_string())
            .replace(
                "REPLACE_WITH_SITE_ID",
                &seccom_domain::ids::SiteId::generate().to_string(),
            );
        let response = function.handle(serde_json::from_str(&sample).unwrap()).await.unwrap();
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        let sent: Vec<String> = channels.sent().into_iter().map(|s| s.to).collect();
        assert_eq!(sent, ["keyholder@example.com"]);
    }
}
