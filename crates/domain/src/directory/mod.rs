//! The directory of clients, sites, cameras and alarms: the use cases the
//! manager portal and the sites management API share, each asking the
//! authorisation policy before it touches the table.

mod health;
mod model;
mod ports;
mod throttle;
mod uploads;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use health::{HealthChange, HealthProblem, HealthTransition};
pub use model::*;
pub use ports::{Deletion, DeviceCredential, DeviceUpdate, DirectoryStore, FailureSubject, HealthUpdate};
pub use throttle::{DeviceAuth, ThrottledSources};
pub use uploads::{UPLOAD_RATE, UploadRate};

use crate::audit::{AuditAction, AuditStore, AuditTrail};
use crate::auth::Principal;
use crate::clock::{Clock, SystemClock};
use crate::credential;
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, SiteId};
use crate::page::{Page, PageRequest, every_page};
use crate::values::FieldError;

/// The directory's use cases.
#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn DirectoryStore>,
    clock: Arc<dyn Clock>,
    audit: AuditTrail,
    /// Addresses refused for failed device credentials, as this container learned them.
    throttled: Arc<ThrottledSources>,
}

impl Directory {
    /// A directory kept in `store`, on the system clock.
    pub fn new(store: Arc<dyn DirectoryStore>) -> Self {
        Self::with_clock(store, Arc::new(SystemClock))
    }

    /// A directory kept in `store`, reading the time from `clock`.
    pub fn with_clock(store: Arc<dyn DirectoryStore>, clock: Arc<dyn Clock>) -> Self {
        let audit = AuditTrail::new(None, clock.clone());
        Self {
            store,
            clock,
            audit,
            throttled: Arc::default(),
        }
    }

    /// The same directory, recording audited actions (of every use case built
    /// on it) in `store`.
    pub fn with_audit(self, store: Arc<dyn AuditStore>) -> Self {
        let audit = AuditTrail::new(Some(store), self.clock.clone());
        Self { audit, ..self }
    }

    /// The store itself, for erasure, which removes records whatever their children.
    pub(crate) fn store(&self) -> &dyn DirectoryStore {
        self.store.as_ref()
    }

    /// The audit trail of the use cases built on this directory.
    pub fn audit(&self) -> &AuditTrail {
        &self.audit
    }

