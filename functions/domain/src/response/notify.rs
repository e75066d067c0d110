//! Queued notification → sent: the notifier function hands each message of the
//! notification queue to [`Notifier::deliver`], one recipient at a time, so a
//! slow webhook holds up only its own message. A notification already sent is
//! not sent again (the queue delivers at least once); a failure is recorded on
//! the notification and reported, so the queue retries that message alone and,
//! after its last receive, sets it aside in the dead-letter queue.

use std::sync::Arc;

use super::outbound::{Channels, Message, Outgoing, QueuedNotification};
use super::{Channel, Claim, Notification, NotificationStatus, ResponseStore};
use crate::clock::Clock;
use crate::error::DomainError;

/// What became of one queued notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// The channel accepted it.
    Sent,
    /// An earlier delivery of the same message sent it.
    AlreadySent,
    /// Every attempt failed; the failure is recorded and the message should be retried.
    Failed,
}

/// The notification use case.
pub struct Notifier {
    pub store: Arc<dyn ResponseStore>,
    pub channels: Arc<dyn Channels>,
    pub clock: Arc<dyn Clock>,
}

/// What users read when a webhook is due but the client's settings, and so its
/// signing secret, are gone.
const NO_WEBHOOK_SECRET: &str = "the client's notification settings were removed";

/// What users read when a queued webhook came without its body (a message not
/// written by the responder).
const NO_WEBHOOK_BODY: &str = "the queued webhook had no body";

impl Notifier {
    /// Sends one queued notification and records the outcome. An error means
    /// the outcome could not be recorded; the message is then retried too.
    #[tracing::instrument(skip_all, fields(notification = %queued.notification.id, intrusion = %queued.notification.intrusion_id))]
    pub async fn deliver(&self, queued: &QueuedNotification) -> Result<Delivered, DomainError> {
        let mut notification = match self.store.claim_notification(&queued.notification).await? {
            Claim::New => queued.notification.clone(),
            Claim::Existing(earlier) if earlier.status == NotificationStatus::Sent => {
                return Ok(Delivered::AlreadySent);
            }
            Claim::Existing(earlier) => earlier,
        };
        let (attempts, error) = self.send(&notification, queued).await?;
        notification.attempts += attempts;
        let delivered = match error {
            None => {
                notification.status = NotificationStatus::Sent;
                notification.sent_at = Some(self.clock.now());
                notification.last_error = None;
                tracing::info!(channel = ?notification.recipient.channel, "notification sent");
                Delivered::Sent
            }
            Some(error) => {
                tracing::error!(channel = ?notification.recipient.channel, error, "notification failed after every attempt; the queue will retry it");
                notification.status = NotificationStatus::Failed;
                notification.last_error = Some(error);
                Delivered::Failed
            }
        };
        self.store.save_notification(&notification).await?;
        Ok(delivered)
    }

    /// Sends by the recipient's channel: the attempts made and the failure users read, if any.
    async fn send(
        &self,
        notification: &Notification,
        queued: &QueuedNotification,
    ) -> Result<(u32, Option<String>), DomainError> {
        let recipient = &notification.recipient;
        let outcome = match recipient.channel {
            Channel::Webhook => {
                let Some(preferences) = self.store.preferences(notification.client_id).await? else {
                    return Ok((0, Some(NO_WEBHOOK_SECRET.to_owned())));
                };
                let Some(payload) = &queued.webhook else {
                    return Ok((0, Some(NO_WEBHOOK_BODY.to_owned())));
                };
                let body =
                    serde_json::to_vec(payload).map_err(|e| DomainError::unavailable("cannot encode a webhook", e))?;
                let outgoing = Outgoing::Signed {
                    url: &recipient.address,
                    key: preferences.webhook_secret.as_bytes(),
                    body: &body,
                };
                self.channels.send("webhook", outgoing).await
            }
            channel => {
                let message = Message {
                    id: &notification.id,
                    channel,
                    to: &recipient.address,
                    subject: &notification.subject,
                    text: &notification.message,
                    about: ("intrusionId", notification.intrusion_id.to_string()),
                };
                self.channels.send("message", Outgoing::Message(message)).await
            }
        };
        Ok((outcome.attempts, outcome.error))
    }
}
