//! The response's port: where what the response to each intrusion did is kept,
//! with device command queues, notification preferences and health events.
//! The DynamoDB adapter is in `seccom-aws`; the in-memory one in [`crate::memory`].
//!
//! Every first write is conditional ([`Claim`]), so a retried stream batch finds
//! what an earlier attempt did instead of doing it again.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::escalation::EscalationRecord;
use super::health::HealthEvent;
use super::model::{Clip, Command, DeliveredBy, Delivery, Notification};
use super::preferences::{Channel, NotificationPreferences};
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, IntrusionId};
use crate::page::{Page, PageRequest};

/// Whether a first write was ours, or found what an earlier attempt wrote.
#[derive(Debug)]
pub enum Claim<T> {
    /// Nothing was there: this attempt does the work.
    New,
    /// An earlier attempt got here first; this is what it recorded.
    Existing(T),
}

/// Everything the response to one intrusion recorded.
#[derive(Debug, Default)]
pub struct ResponseRecords {
    /// Commands in the order they were issued.
    pub deliveries: Vec<Delivery>,
    pub clip: Option<Clip>,
    /// Notifications in the order they were created.
    pub notifications: Vec<Notification>,
    /// Escalation steps taken, in order.
    pub escalations: Vec<EscalationRecord>,
}

/// The confirmation link last sent to one address of a client. An address has
/// at most one working link: sending another replaces it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingConfirmation {
    pub client_id: ClientId,
    pub channel: Channel,
    pub address: String,
    /// SHA-256 (hex) of the link's token.
    pub token_sha256: String,
    /// When the link was sent: another goes to this address an hour later at the soonest.
    pub sent_at: DateTime<Utc>,
    /// The recipient was removed: the link works again only if it is added back
    /// within the hour the link was sent in.
    #[serde(default)]
    pub withdrawn: bool,
    /// After this the link no longer works; in seconds since the epoch, so a
    /// store can forget it by its time to live.
    #[serde(with = "chrono::serde::ts_seconds")]
    pub expires_at: DateTime<Utc>,
}

impl PendingConfirmation {
    /// The key the link is kept under within its client (also in the link's token).
    pub fn address_key(&self) -> String {
        address_key(self.channel, &self.address)
    }
}

/// The key of an address's confirmation link within its client: 128 bits of
/// the SHA-256 of channel and address, in hex. A look-up key, not a secret.
pub fn address_key(channel: Channel, address: &str) -> String {
    let mut key = crate::credential::hash(&format!("{channel:?}:{address}"));
    key.truncate(32);
    key
}

/// Which client's records a list covers.
#[derive(Clone, Copy, Debug)]
pub enum NotificationScope {
    Client(ClientId),
    All,
}

/// The store of responses.
#[async_trait]
pub trait ResponseStore: Send + Sync {
    /// Records a new command and queues it for the device's heartbeat, all or
    /// nothing; finds the earlier record if the command was raised before.
    async fn claim_delivery(&self, delivery: &Delivery) -> Result<Claim<Delivery>, DomainError>;
    /// Records that a command reached its device (only the first way it did
    /// counts) and takes it off the device's queue.
    async fn delivered(&self, command: &Command, by: DeliveredBy, at: DateTime<Utc>) -> Result<(), DomainError>;
    /// Adds failed push attempts to a command; it stays queued for the heartbeat.
    async fn push_failed(&self, command: &Command, attempts: u32, error: &str) -> Result<(), DomainError>;
    /// Commands waiting for a device, oldest first.
    async fn queued(&self, device: DeviceId) -> Result<Vec<Command>, DomainError>;

    /// Records a clip request unless one was recorded before.
    async fn claim_clip(&self, clip: &Clip) -> Result<Claim<Clip>, DomainError>;
    /// Records that an intrusion's clip, uploaded under `uploaded`, is stored
    /// under `stored` (the upload itself, or its masked rendition); `false`
    /// when no clip was requested under `uploaded`.
    async fn clip_stored(
        &self,
        intrusion: IntrusionId,
        uploaded: &str,
        stored: &str,
        size: u64,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError>;

    /// Records a notification about to be sent, unless an earlier attempt recorded it.
    async fn claim_notification(&self, notification: &Notification) -> Result<Claim<Notification>, DomainError>;
    /// Stores a notification's outcome.
    async fn save_notification(&self, notification: &Notification) -> Result<(), DomainError>;
    /// Notifications newest first.
    async fn list_notifications(
        &self,
        scope: NotificationScope,
        page: &PageRequest,
    ) -> Result<Page<Notification>, DomainError>;

    /// Records an escalation step taken, unless it was recorded before.
    async fn record_escalation(&self, record: &EscalationRecord) -> Result<(), DomainError>;

    /// Everything recorded about the response to an intrusion.
    async fn records(&self, intrusion: IntrusionId) -> Result<ResponseRecords, DomainError>;
    /// Deletes everything recorded about the response to an intrusion past its retention.
    async fn delete_records(&self, intrusion: IntrusionId) -> Result<(), DomainError>;
    /// Deletes a device's command queue and its health events; answers how many records.
    async fn erase_device(&self, client: ClientId, device: DeviceId) -> Result<u32, DomainError>;
    /// Deletes a client's notification preferences, pending confirmations and
    /// health events; answers how many records.
    async fn erase_client(&self, client: ClientId) -> Result<u32, DomainError>;

    /// Stores a device health change under its client.
    async fn record_health(&self, event: &HealthEvent) -> Result<(), DomainError>;
    /// Health changes newest first, of one client or of all.
    async fn health_events(
        &self,
        scope: NotificationScope,
        page: &PageRequest,
    ) -> Result<Page<HealthEvent>, DomainError>;

    /// A client's saved notification preferences.
    async fn preferences(&self, client: ClientId) -> Result<Option<NotificationPreferences>, DomainError>;
    /// Saves the recipients (and when) of a client's saved preferences, and
    /// nothing else: a webhook secret rotated meanwhile stays.
    async fn save_recipients(&self, preferences: &NotificationPreferences) -> Result<(), DomainError>;
    /// Replaces only the webhook secret of saved preferences (with the one it
    /// retires and when), so a recipient confirming meanwhile is not undone.
    async fn save_webhook_secret(&self, rotated: &NotificationPreferences) -> Result<(), DomainError>;
    /// The confirmation link last sent to an address of `client` ([`address_key`]).
    async fn confirmation(
        &self,
        client: ClientId,
        address_key: &str,
    ) -> Result<Option<PendingConfirmation>, DomainError>;
    /// Keeps an address's confirmation link, replacing the one sent before.
    async fn save_confirmation(&self, pending: &PendingConfirmation) -> Result<(), DomainError>;
    /// Removes the address's link if it is still `pending` (same token, not
    /// withdrawn); `false` when it is not: a link works once.
    async fn take_confirmation(&self, pending: &PendingConfirmation) -> Result<bool, DomainError>;
    /// Counts `count` more confirmation messages for `client` on `day` unless
    /// that would pass `cap`; `false` (and nothing counted) when it would.
    async fn reserve_confirmations(
        &self,
        client: ClientId,
        day: NaiveDate,
        count: u32,
        cap: u32,
    ) -> Result<bool, DomainError>;

    /// Saves first preferences unless someone saved some meanwhile; answers what is stored.
    async fn create_preferences(
        &self,
        preferences: &NotificationPreferences,
    ) -> Result<NotificationPreferences, DomainError>;
}
