//! Who a client wants told about an intrusion, and how.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::destinations::Destinations;
use crate::directory::Client;
use crate::error::DomainError;
use crate::ids::{ClientId, SiteId};
use crate::values::{Email, FieldErrors, Phone};

/// The most recipients one client may list.
pub const MAX_RECIPIENTS: usize = 20;

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// E-mail (SES in AWS).
    Email,
    /// Text message (SNS in AWS); the address is an E.164 phone number.
    Sms,
    /// An HTTP POST of the intrusion as JSON, signed with the client's webhook secret.
    Webhook,
}

/// On whose behalf a recipient is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RecipientRole {
    /// The client's own people.
    Client,
    /// The administrators of the building.
    BuildingAdministrator,
    /// The police.
    Police,
    /// A contact of the site's escalation policy (set by SecCom staff), told
    /// when nobody acknowledges an intrusion in time.
    Escalation,
}

/// Whether a recipient has shown it wants intrusion notifications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RecipientStatus {
    /// Sent a confirmation link (a webhook: a signed challenge) and told nothing until it is followed.
    #[default]
    AwaitingConfirmation,
    /// The recipient followed the link, or the webhook answered the challenge.
    Confirmed,
    /// SecCom staff vouched for it: the client's own contacts, police and building administrators they checked.
    VerifiedByStaff,
}

/// One recipient of intrusion notifications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recipient {
    pub role: RecipientRole,
    pub channel: Channel,
    /// An e-mail address, an E.164 phone number or an `http(s)` URL, by channel.
    pub address: String,
    /// Only for intrusions at this site; every site of the client when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
    /// Set by SecCom: a recipient is notified once confirmed or verified. Ignored when sent.
    #[serde(default)]
    #[schema(read_only)]
    pub status: RecipientStatus,
}

impl Recipient {
    /// Whether this recipient wants to hear about an intrusion at `site`, and has shown it.
    pub fn covers(&self, site: SiteId) -> bool {
        self.status != RecipientStatus::AwaitingConfirmation && self.site_id.is_none_or(|only| only == site)
    }

    /// Whether `other` reaches the same place.
    pub fn same_address(&self, other: &Recipient) -> bool {
        self.channel == other.channel && self.address == other.address
    }
}

/// How long a replaced webhook secret keeps signing beside the new one, so a
/// receiver can switch without refusing a single alarm.
pub const RETIRING_SECRET_HOURS: i64 = 24;

/// A client's notification preferences, as kept: the webhook secret in full,
/// because SecCom signs with it. Users see [`PreferencesView`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPreferences {
    pub client_id: ClientId,
    pub recipients: Vec<Recipient>,
    /// The key webhook deliveries are signed with (see the `X-SecCom-Signature` header).
    pub webhook_secret: String,
    /// When the secret was last replaced; `None` while it is the first one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret_rotated_at: Option<DateTime<Utc>>,
    /// The secret the last rotation replaced, still signing until its time is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring_webhook_secret: Option<RetiringSecret>,
    /// `null` until the client or staff first saves preferences.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A webhook secret replaced by a rotation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetiringSecret {
    pub secret: String,
    /// Deliveries stop carrying its signature at this time.
    pub until: DateTime<Utc>,
}

impl NotificationPreferences {
    /// The secrets a delivery at `now` is signed with: the current one first,
    /// then the replaced one while it is retiring.
    pub fn webhook_secrets(&self, now: DateTime<Utc>) -> Vec<String> {
        let retiring = self.retiring_webhook_secret.as_ref().filter(|r| now < r.until);
        std::iter::once(self.webhook_secret.clone())
            .chain(retiring.map(|r| r.secret.clone()))
            .collect()
    }

    /// These preferences with `secret` in place of the current one, which keeps
    /// signing for [`RETIRING_SECRET_HOURS`] (a secret retiring from an earlier
    /// rotation stops at once).
    pub fn rotated(self, secret: String, now: DateTime<Utc>) -> Self {
        Self {
            retiring_webhook_secret: Some(RetiringSecret {
                secret: self.webhook_secret,
                until: now + chrono::TimeDelta::hours(RETIRING_SECRET_HOURS),
            }),
            webhook_secret: secret,
            webhook_secret_rotated_at: Some(now),
            ..self
        }
    }

    /// What users are shown: the secret only by its last characters.
    pub fn view(&self, now: DateTime<Utc>) -> PreferencesView {
        let tail: String = {
            let chars: Vec<char> = self.webhook_secret.chars().collect();
            chars[chars.len().saturating_sub(SECRET_HINT_CHARS)..].iter().collect()
        };
        PreferencesView {
            client_id: self.client_id,
            recipients: self.recipients.clone(),
            webhook_secret_hint: format!("whsec_…{tail}"),
            webhook_secret_rotated_at: self.webhook_secret_rotated_at,
            retiring_secret_valid_until: self
                .retiring_webhook_secret
                .as_ref()
                .map(|r| r.until)
                .filter(|until| now < *until),
            updated_at: self.updated_at,
        }
    }
}

