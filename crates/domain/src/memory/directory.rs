//! The directory store, in memory, with the DynamoDB adapter's conditions:
//! children are counted on their parents in the same step as each insert and
//! delete, lists come in name order, and a health change is written only if the
//! device is still as it was read.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{lock, page_of, round_trip};
use crate::directory::{
    Client, ClientChanges, Deletion, Device, DeviceCredential, DeviceKind, DeviceUpdate, DirectoryStore,
    FailureSubject, HealthUpdate, Site, SiteChanges, UploadRate,
};
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, SiteId};
use crate::page::{Page, PageRequest};
use crate::values::Name;

#[derive(Default)]
struct Records {
    clients: HashMap<ClientId, (Client, u32)>,
    sites: HashMap<SiteId, (Site, u32)>,
    devices: HashMap<DeviceId, (Device, String)>,
    failures: HashMap<FailureSubject, (u32, DateTime<Utc>)>,
    /// Upload budgets: each device's theoretical arrival time, in milliseconds.
    uploads: HashMap<DeviceId, i64>,
    sign_outs: HashMap<String, DateTime<Utc>>,
}

/// Clients, sites, cameras and alarms, in memory.
#[derive(Default)]
pub struct MemoryDirectory {
    records: Mutex<Records>,
}

/// Sorts records by name as the indexes do (case-folded, then by id).
fn by_name<T: Clone, I: Ord + Copy>(records: impl Iterator<Item = T>, key: impl Fn(&T) -> (&Name, I)) -> Vec<T> {
    let mut sorted: Vec<T> = records.collect();
    sorted.sort_by_key(|record| {
        let (name, id) = key(record);
        (name.sort_key(), id)
    });
    sorted
}

