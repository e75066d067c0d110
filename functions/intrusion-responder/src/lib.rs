//! The intrusion responder: triggered by the intrusions table's stream, it
//! answers each new intrusion with three independent steps run side by side,
//! so a slow or unreachable party never delays another:
//! - every alarm of the site gets an activation command;
//! - the camera gets a clip request for the pre-roll to the post-roll, with a
//!   presigned upload URL into the clips bucket;
//! - every recipient in the client's preferences is notified.
//!
//! Each command and notification is claimed with a conditional write before it
//! is sent, so a retried stream batch finds what was done instead of ringing or
//! notifying twice. Commands are queued for the device's heartbeat before they
//! are pushed, so a failed push delays a command but never loses it.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{TimeDelta, Utc};
use futures::future::try_join_all;
use seccom_aws::StoredIntrusion;
use seccom_domain::config::{
    CLIP_GRACE_SECONDS, CLIP_POST_ROLL_SECONDS, CLIP_PRE_ROLL_SECONDS, CLIPS_BUCKET, Config, MissingSetting,
};
use seccom_domain::detection::Intrusion;
use seccom_domain::directory::{CommandTarget, DeviceKind, Directory};
use seccom_domain::error::DomainError;
use seccom_domain::response::{
    Channel, Claim, Clip, Command, CommandAction, DeliveredBy, Delivery, Notification, NotificationStatus, Recipient,
    ResponseStore, preferences_of,
};
use seccom_runtime::metrics::Metrics;
use seccom_runtime::runner::EventFunction;

use seccom_outbound::{ENDPOINT_REFUSED, MESSAGE_NOT_SENT, Message as Outgoing, Messenger, Outbound, RetryPolicy};

/// The longest a presigned upload URL may live (S3's limit for SigV4).
const MAX_UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The clip window around an intrusion's start.
#[derive(Clone, Copy, Debug)]
struct ClipWindow {
    pre_roll: TimeDelta,
    post_roll: TimeDelta,
    grace: TimeDelta,
}

/// What the function holds between invocations.
pub struct IntrusionResponder {
    directory: Directory,
    table: Arc<dyn ResponseStore>,
    s3: aws_sdk_s3::Client,
    clips_bucket: String,
    window: ClipWindow,
    http: Outbound,
    messenger: Messenger,
    policy: RetryPolicy,
    metrics: Metrics,
}

/// What a notification says, composed once per intrusion.
struct Message {
    subject: String,
    text: String,
    webhook: serde_json::Value,
}

impl IntrusionResponder {
    /// Connects to the tables, bucket and channels named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        let seconds = |name, default| config.number(name, default).map(TimeDelta::seconds);
        Ok(Self {
            directory: stores.directory()?,
            table: stores.responses()?,
            s3: seccom_aws::s3_client(sdk, config),
            clips_bucket: config.required(CLIPS_BUCKET)?.to_owned(),
            window: ClipWindow {
                pre_roll: seconds(CLIP_PRE_ROLL_SECONDS, 180)?,
                post_roll: seconds(CLIP_POST_ROLL_SECONDS, 180)?,
                grace: seconds(CLIP_GRACE_SECONDS, 600)?,
            },
            http: Outbound::from_config(config, &RetryPolicy::from_config(config)?),
            messenger: Messenger::from_config(sdk, config)?,
            policy: RetryPolicy::from_config(config)?,
            metrics: Metrics::from_config(config, "intrusion-responder"),
        })
    }
}

impl EventFunction for IntrusionResponder {
    type Event = Event;
    type Output = DynamoDbEventResponse;
    type Error = std::convert::Infallible;

    /// Responds to every new intrusion of a stream batch, in order. A record
    /// whose response could not be recorded (a store failure) is reported, so
    /// Lambda retries from it; records before it are done and not sent again.
    async fn handle(&self, event: Event) -> Result<DynamoDbEventResponse, Self::Error> {
        let mut response = DynamoDbEventResponse::default();
        for record in &event.records {
            let Some(intrusion) = new_intrusion(record) else {
                continue;
            };
            if let Err(error) = self.respond(&intrusion).await {
                tracing::error!(intrusion = %intrusion.id, error = %error, source = ?std::error::Error::source(&error), "the response could not be recorded; the stream will retry it");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
                break;
            }
        }
        Ok(response)
    }
}

impl IntrusionResponder {
    /// Activates the alarms, requests the clip and notifies, side by side.
    pub async fn respond(&self, intrusion: &Intrusion) -> Result<(), DomainError> {
        tracing::info!(intrusion = %intrusion.id, site = %intrusion.site_id, camera = %intrusion.camera_id, "responding to an intrusion");
        let (alarms, clip, notifications) = tokio::join!(
            self.activate_alarms(intrusion),
            self.request_clip(intrusion),
            self.notify(intrusion)
        );
        alarms.and(clip).and(notifications)
    }

