//! The directory's port: what its use cases need from a store of clients,
//! sites and devices. The DynamoDB adapter is in `seccom-aws`; the in-memory
//! one, with the same conditions, in [`crate::memory`].
//!
//! Parents count their children, so a client with sites or a site with devices
//! is never deleted and a child is never stored under a missing parent, however
//! calls interleave.

use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::UploadRate;
use super::health::HealthProblem;
use super::model::{Client, ClientChanges, Device, DeviceEndpoint, DeviceKind, DeviceState, Site, SiteChanges};
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, SiteId};
use crate::page::{Page, PageRequest};
use crate::values::Name;

/// What became of a delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    Missing,
    /// The record still has children (sites, or cameras and alarms).
    HasChildren,
}

/// A change to a device's own record.
#[derive(Clone, Debug)]
pub enum DeviceUpdate {
    /// A new name for a device of `kind` (the name order of lists follows).
    Rename { name: Name, kind: DeviceKind },
    /// Where the device accepts pushed commands.
    Endpoint(DeviceEndpoint),
    /// The device was heard from, in this state.
    Heard(DeviceState),
}

/// A health change to write only if the device is still as it was read
/// (same state, same last heartbeat): a heartbeat arriving meanwhile wins.
#[derive(Clone, Debug)]
pub struct HealthUpdate {
    /// The alarm left open (`None` closes it).
    pub alarm: Option<HealthProblem>,
    /// The state to set, when the change sets one (going offline).
    pub state: Option<DeviceState>,
}

/// A device with what authenticating it takes, read together: its
/// credential's hash and its failed attempts in the current window.
#[derive(Clone, Debug)]
pub struct DeviceCredential {
    pub device: Device,
    /// The SHA-256 of the credential, in hex.
    pub hash: String,
    /// Failed attempts counted in the window ending at `failures_until`.
    pub failures: u32,
    pub failures_until: Option<DateTime<Utc>>,
}

/// Whose failed authentications are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureSubject {
    /// A device's (the count lives and dies with the device).
    Device(DeviceId),
    /// An address's (a count of its own, forgotten when its window ends).
    Source(IpAddr),
}

/// The store of clients, sites, cameras and alarms.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Stores a new client.
    async fn insert_client(&self, client: &Client) -> Result<(), DomainError>;
    /// Stores a new site under its client; `false` when the client does not exist.
    async fn insert_site(&self, site: &Site) -> Result<bool, DomainError>;
    /// Stores a new device with its credential's hash under its site; `false`
    /// when the site does not exist.
    async fn insert_device(&self, device: &Device, credential_hash: &str) -> Result<bool, DomainError>;

    async fn client(&self, id: ClientId) -> Result<Option<Client>, DomainError>;
    async fn site(&self, id: SiteId) -> Result<Option<Site>, DomainError>;
    async fn device(&self, id: DeviceId) -> Result<Option<Device>, DomainError>;
    /// A device with its stored credential hash.
    async fn device_credential(&self, id: DeviceId) -> Result<Option<DeviceCredential>, DomainError>;

    /// Every client, by name.
    async fn clients(&self, page: &PageRequest) -> Result<Page<Client>, DomainError>;
    /// Sites by name: one client's, or every site.
    async fn sites(&self, client: Option<ClientId>, page: &PageRequest) -> Result<Page<Site>, DomainError>;
    /// A site's cameras or alarms by name, or every camera or alarm when `site` is `None`.
    async fn devices(
        &self,
        site: Option<SiteId>,
        kind: DeviceKind,
        page: &PageRequest,
    ) -> Result<Page<Device>, DomainError>;

    /// Applies changes to a client, stamped `at`; `None` when it does not exist.
    async fn update_client(
        &self,
        id: ClientId,
        changes: &ClientChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Client>, DomainError>;
    /// Applies changes to a site, stamped `at`; `None` when it does not exist.
    async fn update_site(
        &self,
        id: SiteId,
        changes: &SiteChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Site>, DomainError>;
    /// Changes a device, at `at`; `None` when it does not exist.
    async fn update_device(
        &self,
        id: DeviceId,
        update: &DeviceUpdate,
        at: DateTime<Utc>,
    ) -> Result<Option<Device>, DomainError>;
    /// Writes a health change if `seen` is still as stored; `None` otherwise.
    async fn update_health(&self, seen: &Device, update: &HealthUpdate) -> Result<Option<Device>, DomainError>;

    /// Deletes a client without sites.
    async fn delete_client(&self, id: ClientId) -> Result<Deletion, DomainError>;
    /// Deletes a site without devices, uncounting it on its client.
    async fn delete_site(&self, site: &Site) -> Result<Deletion, DomainError>;
    /// Deletes a device, uncounting it on its site.
    async fn delete_device(&self, device: &Device) -> Result<Deletion, DomainError>;

    /// Counts one more failed authentication of `subject` in a window ending at
    /// `until` (a new window once the last one ended before `now`); answers the count.
    /// A device that no longer exists counts 1.
    async fn count_failure(
        &self,
        subject: FailureSubject,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<u32, DomainError>;

    /// Takes one upload from a device's budget at `rate` (see [`UploadRate`]):
    /// moves the time kept on its record on, if the budget allows at `now`, in
    /// one conditional write; `false` when it does not (or the device is gone).
    async fn take_upload(&self, id: DeviceId, rate: UploadRate, now: DateTime<Utc>) -> Result<bool, DomainError>;

    /// When a portal user last signed out, if ever.
    async fn signed_out_at(&self, subject: &str) -> Result<Option<DateTime<Utc>>, DomainError>;
    /// Records that a portal user signed out at `at`.
    async fn record_sign_out(&self, subject: &str, at: DateTime<Utc>) -> Result<(), DomainError>;
}
