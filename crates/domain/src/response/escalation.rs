//! Escalation: what happens when nobody acknowledges an intrusion. Staff give
//! each site a policy of steps ("after 60 s tell the duty operators, after
//! 180 s the keyholders"). When an intrusion opens, the [`super::Responder`]
//! puts its first step on the notification queue, delayed until due; when a
//! step comes due the [`super::Notifier`] tells that step's contacts unless
//! someone acknowledged or resolved the intrusion meanwhile, records the step
//! on the intrusion and puts the next one on the queue. SQS holds a message
//! back for at most 15 minutes, so a step due later goes back on the queue
//! until it is due.
//!
//! A step's notifications are claimed like any other, and a step is recorded
//! only after its notifications and the next step are queued: a message
//! delivered twice finds the record and does nothing, one cut short is done
//! again without telling anyone twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::notify::Delivered;
use super::outbound::{Queued, queue_notification};
use super::{Channel, Notification, NotificationStatus, Notifier, Recipient, RecipientRole, RecipientStatus};
use crate::detection::Intrusion;
use crate::error::DomainError;
use crate::ids::{IntrusionId, SiteId};
use crate::values::{Email, FieldErrors, Phone};

/// The most steps a policy may have.
pub const MAX_STEPS: usize = 5;
/// The most contacts one step may tell.
pub const MAX_CONTACTS: usize = 10;
/// The latest a step may come: a day after the intrusion opened.
pub const MAX_AFTER_SECONDS: u32 = 86_400;

/// How an escalation contact is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContactChannel {
    /// E-mail (SES in AWS).
    Email,
    /// Text message (SNS in AWS).
    Sms,
}

impl From<ContactChannel> for Channel {
    fn from(channel: ContactChannel) -> Self {
        match channel {
            ContactChannel::Email => Channel::Email,
            ContactChannel::Sms => Channel::Sms,
        }
    }
}

/// Someone a step tells: a SecCom duty operator, a keyholder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalationContact {
    pub channel: ContactChannel,
    /// An e-mail address, or a phone number in international form, by channel.
    #[schema(min_length = 1, max_length = 254, example = "duty@seccom.example")]
    pub address: String,
}

/// One step: whom to tell when an intrusion is still unacknowledged this long after it opened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalationStep {
    /// Seconds after the intrusion opened; each step later than the one before.
    #[schema(minimum = 1, maximum = 86400, example = 60)]
    pub after_seconds: u32,
    #[schema(min_items = 1, max_items = 10)]
    pub notify: Vec<EscalationContact>,
}

/// A site's escalation policy, the body of `PUT /api/sites/{siteId}/escalation`
/// and its answer. No steps: nobody is told beyond the client's recipients.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalationPolicy {
    #[schema(max_items = 5)]
    pub steps: Vec<EscalationStep>,
}

impl EscalationPolicy {
    /// Checks every step and address, naming each field refused; addresses come back normalised.
    pub fn parse(self) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::default();
        if self.steps.len() > MAX_STEPS {
            errors.push("steps", format!("at most {MAX_STEPS} steps"));
        }
        let mut steps = Vec::with_capacity(self.steps.len());
        let mut before = 0;
        for (index, step) in self.steps.into_iter().enumerate() {
            let field = format!("steps[{index}].afterSeconds");
            if !(1..=MAX_AFTER_SECONDS).contains(&step.after_seconds) {
                errors.push(&field, format!("afterSeconds must be 1 to {MAX_AFTER_SECONDS}"));
            } else if step.after_seconds <= before {
                errors.push(&field, "afterSeconds must be later than the step before");
            }
            before = before.max(step.after_seconds);
            if !(1..=MAX_CONTACTS).contains(&step.notify.len()) {
                errors.push(
                    &format!("steps[{index}].notify"),
                    format!("a step tells 1 to {MAX_CONTACTS} contacts"),
                );
            }
            let mut notify = Vec::with_capacity(step.notify.len());
            for (at, contact) in step.notify.into_iter().enumerate() {
                let field = format!("steps[{index}].notify[{at}].address");
                let address = match contact.channel {
                    ContactChannel::Email => {
                        errors.check(&field, Email::parse(&contact.address).map(|e| e.as_str().to_owned()))
                    }
                    ContactChannel::Sms => {
                        errors.check(&field, Phone::parse(&contact.address).map(|p| p.as_str().to_owned()))
                    }
                };
                if let Some(address) = address {
                    notify.push(EscalationContact { address, ..contact });
                }
            }
            steps.push(EscalationStep { notify, ..step });
        }
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(Self { steps })
    }

    /// The step at `index` (0-based) and when it is due for an intrusion opened at `opened_at`.
    fn due(&self, index: u32, opened_at: DateTime<Utc>) -> Option<(&EscalationStep, DateTime<Utc>)> {
        let step = self.steps.get(index as usize)?;
        Some((step, opened_at + chrono::TimeDelta::seconds(step.after_seconds.into())))
    }

    /// The message that brings step `index` of this policy, if it has one, and how long to hold it back.
    pub fn schedule(
        &self,
        intrusion: &Intrusion,
        index: u32,
        opened_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<(Queued, Duration)> {
        let (_, due_at) = self.due(index, opened_at)?;
        let due = EscalationDue {
            intrusion_id: intrusion.id,
            site_id: intrusion.site_id,
            step: index,
            opened_at,
            due_at,
        };
        Some((Queued::Escalation(due), (due_at - now).to_std().unwrap_or_default()))
    }
}

