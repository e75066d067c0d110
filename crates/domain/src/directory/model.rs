//! Clients, sites and devices, and the request bodies that create or change them.
//! The request bodies are parsed into domain inputs here, once, for the API and
//! the portals alike.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, SiteId};
use crate::values::{Address, Email, FieldErrors, Name, Phone};

/// A customer of the security company: the tenant that owns sites and devices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub id: ClientId,
    pub name: Name,
    pub email: Email,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A building of a client, where cameras and alarms are installed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    pub id: SiteId,
    pub client_id: ClientId,
    pub name: Name,
    pub address: Address,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which kind of device; cameras and alarms share the device id space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Camera,
    Alarm,
}

impl DeviceKind {
    /// The noun used in messages and paths.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Camera => "camera",
            Self::Alarm => "alarm",
        }
    }
}

/// What the system last learned about a device's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceState {
    /// Registered but never heard from.
    Unknown,
    /// Heartbeats arrive on time.
    Online,
    /// Heartbeats stopped.
    Offline,
    /// The device reported a fault.
    Faulty,
}

/// A camera or alarm at a site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: DeviceId,
    pub kind: DeviceKind,
    pub site_id: SiteId,
    pub client_id: ClientId,
    pub name: Name,
    pub state: DeviceState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Where the device accepts pushed commands, as it registered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The problem reported about the device and not yet recovered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_alarm: Option<super::HealthProblem>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Device {
    /// The device as `who` may see it: where a device accepts commands is for
    /// staff and SecCom's own functions, not for client users (it names the
    /// client's network).
    pub fn as_seen_by(mut self, who: &crate::auth::Principal) -> Self {
        if who.tenant().is_some() {
            self.endpoint = None;
        }
        self
    }
}

/// A device with the key that signs the commands sent to it: the SHA-256 of its
/// credential in hex, which both SecCom and the device can compute.
#[derive(Clone, Debug)]
pub struct CommandTarget {
    pub device: Device,
    pub signing_key: Vec<u8>,
}

/// A URL a device accepts commands on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceEndpoint(String);

impl DeviceEndpoint {
    /// Accepts absolute `http` or `https` URLs without credentials, at addresses `destinations` allows.
    pub fn parse(raw: &str, destinations: crate::destinations::Destinations) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::default();
        let url = errors.check("url", destinations.url(raw).map_err(|reason| format!("url {reason}")));
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(Self(url.expect("checked")))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A device as returned once at registration, with the secret it authenticates with.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredDevice {
    #[serde(flatten)]
    pub device: Device,
    /// The device's secret. Shown only in this response; SecCom stores a hash.
    pub credential: String,
}

/// Distinguishes "field absent" (keep) from "field null" (clear) in a PATCH body.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

// The schema patterns say in a regular expression what `crate::values` accepts
// (utoipa takes only literals): a name or address has a visible character and no
// control, invisible or direction-changing ones; a phone is E.164 with the
// spaces, dashes, dots and brackets people type.

/// Body of `POST /api/clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*$"
    )]
    pub name: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(pattern = "^[ ().-]*\\+[ ().-]*[1-9]([ ().-]*[0-9]){7,14}[ ().-]*$")]
    #[serde(default)]
    pub phone: Option<String>,
}

/// Body of `PATCH /api/clients/{clientId}`: absent fields stay, `"phone": null` clears the phone.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatchBody {
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*$"
    )]
    pub name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = "^[ ().-]*\\+[ ().-]*[1-9]([ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: Option<Option<String>>,
}

/// Body of `POST /api/sites`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SiteBody {
    #[schema(format = Uuid)]
    pub client_id: String,
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*$"
    )]
    pub name: String,
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*$"
    )]
    pub address: String,
}

/// Body of `PATCH /api/sites/{siteId}`; a site never moves to another client.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitePatchBody {
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*$"
    )]
    pub name: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*$"
    )]
    pub address: Option<String>,
}

