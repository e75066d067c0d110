//! The directory of clients, sites, cameras and alarms: the use cases the
//! manager portal and the sites management API share, each asking the
//! authorisation policy before it touches the table.

mod controls;
mod dynamo;
mod health;
mod model;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use serde::Serialize;

pub use dynamo::{BY_ENTITY, BY_PARENT, DirectoryTable};
pub use health::{HealthChange, HealthProblem, HealthTransition};
pub use model::*;

use crate::auth::Principal;
use crate::credential;
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, SiteId};
use crate::page::{Page, PageRequest};
use crate::values::{FieldError, Name};
use dynamo::{Deletion, Placement};

fn client_key(id: ClientId) -> String {
    format!("CLIENT#{id}")
}

fn site_key(id: SiteId) -> String {
    format!("SITE#{id}")
}

fn device_key(id: DeviceId) -> String {
    format!("DEVICE#{id}")
}

fn entity_of(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Camera => "CAMERA",
        DeviceKind::Alarm => "ALARM",
    }
}

fn sort_key(entity: &str, name: &Name, id: impl std::fmt::Display) -> String {
    format!("{entity}#{}#{id}", name.sort_key())
}

impl Client {
    fn placement(&self) -> Placement {
        Placement {
            pk: client_key(self.id),
            entity: "CLIENT",
            parent_key: None,
            sort_key: sort_key("CLIENT", &self.name, self.id),
        }
    }
}

impl Site {
    fn placement(&self) -> Placement {
        Placement {
            pk: site_key(self.id),
            entity: "SITE",
            parent_key: Some(client_key(self.client_id)),
            sort_key: sort_key("SITE", &self.name, self.id),
        }
    }
}

impl Device {
    fn placement(&self) -> Placement {
        let entity = entity_of(self.kind);
        Placement {
            pk: device_key(self.id),
            entity,
            parent_key: Some(site_key(self.site_id)),
            sort_key: sort_key(entity, &self.name, self.id),
        }
    }
}

/// The fields a change sets, with `updatedAt` and the name-ordered sort key kept in step.
fn changed_fields(
    changes: impl Serialize,
    renamed_sort_key: Option<String>,
) -> Result<HashMap<String, AttributeValue>, DomainError> {
    let mut set: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(changes).map_err(|e| DomainError::unavailable("cannot encode a change", e))?;
    set.insert("updatedAt".into(), AttributeValue::S(Utc::now().to_rfc3339()));
    if let Some(sort_key) = renamed_sort_key {
        set.insert("sortKey".into(), AttributeValue::S(sort_key));
    }
    Ok(set)
}

/// The directory's use cases.
#[derive(Clone)]
pub struct Directory {
    table: DirectoryTable,
}

impl Directory {
    /// A directory stored in `table`.
    pub fn new(table: DirectoryTable) -> Self {
        Self { table }
    }

    /// Registers a new client (staff only); the body is validated once the caller may act.
    pub async fn create_client(&self, who: &Principal, body: ClientBody) -> Result<Client, DomainError> {
        who.require_staff()?;
        let input = NewClient::parse(body)?;
        let now = Utc::now();
        let client = Client {
            id: ClientId::generate(),
            name: input.name,
            email: input.email,
            phone: input.phone,
            created_at: now,
            updated_at: now,
        };
        self.table.put_root(client.placement(), &client).await?;
        Ok(client)
    }

    /// Staff see every client by name; a client user sees only its own record.
    pub async fn list_clients(&self, who: &Principal, page: PageRequest) -> Result<Page<Client>, DomainError> {
        match who.tenant() {
            None => {
                self.table
                    .query(BY_ENTITY, ("entity", "CLIENT".into()), "CLIENT#", &page)
                    .await
            }
            Some(own) => {
                let items = self.table.get::<Client>(&client_key(own)).await?.into_iter().collect();
                Ok(Page {
                    items,
                    next_token: None,
                })
            }
        }
    }

    /// One client, if the caller may see it.
    pub async fn get_client(&self, who: &Principal, id: ClientId) -> Result<Client, DomainError> {
        who.require_visible(id, "client")?;
        self.table
            .get(&client_key(id))
            .await?
            .ok_or(DomainError::NotFound("client"))
    }

