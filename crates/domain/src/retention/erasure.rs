//! Erasure: staff erase a client, a site or a camera or alarm with everything
//! recorded of it (the right to erasure, or a site that closes). A request
//! answers at once with a job; the work is done in bounded passes by the
//! data-protection function, handed the job by a queue, and every step is
//! safe to repeat, so a pass cut off or retried simply carries on. Devices go
//! first (their credentials stop working, so nothing new arrives), then
//! intrusions with their footage and response records, then sites, then the
//! client's own records (preferences, push subscriptions). Intrusions under a legal hold stay, with their
//! footage and the hold, and the job lists them. The audit trail keeps its
//! entries for its own retention: it is the record of who did what, this
//! erasure included.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ports::{ErasureQueue, Footage, RetentionStore};
use super::purge::forget;
use crate::audit::AuditAction;
use crate::auth::Principal;
use crate::controls::ControlStore;
use crate::detection::IntrusionScope;
use crate::detection::ports::DetectionStore;
use crate::directory::{Deletion, Device, DeviceKind, Directory};
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, ErasureId, IntrusionId, SiteId};
use crate::media::Store;
use crate::page::{Page, PageRequest, every_page};
use crate::response::ResponseStore;
use crate::response::push::PushStore;

/// What an erasure removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ErasureTarget {
    /// The client, its sites, devices and every record and object of theirs.
    Client(ClientId),
    /// The site, its devices and every record and object of theirs.
    Site(SiteId),
    /// The camera or alarm and every record and object of it.
    Device(DeviceId),
}

impl ErasureTarget {
    /// The target as the audit trail names it.
    fn audit_name(self) -> String {
        match self {
            Self::Client(id) => format!("client/{id}"),
            Self::Site(id) => format!("site/{id}"),
            Self::Device(id) => format!("device/{id}"),
        }
    }
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ErasureStatus {
    Running,
    Done,
}

/// What a job has deleted so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErasureCounts {
    pub sites: u32,
    /// Cameras and alarms.
    pub devices: u32,
    /// Intrusions, each with its response records.
    pub intrusions: u32,
    /// Other records: frame results, commands, settings, preferences, health events.
    pub records: u32,
    /// Objects deleted from the buckets: frames, snapshots, evidence, clips, exports.
    pub objects: u32,
}

/// One erasure, as staff follow it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErasureJob {
    pub id: ErasureId,
    pub target: ErasureTarget,
    /// The target's name when the erasure was asked for, so staff can tell
    /// later what was erased.
    pub name: String,
    /// The client the target belongs (or belonged) to.
    pub client_id: ClientId,
    pub status: ErasureStatus,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    /// When the last pass ended.
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub deleted: ErasureCounts,
    /// Intrusions kept, with their footage, by a legal hold.
    pub held: Vec<IntrusionId>,
    /// Passes run so far.
    pub passes: u32,
}

/// Staff ask for erasures and follow them.
#[derive(Clone)]
pub struct ErasureRequests {
    directory: Directory,
    store: Arc<dyn RetentionStore>,
    queue: Arc<dyn ErasureQueue>,
}

impl ErasureRequests {
    /// Jobs kept in `store`, handed over through `queue`.
    pub fn new(directory: Directory, store: Arc<dyn RetentionStore>, queue: Arc<dyn ErasureQueue>) -> Self {
        Self {
            directory,
            store,
            queue,
        }
    }

    /// Starts erasing `target` (staff only); answers the job, running.
    #[tracing::instrument(skip_all, fields(target = ?target))]
    pub async fn request(&self, who: &Principal, target: ErasureTarget) -> Result<ErasureJob, DomainError> {
        who.require_staff()?;
        let (client_id, name) = match target {
            ErasureTarget::Client(id) => {
                let client = self.directory.get_client(who, id).await?;
                (client.id, client.name.as_str().to_owned())
            }
            ErasureTarget::Site(id) => {
                let site = self.directory.get_site(who, id).await?;
                (site.client_id, site.name.as_str().to_owned())
            }
            ErasureTarget::Device(id) => {
                let device = self
                    .directory
                    .find_device(id)
                    .await?
                    .ok_or(DomainError::NotFound("device"))?;
                (device.client_id, device.name.as_str().to_owned())
            }
        };
        let now = self.directory.now();
        let job = ErasureJob {
            id: ErasureId::generate(),
            target,
            name,
            client_id,
            status: ErasureStatus::Running,
            requested_by: who.email.clone().unwrap_or_else(|| who.subject.clone()),
            requested_at: now,
            updated_at: now,
            finished_at: None,
            deleted: ErasureCounts::default(),
            held: Vec::new(),
            passes: 0,
        };
        self.store.save_erasure(&job).await?;
        self.directory
            .audit()
            .record(who, AuditAction::RequestedErasure, client_id, target.audit_name())
            .await?;
        self.queue.start(job.id).await?;
        tracing::info!(job = %job.id, "erasure requested");
        Ok(job)
    }

