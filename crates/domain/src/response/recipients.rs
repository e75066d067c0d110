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
use chrono::TimeDelta;
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
/// The soonest another confirmation message goes to the same address.
const RESEND_AFTER: TimeDelta = TimeDelta::hours(1);
/// The most confirmation messages sent for one client in a day (UTC): twice
/// the recipients it may list.
pub const DAILY_CONFIRMATIONS: u32 = 2 * super::preferences::MAX_RECIPIENTS as u32;
/// The longest token a link carries (a client id, an address key and 43
/// characters of secret, separated by dots).
const MAX_TOKEN_LENGTH: usize = 128;

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

/// A fresh token, naming its client and address so a link needs no other look-up.
fn new_token(client: ClientId, address_key: &str) -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source is available");
    format!(
        "{client}.{address_key}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The client and address key a token names, if it has a token's shape.
fn token_parts(token: &str) -> Option<(ClientId, &str)> {
    let mut parts = token.split('.');
    let (client, key, secret) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || key.len() != 32 || secret.is_empty() {
        return None;
    }
    Some((client.parse().ok()?, key))
}

/// What a save does about one address that now awaits confirmation.
pub(super) enum Asking {
    /// Its link, withdrawn less than an hour after it was sent, works again.
    Revive(PendingConfirmation),
    /// Its link is still out: nothing to send.
    Pending,
    /// A new link goes out.
    Send(Recipient),
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
    /// need a confirmation request (new and unconfirmed), once per address,
    /// and the unconfirmed ones the save removes (their links are withdrawn).
    pub(super) fn statuses(
        client: &Client,
        current: &NotificationPreferences,
        recipients: &mut [Recipient],
    ) -> (Vec<Recipient>, Vec<Recipient>) {
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
        let removed = current
            .recipients
            .iter()
            .filter(|r| r.status == RecipientStatus::AwaitingConfirmation)
            .filter(|r| !recipients.iter().any(|kept| kept.same_address(r)))
            .cloned()
            .collect();
        (requests, removed)
    }

    /// What to do about each address that now awaits confirmation: at most
    /// one message an hour per address, and [`DAILY_CONFIRMATIONS`] a day per
    /// client (counted here, before anything is saved: beyond it the save is
    /// refused with 429, and nothing was changed).
    pub(super) async fn plan_confirmations(
        &self,
        client: ClientId,
        requests: Vec<Recipient>,
    ) -> Result<Vec<Asking>, DomainError> {
        let now = self.directory.now();
        let mut plan = Vec::with_capacity(requests.len());
        for recipient in requests {
            let key = super::address_key(recipient.channel, &recipient.address);
            plan.push(match self.store.confirmation(client, &key).await? {
                Some(sent) if sent.expires_at > now && !sent.withdrawn => Asking::Pending,
                Some(sent) if sent.expires_at > now && now < sent.sent_at + RESEND_AFTER => Asking::Revive(sent),
                _ => Asking::Send(recipient),
            });
        }
        let sending = plan.iter().filter(|a| matches!(a, Asking::Send(_))).count();
        if sending == 0 {
            return Ok(plan);
        }
        if self.confirmations.is_none() {
            return Err(DomainError::unavailable(
                "cannot ask new recipients to confirm",
                "no confirmation sender is configured",
            ));
        }
        let count = u32::try_from(sending).unwrap_or(u32::MAX);
        let today = now.date_naive();
        if !self
            .store
            .reserve_confirmations(client, today, count, DAILY_CONFIRMATIONS)
            .await?
        {
            let tomorrow = today
                .succ_opt()
                .unwrap_or(today)
                .and_time(chrono::NaiveTime::MIN)
                .and_utc();
            tracing::warn!(client = %client, new = sending, "daily confirmation budget spent");
            return Err(DomainError::TooMany {
                detail: format!(
                    "at most {DAILY_CONFIRMATIONS} confirmation messages go out for a client in a day, and \
                     {sending} more would pass it: add these recipients after midnight UTC, or ask SecCom \
                     staff to verify them"
                ),
                retry_after: u64::try_from((tomorrow - now).num_seconds()).unwrap_or(1),
            });
        }
        Ok(plan)
    }

    /// Carries out a plan once the recipients are saved: links withdrawn with
    /// the recipients removed (`removed`), revived, or sent.
    pub(super) async fn request_confirmations(
        &self,
        client: ClientId,
        plan: Vec<Asking>,
        removed: &[Recipient],
    ) -> Result<(), DomainError> {
        for recipient in removed {
            let key = super::address_key(recipient.channel, &recipient.address);
            if let Some(sent) = self.store.confirmation(client, &key).await?
                && !sent.withdrawn
            {
                let withdrawn = PendingConfirmation {
                    withdrawn: true,
                    ..sent
                };
                self.store.save_confirmation(&withdrawn).await?;
            }
        }
        let now = self.directory.now();
        for asking in plan {
            let recipient = match asking {
                Asking::Pending => continue,
                Asking::Revive(sent) => {
                    let revived = PendingConfirmation {
                        withdrawn: false,
                        ..sent
                    };
                    self.store.save_confirmation(&revived).await?;
                    continue;
                }
                Asking::Send(recipient) => recipient,
            };
            let Some(sender) = &self.confirmations else {
                continue; // the plan sends nothing without a sender
            };
            let key = super::address_key(recipient.channel, &recipient.address);
            let token = new_token(client, &key);
            let pending = PendingConfirmation {
                client_id: client,
                channel: recipient.channel,
                address: recipient.address.clone(),
                token_sha256: credential::hash(&token),
                sent_at: now,
                withdrawn: false,
                expires_at: now + LINK_LIFETIME,
            };
            self.store.save_confirmation(&pending).await?;
            let request = ConfirmationRequest {
                client_id: client,
                channel: recipient.channel,
                address: recipient.address,
                link: format!("{}/api/recipient-confirmations/{token}", sender.base_url),
            };
            sender.queue.enqueue(&Queued::Confirmation(request)).await?;
            tracing::info!(client = %client, channel = ?pending.channel, "confirmation requested");
        }
        Ok(())
    }

    /// Follows a confirmation link: the recipient it was sent to is confirmed.
    /// A link works once, for seven days, only while the recipient is listed,
    /// and only while it is the last link sent to that address.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_recipient(&self, token: &str) -> Result<Recipient, DomainError> {
        let not_found = || DomainError::NotFound("confirmation link");
        let (client, key) = token_parts(token)
            .filter(|_| is_confirmation_token(token))
            .ok_or_else(not_found)?;
        let pending = self
            .store
            .confirmation(client, key)
            .await?
            .filter(|p| !p.withdrawn && p.expires_at > self.directory.now())
            .filter(|p| credential::matches(token, &p.token_sha256))
            .ok_or_else(not_found)?;
        let mut preferences = self.store.preferences(client).await?.ok_or_else(not_found)?;
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
        let confirmed = confirmed.ok_or_else(not_found)?;
        if !self.store.take_confirmation(&pending).await? {
            return Err(not_found());
        }
        self.store.save_recipients(&preferences).await?;
        tracing::info!(client = %client, channel = ?pending.channel, "recipient confirmed");
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
