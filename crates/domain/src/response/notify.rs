//! Queued message → sent: the notifier function hands each message of the
//! notification queue to [`Notifier::deliver`], one recipient at a time, so a
//! slow webhook holds up only its own message. A notification already sent is
//! not sent again (the queue delivers at least once); a failure is recorded on
//! the notification and reported, so the queue retries that message alone and,
//! after its last receive, sets it aside in the dead-letter queue. Confirmation
//! requests to new recipients and escalation steps (see [`super::escalation`])
//! travel the same way.

use std::sync::Arc;

use super::outbound::{
    Channels, ConfirmationRequest, Message, NotificationQueue, Outcome, Outgoing, Queued, QueuedNotification,
};
use super::{Channel, Claim, Notification, NotificationStatus, ResponseStore};
use crate::clock::Clock;
use crate::controls::ControlStore;
use crate::detection::ports::DetectionStore;
use crate::directory::Directory;
use crate::error::DomainError;
use crate::ids::ClientId;

/// What became of one queued notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// The channel accepted it.
    Sent,
    /// An earlier delivery of the same message sent it.
    AlreadySent,
    /// Every attempt failed; the failure is recorded and the message should be retried.
    Failed,
    /// An escalation step told its contacts and queued the next step.
    Escalated,
    /// A new intrusion was pushed to the browsers that opted in (whatever each push service answered).
    Pushed,
    /// Nothing to do now: an escalation step for a handled intrusion, one
    /// taken before, or one not due yet (put back on the queue).
    NotNeeded,
}

/// The notification use case.
pub struct Notifier {
    pub store: Arc<dyn ResponseStore>,
    pub channels: Arc<dyn Channels>,
    pub clock: Arc<dyn Clock>,
    /// For escalation: the intrusion's state, the site's policy, the names
    /// messages give, and the queue the next step and notifications go to.
    pub intrusions: Arc<dyn DetectionStore>,
    pub controls: Arc<dyn ControlStore>,
    pub directory: Directory,
    pub queue: Arc<dyn NotificationQueue>,
    /// Web Push: the subscriptions, and the push services they are sent through.
    pub push: super::push::WebPush,
    pub push_sender: Arc<dyn super::push::PushSender>,
}

/// What users read when a webhook is due but the client's settings, and so its
/// signing secret, are gone.
const NO_WEBHOOK_SECRET: &str = "the client's notification settings were removed";

/// What users read when a queued webhook came without its body (a message not
/// written by the responder).
const NO_WEBHOOK_BODY: &str = "the queued webhook had no body";

impl Notifier {
    /// Sends one queued message. An error means its outcome could not be
    /// recorded; the message is then retried too.
    pub async fn deliver(&self, queued: &Queued) -> Result<Delivered, DomainError> {
        match queued {
            Queued::Notification(notification) => self.notify(notification).await,
            Queued::Confirmation(request) => self.ask_to_confirm(request).await,
            Queued::Escalation(due) => self.escalate(due).await,
            Queued::Push(due) => {
                self.push.announce(self.push_sender.as_ref(), due).await?;
                Ok(Delivered::Pushed)
            }
            Queued::Command(command) => self.push_command(command).await,
        }
    }

    /// Pushes a command again, with the one retry policy, unless it reached its
    /// device meanwhile (by an earlier push or its heartbeat) or the device is gone.
    #[tracing::instrument(skip_all, fields(command = %command.id, device = %command.device_id))]
    async fn push_command(&self, command: &super::Command) -> Result<Delivered, DomainError> {
        let records = self.store.records(command.intrusion_id).await?;
        let delivered = records
            .deliveries
            .iter()
            .find(|d| d.command.id == command.id)
            .is_none_or(|d| d.delivered_at.is_some());
        if delivered {
            return Ok(Delivered::AlreadySent);
        }
        let Some(target) = self.directory.command_target(command.device_id).await? else {
            tracing::warn!("the device was removed; the command is dropped");
            return Ok(Delivered::NotNeeded);
        };
        let Some(endpoint) = &target.device.endpoint else {
            return Ok(Delivered::NotNeeded);
        };
        let pushing = super::respond::PushCommand {
            channels: self.channels.as_ref(),
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
        };
        match pushing.push(&target, endpoint, command, None).await? {
            None => {
                tracing::info!("command pushed from the queue");
                Ok(Delivered::Sent)
            }
            Some(error) => {
                tracing::warn!(error, "push failed again; the command waits for the device's heartbeat");
                Ok(Delivered::Failed)
            }
        }
    }

