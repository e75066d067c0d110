//! The stored record of each device health change and who was told.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::preferences::Channel;
use crate::directory::{DeviceKind, HealthChange};
use crate::ids::{ClientId, DeviceId, SiteId};

/// One message about a health change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthNotice {
    pub channel: Channel,
    pub to: String,
    pub sent: bool,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A device went offline, reported a fault, or recovered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthEvent {
    pub device_id: DeviceId,
    pub device_name: String,
    pub kind: DeviceKind,
    pub site_id: SiteId,
    pub client_id: ClientId,
    pub change: HealthChange,
    pub at: DateTime<Utc>,
    /// When the device was last heard from.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Who was told, and whether it went out.
    pub notices: Vec<HealthNotice>,
}

impl HealthEvent {
    /// A sentence for messages and pages.
    pub fn summary(&self) -> String {
        let what = match self.change {
            HealthChange::WentOffline => "stopped sending heartbeats and is offline",
            HealthChange::ReportedFaulty => "reports a fault",
            HealthChange::Recovered => "is working again",
        };
        format!("The {} \"{}\" {what}.", self.kind.noun(), self.device_name)
    }
}
