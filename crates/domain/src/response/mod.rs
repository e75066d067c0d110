//! The response to an intrusion: alarm activations and clip requests sent to
//! devices (pushed and queued for their heartbeat), notifications by the
//! client's preferences, and the records users read back. The use cases:
//! [`Responder`] (intrusion opened), [`Notifier`] (a queued notification sent),
//! [`Heartbeats`] (command handover), escalation of what nobody acknowledges
//! (see [`EscalationPolicy`]),
//! [`clip_arrived`], [`HealthCheck`] (device health), and [`Responses`] for users.

mod clips;
mod escalation;
mod health;
mod health_check;
mod heartbeat;
mod model;
mod notify;
pub mod outbound;
mod ports;
mod preferences;
pub mod push;
mod recipients;
mod respond;
pub mod signing;

use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;

pub use clips::{ArrivedClip, ClipBucket, ClipPorts, ClipReport, MAX_CLIP_BYTES, clip_arrived};
pub use escalation::{
    ContactChannel, EscalationContact, EscalationDue, EscalationPolicy, EscalationRecord, EscalationStep,
    MAX_STEPS as MAX_ESCALATION_STEPS,
};
pub use health::{HealthEvent, HealthNotice};
pub use health_check::HealthCheck;
pub use heartbeat::{Heartbeat, Heartbeats};
pub use model::*;
pub use notify::{Delivered, Notifier};
pub use ports::{Claim, NotificationScope, PendingConfirmation, ResponseRecords, ResponseStore, address_key};
pub use preferences::*;
pub use recipients::{ConfirmationSender, VerifyBody, is_confirmation_token};
pub use respond::{ClipWindow, Responder, ResponseReport};

use crate::audit::AuditAction;
use crate::auth::Principal;
use crate::destinations::Destinations;
use crate::detection::{Intrusion, Intrusions};
use crate::directory::{Client, Directory};
use crate::error::DomainError;
use crate::ids::{ClientId, IntrusionId};
use crate::page::{Page, PageRequest};
use crate::values::FieldErrors;

/// An intrusion with everything its response did.
#[derive(Debug)]
pub struct IntrusionRecord {
    pub intrusion: Intrusion,
    pub subject: IntrusionSubject,
    pub records: ResponseRecords,
}

/// Whom and where an intrusion concerns, for the people handling it: the
/// camera that saw it, the site, and the client with its contacts (the
/// keyholder to call). A field is `null` when its record was removed since.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntrusionSubject {
    pub camera_name: Option<String>,
    pub site_name: Option<String>,
    pub site_address: Option<String>,
    pub client_name: Option<String>,
    pub client_email: Option<String>,
    pub client_phone: Option<String>,
}

/// The use cases users reach about responses, each scoped by the authorisation policy.
#[derive(Clone)]
pub struct Responses {
    directory: Directory,
    intrusions: Intrusions,
    store: Arc<dyn ResponseStore>,
    destinations: Destinations,
    confirmations: Option<ConfirmationSender>,
}

fn new_webhook_secret() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source is available");
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

impl Responses {
    /// Response use cases over these stores.
    pub fn new(directory: Directory, intrusions: Intrusions, store: Arc<dyn ResponseStore>) -> Self {
        Self {
            directory,
            intrusions,
            store,
            destinations: Destinations::default(),
            confirmations: None,
        }
    }

    /// Records `action` on `client`'s settings in the audit trail.
    async fn audited(&self, who: &Principal, action: AuditAction, client: ClientId) -> Result<(), DomainError> {
        self.directory
            .audit()
            .record(who, action, client, format!("client/{client}"))
            .await
    }

    /// An intrusion with its alarm activations, clip and notifications, if the
    /// caller may see it. `viewing`: the caller opens it to look at its footage,
    /// which the audit trail records (a page polling for changes does not).
    pub async fn intrusion(
        &self,
        who: &Principal,
        id: IntrusionId,
        viewing: bool,
    ) -> Result<IntrusionRecord, DomainError> {
        let intrusion = if viewing {
            self.intrusions.view(who, id).await?
        } else {
            self.intrusions.get(who, id).await?
        };
        let records = self.store.records(id).await?;
        // The caller may see the intrusion, so it may see whom it concerns.
        let camera = self.directory.find_device(intrusion.camera_id).await?;
        let site = self.directory.find_site(intrusion.site_id).await?;
        let client = self.directory.find_client(intrusion.client_id).await?;
        let subject = IntrusionSubject {
            camera_name: camera.map(|c| c.name.as_str().to_owned()),
            site_name: site.as_ref().map(|s| s.name.as_str().to_owned()),
            site_address: site.as_ref().map(|s| s.address.as_str().to_owned()),
            client_name: client.as_ref().map(|c| c.name.as_str().to_owned()),
            client_email: client.as_ref().map(|c| c.email.as_str().to_owned()),
            client_phone: client
                .as_ref()
                .and_then(|c| c.phone.as_ref().map(|p| p.as_str().to_owned())),
        };
        Ok(IntrusionRecord {
            intrusion,
            subject,
            records,
        })
    }