/// Body of `POST /api/sites/{siteId}/cameras|alarms` and of their PATCH.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]*$"
    )]
    pub name: String,
}

/// A validated new client.
pub struct NewClient {
    pub name: Name,
    pub email: Email,
    pub phone: Option<Phone>,
}

/// Validated changes to a client; serialises to exactly the fields to set.
#[derive(Default, Serialize)]
pub struct ClientChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// `Some(None)` clears the phone, which is a removal rather than a value to set.
    #[serde(skip_serializing_if = "is_not_set")]
    pub phone: Option<Option<Phone>>,
}

fn is_not_set<T>(value: &Option<Option<T>>) -> bool {
    !matches!(value, Some(Some(_)))
}

/// A validated new site.
pub struct NewSite {
    pub client_id: ClientId,
    pub name: Name,
    pub address: Address,
}

/// Validated changes to a site; serialises to exactly the fields to set.
#[derive(Default, Serialize)]
pub struct SiteChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

fn optional<T>(
    errors: &mut FieldErrors,
    name: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, String>,
) -> Option<T> {
    raw.and_then(|raw| errors.check(name, parse(raw)))
}

impl NewClient {
    /// Validates every field, reporting all problems together.
    pub fn parse(body: ClientBody) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", Name::parse(&body.name));
        let email = errors.check("email", Email::parse(&body.email));
        let phone = optional(&mut errors, "phone", body.phone.as_deref(), Phone::parse);
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(Self {
            name: name.expect("checked"),
            email: email.expect("checked"),
            phone,
        })
    }
}

impl ClientChanges {
    /// Validates the fields present in a PATCH body.
    pub fn parse(body: ClientPatchBody) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::default();
        let name = optional(&mut errors, "name", body.name.as_deref(), Name::parse);
        let email = optional(&mut errors, "email", body.email.as_deref(), Email::parse);
        let phone = match body.phone {
            Some(Some(raw)) => errors.check("phone", Phone::parse(&raw)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(Self { name, email, phone })
    }
}

impl NewSite {
    /// Validates every field; an unknown client is reported later, by the store.
    pub fn parse(body: SiteBody) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::default();
        let client_id = errors.check(
            "clientId",
            body.client_id
                .parse::<ClientId>()
                .map_err(|_| "clientId must be a client id (a UUID)".to_owned()),
        );
        let name = errors.check("name", Name::parse(&body.name));
        let address = errors.check("address", Address::parse(&body.address));
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(Self {
            client_id: client_id.expect("checked"),
            name: name.expect("checked"),
            address: address.expect("checked"),
        })
    }
}

impl SiteChanges {
    /// Validates the fields present in a PATCH body.
    pub fn parse(body: SitePatchBody) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::default();
        let name = optional(&mut errors, "name", body.name.as_deref(), Name::parse);
        let address = optional(&mut errors, "address", body.address.as_deref(), Address::parse);
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(Self { name, address })
    }
}

impl DeviceBody {
    /// The device's validated name.
    pub fn parse(self) -> Result<Name, DomainError> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", Name::parse(&self.name));
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(name.expect("checked"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_bodies_tell_null_from_absent() {
        let absent: ClientPatchBody = serde_json::from_str(r#"{"name":"A"}"#).unwrap();
        assert!(absent.phone.is_none());
        let cleared: ClientPatchBody = serde_json::from_str(r#"{"phone":null}"#).unwrap();
        assert!(matches!(cleared.phone, Some(None)));
        assert!(matches!(ClientChanges::parse(cleared).unwrap().phone, Some(None)));
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let body = ClientBody {
            name: " ".into(),
            email: "nope".into(),
            phone: Some("123".into()),
        };
        match NewClient::parse(body) {
            Err(DomainError::Invalid(errors)) => {
                let names: Vec<_> = errors.iter().map(|e| e.name.as_str()).collect();
                assert_eq!(names, ["name", "email", "phone"]);
            }
            _ => panic!("invalid client accepted"),
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<SitePatchBody>(r#"{"clientId":"x"}"#).is_err());
    }
}
