//! The device health check, run every minute by an EventBridge schedule. Each
//! camera or alarm that went silent for longer than `DEVICE_OFFLINE_AFTER_SECONDS`
//! (or reported a fault) opens one health alarm, which is stored and told to the
//! client's own recipients and to SecCom staff (`STAFF_ALERT_EMAIL`); its
//! recovery is told once too. The domain's conditional writes make a change
//! happen once even when two checks overlap.

use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{TimeDelta, Utc};
use futures::future::join_all;
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::directory::{Directory, HealthChange, HealthTransition};
use seccom_domain::error::DomainError;
use seccom_domain::response::{Channel, HealthEvent, HealthNotice, RecipientRole, ResponseStore, preferences_of};
use seccom_outbound::{ENDPOINT_REFUSED, MESSAGE_NOT_SENT, Message, Messenger, Outbound, RetryPolicy};
use seccom_runtime::metrics::Metrics;
use seccom_runtime::runner::EventFunction;
use serde::Serialize;

/// How long a device may stay silent before it is offline (default 180).
pub const DEVICE_OFFLINE_AFTER_SECONDS: &str = "DEVICE_OFFLINE_AFTER_SECONDS";
/// Where SecCom staff are told about device health (optional).
pub const STAFF_ALERT_EMAIL: &str = "STAFF_ALERT_EMAIL";

/// What one check did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub changes: Vec<HealthEvent>,
}

/// What the function holds between invocations.
pub struct DeviceHealth {
    directory: Directory,
    table: Arc<dyn ResponseStore>,
    messenger: Messenger,
    http: Outbound,
    policy: RetryPolicy,
    offline_after: TimeDelta,
    staff_email: Option<String>,
    metrics: Metrics,
}

/// One recipient of a health message.
struct Addressee {
    channel: Channel,
    to: String,
}

impl DeviceHealth {
    /// Connects to the tables and channels named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        Ok(Self {
            directory: stores.directory()?,
            table: stores.responses()?,
            messenger: Messenger::from_config(sdk, config)?,
            http: Outbound::from_config(config, &RetryPolicy::from_config(config)?),
            policy: RetryPolicy::from_config(config)?,
            offline_after: TimeDelta::seconds(config.number(DEVICE_OFFLINE_AFTER_SECONDS, 180)?),
            staff_email: config
                .optional(STAFF_ALERT_EMAIL)
                .filter(|e| !e.is_empty())
                .map(str::to_owned),
            metrics: Metrics::from_config(config, "device-health"),
        })
    }

    /// Checks every device once; stores and tells each health change.
    pub async fn check(&self) -> Result<HealthReport, DomainError> {
        let transitions = self.directory.sweep_health(Utc::now(), self.offline_after).await?;
        let mut changes = Vec::with_capacity(transitions.len());
        for transition in transitions {
            let mut event = HealthEvent {
                device_id: transition.device.id,
                device_name: transition.device.name.as_str().to_owned(),
                kind: transition.device.kind,
                site_id: transition.device.site_id,
                client_id: transition.device.client_id,
                change: transition.change,
                at: Utc::now(),
                last_seen_at: transition.device.last_seen_at,
                notices: Vec::new(),
            };
            event.notices = self.tell(&transition, &event).await?;
            self.table.record_health(&event).await?;
            tracing::warn!(device = %event.device_id, change = ?event.change, "device health changed");
            changes.push(event);
        }
        let offline = changes.iter().filter(|e| e.change == HealthChange::WentOffline).count();
        self.metrics.emit(&[
            ("DevicesWentOffline", offline as f64, "Count"),
            ("DeviceHealthChanges", changes.len() as f64, "Count"),
        ]);
        Ok(HealthReport { changes })
    }

    /// The client's own recipients for the device's site, and SecCom staff; with the client's webhook secret.
    async fn addressees(&self, transition: &HealthTransition) -> Result<(Vec<Addressee>, Option<String>), DomainError> {
        let mut addressees = Vec::new();
        let mut secret = None;
        if let Some(client) = self.directory.find_client(transition.device.client_id).await? {
            let preferences = preferences_of(self.table.as_ref(), &client).await?;
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
            secret = Some(preferences.webhook_secret);
        }
        if let Some(staff) = &self.staff_email {
            addressees.push(Addressee {
                channel: Channel::Email,
                to: staff.clone(),
            });
        }
        Ok((addressees, secret))
    }

    /// Tells every addressee, side by side; each outcome is recorded, none fails the check.
    async fn tell(&self, transition: &HealthTransition, event: &HealthEvent) -> Result<Vec<HealthNotice>, DomainError> {
        let (addressees, secret) = self.addressees(transition).await?;
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
        let id_of = |to: &str| {
            let digest = short_digest(to);
            format!("health.{}.{}.{digest}", event.device_id, event.at.timestamp_millis())
        };
        let sends = addressees.iter().map(|addressee| {
            let (subject, text, payload, secret) = (&subject, &text, &payload, &secret);
            let id = id_of(&addressee.to);
            async move {
                let outcome = match addressee.channel {
                    Channel::Webhook => {
                        let key = secret.as_deref().unwrap_or_default().as_bytes();
                        self.policy
                            .run("health webhook", ENDPOINT_REFUSED, || {
                                self.http.post_signed(&addressee.to, key, payload)
                            })
                            .await
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
                        self.policy
                            .run("health message", MESSAGE_NOT_SENT, || self.messenger.send(&message))
                            .await
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

/// A short digest naming a message to one address.
fn short_digest(text: &str) -> String {
    seccom_domain::credential::hash(text)[..12].to_owned()
}

impl EventFunction for DeviceHealth {
    /// The schedule's event, which says nothing the check needs.
    type Event = serde_json::Value;
    type Output = HealthReport;
    type Error = DomainError;

    async fn handle(&self, _event: serde_json::Value) -> Result<HealthReport, DomainError> {
        self.check().await
    }
}
