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
    /// Connects to the tables, queue and channels named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        Ok(Self {
            notifier: Notifier {
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
            metrics: Metrics::from_config(config, "notifier"),
        })
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