    async fn activate_alarms(&self, intrusion: &Intrusion) -> Result<(), DomainError> {
        let alarms = self
            .directory
            .command_targets(intrusion.site_id, DeviceKind::Alarm)
            .await?;
        if alarms.is_empty() {
            tracing::warn!(site = %intrusion.site_id, "the site has no alarm to activate");
        }
        let action = CommandAction::ActivateAlarm {
            site_id: intrusion.site_id,
            camera_id: intrusion.camera_id,
        };
        try_join_all(
            alarms
                .iter()
                .map(|alarm| self.command(alarm, action.clone(), intrusion)),
        )
        .await?;
        Ok(())
    }

    async fn request_clip(&self, intrusion: &Intrusion) -> Result<(), DomainError> {
        let Some(camera) = self.directory.command_target(intrusion.camera_id).await? else {
            tracing::warn!(camera = %intrusion.camera_id, "the camera was removed; no clip can be requested");
            return Ok(());
        };
        let to = intrusion.started_at + self.window.post_roll;
        let requested = Clip {
            intrusion_id: intrusion.id,
            camera_id: intrusion.camera_id,
            key: Clip::key_for(intrusion.camera_id, intrusion.id),
            from: intrusion.started_at - self.window.pre_roll,
            to,
            due_by: to + self.window.grace,
            stored_at: None,
            size: None,
        };
        let clip = match self.table.claim_clip(&requested).await? {
            Claim::New => requested,
            Claim::Existing(clip) => clip,
        };
        if clip.stored_at.is_some() {
            return Ok(());
        }
        let lifetime = (clip.due_by - Utc::now())
            .to_std()
            .unwrap_or_default()
            .clamp(Duration::from_secs(60), MAX_UPLOAD_URL_LIFETIME);
        let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(lifetime)
            .map_err(|e| DomainError::unavailable("cannot presign a clip upload", e))?;
        let upload = self
            .s3
            .put_object()
            .bucket(&self.clips_bucket)
            .key(&clip.key)
            .content_type("video/mp4")
            .if_none_match("*")
            .presigned(presigning)
            .await
            .map_err(|e| DomainError::unavailable("cannot presign a clip upload", e))?;
        let action = CommandAction::RecordClip {
            from: clip.from,
            to: clip.to,
            upload_url: upload.uri().to_owned(),
            upload_expires_at: Utc::now() + lifetime,
            upload_headers: upload
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        };
        self.command(&camera, action, intrusion).await
    }

    /// Raises a command (once), then pushes it; a command not pushed waits for the heartbeat.
    async fn command(
        &self,
        target: &CommandTarget,
        action: CommandAction,
        intrusion: &Intrusion,
    ) -> Result<(), DomainError> {
        let raised = Delivery {
            command: Command {
                id: Command::id_for(intrusion.id, target.device.id, &action),
                device_id: target.device.id,
                intrusion_id: intrusion.id,
                issued_at: Utc::now(),
                action,
            },
            delivered_at: None,
            delivered_by: None,
            push_attempts: 0,
            last_error: None,
        };
        let command = match self.table.claim_delivery(&raised).await? {
            Claim::New => raised.command,
            Claim::Existing(earlier) if earlier.delivered_at.is_some() => return Ok(()),
            Claim::Existing(earlier) => earlier.command,
        };
        let Some(endpoint) = &target.device.endpoint else {
            return self
                .table
                .push_failed(
                    &command,
                    0,
                    "no endpoint registered; waiting for the device's heartbeat",
                )
                .await;
        };
        let body = serde_json::to_vec(&command).map_err(|e| DomainError::unavailable("cannot encode a command", e))?;
        let outcome = self
            .policy
            .run("device command", ENDPOINT_REFUSED, || {
                self.http.post_signed(endpoint, &target.signing_key, &body)
            })
            .await;
        match outcome.error {
            None => {
                self.metrics.emit(&[("CommandsPushed", 1.0, "Count")]);
                tracing::info!(command = command.id, device = %command.device_id, attempts = outcome.attempts, "command pushed");
                self.table.delivered(&command, DeliveredBy::Push, Utc::now()).await
            }
            Some(error) => {
                self.metrics.emit(&[("CommandsQueuedForHeartbeat", 1.0, "Count")]);
                tracing::warn!(command = command.id, device = %command.device_id, error, "push failed; the command waits for the device's heartbeat");
                self.table.push_failed(&command, outcome.attempts, &error).await
            }
        }
    }