    /// Notifications newest first: a client user's own, or for staff all (or one client's).
    pub async fn notifications(
        &self,
        who: &Principal,
        client: Option<ClientId>,
        page: PageRequest,
    ) -> Result<Page<Notification>, DomainError> {
        let scope = scope_of(who, client)?;
        self.store.list_notifications(scope, &page).await
    }

    /// Device health changes newest first: a client user's own, or for staff all (or one client's).
    pub async fn health_events(
        &self,
        who: &Principal,
        client: Option<ClientId>,
        page: PageRequest,
    ) -> Result<Page<HealthEvent>, DomainError> {
        let scope = scope_of(who, client)?;
        self.store.health_events(scope, &page).await
    }

    /// A client's notification preferences (its defaults until someone saves them).
    pub async fn preferences(&self, who: &Principal, client: ClientId) -> Result<NotificationPreferences, DomainError> {
        let client = self.directory.get_client(who, client).await?;
        preferences_of(self.store.as_ref(), &client).await
    }

    /// `preferences` as users are shown them now.
    pub fn view(&self, preferences: &NotificationPreferences) -> PreferencesView {
        preferences.view(self.directory.now())
    }

    /// The same use cases, saving webhook URLs only where `destinations` allows.
    pub fn with_destinations(mut self, destinations: Destinations) -> Self {
        self.destinations = destinations;
        self
    }

    /// Replaces a client's recipients; staff or the client's own users may. A
    /// new recipient is told nothing until it confirms (see [`recipients`]).
    pub async fn set_preferences(
        &self,
        who: &Principal,
        client: ClientId,
        body: PreferencesBody,
    ) -> Result<NotificationPreferences, DomainError> {
        let client = self.directory.get_client(who, client).await?;
        let mut recipients = body.parse(self.destinations)?;
        let mut errors = FieldErrors::default();
        for (index, recipient) in recipients.iter().enumerate() {
            if let Some(site) = recipient.site_id {
                let owned = match self.directory.get_site(who, site).await {
                    Ok(site) => site.client_id == client.id,
                    Err(DomainError::NotFound(_)) => false,
                    Err(other) => return Err(other),
                };
                if !owned {
                    errors.push(
                        &format!("recipients[{index}].siteId"),
                        "siteId must be a site of this client",
                    );
                }
            }
        }
        errors.finish().map_err(DomainError::Invalid)?;
        let current = preferences_of(self.store.as_ref(), &client).await?;
        let (requests, removed) = Self::statuses(&client, &current, &mut recipients);
        let plan = self.plan_confirmations(client.id, requests).await?;
        let preferences = NotificationPreferences {
            recipients,
            updated_at: Some(self.directory.now()),
            ..current
        };
        self.store.save_recipients(&preferences).await?;
        self.request_confirmations(client.id, plan, &removed).await?;
        self.audited(who, AuditAction::ChangedNotificationPreferences, client.id)
            .await?;
        Ok(preferences)
    }

    /// Replaces a client's webhook secret (staff or the client's own users
    /// may): the answer is the only place the new secret is shown. The old one
    /// keeps signing beside it for [`RETIRING_SECRET_HOURS`], so receivers can
    /// switch without refusing an alarm.
    #[tracing::instrument(skip_all, fields(client = %client))]
    pub async fn rotate_webhook_secret(
        &self,
        who: &Principal,
        client: ClientId,
    ) -> Result<RotatedWebhookSecret, DomainError> {
        let client = self.directory.get_client(who, client).await?;
        let current = preferences_of(self.store.as_ref(), &client).await?;
        let now = self.directory.now();
        let rotated = current.rotated(new_webhook_secret(), now);
        self.store.save_webhook_secret(&rotated).await?;
        self.audited(who, AuditAction::RotatedWebhookSecret, client.id).await?;
        tracing::info!(by = %who.subject, "webhook secret rotated");
        Ok(RotatedWebhookSecret {
            retiring_secret_valid_until: rotated.retiring_webhook_secret.as_ref().map_or(now, |r| r.until),
            webhook_secret: rotated.webhook_secret,
        })
    }
}

/// Which client's records a list covers: a client user's own (another client is
/// not found), or for staff the one asked for, or all.
fn scope_of(who: &Principal, client: Option<ClientId>) -> Result<NotificationScope, DomainError> {
    Ok(who
        .client_scope(client)?
        .map_or(NotificationScope::All, NotificationScope::Client))
}

/// The preferences that apply to a client: saved ones, or its defaults with a
/// webhook secret that is saved on first use so it never changes under a receiver.
pub async fn preferences_of(
    store: &dyn ResponseStore,
    client: &Client,
) -> Result<NotificationPreferences, DomainError> {
    if let Some(saved) = store.preferences(client.id).await? {
        return Ok(saved);
    }
    store
        .create_preferences(&NotificationPreferences::defaults(client, new_webhook_secret()))
        .await
}

#[cfg(test)]
mod escalation_tests;
#[cfg(test)]
mod recipients_tests;
#[cfg(test)]
mod respond_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod world;
