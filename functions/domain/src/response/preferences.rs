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

/// A client's notification preferences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPreferences {
    pub client_id: ClientId,
    pub recipients: Vec<Recipient>,
    /// The key webhook deliveries are signed with (see the `X-SecCom-Signature` header).
    pub webhook_secret: String,
    /// `null` until the client or staff first saves preferences.
    pub updated_at: Option<DateTime<Utc>>,
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