/// A step waiting on the notification queue until it is due.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationDue {
    pub intrusion_id: IntrusionId,
    pub site_id: SiteId,
    /// The step's index in the site's policy, from 0.
    pub step: u32,
    /// When the response began; every step counts from it.
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// A step taken, recorded on the intrusion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationRecord {
    pub intrusion_id: IntrusionId,
    /// The step's number in the site's policy, from 1.
    pub step: u32,
    /// The step's delay as the policy said when it was taken.
    pub after_seconds: u32,
    /// When the contacts were queued.
    pub at: DateTime<Utc>,
    /// The addresses told.
    pub notified: Vec<String>,
}

impl Notifier {
    /// Takes a step that came due: tells its contacts unless the intrusion was
    /// handled, records it, and queues the next step.
    #[tracing::instrument(skip_all, fields(intrusion = %due.intrusion_id, step = due.step + 1))]
    pub(super) async fn escalate(&self, due: &EscalationDue) -> Result<Delivered, DomainError> {
        let Some(intrusion) = self.intrusions.intrusion(due.intrusion_id).await? else {
            tracing::warn!("the intrusion is gone; escalation stops");
            return Ok(Delivered::NotNeeded);
        };
        if let Some(handling) = intrusion.acknowledged.as_ref().or(intrusion.resolved.as_ref()) {
            tracing::info!(by = handling.by, "the intrusion was handled; escalation stops");
            return Ok(Delivered::NotNeeded);
        }
        let now = self.clock.now();
        if now < due.due_at {
            let wait = (due.due_at - now).to_std().unwrap_or_default();
            self.queue.enqueue_after(&Queued::Escalation(due.clone()), wait).await?;
            return Ok(Delivered::NotNeeded);
        }
        let taken = self.store.records(intrusion.id).await?.escalations;
        if taken.iter().any(|record| record.step == due.step + 1) {
            return Ok(Delivered::NotNeeded);
        }
        let policy = self.controls.escalation(intrusion.site_id).await?.unwrap_or_default();
        let Some((step, _)) = policy.due(due.step, due.opened_at) else {
            tracing::info!("the site's policy has no such step any more");
            return Ok(Delivered::NotNeeded);
        };
        let (subject, message) = self.compose_escalation(&intrusion, step).await?;
        for contact in &step.notify {
            let recipient = Recipient {
                role: RecipientRole::Escalation,
                channel: contact.channel.into(),
                address: contact.address.clone(),
                site_id: Some(intrusion.site_id),
                status: RecipientStatus::VerifiedByStaff,
            };
            let notification = Notification {
                id: format!(
                    "{}.step{}",
                    Notification::id_for(intrusion.id, &recipient),
                    due.step + 1
                ),
                intrusion_id: intrusion.id,
                client_id: intrusion.client_id,
                site_id: intrusion.site_id,
                recipient,
                subject: subject.clone(),
                message: message.clone(),
                status: NotificationStatus::Pending,
                attempts: 0,
                last_error: None,
                created_at: now,
                sent_at: None,
            };
            queue_notification(self.store.as_ref(), self.queue.as_ref(), notification, None).await?;
        }
        if let Some((next, wait)) = policy.schedule(&intrusion, due.step + 1, due.opened_at, now) {
            self.queue.enqueue_after(&next, wait).await?;
        }
        let record = EscalationRecord {
            intrusion_id: intrusion.id,
            step: due.step + 1,
            after_seconds: step.after_seconds,
            at: now,
            notified: step.notify.iter().map(|c| c.address.clone()).collect(),
        };
        self.store.record_escalation(&record).await?;
        tracing::info!(contacts = step.notify.len(), "intrusion not acknowledged; escalated");
        Ok(Delivered::Escalated)
    }

    /// The subject and text a step's contacts receive.
    async fn compose_escalation(
        &self,
        intrusion: &Intrusion,
        step: &EscalationStep,
    ) -> Result<(String, String), DomainError> {
        let site = self.directory.find_site(intrusion.site_id).await?;
        let camera = self.directory.find_device(intrusion.camera_id).await?;
        let site_name = site.as_ref().map_or("a site", |s| s.name.as_str());
        let camera_name = camera.as_ref().map_or("a camera", |c| c.name.as_str());
        Ok((
            format!("Not acknowledged: intrusion at {site_name}"),
            format!(
                "Nobody has acknowledged the intrusion seen by {camera_name} at {site_name}{} from {} within {} \
                 seconds. Please act on it. Intrusion {}.",
                site.as_ref()
                    .map(|s| format!(" ({})", s.address.as_str()))
                    .unwrap_or_default(),
                intrusion.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                step.after_seconds,
                intrusion.id
            ),
        ))
    }
}