    async fn notify(&self, intrusion: &Intrusion) -> Result<(), DomainError> {
        let Some(client) = self.directory.find_client(intrusion.client_id).await? else {
            tracing::warn!(client = %intrusion.client_id, "the client was removed; nobody to notify");
            return Ok(());
        };
        let preferences = preferences_of(self.table.as_ref(), &client).await?;
        let message = self.compose(intrusion).await?;
        let recipients = preferences
            .recipients
            .iter()
            .filter(|recipient| recipient.covers(intrusion.site_id));
        try_join_all(
            recipients.map(|recipient| {
                self.notify_one(intrusion, recipient, &message, preferences.webhook_secret.as_bytes())
            }),
        )
        .await?;
        Ok(())
    }

    async fn compose(&self, intrusion: &Intrusion) -> Result<Message, DomainError> {
        let site = self.directory.find_site(intrusion.site_id).await?;
        let camera = self.directory.find_device(intrusion.camera_id).await?;
        let site_name = site.as_ref().map_or("a site", |s| s.name.as_str());
        let camera_name = camera.as_ref().map_or("a camera", |c| c.name.as_str());
        let started = intrusion.started_at.format("%Y-%m-%d %H:%M:%S UTC");
        Ok(Message {
            subject: format!("Intrusion at {site_name}"),
            text: format!(
                "A person was seen by {camera_name} at {site_name}{} from {started}. The alarms were activated \
                 and the recording is being archived. Intrusion {}.",
                site.as_ref()
                    .map(|s| format!(" ({})", s.address.as_str()))
                    .unwrap_or_default(),
                intrusion.id
            ),
            webhook: serde_json::json!({
                "type": "intrusion.opened",
                "intrusion": intrusion,
                "site": site.as_ref().map(|s| serde_json::json!({ "id": s.id, "name": s.name, "address": s.address })),
                "camera": camera.as_ref().map(|c| serde_json::json!({ "id": c.id, "name": c.name })),
            }),
        })
    }

    async fn notify_one(
        &self,
        intrusion: &Intrusion,
        recipient: &Recipient,
        message: &Message,
        webhook_key: &[u8],
    ) -> Result<(), DomainError> {
        let fresh = Notification {
            id: Notification::id_for(intrusion.id, recipient),
            intrusion_id: intrusion.id,
            client_id: intrusion.client_id,
            site_id: intrusion.site_id,
            recipient: recipient.clone(),
            subject: message.subject.clone(),
            message: message.text.clone(),
            status: NotificationStatus::Pending,
            attempts: 0,
            last_error: None,
            created_at: Utc::now(),
            sent_at: None,
        };
        let mut notification = match self.table.claim_notification(&fresh).await? {
            Claim::New => fresh,
            Claim::Existing(earlier) if earlier.status == NotificationStatus::Sent => return Ok(()),
            Claim::Existing(earlier) => earlier,
        };
        let outcome = match recipient.channel {
            Channel::Webhook => {
                let mut payload = message.webhook.clone();
                payload["notificationId"] = notification.id.clone().into();
                let body =
                    serde_json::to_vec(&payload).map_err(|e| DomainError::unavailable("cannot encode a webhook", e))?;
                self.policy
                    .run("webhook", ENDPOINT_REFUSED, || {
                        self.http.post_signed(&recipient.address, webhook_key, &body)
                    })
                    .await
            }
            Channel::Email | Channel::Sms => {
                let outgoing = Outgoing {
                    id: &notification.id,
                    channel: recipient.channel,
                    to: &recipient.address,
                    subject: &notification.subject,
                    text: &notification.message,
                    about: ("intrusionId", intrusion.id.to_string()),
                };
                self.policy
                    .run("message", MESSAGE_NOT_SENT, || self.messenger.send(&outgoing))
                    .await
            }
        };
        notification.attempts += outcome.attempts;
        let sent = f64::from(u8::from(outcome.error.is_none()));
        self.metrics.emit(&[
            ("NotificationsSent", sent, "Count"),
            ("NotificationsFailed", 1.0 - sent, "Count"),
        ]);
        match outcome.error {
            None => {
                notification.status = NotificationStatus::Sent;
                notification.sent_at = Some(Utc::now());
                notification.last_error = None;
                tracing::info!(notification = notification.id, channel = ?recipient.channel, "notification sent");
            }
            Some(error) => {
                tracing::error!(notification = notification.id, channel = ?recipient.channel, error, "notification failed after every attempt");
                notification.status = NotificationStatus::Failed;
                notification.last_error = Some(error);
            }
        }
        self.table.save_notification(&notification).await
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
