//! The queues on SQS. The notification queue: one message per notification,
//! confirmation request or escalation step (held back with `DelaySeconds`),
//! its body the queued message as JSON. The erasure queue: one message per
//! erasure job, `{"erasure": "<id>"}`. The queues' redrive policies (in the
//! template) retry each message on its own and set it aside after its last receive.

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

use seccom_domain::config::{Config, ERASURE_QUEUE_URL, MissingSetting, NOTIFICATION_QUEUE_URL, PUBLIC_BASE_URL};
use seccom_domain::error::DomainError;
use seccom_domain::ids::ErasureId;
use seccom_domain::response::ConfirmationSender;
use seccom_domain::response::outbound::{NotificationQueue, Queued};
use seccom_domain::retention::ports::ErasureQueue;

/// The longest SQS holds a message back.
const MAX_DELAY_SECONDS: u64 = 900;

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
    async fn enqueue(&self, queued: &Queued) -> Result<(), DomainError> {
        self.enqueue_after(queued, Duration::ZERO).await
    }

    /// Held back by SQS's `DelaySeconds`, whole seconds up to its 15-minute limit.
    async fn enqueue_after(&self, queued: &Queued, delay: Duration) -> Result<(), DomainError> {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        let body =
            serde_json::to_string(queued).map_err(|e| DomainError::unavailable("cannot encode a queued message", e))?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(seconds.min(MAX_DELAY_SECONDS) as i32)
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot queue a notification", e))?;
        Ok(())
    }
}

/// Where a function that saves preferences sends new recipients' confirmation
/// requests: the notification queue, with links on `PUBLIC_BASE_URL`.
pub fn confirmation_sender(sdk: &aws_config::SdkConfig, config: &Config) -> Result<ConfirmationSender, MissingSetting> {
    Ok(ConfirmationSender {
        queue: Arc::new(SqsNotificationQueue::from_config(sdk, config)?),
        base_url: config.required(PUBLIC_BASE_URL)?.trim_end_matches('/').to_owned(),
    })
}

/// The message that hands an erasure job over.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ErasureMessage {
    pub erasure: ErasureId,
}

/// The core's [`ErasureQueue`] on an SQS queue.
#[derive(Clone)]
pub struct SqsErasureQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl SqsErasureQueue {
    /// The queue `config` names (`ERASURE_QUEUE_URL`), on `sdk`'s SQS.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            url: config.required(ERASURE_QUEUE_URL)?.to_owned(),
        })
    }
}

#[async_trait]
impl ErasureQueue for SqsErasureQueue {
    async fn start(&self, job: ErasureId) -> Result<(), DomainError> {
        let body = serde_json::to_string(&ErasureMessage { erasure: job })
            .map_err(|e| DomainError::unavailable("cannot encode an erasure job", e))?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot queue an erasure", e))?;
        Ok(())
    }
}