/// How many of the secret's last characters users see, to tell secrets apart.
const SECRET_HINT_CHARS: usize = 4;

/// A client's notification preferences as users read them. The webhook secret
/// is shown once, when it is rotated; here only its last characters.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreferencesView {
    pub client_id: ClientId,
    pub recipients: Vec<Recipient>,
    /// The current webhook secret's last characters, e.g. `whsec_…x9Qa`.
    #[schema(example = "whsec_…x9Qa")]
    pub webhook_secret_hint: String,
    /// When the secret was last rotated; `null` while it is the first one.
    pub webhook_secret_rotated_at: Option<DateTime<Utc>>,
    /// Until when deliveries also carry a signature with the secret the last
    /// rotation replaced; `null` when none is retiring.
    pub retiring_secret_valid_until: Option<DateTime<Utc>>,
    /// `null` until the client or staff first saves preferences.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Answer to `POST /api/clients/{clientId}/webhook-secret`: the new secret,
/// shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotatedWebhookSecret {
    /// Verify deliveries with this from now on; SecCom does not show it again.
    pub webhook_secret: String,
    /// Until then deliveries carry a second signature, with the replaced secret.
    pub retiring_secret_valid_until: DateTime<Utc>,
}

impl NotificationPreferences {
    /// What applies before anyone chooses: the client's e-mail, and its phone by
    /// SMS when it has one, both entered by staff and so verified.
    pub fn defaults(client: &Client, webhook_secret: String) -> Self {
        let mut recipients = vec![Recipient {
            role: RecipientRole::Client,
            channel: Channel::Email,
            address: client.email.as_str().to_owned(),
            site_id: None,
            status: RecipientStatus::VerifiedByStaff,
        }];
        if let Some(phone) = &client.phone {
            recipients.push(Recipient {
                role: RecipientRole::Client,
                channel: Channel::Sms,
                address: phone.as_str().to_owned(),
                site_id: None,
                status: RecipientStatus::VerifiedByStaff,
            });
        }
        Self {
            client_id: client.id,
            recipients,
            webhook_secret,
            webhook_secret_rotated_at: None,
            retiring_webhook_secret: None,
            updated_at: None,
        }
    }
}

/// Body of `PUT /api/clients/{clientId}/notification-preferences`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    pub recipients: Vec<Recipient>,
}

impl PreferencesBody {
    /// Validates every address for its channel; sites are checked against the client by the use case.
    pub fn parse(self, destinations: Destinations) -> Result<Vec<Recipient>, DomainError> {
        let mut errors = FieldErrors::default();
        if self.recipients.len() > MAX_RECIPIENTS {
            errors.push("recipients", format!("at most {MAX_RECIPIENTS} recipients"));
        }
        let mut recipients = Vec::with_capacity(self.recipients.len());
        for (index, recipient) in self.recipients.into_iter().enumerate() {
            let field = format!("recipients[{index}].address");
            let address = match recipient.channel {
                Channel::Email => errors.check(&field, Email::parse(&recipient.address).map(|e| e.as_str().to_owned())),
                Channel::Sms => errors.check(&field, Phone::parse(&recipient.address).map(|p| p.as_str().to_owned())),
                Channel::Webhook => errors.check(&field, destinations.url(&recipient.address)),
            };
            if let Some(address) = address {
                recipients.push(Recipient { address, ..recipient });
            }
        }
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(recipients)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(channel: Channel, address: &str) -> Recipient {
        Recipient {
            role: RecipientRole::Client,
            channel,
            address: address.into(),
            site_id: None,
            status: RecipientStatus::default(),
        }
    }

    #[test]
    fn addresses_are_checked_for_their_channel() {
        let good = PreferencesBody {
            recipients: vec![
                recipient(Channel::Email, "Ops@Example.com"),
                recipient(Channel::Sms, "+44 20 7946 0000"),
                recipient(Channel::Webhook, "https://hooks.example.com/seccom"),
            ],
        };
        let parsed = good.parse(Destinations::default()).unwrap();
        assert_eq!(parsed[1].address, "+442079460000");
        let bad = PreferencesBody {
            recipients: vec![
                recipient(Channel::Email, "+44 20 7946 0000"),
                recipient(Channel::Webhook, "ftp://x"),
                recipient(Channel::Webhook, "https://user:pw@x.example"),
            ],
        };
        let Err(DomainError::Invalid(errors)) = bad.parse(Destinations::default()) else {
            panic!("bad recipients accepted")
        };
        assert_eq!(errors.len(), 3);
    }
}
