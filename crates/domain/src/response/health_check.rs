//! The device health check: each camera or alarm that went silent for longer
//! than the timeout (or reported a fault) opens one health alarm, which is
//! stored and told to the client's own recipients for the device's site and to
//! SecCom staff; its recovery is told once too. The directory's conditional
//! writes make a change happen once even when two checks overlap.

use std::sync::Arc;

use chrono::TimeDelta;
use futures::future::join_all;

use super::outbound::{Channels, Message, Outgoing};
use super::{Channel, HealthEvent, HealthNotice, RecipientRole, ResponseStore, preferences_of};
use crate::clock::Clock;
use crate::directory::{Directory, HealthChange, HealthTransition};
use crate::error::DomainError;

/// One recipient of a health message.
struct Addressee {
    channel: Channel,
    to: String,
}

/// The health check use case.
pub struct HealthCheck {
    pub directory: Directory,
    pub store: Arc<dyn ResponseStore>,
    pub channels: Arc<dyn Channels>,
    pub clock: Arc<dyn Clock>,
    /// How long a device may stay silent before it is offline.
    pub offline_after: TimeDelta,
    /// Where SecCom staff are told, if anywhere.
    pub staff_email: Option<String>,
}

impl HealthCheck {
    /// Checks every device once; stores and tells each health change.
    #[tracing::instrument(skip_all)]
    pub async fn run(&self) -> Result<Vec<HealthEvent>, DomainError> {
        let transitions = self
            .directory
            .sweep_health(self.clock.now(), self.offline_after)
            .await?;
        let mut changes = Vec::with_capacity(transitions.len());
        for transition in transitions {
            let mut event = HealthEvent {
                device_id: transition.device.id,
                device_name: transition.device.name.as_str().to_owned(),
                kind: transition.device.kind,
                site_id: transition.device.site_id,
                client_id: transition.device.client_id,
                change: transition.change,
                at: self.clock.now(),
                last_seen_at: transition.device.last_seen_at,
                notices: Vec::new(),
            };
            event.notices = self.tell(&transition, &event).await?;
            self.store.record_health(&event).await?;
            tracing::warn!(device = %event.device_id, change = ?event.change, "device health changed");
            changes.push(event);
        }
        Ok(changes)
    }

    /// The client's own recipients for the device's site, and SecCom staff; with the client's webhook secrets.
    async fn addressees(&self, transition: &HealthTransition) -> Result<(Vec<Addressee>, Vec<String>), DomainError> {
        let mut addressees = Vec::new();
        let mut secrets = Vec::new();
        if let Some(client) = self.directory.find_client(transition.device.client_id).await? {
            let preferences = preferences_of(self.store.as_ref(), &client).await?;
            addressees.extend(
                preferences
                    .recipients
                    .iter()
                    .filter(|r| r.role == RecipientRole::Client && r.covers(transition.device.site_id))
                    .map(|r| Addressee {
                        channel: r.channel,
                        to: r.address.clone(),
                    }),
            );
            secrets = preferences.webhook_secrets(self.clock.now());
        }
        if let Some(staff) = &self.staff_email {
            addressees.push(Addressee {
                channel: Channel::Email,
                to: staff.clone(),
            });
        }
        Ok((addressees, secrets))
    }

    /// Tells every addressee, side by side; each outcome is recorded, none fails the check.
    async fn tell(&self, transition: &HealthTransition, event: &HealthEvent) -> Result<Vec<HealthNotice>, DomainError> {
        let (addressees, secrets) = self.addressees(transition).await?;
        let keys: Vec<&[u8]> = secrets.iter().map(|s| s.as_bytes()).collect();
        let subject = match event.change {
            HealthChange::WentOffline => format!("Device offline: {}", event.device_name),
            HealthChange::ReportedFaulty => format!("Device fault: {}", event.device_name),
            HealthChange::Recovered => format!("Device back: {}", event.device_name),
        };
        let text = format!(
            "{} Last heard from: {}.",
            event.summary(),
            event.last_seen_at.map_or("never".into(), |t| t.to_rfc3339())
        );
        let payload = serde_json::to_vec(&serde_json::json!({ "type": "device.health", "event": event }))
            .map_err(|e| DomainError::unavailable("cannot encode a health webhook", e))?;
        let sends = addressees.iter().map(|addressee| {
            let id = format!(
                "health.{}.{}.{}",
                event.device_id,
                event.at.timestamp_millis(),
                &crate::credential::hash(&addressee.to)[..12]
            );
            let (subject, text, payload, keys) = (&subject, &text, &payload, &keys);
            async move {
                let outcome = match addressee.channel {
                    Channel::Webhook => {
                        let outgoing = Outgoing::Signed {
                            url: &addressee.to,
                            keys,
                            body: payload,
                        };
                        self.channels.send("health webhook", outgoing).await
                    }
                    channel => {
                        let message = Message {
                            id: &id,
                            channel,
                            to: &addressee.to,
                            subject,
                            text,
                            about: ("deviceId", event.device_id.to_string()),
                        };
                        self.channels.send("health message", Outgoing::Message(message)).await
                    }
                };
                HealthNotice {
                    channel: addressee.channel,
                    to: addressee.to.clone(),
                    sent: outcome.error.is_none(),
                    attempts: outcome.attempts,
                    error: outcome.error,
                }
            }
        });
        Ok(join_all(sends).await)
    }
}