    /// Changes a client's contact details (staff only).
    pub async fn update_client(
        &self,
        who: &Principal,
        id: ClientId,
        body: ClientPatchBody,
    ) -> Result<Client, DomainError> {
        who.require_staff()?;
        let changes = ClientChanges::parse(body)?;
        let set = changed_fields(&changes, changes.name.as_ref().map(|name| sort_key("CLIENT", name, id)))?;
        let remove: &[&str] = if matches!(changes.phone, Some(None)) {
            &["phone"]
        } else {
            &[]
        };
        self.table
            .update(&client_key(id), set, remove)
            .await?
            .ok_or(DomainError::NotFound("client"))
    }

    /// Removes a client that no longer has sites (staff only).
    pub async fn delete_client(&self, who: &Principal, id: ClientId) -> Result<(), DomainError> {
        who.require_staff()?;
        match self.table.delete(&client_key(id), None).await? {
            Deletion::Deleted => Ok(()),
            Deletion::Missing => Err(DomainError::NotFound("client")),
            Deletion::HasChildren => Err(DomainError::Conflict(
                "the client still has sites; delete them first".into(),
            )),
        }
    }

    /// Adds a site to an existing client (staff only).
    pub async fn create_site(&self, who: &Principal, body: SiteBody) -> Result<Site, DomainError> {
        who.require_staff()?;
        let input = NewSite::parse(body)?;
        let now = Utc::now();
        let site = Site {
            id: SiteId::generate(),
            client_id: input.client_id,
            name: input.name,
            address: input.address,
            created_at: now,
            updated_at: now,
        };
        if self.table.put_child(site.placement(), None, &site).await? {
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
        match client.or(who.tenant()) {
            Some(client) => {
                self.table
                    .query(BY_PARENT, ("parentKey", client_key(client)), "SITE#", &page)
                    .await
            }
            None => {
                self.table
                    .query(BY_ENTITY, ("entity", "SITE".into()), "SITE#", &page)
                    .await
            }
        }
    }

    /// One site, if the caller may see it.
    pub async fn get_site(&self, who: &Principal, id: SiteId) -> Result<Site, DomainError> {
        let site: Site = self
            .table
            .get(&site_key(id))
            .await?
            .ok_or(DomainError::NotFound("site"))?;
        who.require_visible(site.client_id, "site")?;
        Ok(site)
    }

    /// Renames a site or corrects its address (staff only).
    pub async fn update_site(&self, who: &Principal, id: SiteId, body: SitePatchBody) -> Result<Site, DomainError> {
        who.require_staff()?;
        let changes = SiteChanges::parse(body)?;
        let set = changed_fields(&changes, changes.name.as_ref().map(|name| sort_key("SITE", name, id)))?;
        self.table
            .update(&site_key(id), set, &[])
            .await?
            .ok_or(DomainError::NotFound("site"))
    }

    /// Removes a site that no longer has devices (staff only).
    pub async fn delete_site(&self, who: &Principal, id: SiteId) -> Result<(), DomainError> {
        who.require_staff()?;
        let site: Site = self
            .table
            .get(&site_key(id))
            .await?
            .ok_or(DomainError::NotFound("site"))?;
        match self
            .table
            .delete(&site_key(id), Some(client_key(site.client_id)))
            .await?
        {
            Deletion::Deleted => Ok(()),
            Deletion::Missing => Err(DomainError::NotFound("site")),
            Deletion::HasChildren => Err(DomainError::Conflict(
                "the site still has cameras or alarms; remove them first".into(),
            )),
        }
    }

    /// Registers a camera or alarm at a site and issues its credential (staff only).
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
        let now = Utc::now();
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
        if self
            .table
            .put_child(device.placement(), Some(issued.hash), &device)
            .await?
        {
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
        let prefix = format!("{}#", entity_of(kind));
        let mut found: Page<Device> = self
            .table
            .query(BY_PARENT, ("parentKey", site_key(site_id)), &prefix, &page)
            .await?;
        found.items = found.items.into_iter().map(|d| d.as_seen_by(who)).collect();
        Ok(found)
    }

    /// One camera or alarm, if the caller may see it; a camera asked for as an alarm is not found.
    pub async fn get_device(&self, who: &Principal, id: DeviceId, kind: DeviceKind) -> Result<Device, DomainError> {
        let device: Device = self
            .table
            .get(&device_key(id))
            .await?
            .filter(|device: &Device| device.kind == kind)
            .ok_or(DomainError::NotFound(kind.noun()))?;
        who.require_visible(device.client_id, kind.noun())?;
        Ok(device.as_seen_by(who))
    }

    /// Renames a camera or alarm (staff only).
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
        let set = changed_fields(
            HashMap::from([("name", &name)]),
            Some(sort_key(entity_of(kind), &name, id)),
        )?;
        self.table
            .update(&device_key(id), set, &[])
            .await?
            .ok_or(DomainError::NotFound(kind.noun()))
    }