#[async_trait]
impl DirectoryStore for MemoryDirectory {
    async fn insert_client(&self, client: &Client) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.records)
            .clients
            .entry(client.id)
            .or_insert((client.clone(), 0));
        Ok(())
    }

    async fn insert_site(&self, site: &Site) -> Result<bool, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let Some((_, children)) = records.clients.get_mut(&site.client_id) else {
            return Ok(false);
        };
        *children += 1;
        records.sites.insert(site.id, (site.clone(), 0));
        Ok(true)
    }

    async fn insert_device(&self, device: &Device, credential_hash: &str) -> Result<bool, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let Some((_, children)) = records.sites.get_mut(&device.site_id) else {
            return Ok(false);
        };
        *children += 1;
        records
            .devices
            .insert(device.id, (device.clone(), credential_hash.to_owned()));
        Ok(true)
    }

    async fn client(&self, id: ClientId) -> Result<Option<Client>, DomainError> {
        round_trip().await;
        Ok(lock(&self.records).clients.get(&id).map(|(client, _)| client.clone()))
    }

    async fn site(&self, id: SiteId) -> Result<Option<Site>, DomainError> {
        round_trip().await;
        Ok(lock(&self.records).sites.get(&id).map(|(site, _)| site.clone()))
    }

    async fn device(&self, id: DeviceId) -> Result<Option<Device>, DomainError> {
        round_trip().await;
        Ok(lock(&self.records).devices.get(&id).map(|(device, _)| device.clone()))
    }

    async fn device_credential(&self, id: DeviceId) -> Result<Option<DeviceCredential>, DomainError> {
        round_trip().await;
        let records = lock(&self.records);
        let failures = records.failures.get(&FailureSubject::Device(id)).copied();
        Ok(records.devices.get(&id).map(|(device, hash)| DeviceCredential {
            device: device.clone(),
            hash: hash.clone(),
            failures: failures.map_or(0, |(count, _)| count),
            failures_until: failures.map(|(_, until)| until),
        }))
    }

    async fn clients(&self, page: &PageRequest) -> Result<Page<Client>, DomainError> {
        round_trip().await;
        let records = lock(&self.records);
        let clients = by_name(records.clients.values().map(|(c, _)| c.clone()), |c| (&c.name, c.id));
        page_of(&clients, page)
    }

    async fn sites(&self, client: Option<ClientId>, page: &PageRequest) -> Result<Page<Site>, DomainError> {
        round_trip().await;
        let records = lock(&self.records);
        let sites = records
            .sites
            .values()
            .map(|(s, _)| s.clone())
            .filter(|s| client.is_none_or(|client| s.client_id == client));
        page_of(&by_name(sites, |s| (&s.name, s.id)), page)
    }

    async fn devices(
        &self,
        site: Option<SiteId>,
        kind: DeviceKind,
        page: &PageRequest,
    ) -> Result<Page<Device>, DomainError> {
        round_trip().await;
        let records = lock(&self.records);
        let devices = records
            .devices
            .values()
            .map(|(d, _)| d.clone())
            .filter(|d| d.kind == kind && site.is_none_or(|site| d.site_id == site));
        page_of(&by_name(devices, |d| (&d.name, d.id)), page)
    }

    async fn update_client(
        &self,
        id: ClientId,
        changes: &ClientChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Client>, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        Ok(records.clients.get_mut(&id).map(|(client, _)| {
            if let Some(name) = &changes.name {
                client.name = name.clone();
            }
            if let Some(email) = &changes.email {
                client.email = email.clone();
            }
            if let Some(phone) = &changes.phone {
                client.phone = phone.clone();
            }
            client.updated_at = at;
            client.clone()
        }))
    }

    async fn update_site(
        &self,
        id: SiteId,
        changes: &SiteChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Site>, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        Ok(records.sites.get_mut(&id).map(|(site, _)| {
            if let Some(name) = &changes.name {
                site.name = name.clone();
            }
            if let Some(address) = &changes.address {
                site.address = address.clone();
            }
            site.updated_at = at;
            site.clone()
        }))
    }

    async fn update_device(
        &self,
        id: DeviceId,
        update: &DeviceUpdate,
        at: DateTime<Utc>,
    ) -> Result<Option<Device>, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        Ok(records.devices.get_mut(&id).map(|(device, _)| {
            match update {
                DeviceUpdate::Rename { name, .. } => {
                    device.name = name.clone();
                    device.updated_at = at;
                }
                DeviceUpdate::Endpoint(endpoint) => {
                    device.endpoint = Some(endpoint.as_str().to_owned());
                    device.updated_at = at;
                }
                DeviceUpdate::Heard(state) => {
                    device.state = *state;
                    device.last_seen_at = Some(at);
                }
            }
            device.clone()
        }))
    }

    async fn update_health(&self, seen: &Device, update: &HealthUpdate) -> Result<Option<Device>, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let Some((device, _)) = records.devices.get_mut(&seen.id) else {
            return Ok(None);
        };
        if device.state != seen.state || device.last_seen_at != seen.last_seen_at {
            return Ok(None);
        }
        device.health_alarm = update.alarm;
        if let Some(state) = update.state {
            device.state = state;
        }
        Ok(Some(device.clone()))
    }

    async fn delete_client(&self, id: ClientId) -> Result<Deletion, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        Ok(match records.clients.get(&id) {
            None => Deletion::Missing,
            Some((_, children)) if *children > 0 => Deletion::HasChildren,
            Some(_) => {
                records.clients.remove(&id);
                Deletion::Deleted
            }
        })
    }

    async fn delete_site(&self, site: &Site) -> Result<Deletion, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        Ok(match records.sites.get(&site.id) {
            None => Deletion::Missing,
            Some((_, children)) if *children > 0 => Deletion::HasChildren,
            Some(_) => {
                records.sites.remove(&site.id);
                if let Some((_, children)) = records.clients.get_mut(&site.client_id) {
                    *children -= 1;
                }
                Deletion::Deleted
            }
        })
    }

    async fn delete_device(&self, device: &Device) -> Result<Deletion, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        records.uploads.remove(&device.id);
        if records.devices.remove(&device.id).is_none() {
            return Ok(Deletion::Missing);
        }
        if let Some((_, children)) = records.sites.get_mut(&device.site_id) {
            *children -= 1;
        }
        Ok(Deletion::Deleted)
    }

    async fn count_failure(
        &self,
        subject: FailureSubject,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<u32, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        if let FailureSubject::Device(id) = subject
            && !records.devices.contains_key(&id)
        {
            return Ok(1);
        }
        let entry = records.failures.entry(subject).or_insert((0, until));
        if entry.1 < now {
            *entry = (0, until);
        }
        entry.0 += 1;
        Ok(entry.0)
    }

    async fn take_upload(&self, id: DeviceId, rate: UploadRate, now: DateTime<Utc>) -> Result<bool, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        if !records.devices.contains_key(&id) {
            return Ok(false);
        }
        let next = rate.next(records.uploads.get(&id).copied(), now);
        if let Some(tat) = next {
            records.uploads.insert(id, tat);
        }
        Ok(next.is_some())
    }

    async fn signed_out_at(&self, subject: &str) -> Result<Option<DateTime<Utc>>, DomainError> {
        round_trip().await;
        Ok(lock(&self.records).sign_outs.get(subject).copied())
    }

    async fn record_sign_out(&self, subject: &str, at: DateTime<Utc>) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.records).sign_outs.insert(subject.to_owned(), at);
        Ok(())
    }
}