    /// The time on the directory's clock, for use cases built on it.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Registers a new client (staff only); the body is validated once the caller may act.
    #[tracing::instrument(skip_all)]
    pub async fn create_client(&self, who: &Principal, body: ClientBody) -> Result<Client, DomainError> {
        who.require_staff()?;
        let input = NewClient::parse(body)?;
        let now = self.clock.now();
        let client = Client {
            id: ClientId::generate(),
            name: input.name,
            email: input.email,
            phone: input.phone,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_client(&client).await?;
        Ok(client)
    }

    /// Staff see every client by name; a client user sees only its own record.
    pub async fn list_clients(&self, who: &Principal, page: PageRequest) -> Result<Page<Client>, DomainError> {
        match who.tenant() {
            None => self.store.clients(&page).await,
            Some(own) => Ok(Page {
                items: self.store.client(own).await?.into_iter().collect(),
                next_token: None,
            }),
        }
    }

    /// One client, if the caller may see it.
    pub async fn get_client(&self, who: &Principal, id: ClientId) -> Result<Client, DomainError> {
        who.require_visible(id, "client")?;
        self.store.client(id).await?.ok_or(DomainError::NotFound("client"))
    }

    /// Changes a client's contact details (staff only).
    #[tracing::instrument(skip_all, fields(client = %id))]
    pub async fn update_client(
        &self,
        who: &Principal,
        id: ClientId,
        body: ClientPatchBody,
    ) -> Result<Client, DomainError> {
        who.require_staff()?;
        let changes = ClientChanges::parse(body)?;
        self.store
            .update_client(id, &changes, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("client"))
    }

    /// Removes a client that no longer has sites (staff only).
    #[tracing::instrument(skip_all, fields(client = %id))]
    pub async fn delete_client(&self, who: &Principal, id: ClientId) -> Result<(), DomainError> {
        who.require_staff()?;
        match self.store.delete_client(id).await? {
            Deletion::Deleted => Ok(()),
            Deletion::Missing => Err(DomainError::NotFound("client")),
            Deletion::HasChildren => Err(DomainError::Conflict(
                "the client still has sites; delete them first".into(),
            )),
        }
    }

    /// Adds a site to an existing client (staff only).
    #[tracing::instrument(skip_all)]
    pub async fn create_site(&self, who: &Principal, body: SiteBody) -> Result<Site, DomainError> {
        who.require_staff()?;
        let input = NewSite::parse(body)?;
        let now = self.clock.now();
        let site = Site {
            id: SiteId::generate(),
            client_id: input.client_id,
            name: input.name,
            address: input.address,
            created_at: now,
            updated_at: now,
        };
        if self.store.insert_site(&site).await? {
            Ok(site)
        } else {
            Err(DomainError::Invalid(vec![FieldError {
                name: "clientId".into(),
                reason: "no client has this id".into(),
            }]))
        }
    }

    /// Sites by name: all of them for staff (or one client's), only their own for a client user.
    pub async fn list_sites(
        &self,
        who: &Principal,
        client: Option<ClientId>,
        page: PageRequest,
    ) -> Result<Page<Site>, DomainError> {
        if let Some(client) = client {
            who.require_visible(client, "client")?;
        }
        self.store.sites(client.or(who.tenant()), &page).await
    }

    /// One site, if the caller may see it.
    pub async fn get_site(&self, who: &Principal, id: SiteId) -> Result<Site, DomainError> {
        let site = self.store.site(id).await?.ok_or(DomainError::NotFound("site"))?;
        who.require_visible(site.client_id, "site")?;
        Ok(site)
    }

    /// Renames a site or corrects its address (staff only).
    #[tracing::instrument(skip_all, fields(site = %id))]
    pub async fn update_site(&self, who: &Principal, id: SiteId, body: SitePatchBody) -> Result<Site, DomainError> {
        who.require_staff()?;
        let changes = SiteChanges::parse(body)?;
        self.store
            .update_site(id, &changes, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("site"))
    }

    /// Removes a site that no longer has devices (staff only).
    #[tracing::instrument(skip_all, fields(site = %id))]
    pub async fn delete_site(&self, who: &Principal, id: SiteId) -> Result<(), DomainError> {
        who.require_staff()?;
        let site = self.store.site(id).await?.ok_or(DomainError::NotFound("site"))?;
        match self.store.delete_site(&site).await? {
            Deletion::Deleted => Ok(()),
            Deletion::Missing => Err(DomainError::NotFound("site")),
            Deletion::HasChildren => Err(DomainError::Conflict(
                "the site still has cameras or alarms; remove them first".into(),
            )),
        }
    }

    /// Registers a camera or alarm at a site and issues its credential (staff only).
    #[tracing::instrument(skip_all, fields(site = %site_id, kind = kind.noun()))]
    pub async fn register_device(
        &self,
        who: &Principal,
        site_id: SiteId,
        kind: DeviceKind,
        body: DeviceBody,
    ) -> Result<RegisteredDevice, DomainError> {
        who.require_staff()?;
        let name = body.parse()?;
        let site = self.get_site(who, site_id).await?;
        let now = self.clock.now();
        let device = Device {
            id: DeviceId::generate(),
            kind,
            site_id,
            client_id: site.client_id,
            name,
            state: DeviceState::Unknown,
            last_seen_at: None,
            endpoint: None,
            health_alarm: None,
            created_at: now,
            updated_at: now,
        };
        let issued = credential::issue(device.id);
        if self.store.insert_device(&device, &issued.hash).await? {
            let target = format!("{}/{}", kind.noun(), device.id);
            self.audit
                .record(who, AuditAction::RegisteredDevice, device.client_id, target)
                .await?;
            Ok(RegisteredDevice {
                device,
                credential: issued.secret,
            })
        } else {
            Err(DomainError::NotFound("site"))
        }
    }

    /// A site's cameras or alarms by name, if the caller may see the site.
    pub async fn list_devices(
        &self,
        who: &Principal,
        site_id: SiteId,
        kind: DeviceKind,
        page: PageRequest,
    ) -> Result<Page<Device>, DomainError> {
        self.get_site(who, site_id).await?;
        let mut found = self.store.devices(Some(site_id), kind, &page).await?;
        found.items = found.items.into_iter().map(|d| d.as_seen_by(who)).collect();
        Ok(found)
    }

    /// One camera or alarm, if the caller may see it; a camera asked for as an alarm is not found.
    pub async fn get_device(&self, who: &Principal, id: DeviceId, kind: DeviceKind) -> Result<Device, DomainError> {
        let device = self
            .store
            .device(id)
            .await?
            .filter(|device| device.kind == kind)
            .ok_or(DomainError::NotFound(kind.noun()))?;
        who.require_visible(device.client_id, kind.noun())?;
        Ok(device.as_seen_by(who))
    }

    /// Renames a camera or alarm (staff only).
    #[tracing::instrument(skip_all, fields(device = %id))]
    pub async fn rename_device(
        &self,
        who: &Principal,
        id: DeviceId,
        kind: DeviceKind,
        body: DeviceBody,
    ) -> Result<Device, DomainError> {
        who.require_staff()?;
        let name = body.parse()?;
        self.get_device(who, id, kind).await?;
        self.store
            .update_device(id, &DeviceUpdate::Rename { name, kind }, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound(kind.noun()))
    }

    /// A device by id, for trusted system functions (detection, the devices API)
    /// that act for no user; user requests go through [`Directory::get_device`].
    pub async fn find_device(&self, id: DeviceId) -> Result<Option<Device>, DomainError> {
        self.store.device(id).await
    }

    /// A client by id, for trusted system functions that act for no user.
    pub async fn find_client(&self, id: ClientId) -> Result<Option<Client>, DomainError> {
        self.store.client(id).await
    }

    /// A site by id, for trusted system functions that act for no user.
    pub async fn find_site(&self, id: SiteId) -> Result<Option<Site>, DomainError> {
        self.store.site(id).await
    }

    /// Every camera or alarm of a site with the key its commands are signed with,
    /// for trusted system functions that act for no user.
    pub async fn command_targets(&self, site_id: SiteId, kind: DeviceKind) -> Result<Vec<CommandTarget>, DomainError> {
        let mut targets = Vec::new();
        for device in self.every_device(Some(site_id), kind).await? {
            if let Some(target) = self.command_target(device.id).await? {
                targets.push(target);
            }
        }
        Ok(targets)
    }

    /// Every camera or alarm (of one site, or all), draining the store's pages.
    pub(super) async fn every_device(
        &self,
        site: Option<SiteId>,
        kind: DeviceKind,
    ) -> Result<Vec<Device>, DomainError> {
        every_page(|page| async move { self.store.devices(site, kind, &page).await }).await
    }

    /// Every client, for scheduled work that runs for all of them (the purge).
    pub async fn every_client(&self) -> Result<Vec<Client>, DomainError> {
        every_page(|page| async move { self.store.clients(&page).await }).await
    }

    /// One device with the key its commands are signed with.
    pub async fn command_target(&self, id: DeviceId) -> Result<Option<CommandTarget>, DomainError> {
        Ok(self.store.device_credential(id).await?.map(|stored| CommandTarget {
            device: stored.device,
            signing_key: stored.hash.into_bytes(),
        }))
    }

    /// Records where a device accepts pushed commands (the device itself calls this).
    #[tracing::instrument(skip_all, fields(device = %device.id))]
    pub async fn set_endpoint(&self, device: &Device, endpoint: &DeviceEndpoint) -> Result<Device, DomainError> {
        self.store
            .update_device(device.id, &DeviceUpdate::Endpoint(endpoint.clone()), self.clock.now())
            .await?
            .ok_or(DomainError::NotFound(device.kind.noun()))
    }

    /// Records that a device was heard from: online, or faulty when it says so.
    pub async fn record_heartbeat(&self, device: &Device, faulty: bool) -> Result<Device, DomainError> {
        let state = if faulty {
            DeviceState::Faulty
        } else {
            DeviceState::Online
        };
        self.store
            .update_device(device.id, &DeviceUpdate::Heard(state), self.clock.now())
            .await?
            .ok_or(DomainError::NotFound(device.kind.noun()))
    }

    /// Removes a camera or alarm; its credential stops working with it (staff only).
    #[tracing::instrument(skip_all, fields(device = %id))]
    pub async fn remove_device(&self, who: &Principal, id: DeviceId, kind: DeviceKind) -> Result<(), DomainError> {
        who.require_staff()?;
        let device = self.get_device(who, id, kind).await?;
        match self.store.delete_device(&device).await? {
            Deletion::Deleted => {
                let target = format!("{}/{}", kind.noun(), device.id);
                self.audit
                    .record(who, AuditAction::RemovedDevice, device.client_id, target)
                    .await
            }
            Deletion::Missing | Deletion::HasChildren => Err(DomainError::NotFound(kind.noun())),
        }
    }

    /// When `subject` last signed out, if ever.
    pub async fn signed_out_at(&self, subject: &str) -> Result<Option<DateTime<Utc>>, DomainError> {
        self.store.signed_out_at(subject).await
    }

    /// Records that `subject` signed out at `at`: every session begun before ends.
    pub async fn record_sign_out(&self, subject: &str, at: DateTime<Utc>) -> Result<(), DomainError> {
        self.store.record_sign_out(subject, at).await
    }
}

#[async_trait::async_trait]
impl crate::auth::Sessions for Directory {
    async fn signed_out_at(&self, subject: &str) -> Result<Option<DateTime<Utc>>, DomainError> {
        self.store.signed_out_at(subject).await
    }

    async fn client_exists(&self, client: ClientId) -> Result<bool, DomainError> {
        Ok(self.store.client(client).await?.is_some())
    }
}

#[async_trait::async_trait]
impl crate::detection::ports::Cameras for Directory {
    async fn device(&self, id: DeviceId) -> Result<Option<Device>, DomainError> {
        self.find_device(id).await
    }
}

#[cfg(test)]
mod tests;