    /// A job (staff only).
    pub async fn job(&self, who: &Principal, id: ErasureId) -> Result<ErasureJob, DomainError> {
        who.require_staff()?;
        self.store.erasure(id).await?.ok_or(DomainError::NotFound("erasure"))
    }

    /// Jobs newest first, of one client or of all (staff only).
    pub async fn jobs(
        &self,
        who: &Principal,
        client: Option<ClientId>,
        page: &PageRequest,
    ) -> Result<Page<ErasureJob>, DomainError> {
        who.require_staff()?;
        self.store.erasures(client, page).await
    }
}

/// Whether a job needs another pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Done,
    /// The pass stopped at its limit (or something was added meanwhile).
    Unfinished,
}

/// Carries erasure jobs out, one bounded pass at a time.
#[derive(Clone)]
pub struct Erasure {
    pub directory: Directory,
    pub retention: Arc<dyn RetentionStore>,
    pub detection: Arc<dyn DetectionStore>,
    pub controls: Arc<dyn ControlStore>,
    pub responses: Arc<dyn ResponseStore>,
    pub footage: Arc<dyn Footage>,
    /// The browsers of the client's users that asked for pushes.
    pub push: Arc<dyn PushStore>,
    /// The most devices, intrusions and sites one pass erases.
    pub limit: u32,
}

/// One pass over a job: what it may still do, and what it did.
struct Pass {
    budget: u32,
    deleted: ErasureCounts,
    held: Vec<IntrusionId>,
    finished: bool,
}

impl Pass {
    /// Takes one step from the budget; `false` once it is spent.
    fn step(&mut self) -> bool {
        if self.budget == 0 {
            self.finished = false;
            return false;
        }
        self.budget -= 1;
        true
    }
}

impl Erasure {
    /// Runs one pass of job `id` and saves where it stands. A job already
    /// done, or unknown, needs nothing more.
    #[tracing::instrument(skip_all, fields(job = %id))]
    pub async fn advance(&self, id: ErasureId) -> Result<Progress, DomainError> {
        let Some(mut job) = self.retention.erasure(id).await? else {
            tracing::warn!("no such erasure job");
            return Ok(Progress::Done);
        };
        if job.status == ErasureStatus::Done {
            return Ok(Progress::Done);
        }
        let mut pass = Pass {
            budget: self.limit.max(1),
            deleted: ErasureCounts::default(),
            held: Vec::new(),
            finished: true,
        };
        match job.target {
            ErasureTarget::Client(client) => self.erase_client(client, &mut pass).await?,
            ErasureTarget::Site(site) => self.erase_site(site, &mut pass).await?,
            ErasureTarget::Device(device) => {
                if let Some(device) = self.directory.find_device(device).await? {
                    self.erase_device(&device, &mut pass).await?;
                }
                if pass.finished {
                    self.erase_intrusions(IntrusionScope::Camera(device), &mut pass).await?;
                }
            }
        }
        let now = self.directory.now();
        add(&mut job.deleted, pass.deleted);
        job.passes += 1;
        job.updated_at = now;
        if pass.finished {
            job.held = pass.held;
            job.status = ErasureStatus::Done;
            job.finished_at = Some(now);
        }
        self.retention.save_erasure(&job).await?;
        tracing::info!(deleted = ?job.deleted, held = job.held.len(), done = pass.finished, "erasure pass");
        Ok(if pass.finished {
            Progress::Done
        } else {
            Progress::Unfinished
        })
    }