    /// A device by id, for trusted system functions (detection, the devices API)
    /// that act for no user; user requests go through [`Directory::get_device`].
    pub async fn find_device(&self, id: DeviceId) -> Result<Option<Device>, DomainError> {
        self.table.get(&device_key(id)).await
    }

    /// A client by id, for trusted system functions that act for no user.
    pub async fn find_client(&self, id: ClientId) -> Result<Option<Client>, DomainError> {
        self.table.get(&client_key(id)).await
    }

    /// A site by id, for trusted system functions that act for no user.
    pub async fn find_site(&self, id: SiteId) -> Result<Option<Site>, DomainError> {
        self.table.get(&site_key(id)).await
    }

    /// Every camera or alarm of a site with the key its commands are signed with,
    /// for trusted system functions that act for no user.
    pub async fn command_targets(&self, site_id: SiteId, kind: DeviceKind) -> Result<Vec<CommandTarget>, DomainError> {
        let prefix = format!("{}#", entity_of(kind));
        let mut targets = Vec::new();
        let mut page = PageRequest {
            limit: crate::page::MAX_LIMIT,
            token: None,
        };
        loop {
            let found: Page<Device> = self
                .table
                .query(BY_PARENT, ("parentKey", site_key(site_id)), &prefix, &page)
                .await?;
            for device in found.items {
                if let Some(target) = self.command_target(device.id).await? {
                    targets.push(target);
                }
            }
            match found.next_token {
                Some(token) => page.token = Some(token),
                None => return Ok(targets),
            }
        }
    }

    /// One device with the key its commands are signed with.
    pub async fn command_target(&self, id: DeviceId) -> Result<Option<CommandTarget>, DomainError> {
        Ok(self
            .table
            .get_with_credential::<Device>(&device_key(id))
            .await?
            .and_then(|(device, hash)| {
                hash.map(|hash| CommandTarget {
                    device,
                    signing_key: hash.into_bytes(),
                })
            }))
    }

    /// Records where a device accepts pushed commands (the device itself calls this).
    pub async fn set_endpoint(&self, device: &Device, endpoint: &DeviceEndpoint) -> Result<Device, DomainError> {
        let set = HashMap::from([
            ("endpoint".to_owned(), AttributeValue::S(endpoint.as_str().to_owned())),
            ("updatedAt".to_owned(), AttributeValue::S(Utc::now().to_rfc3339())),
        ]);
        self.table
            .update(&device_key(device.id), set, &[])
            .await?
            .ok_or(DomainError::NotFound(device.kind.noun()))
    }

    /// The device a credential belongs to; `None` for any credential that is not
    /// exactly a live device's (malformed, unknown device, wrong secret).
    pub async fn authenticate_device(
        &self,
        presented: &str,
        source: Option<std::net::IpAddr>,
    ) -> Result<DeviceAuth, DomainError> {
        let now = Utc::now().timestamp();
        let until = now + AUTH_FAILURE_WINDOW_SECONDS;
        let refused = async {
            // Failures are counted per source too (an item of its own, expiring with its window).
            let Some(source) = source else {
                return Ok(DeviceAuth::Refused);
            };
            let count = self
                .table
                .count_failure(&format!("AUTHFAIL#SOURCE#{source}"), now, until, true)
                .await?;
            Ok(if count > SOURCE_FAILURE_LIMIT {
                DeviceAuth::Throttled {
                    retry_after: AUTH_FAILURE_WINDOW_SECONDS as u64,
                }
            } else {
                DeviceAuth::Refused
            })
        };
        let Some(id) = credential::claimed_device(presented) else {
            return refused.await;
        };
        let Some((device, Some(stored))) = self.table.get_with_credential::<Device>(&device_key(id)).await? else {
            return refused.await;
        };
        // The right credential always works: counting only failures, nobody can lock a
        // device out by sending wrong credentials in its name.
        if credential::matches(presented, &stored) {
            return Ok(DeviceAuth::Accepted(device));
        }
        let failures = self.table.count_failure(&device_key(id), now, until, false).await?;
        if failures > DEVICE_FAILURE_LIMIT {
            return Ok(DeviceAuth::Throttled {
                retry_after: AUTH_FAILURE_WINDOW_SECONDS as u64,
            });
        }
        refused.await
    }

