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

/// One SQS queue: its client and URL, and how a message is sent to it.
#[derive(Clone)]
struct SqsQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    /// The queue whose URL is setting `name` of `config`, on `sdk`'s SQS.
    fn from_config(sdk: &aws_config::SdkConfig, config: &Config, name: &str) -> Result<Self, MissingSetting> {
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            url: config.required(name)?.to_owned(),
        })
    }

    /// Sends `message` as JSON, held back `delay` (whole seconds up to SQS's
    /// 15-minute limit); `what` names it in errors.
    async fn send(&self, message: &impl serde::Serialize, delay: Duration, what: &str) -> Result<(), DomainError> {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        let body =
            serde_json::to_string(message).map_err(|e| DomainError::unavailable(format!("cannot encode {what}"), e))?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(seconds.min(MAX_DELAY_SECONDS) as i32)
            .send()
            .await
            .map_err(|e| DomainError::unavailable(format!("cannot queue {what}"), e))?;
        Ok(())
    }
}

/// The core's [`NotificationQueue`] on an SQS queue.
#[derive(Clone)]
pub struct SqsNotificationQueue(SqsQueue);

impl SqsNotificationQueue {
    /// The queue `config` names (`NOTIFICATION_QUEUE_URL`), on `sdk`'s SQS.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        SqsQueue::from_config(sdk, config, NOTIFICATION_QUEUE_URL).map(Self)
    }
}

#[async_trait]
impl NotificationQueue for SqsNotificationQueue {
    async fn enqueue(&self, queued: &Queued) -> Result<(), DomainError> {
        self.enqueue_after(queued, Duration::ZERO).await
    }

    /// Held back by SQS's `DelaySeconds`.
    async fn enqueue_after(&self, queued: &Queued, delay: Duration) -> Result<(), DomainError> {
        self.0.send(queued, delay, "a message on the notification queue").await
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
pub struct SqsErasureQueue(SqsQueue);

impl SqsErasureQueue {
    /// The queue `config` names (`ERASURE_QUEUE_URL`), on `sdk`'s SQS.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        SqsQueue::from_config(sdk, config, ERASURE_QUEUE_URL).map(Self)
    }
}

#[async_trait]
impl ErasureQueue for SqsErasureQueue {
    async fn start(&self, job: ErasureId) -> Result<(), DomainError> {
        let message = ErasureMessage { erasure: job };
        self.0.send(&message, Duration::ZERO, "an erasure job").await
    }
}
