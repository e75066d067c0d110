//! What the response to an intrusion leaves behind: commands to devices and
//! their delivery, the clip, and notifications.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::preferences::Recipient;
use crate::ids::{ClientId, DeviceId, IntrusionId, SiteId};

/// A command for a device. Its id is the same on every retry, so a device acts on each command once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Command {
    pub id: String,
    pub device_id: DeviceId,
    pub intrusion_id: IntrusionId,
    pub issued_at: DateTime<Utc>,
    #[serde(flatten)]
    pub action: CommandAction,
}

/// What a device is asked to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum CommandAction {
    /// Sound and light the alarm.
    ActivateAlarm { site_id: SiteId, camera_id: DeviceId },
    /// Upload the recording of `from`..`to` with one HTTP PUT of the video to
    /// `upload_url` once `to` has passed, before `upload_expires_at`.
    RecordClip {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        upload_url: String,
        upload_expires_at: DateTime<Utc>,
        /// Headers to send with the PUT, exactly (they are signed): the video's
        /// content type, and `if-none-match: *`, so a clip is stored once and
        /// never replaced.
        #[serde(default)]
        upload_headers: std::collections::BTreeMap<String, String>,
    },
}

impl Command {
    /// A command's id: one per intrusion, device and purpose.
    pub fn id_for(intrusion: IntrusionId, device: DeviceId, action: &CommandAction) -> String {
        let purpose = match action {
            CommandAction::ActivateAlarm { .. } => "activate",
            CommandAction::RecordClip { .. } => "clip",
        };
        format!("{intrusion}.{device}.{purpose}")
    }
}

/// How a command reached its device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveredBy {
    /// Pushed to the endpoint the device registered.
    Push,
    /// Handed over in the answer to the device's heartbeat.
    Heartbeat,
}

/// A command and what became of it: the stored record of an alarm activation or a clip request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub command: Command,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_by: Option<DeliveredBy>,
    #[serde(default)]
    pub push_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What users see of a delivery (never the clip upload URL).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub device_id: DeviceId,
    /// `activateAlarm` or `recordClip`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When the command was raised.
    pub raised_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub delivered_by: Option<DeliveredBy>,
    /// Push attempts made; a command not pushed waits for the device's next heartbeat.
    pub push_attempts: u32,
    pub last_error: Option<String>,
}

impl From<&Delivery> for DeliveryView {
    fn from(delivery: &Delivery) -> Self {
        Self {
            device_id: delivery.command.device_id,
            kind: match delivery.command.action {
                CommandAction::ActivateAlarm { .. } => "activateAlarm",
                CommandAction::RecordClip { .. } => "recordClip",
            },
            raised_at: delivery.command.issued_at,
            delivered_at: delivery.delivered_at,
            delivered_by: delivery.delivered_by,
            push_attempts: delivery.push_attempts,
            last_error: delivery.last_error.clone(),
        }
    }
}

/// The recording of an intrusion, from pre-roll to post-roll.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Clip {
    pub intrusion_id: IntrusionId,
    pub camera_id: DeviceId,
    /// The object key in the clips bucket.
    pub key: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// After this, a clip that has not arrived is reported missing.
    pub due_by: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// How a masked rendition's key ends.
const MASKED_SUFFIX: &str = ".masked.mp4";

/// What an object of the clips bucket is, by its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClipKey {
    /// A camera's upload of an intrusion's clip.
    Upload { camera: DeviceId, intrusion: IntrusionId },
    /// The clip archiver's rendition of it with the camera's privacy masks blurred.
    Masked { camera: DeviceId, intrusion: IntrusionId },
}

/// Where a clip is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClipState {
    /// Requested; the camera uploads it after the post-roll.
    Pending,
    /// In the clips bucket.
    Stored,
    /// Not arrived by its due time.
    Missing,
}

impl Clip {
    /// The clips bucket key of an intrusion's clip.
    pub fn key_for(camera: DeviceId, intrusion: IntrusionId) -> String {
        format!("clips/{camera}/{intrusion}.mp4")
    }

    /// The clips bucket key of an intrusion's clip with its camera's privacy
    /// masks blurred, stored by the clip archiver in place of the upload.
    pub fn masked_key(camera: DeviceId, intrusion: IntrusionId) -> String {
        format!("clips/{camera}/{intrusion}{MASKED_SUFFIX}")
    }

    /// What a clips bucket key is, if it has the layout of [`Clip::key_for`] or [`Clip::masked_key`].
    pub fn parse_key(key: &str) -> Option<ClipKey> {
        let rest = key.strip_prefix("clips/")?;
        let (camera, file) = rest.split_once('/')?;
        let camera = camera.parse().ok()?;
        if let Some(intrusion) = file.strip_suffix(MASKED_SUFFIX) {
            return Some(ClipKey::Masked {
                camera,
                intrusion: intrusion.parse().ok()?,
            });
        }
        let intrusion = file.strip_suffix(".mp4")?.parse().ok()?;
        Some(ClipKey::Upload { camera, intrusion })
    }

    /// Whether the clip has arrived, is still expected, or is overdue.
    pub fn state(&self, now: DateTime<Utc>) -> ClipState {
        match self.stored_at {
            Some(_) => ClipState::Stored,
            None if now > self.due_by => ClipState::Missing,
            None => ClipState::Pending,
        }
    }
}

/// Whether a notification went out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationStatus {
    /// Being sent.
    Pending,
    /// Accepted by the channel (SES, SNS, the webhook).
    Sent,
    /// Every attempt failed; the stream batch is retried, then set aside for operators.
    Failed,
}

/// One message to one recipient about one intrusion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The same for every retry of the same message.
    pub id: String,
    pub intrusion_id: IntrusionId,
    pub client_id: ClientId,
    pub site_id: SiteId,
    pub recipient: Recipient,
    pub subject: String,
    pub message: String,
    pub status: NotificationStatus,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// A notification's id: one per intrusion, channel and address.
    pub fn id_for(intrusion: IntrusionId, recipient: &Recipient) -> String {
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            format!("{:?}|{}", recipient.channel, recipient.address).as_bytes(),
        );
        format!("{intrusion}.{}", &crate::credential::to_hex(digest.as_ref())[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keys_name_their_intrusion() {
        let (camera, intrusion) = (DeviceId::generate(), IntrusionId::generate());
        let key = Clip::key_for(camera, intrusion);
        assert_eq!(Clip::parse_key(&key), Some(ClipKey::Upload { camera, intrusion }));
        assert_eq!(
            Clip::parse_key(&Clip::masked_key(camera, intrusion)),
            Some(ClipKey::Masked { camera, intrusion })
        );
        assert_eq!(Clip::parse_key("clips/x/y.mp4"), None);
        assert_eq!(Clip::parse_key(&key.replace(".mp4", ".avi")), None);
    }

    #[test]
    fn commands_serialise_with_their_type() {
        let command = Command {
            id: "c".into(),
            device_id: DeviceId::generate(),
            intrusion_id: IntrusionId::generate(),
            issued_at: Utc::now(),
            action: CommandAction::ActivateAlarm {
                site_id: SiteId::generate(),
                camera_id: DeviceId::generate(),
            },
        };
        let json = serde_json::to_value(&command).unwrap();
        assert_eq!(json["type"], "activateAlarm");
        assert!(json["siteId"].is_string());
        assert_eq!(serde_json::from_value::<Command>(json).unwrap(), command);
    }
}