    async fn erase_client(&self, client: ClientId, pass: &mut Pass) -> Result<(), DomainError> {
        let sites = every_page(|page| async move { self.directory.store().sites(Some(client), &page).await }).await?;
        for site in &sites {
            self.erase_devices(site.id, pass).await?;
        }
        if !pass.finished {
            return Ok(());
        }
        self.erase_intrusions(IntrusionScope::Client(client), pass).await?;
        for site in &sites {
            if pass.step() {
                self.forget_site(site, pass).await?;
            }
        }
        if !pass.finished {
            return Ok(());
        }
        pass.deleted.records += self.responses.erase_client(client).await?;
        pass.deleted.records += self.retention.erase_client(client).await?;
        pass.deleted.records += self.push.erase_client(client).await?;
        pass.deleted.objects += self
            .footage
            .delete_prefix(Store::Frames, &format!("exports/{client}/"))
            .await?;
        match self.directory.store().delete_client(client).await? {
            Deletion::Deleted => pass.deleted.records += 1,
            Deletion::Missing => {}
            // A site added meanwhile: the next pass erases it too.
            Deletion::HasChildren => pass.finished = false,
        }
        Ok(())
    }

    async fn erase_site(&self, site: SiteId, pass: &mut Pass) -> Result<(), DomainError> {
        self.erase_devices(site, pass).await?;
        if !pass.finished {
            return Ok(());
        }
        self.erase_intrusions(IntrusionScope::Site(site), pass).await?;
        if let Some(site) = self.directory.find_site(site).await?
            && pass.step()
        {
            self.forget_site(&site, pass).await?;
        }
        Ok(())
    }

    /// A site's arming, its history, its escalation policy, then the site.
    async fn forget_site(&self, site: &crate::directory::Site, pass: &mut Pass) -> Result<(), DomainError> {
        pass.deleted.records += self.controls.erase_site(site.id).await?;
        match self.directory.store().delete_site(site).await? {
            Deletion::Deleted => pass.deleted.sites += 1,
            Deletion::Missing => {}
            Deletion::HasChildren => pass.finished = false,
        }
        Ok(())
    }

    async fn erase_devices(&self, site: SiteId, pass: &mut Pass) -> Result<(), DomainError> {
        for kind in [DeviceKind::Camera, DeviceKind::Alarm] {
            let devices =
                every_page(|page| async move { self.directory.store().devices(Some(site), kind, &page).await }).await?;
            for device in &devices {
                if !pass.step() {
                    return Ok(());
                }
                self.erase_device(device, pass).await?;
            }
        }
        Ok(())
    }

    /// A camera's routine frames, their results and its detection settings;
    /// any device's command queue and health events; then the device, whose
    /// credential stops working with it.
    async fn erase_device(&self, device: &Device, pass: &mut Pass) -> Result<(), DomainError> {
        if device.kind == DeviceKind::Camera {
            pass.deleted.objects += self
                .footage
                .delete_prefix(Store::Frames, &format!("frames/{}/", device.id))
                .await?;
            pass.deleted.records += self.detection.erase_camera(device.id).await?;
            pass.deleted.records += self.controls.erase_camera(device.id).await?;
        }
        pass.deleted.records += self.responses.erase_device(device.client_id, device.id).await?;
        if self.directory.store().delete_device(device).await? == Deletion::Deleted {
            pass.deleted.devices += 1;
        }
        Ok(())
    }

    /// Every intrusion in `scope` with its footage and records, except held ones.
    async fn erase_intrusions(&self, scope: IntrusionScope, pass: &mut Pass) -> Result<(), DomainError> {
        let mut token = None;
        loop {
            let page = PageRequest { limit: 100, token };
            let found = self.detection.list_intrusions(scope, None, None, None, &page).await?;
            for intrusion in &found.items {
                if self.retention.hold(intrusion.id).await?.is_some() {
                    pass.held.push(intrusion.id);
                    continue;
                }
                if !pass.step() {
                    return Ok(());
                }
                pass.deleted.objects += forget(&self.detection, &self.responses, &self.footage, intrusion).await?;
                pass.deleted.intrusions += 1;
            }
            match found.next_token {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }
}

fn add(total: &mut ErasureCounts, pass: ErasureCounts) {
    total.sites += pass.sites;
    total.devices += pass.devices;
    total.intrusions += pass.intrusions;
    total.records += pass.records;
    total.objects += pass.objects;
}

#[cfg(test)]
#[path = "erasure_tests.rs"]
mod tests;
