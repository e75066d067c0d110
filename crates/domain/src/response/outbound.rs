//! The ports a response reaches the world through: the channels that carry
//! signed calls (device pushes, webhooks), e-mail and SMS, each with the one
//! retry policy; the queue notifications wait in, so no recipient waits for
//! another; and the signer of upload URLs that devices put clips and frames to.
//! Adapters: `seccom-outbound` (HTTP, SES, SNS, the local outbox) and
//! `seccom-aws` (SQS, S3 presigning); in memory: [`crate::memory`].

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::Notification;
use super::preferences::Channel;
use crate::error::DomainError;
use crate::ids::ClientId;

/// One e-mail or SMS.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    /// Stable across retries: a message is identified by it.
    pub id: &'a str,
    pub channel: Channel,
    /// An e-mail address or an E.164 phone number.
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    /// What the message is about, as a field name and an id (`intrusionId`, `deviceId`).
    pub about: (&'a str, String),
}

/// Something to send.
#[derive(Clone, Debug)]
pub enum Outgoing<'a> {
    /// A JSON body POSTed to `url` and signed with each of `keys` (device
    /// pushes: one; webhooks: two while a replaced secret retires).
    Signed {
        url: &'a str,
        keys: &'a [&'a [u8]],
        body: &'a [u8],
    },
    /// An e-mail or SMS.
    Message(Message<'a>),
}

/// What users are told when a webhook or push failed, whatever the reason
/// (the reason goes to the logs: it must not tell an endpoint that refused from
/// one that does not exist).
pub const ENDPOINT_REFUSED: &str = "the endpoint did not accept the call";
/// What users are told when an e-mail or SMS could not be sent.
pub const MESSAGE_NOT_SENT: &str = "the message could not be sent";

/// What the attempts came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub attempts: u32,
    /// What users are told about the last failure; `None` when an attempt succeeded.
    pub error: Option<String>,
}

/// Where signed calls, e-mail and SMS go.
#[async_trait]
pub trait Channels: Send + Sync {
    /// Sends `outgoing`, retrying by the one policy; `what` names it in the logs.
    async fn send(&self, what: &str, outgoing: Outgoing<'_>) -> Outcome;
    /// One attempt at `outgoing`, given up after `deadline`: for a sender that
    /// must not wait on a slow endpoint (the responder's first push of a
    /// command; the retries then go through the queue).
    async fn send_now(&self, what: &str, outgoing: Outgoing<'_>, deadline: Duration) -> Outcome;
}

/// One notification waiting to be sent: the message of the notification
/// queue. It carries what was composed when the intrusion opened; the webhook
/// secret is read when it is sent, so a rotated secret is the one used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedNotification {
    pub notification: Notification,
    /// The webhook's JSON body, for a webhook recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<serde_json::Value>,
}

/// A request to a new recipient to confirm it wants intrusion notifications: a
/// link to follow (e-mail, SMS), or a signed challenge whose link the webhook
/// calls back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationRequest {
    pub client_id: ClientId,
    pub channel: Channel,
    pub address: String,
    /// The one-time confirmation link.
    pub link: String,
}

/// One message of the notification queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Queued {
    /// An intrusion notification.
    Notification(QueuedNotification),
    /// A confirmation request to a new recipient.
    Confirmation(ConfirmationRequest),
    /// An escalation step of an intrusion, held back until it is due.
    Escalation(super::escalation::EscalationDue),
    /// A new intrusion, pushed to the browsers that opted in.
    Push(super::push::PushDue),
    /// A device command whose first push failed or was slow, pushed again with
    /// the one retry policy away from the response (which no device may hold up).
    Command(super::Command),
}

impl Queued {
    /// Where the message goes; `None` for an escalation step, which decides that when due.
    pub fn address(&self) -> Option<&str> {
        match self {
            Self::Notification(queued) => Some(&queued.notification.recipient.address),
            Self::Confirmation(request) => Some(&request.address),
            Self::Escalation(_) | Self::Push(_) | Self::Command(_) => None,
        }
    }
}

/// Claims a notification and queues it, unless an earlier attempt sent it;
/// `true` when it was queued.
pub(super) async fn queue_notification(
    store: &dyn super::ResponseStore,
    queue: &dyn NotificationQueue,
    fresh: Notification,
    webhook: Option<serde_json::Value>,
) -> Result<bool, DomainError> {
    let notification = match store.claim_notification(&fresh).await? {
        super::Claim::New => fresh,
        super::Claim::Existing(earlier) if earlier.status == super::NotificationStatus::Sent => return Ok(false),
        super::Claim::Existing(earlier) => earlier,
    };
    queue
        .enqueue(&Queued::Notification(QueuedNotification { notification, webhook }))
        .await?;
    Ok(true)
}

/// Where notifications wait to be sent, one message each, each retried on its
/// own (SQS with a dead-letter queue, in AWS).
#[async_trait]
pub trait NotificationQueue: Send + Sync {
    /// Queues one message.
    async fn enqueue(&self, queued: &Queued) -> Result<(), DomainError>;
    /// Queues one message, held back for `delay` (SQS holds back at most 15
    /// minutes; a message due later is held that long and put back by its receiver).
    async fn enqueue_after(&self, queued: &Queued, delay: Duration) -> Result<(), DomainError>;
}

/// What a device uploads to.
#[derive(Clone, Copy, Debug)]
pub enum Upload<'a> {
    /// An intrusion's clip (MP4), which may be stored once and never replaced.
    Clip { key: &'a str },
    /// A camera's frame (or bundle) of exactly `bytes` bytes, carrying the
    /// time the camera captured it.
    Frame {
        key: &'a str,
        captured_at: DateTime<Utc>,
        bytes: u64,
    },
}

/// A signed upload: PUT the object to `url` with exactly `headers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedUpload {
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

/// Signs upload URLs.
#[async_trait]
pub trait UploadSigner: Send + Sync {
    /// A URL that accepts `upload` for `lifetime`.
    async fn upload(&self, upload: Upload<'_>, lifetime: Duration) -> Result<SignedUpload, DomainError>;
}