    /// Records that a device was heard from: online, or faulty when it says so.
    pub async fn record_heartbeat(&self, device: &Device, faulty: bool) -> Result<Device, DomainError> {
        let now = Utc::now();
        let state = if faulty {
            DeviceState::Faulty
        } else {
            DeviceState::Online
        };
        let set = HashMap::from([
            ("lastSeenAt".to_owned(), AttributeValue::S(now.to_rfc3339())),
            (
                "state".to_owned(),
                serde_dynamo::to_attribute_value(state)
                    .map_err(|e| DomainError::unavailable("cannot encode a state", e))?,
            ),
        ]);
        self.table
            .update(&device_key(device.id), set, &[])
            .await?
            .ok_or(DomainError::NotFound(device.kind.noun()))
    }

    /// Removes a camera or alarm; its credential stops working with it (staff only).
    pub async fn remove_device(&self, who: &Principal, id: DeviceId, kind: DeviceKind) -> Result<(), DomainError> {
        who.require_staff()?;
        let device = self.get_device(who, id, kind).await?;
        match self
            .table
            .delete(&device_key(id), Some(site_key(device.site_id)))
            .await?
        {
            Deletion::Deleted => Ok(()),
            Deletion::Missing | Deletion::HasChildren => Err(DomainError::NotFound(kind.noun())),
        }
    }
}

#[async_trait::async_trait]
impl crate::detection::ports::Cameras for Directory {
    async fn device(&self, id: DeviceId) -> Result<Option<Device>, DomainError> {
        self.find_device(id).await
    }
}

/// When a user last signed out of the portals: sessions that began before are refused.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignOut {
    subject: String,
    at: chrono::DateTime<Utc>,
}

impl Directory {
    /// When `subject` last signed out, if ever.
    pub async fn signed_out_at(&self, subject: &str) -> Result<Option<chrono::DateTime<Utc>>, DomainError> {
        Ok(self
            .table
            .get::<SignOut>(&format!("SIGNOUT#{subject}"))
            .await?
            .map(|sign_out| sign_out.at))
    }

    /// Records that `subject` signed out at `at`: every session begun before ends.
    pub async fn record_sign_out(&self, subject: &str, at: chrono::DateTime<Utc>) -> Result<(), DomainError> {
        let placement = dynamo::Placement {
            pk: format!("SIGNOUT#{subject}"),
            entity: "SIGNOUT",
            parent_key: None,
            sort_key: subject.to_owned(),
        };
        let record = SignOut {
            subject: subject.to_owned(),
            at,
        };
        self.table
            .put_items(vec![DirectoryTable::encode(placement, &record)?])
            .await
    }
}

/// How long failed device authentications are remembered.
const AUTH_FAILURE_WINDOW_SECONDS: i64 = 900;
/// Failed authentications of one device within the window before further failures get 429.
const DEVICE_FAILURE_LIMIT: u32 = 10;
/// Failed authentications from one address within the window before further failures get 429.
const SOURCE_FAILURE_LIMIT: u32 = 30;

/// What a device credential came to.
#[derive(Debug)]
pub enum DeviceAuth {
    /// The credential is this device's.
    Accepted(Device),
    /// Not a valid credential.
    Refused,
    /// A wrong credential again, after too many for this device or from this
    /// address: try again after `retry_after` seconds.
    Throttled { retry_after: u64 },
}
