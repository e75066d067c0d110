//! Intrusion opened → response: independent steps run side by side, so a
//! slow or unreachable party never delays another:
//! - every alarm of the site gets an activation command;
//! - the camera gets a clip request for the pre-roll to the post-roll, with a
//!   signed upload URL that stores the clip once;
//! - every recipient in the client's preferences who covers the site gets a
//!   notification, queued: the [`super::Notifier`] sends each on its own, so a
//!   slow or broken endpoint delays no alarm and no other recipient;
//! - the site's first escalation step, if it has a policy, is queued to come
//!   due when the policy says (see [`super::escalation`]).
//!
//! Each command and notification is claimed with a conditional write before it
//! is sent or queued, so a replayed intrusion finds what was done instead of
//! ringing or notifying twice. Commands are queued for the device's heartbeat
//! before they are pushed, so a failed push delays a command but never loses it.
//! A push is tried once, for at most [`FIRST_PUSH_DEADLINE`]; a command it did
//! not deliver goes to the queue, where the notifier retries it on its own, so
//! a slow device holds up no response, its own or another client's.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use futures::future::try_join_all;

use super::outbound::{Channels, NotificationQueue, Outgoing, Queued, Upload, UploadSigner, queue_notification};
use super::{
    Claim, Clip, Command, CommandAction, DeliveredBy, Delivery, Notification, NotificationStatus, Recipient,
    ResponseStore, preferences_of,
};
use crate::clock::Clock;
use crate::controls::ControlStore;
use crate::detection::Intrusion;
use crate::directory::{CommandTarget, DeviceKind, Directory};
use crate::error::DomainError;

/// The longest a signed upload URL may live (S3's limit for SigV4).
const MAX_UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long the first push of a command may take before it is left to the
/// queue (its retries) and the device's heartbeat: well inside the 2 s in
/// which a siren must ring, whatever another device does.
pub const FIRST_PUSH_DEADLINE: Duration = Duration::from_millis(1500);

/// Pushes a device command and records how it went: what the responder (its
/// first push) and the notifier (the retries from the queue) share.
pub(super) struct PushCommand<'a> {
    pub channels: &'a dyn Channels,
    pub store: &'a dyn ResponseStore,
    pub clock: &'a dyn Clock,
}

impl PushCommand<'_> {
    /// Pushes `command` to `endpoint`, signed with the target device's key:
    /// once within `deadline` when one is given, else by the one retry policy.
    /// Records it delivered by push, or the failed attempts (the command stays
    /// queued for the device's heartbeat); answers the error when it failed.
    pub(super) async fn push(
        &self,
        target: &CommandTarget,
        endpoint: &str,
        command: &Command,
        deadline: Option<Duration>,
    ) -> Result<Option<String>, DomainError> {
        let body = serde_json::to_vec(command).map_err(|e| DomainError::unavailable("cannot encode a command", e))?;
        let outgoing = Outgoing::Signed {
            url: endpoint,
            keys: &[target.signing_key.as_slice()],
            body: &body,
        };
        let outcome = match deadline {
            Some(deadline) => self.channels.send_now("device command", outgoing, deadline).await,
            None => self.channels.send("device command", outgoing).await,
        };
        match outcome.error {
            None => {
                self.store
                    .delivered(command, DeliveredBy::Push, self.clock.now())
                    .await?;
                Ok(None)
            }
            Some(error) => {
                self.store.push_failed(command, outcome.attempts, &error).await?;
                Ok(Some(error))
            }
        }
    }
}

/// The clip window around an intrusion's start.
#[derive(Clone, Copy, Debug)]
pub struct ClipWindow {
    /// Recording before the start.
    pub pre_roll: TimeDelta,
    /// Recording after the start.
    pub post_roll: TimeDelta,
    /// How long after the window the clip may take to arrive before it is missing.
    pub grace: TimeDelta,
}

/// What one response did, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResponseReport {
    pub commands_pushed: u32,
    pub commands_queued: u32,
    /// Notifications handed to the notification queue.
    pub notifications_queued: u32,
}

impl ResponseReport {
    fn add(self, other: Self) -> Self {
        Self {
            commands_pushed: self.commands_pushed + other.commands_pushed,
            commands_queued: self.commands_queued + other.commands_queued,
            notifications_queued: self.notifications_queued + other.notifications_queued,
        }
    }

    fn sum(reports: impl IntoIterator<Item = Self>) -> Self {
        reports.into_iter().fold(Self::default(), Self::add)
    }
}

