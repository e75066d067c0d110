//! Verified recipients: nobody is sent intrusion notifications until they have
//! shown they want them. A new e-mail address or phone number gets a one-time
//! confirmation link; a new webhook gets a challenge signed with the client's
//! webhook secret whose link it calls back, proving it holds the secret and
//! answers at that address. Staff may vouch for a recipient instead (police,
//! building administrators). The client's own contacts, entered by staff, count
//! as verified. Requests travel through the notification queue, so saving
//! preferences never waits on a recipient.

use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use chrono::{TimeDelta, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::outbound::{ConfirmationRequest, NotificationQueue, Queued};
use super::{Channel, NotificationPreferences, PendingConfirmation, Recipient, RecipientStatus, Responses};
use crate::audit::AuditAction;
use crate::auth::Principal;
use crate::credential;
use crate::directory::Client;
use crate::error::DomainError;
use crate::ids::ClientId;
use crate::values::{Email, Phone};

/// How long a confirmation link works.
const LINK_LIFETIME: TimeDelta = TimeDelta::days(7);
/// The longest token a link carries (a client id, a dot, 43 characters).
const MAX_TOKEN_LENGTH: usize = 100;

/// Where confirmation requests go, and the public address their links start with.
#[derive(Clone)]
pub struct ConfirmationSender {
    pub queue: Arc<dyn NotificationQueue>,
    /// The site's public URL (`https://seccom.example.com`), without a trailing slash.
    pub base_url: String,
}

/// Body of `POST /api/clients/{clientId}/recipients/verify`: the recipient staff vouch for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    pub channel: Channel,
    /// The address exactly as the preferences list it.
    #[schema(min_length = 1, max_length = 2048)]
    pub address: String,
}

/// Whether `token` could be a confirmation link's token (what a link may carry
/// back into a page is checked before anything is looked up).
pub fn is_confirmation_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LENGTH
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A fresh token, naming its client so a link needs no other look-up.
fn new_token(client: ClientId) -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source is available");
    format!(
        "{client}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Whether `recipient` is one of the client's own contacts, which staff entered.
fn own_contact(client: &Client, recipient: &Recipient) -> bool {
    match recipient.channel {
        Channel::Email => recipient.address == client.email.as_str(),
        Channel::Sms => client.phone.as_ref().is_some_and(|p| p.as_str() == recipient.address),
        Channel::Webhook => false,
    }
}

impl Responses {
    /// The same use cases, sending confirmation requests through `sender`.
    pub fn with_confirmations(mut self, sender: ConfirmationSender) -> Self {
        self.confirmations = Some(sender);
        self
    }

    /// Gives each recipient its status: what it had, verified for the client's
    /// own contacts, else awaiting confirmation. Answers the recipients that
    /// need a confirmation request (new and unconfirmed), once per address.
    pub(super) fn statuses(
        client: &Client,
        current: &NotificationPreferences,
        recipients: &mut [Recipient],
    ) -> Vec<Recipient> {
        let mut requests: Vec<Recipient> = Vec::new();
        for recipient in recipients.iter_mut() {
            let earlier = current.recipients.iter().find(|r| r.same_address(recipient));
            recipient.status = match earlier {
                Some(earlier) => earlier.status,
                None if own_contact(client, recipient) => RecipientStatus::VerifiedByStaff,
                None => RecipientStatus::AwaitingConfirmation,
            };
            if earlier.is_none()
                && recipient.status == RecipientStatus::AwaitingConfirmation
                && !requests.iter().any(|r| r.same_address(recipient))
            {
                requests.push(recipient.clone());
            }
        }
        requests
    }

    /// Sends each new recipient its confirmation request.
    pub(super) async fn request_confirmations(
        &self,
        client: ClientId,
        recipients: &[Recipient],
    ) -> Result<(), DomainError> {
        if recipients.is_empty() {
            return Ok(());
        }
        let Some(sender) = &self.confirmations else {
            return Err(DomainError::unavailable(
                "cannot ask new recipients to confirm",
                "no confirmation sender is configured",
            ));
        };
        for recipient in recipients {
            let token = new_token(client);
            let pending = PendingConfirmation {
                client_id: client,
                channel: recipient.channel,
                address: recipient.address.clone(),
                expires_at: Utc::now() + LINK_LIFETIME,
            };
            self.store
                .save_confirmation(&credential::hash(&token), &pending)
                .await?;
            let request = ConfirmationRequest {
                client_id: client,
                channel: recipient.channel,
                address: recipient.address.clone(),
                link: format!("{}/api/recipient-confirmations/{token}", sender.base_url),
            };
            sender.queue.enqueue(&Queued::Confirmation(request)).await?;
            tracing::info!(client = %client, channel = ?recipient.channel, "confirmation requested");
        }
        Ok(())
    }

    /// Follows a confirmation link: the recipient it was sent to is confirmed.
    /// A link works once, for seven days, and only while the recipient is listed.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_recipient(&self, token: &str) -> Result<Recipient, DomainError> {
        if !is_confirmation_token(token) {
            return Err(DomainError::NotFound("confirmation link"));
        }
        let pending = self
            .store
            .take_confirmation(&credential::hash(token))
            .await?
            .filter(|p| p.expires_at > Utc::now())
            .ok_or(DomainError::NotFound("confirmation link"))?;
        let mut preferences = self
            .store
            .preferences(pending.client_id)
            .await?
            .ok_or(DomainError::NotFound("confirmation link"))?;
        let mut confirmed = None;
        for recipient in &mut preferences.recipients {
            if recipient.channel == pending.channel
                && recipient.address == pending.address
                && recipient.status == RecipientStatus::AwaitingConfirmation
            {
                recipient.status = RecipientStatus::Confirmed;
                confirmed = Some(recipient.clone());
            }
        }
        let confirmed = confirmed.ok_or(DomainError::NotFound("confirmation link"))?;
        self.store.save_recipients(&preferences).await?;
        tracing::info!(client = %pending.client_id, channel = ?pending.channel, "recipient confirmed");
        Ok(confirmed)
    }

    /// Staff vouch for a recipient of a client (police, a building administrator).
    pub async fn verify_recipient(
        &self,
        who: &Principal,
        client: ClientId,
        body: VerifyBody,
    ) -> Result<NotificationPreferences, DomainError> {
        who.require_staff()?;
        let client = self.directory.get_client(who, client).await?;
        let address = match body.channel {
            Channel::Email => Email::parse(&body.address).map_or(body.address, |e| e.as_str().to_owned()),
            Channel::Sms => Phone::parse(&body.address).map_or(body.address, |p| p.as_str().to_owned()),
            Channel::Webhook => body.address,
        };
        let mut preferences = super::preferences_of(self.store.as_ref(), &client).await?;
        let mut found = false;
        for recipient in &mut preferences.recipients {
            if recipient.channel == body.channel && recipient.address == address {
                recipient.status = RecipientStatus::VerifiedByStaff;
                found = true;
            }
        }
        if !found {
            return Err(DomainError::NotFound("recipient"));
        }
        self.store.save_recipients(&preferences).await?;
        self.directory
            .audit()
            .record(
                who,
                AuditAction::ChangedNotificationPreferences,
                preferences.client_id,
                format!("client/{}", preferences.client_id),
            )
            .await?;
        Ok(preferences)
    }
}
