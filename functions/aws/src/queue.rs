//! The notification queue on SQS: one message per notification, its body the
//! queued notification as JSON. The queue's redrive policy (in the template)
//! retries each message on its own and sets it aside after its last receive.

use async_trait::async_trait;
use seccom_domain::config::{Config, MissingSetting, NOTIFICATION_QUEUE_URL};
use seccom_domain::error::DomainError;
use seccom_domain::response::outbound::{NotificationQueue, QueuedNotification};

/// The core's [`NotificationQueue`] on an SQS queue.
#[derive(Clone)]
pub struct SqsNotificationQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl SqsNotificationQueue {
    /// The queue `config` names (`NOTIFICATION_QUEUE_URL`), on `sdk`'s SQS.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            url: config.required(NOTIFICATION_QUEUE_URL)?.to_owned(),
        })
    }
}

#[async_trait]
impl NotificationQueue for SqsNotificationQueue {
    async fn enqueue(&self, queued: &QueuedNotification) -> Result<(), DomainError> {
        let body =
            serde_json::to_string(queued).map_err(|e| DomainError::unavailable("cannot encode a notification", e))?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot queue a notification", e))?;
        Ok(())
    }
}