/// What a notification says, composed once per intrusion.
struct Composed {
    subject: String,
    text: String,
    webhook: serde_json::Value,
    push: super::push::PushDue,
}

/// The response use case.
pub struct Responder {
    pub directory: Directory,
    pub store: Arc<dyn ResponseStore>,
    pub channels: Arc<dyn Channels>,
    pub queue: Arc<dyn NotificationQueue>,
    pub uploads: Arc<dyn UploadSigner>,
    /// The site's escalation policy.
    pub controls: Arc<dyn ControlStore>,
    pub clock: Arc<dyn Clock>,
    pub window: ClipWindow,
}

impl Responder {
    /// Activates the alarms, requests the clip and queues the notifications, side by side. An
    /// error means something could not be recorded; doing it again finishes
    /// the job without repeating what was done.
    #[tracing::instrument(skip_all, fields(intrusion = %intrusion.id, site = %intrusion.site_id, camera = %intrusion.camera_id))]
    pub async fn respond(&self, intrusion: &Intrusion) -> Result<ResponseReport, DomainError> {
        tracing::info!("responding to an intrusion");
        let (alarms, clip, notifications, escalation) = tokio::join!(
            self.activate_alarms(intrusion),
            self.request_clip(intrusion),
            self.tell(intrusion),
            self.schedule_escalation(intrusion)
        );
        escalation?;
        Ok(alarms?.add(clip?).add(notifications?))
    }

    /// Composes the messages once (the site and camera read once), then
    /// notifies the client's recipients and queues the push side by side.
    async fn tell(&self, intrusion: &Intrusion) -> Result<ResponseReport, DomainError> {
        let composed = self.compose(intrusion).await?;
        let push = Queued::Push(composed.push.clone());
        let (notifications, push) = tokio::join!(self.notify(intrusion, &composed), self.queue.enqueue(&push));
        push?;
        notifications
    }

    /// Puts the site's first escalation step on the queue, held back until due.
    /// A retried response queues it again; the notifier takes each step once.
    async fn schedule_escalation(&self, intrusion: &Intrusion) -> Result<(), DomainError> {
        let Some(policy) = self.controls.escalation(intrusion.site_id).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        if let Some((first, wait)) = policy.schedule(intrusion, 0, now, now) {
            tracing::info!(after_seconds = wait.as_secs(), "escalation scheduled");
            self.queue.enqueue_after(&first, wait).await?;
        }
        Ok(())
    }

    async fn activate_alarms(&self, intrusion: &Intrusion) -> Result<ResponseReport, DomainError> {
        let alarms = self
            .directory
            .command_targets(intrusion.site_id, DeviceKind::Alarm)
            .await?;
        if alarms.is_empty() {
            tracing::warn!("the site has no alarm to activate");
        }
        let action = CommandAction::ActivateAlarm {
            site_id: intrusion.site_id,
            camera_id: intrusion.camera_id,
        };
        let reports = try_join_all(
            alarms
                .iter()
                .map(|alarm| self.command(alarm, action.clone(), intrusion)),
        )
        .await?;
        Ok(ResponseReport::sum(reports))
    }