    /// Sends one intrusion notification and records the outcome.
    #[tracing::instrument(skip_all, fields(notification = %queued.notification.id, intrusion = %queued.notification.intrusion_id))]
    async fn notify(&self, queued: &QueuedNotification) -> Result<Delivered, DomainError> {
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

    /// Sends a new recipient its confirmation link: a message, or for a webhook
    /// a challenge signed with the client's secret, whose link it calls back.
    #[tracing::instrument(skip_all, fields(client = %request.client_id, channel = ?request.channel))]
    async fn ask_to_confirm(&self, request: &ConfirmationRequest) -> Result<Delivered, DomainError> {
        let outcome = match request.channel {
            Channel::Webhook => {
                let challenge = serde_json::json!({
                    "type": "recipient.confirmation",
                    "clientId": request.client_id,
                    "confirmUrl": request.link,
                    "instructions": "POST to confirmUrl to receive SecCom intrusion notifications at this address.",
                });
                let Some(secrets) = self.webhook_secrets(request.client_id).await? else {
                    tracing::warn!("the client's notification settings were removed; no challenge sent");
                    return Ok(Delivered::AlreadySent);
                };
                self.signed(&request.address, &secrets, &challenge, "webhook challenge")
                    .await?
            }
            channel => {
                let id = format!("confirm-{}", &crate::credential::hash(&request.link)[..16]);
                let text = format!(
                    "This address was added to receive SecCom intrusion alerts. To receive them, open {} \
                     within 7 days and confirm. If you did not expect this, ignore this message: nothing \
                     will be sent to you.",
                    request.link
                );
                let message = Message {
                    id: &id,
                    channel,
                    to: &request.address,
                    subject: "Confirm SecCom intrusion alerts",
                    text: &text,
                    about: ("clientId", request.client_id.to_string()),
                };
                self.channels
                    .send("confirmation request", Outgoing::Message(message))
                    .await
            }
        };
        Ok(match outcome.error {
            None => Delivered::Sent,
            Some(error) => {
                tracing::warn!(error, "the confirmation request failed; the queue will retry it");
                Delivered::Failed
            }
        })
    }

    /// The client's webhook secrets as they are now (a rotated one with the one
    /// it replaces, while that retires); `None` when its settings are gone.
    async fn webhook_secrets(&self, client: ClientId) -> Result<Option<Vec<String>>, DomainError> {
        let now = self.clock.now();
        Ok(self.store.preferences(client).await?.map(|p| p.webhook_secrets(now)))
    }

    /// POSTs `payload` to `url`, signed with each of `secrets`.
    async fn signed(
        &self,
        url: &str,
        secrets: &[String],
        payload: &serde_json::Value,
        what: &str,
    ) -> Result<Outcome, DomainError> {
        let body =
            serde_json::to_vec(payload).map_err(|e| DomainError::unavailable(format!("cannot encode a {what}"), e))?;
        let keys: Vec<&[u8]> = secrets.iter().map(|s| s.as_bytes()).collect();
        let outgoing = Outgoing::Signed {
            url,
            keys: &keys,
            body: &body,
        };
        Ok(self.channels.send(what, outgoing).await)
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
                let Some(secrets) = self.webhook_secrets(notification.client_id).await? else {
                    return Ok((0, Some(NO_WEBHOOK_SECRET.to_owned())));
                };
                let Some(payload) = &queued.webhook else {
                    return Ok((0, Some(NO_WEBHOOK_BODY.to_owned())));
                };
                self.signed(&recipient.address, &secrets, payload, "webhook").await?
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