    async fn request_clip(&self, intrusion: &Intrusion) -> Result<ResponseReport, DomainError> {
        let Some(camera) = self.directory.command_target(intrusion.camera_id).await? else {
            tracing::warn!("the camera was removed; no clip can be requested");
            return Ok(ResponseReport::default());
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
        let clip = match self.store.claim_clip(&requested).await? {
            Claim::New => requested,
            Claim::Existing(clip) => clip,
        };
        if clip.stored_at.is_some() {
            return Ok(ResponseReport::default());
        }
        let now = self.clock.now();
        let lifetime = (clip.due_by - now)
            .to_std()
            .unwrap_or_default()
            .clamp(Duration::from_secs(60), MAX_UPLOAD_URL_LIFETIME);
        let upload = self.uploads.upload(Upload::Clip { key: &clip.key }, lifetime).await?;
        let action = CommandAction::RecordClip {
            from: clip.from,
            to: clip.to,
            upload_url: upload.url,
            upload_expires_at: now + lifetime,
            upload_headers: upload.headers,
        };
        self.command(&camera, action, intrusion).await
    }

    /// Raises a command (once), then pushes it; a command not pushed waits for the heartbeat.
    async fn command(
        &self,
        target: &CommandTarget,
        action: CommandAction,
        intrusion: &Intrusion,
    ) -> Result<ResponseReport, DomainError> {
        let raised = Delivery {
            command: Command {
                id: Command::id_for(intrusion.id, target.device.id, &action),
                device_id: target.device.id,
                intrusion_id: intrusion.id,
                issued_at: self.clock.now(),
                action,
            },
            delivered_at: None,
            delivered_by: None,
            push_attempts: 0,
            last_error: None,
        };
        let command = match self.store.claim_delivery(&raised).await? {
            Claim::New => raised.command,
            Claim::Existing(earlier) if earlier.delivered_at.is_some() => return Ok(ResponseReport::default()),
            Claim::Existing(earlier) => earlier.command,
        };
        let queued = ResponseReport {
            commands_queued: 1,
            ..Default::default()
        };
        let Some(endpoint) = &target.device.endpoint else {
            self.store
                .push_failed(
                    &command,
                    0,
                    "no endpoint registered; waiting for the device's heartbeat",
                )
                .await?;
            return Ok(queued);
        };
        // One attempt, given up after FIRST_PUSH_DEADLINE: a slow device holds up
        // neither the rest of this response nor any other intrusion's.
        let pushing = PushCommand {
            channels: self.channels.as_ref(),
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
        };
        match pushing
            .push(target, endpoint, &command, Some(FIRST_PUSH_DEADLINE))
            .await?
        {
            None => {
                tracing::info!(command = command.id, device = %command.device_id, "command pushed");
                Ok(ResponseReport {
                    commands_pushed: 1,
                    ..Default::default()
                })
            }
            Some(error) => {
                tracing::warn!(command = command.id, device = %command.device_id, error, "first push failed; retried from the queue, and the command waits for the device's heartbeat");
                self.queue.enqueue(&Queued::Command(command)).await?;
                Ok(queued)
            }
        }
    }

    async fn notify(&self, intrusion: &Intrusion, composed: &Composed) -> Result<ResponseReport, DomainError> {
        let Some(client) = self.directory.find_client(intrusion.client_id).await? else {
            tracing::warn!("the client was removed; nobody to notify");
            return Ok(ResponseReport::default());
        };
        let preferences = preferences_of(self.store.as_ref(), &client).await?;
        let recipients = preferences
            .recipients
            .iter()
            .filter(|recipient| recipient.covers(intrusion.site_id));
        let reports = try_join_all(recipients.map(|recipient| self.notify_one(intrusion, recipient, composed))).await?;
        Ok(ResponseReport::sum(reports))
    }

    async fn compose(&self, intrusion: &Intrusion) -> Result<Composed, DomainError> {
        let site = self.directory.find_site(intrusion.site_id).await?;
        let camera = self.directory.find_device(intrusion.camera_id).await?;
        let site_name = site.as_ref().map_or("a site", |s| s.name.as_str());
        let camera_name = camera.as_ref().map_or("a camera", |c| c.name.as_str());
        let started = intrusion.started_at.format("%Y-%m-%d %H:%M:%S UTC");
        Ok(Composed {
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
            // The push to the browsers that opted in (staff, the client's users);
            // a retried response queues it again, and the browser shows one
            // notification per intrusion (the push's tag).
            push: super::push::PushDue {
                intrusion_id: intrusion.id,
                client_id: intrusion.client_id,
                title: format!("Intrusion at {site_name}"),
                body: format!(
                    "{} saw a person at {}.",
                    camera.as_ref().map_or("A camera", |c| c.name.as_str()),
                    intrusion.started_at.format("%H:%M:%S UTC")
                ),
            },
        })
    }

    /// Claims the notification, then queues it unless an earlier attempt sent it.
    async fn notify_one(
        &self,
        intrusion: &Intrusion,
        recipient: &Recipient,
        composed: &Composed,
    ) -> Result<ResponseReport, DomainError> {
        let fresh = Notification {
            id: Notification::id_for(intrusion.id, recipient),
            intrusion_id: intrusion.id,
            client_id: intrusion.client_id,
            site_id: intrusion.site_id,
            recipient: recipient.clone(),
            subject: composed.subject.clone(),
            message: composed.text.clone(),
            status: NotificationStatus::Pending,
            attempts: 0,
            last_error: None,
            created_at: self.clock.now(),
            sent_at: None,
        };
        let webhook = (recipient.channel == super::Channel::Webhook).then(|| {
            let mut payload = composed.webhook.clone();
            payload["notificationId"] = fresh.id.clone().into();
            payload
        });
        let queued = queue_notification(self.store.as_ref(), self.queue.as_ref(), fresh, webhook).await?;
        Ok(ResponseReport {
            notifications_queued: queued.into(),
            ..Default::default()
        })
    }
}
