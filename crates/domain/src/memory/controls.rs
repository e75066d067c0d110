//! The site-control store, in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;

use super::{lock, page_of, round_trip};
use crate::arming::{ArmingChange, SiteArming};
use crate::controls::ControlStore;
use crate::detection::zones::CameraDetection;
use crate::error::DomainError;
use crate::ids::{DeviceId, SiteId};
use crate::page::{Page, PageRequest};
use crate::response::EscalationPolicy;

/// Site arming, its history and camera settings, in memory, counting reads
/// so a cache in front of it can be checked.
#[derive(Default)]
pub struct MemoryControls {
    arming: Mutex<HashMap<SiteId, SiteArming>>,
    history: Mutex<HashMap<SiteId, Vec<ArmingChange>>>,
    detection: Mutex<HashMap<DeviceId, CameraDetection>>,
    escalation: Mutex<HashMap<SiteId, EscalationPolicy>>,
    reads: AtomicU32,
}

impl MemoryControls {
    /// How many reads of arming or camera settings reached the store.
    pub fn reads(&self) -> u32 {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ControlStore for MemoryControls {
    async fn arming(&self, site: SiteId) -> Result<Option<SiteArming>, DomainError> {
        round_trip().await;
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(lock(&self.arming).get(&site).cloned())
    }

    async fn save_arming(&self, site: SiteId, arming: &SiteArming, change: &ArmingChange) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.arming).insert(site, arming.clone());
        lock(&self.history).entry(site).or_default().push(change.clone());
        Ok(())
    }

    async fn arming_history(&self, site: SiteId, page: &PageRequest) -> Result<Page<ArmingChange>, DomainError> {
        round_trip().await;
        let newest_first: Vec<ArmingChange> = lock(&self.history)
            .get(&site)
            .map(|changes| changes.iter().rev().cloned().collect())
            .unwrap_or_default();
        page_of(&newest_first, page)
    }

    async fn camera_detection(&self, camera: DeviceId) -> Result<Option<CameraDetection>, DomainError> {
        round_trip().await;
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(lock(&self.detection).get(&camera).cloned())
    }

    async fn save_camera_detection(&self, camera: DeviceId, settings: &CameraDetection) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.detection).insert(camera, settings.clone());
        Ok(())
    }

    async fn escalation(&self, site: SiteId) -> Result<Option<EscalationPolicy>, DomainError> {
        round_trip().await;
        Ok(lock(&self.escalation).get(&site).cloned())
    }

    async fn save_escalation(&self, site: SiteId, policy: &EscalationPolicy) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.escalation).insert(site, policy.clone());
        Ok(())
    }

    async fn erase_site(&self, site: SiteId) -> Result<u32, DomainError> {
        round_trip().await;
        let arming = u32::from(lock(&self.arming).remove(&site).is_some());
        let history = lock(&self.history).remove(&site).map_or(0, |h| h.len());
        let escalation = u32::from(lock(&self.escalation).remove(&site).is_some());
        Ok(arming + escalation + u32::try_from(history).unwrap_or(u32::MAX))
    }

    async fn erase_camera(&self, camera: DeviceId) -> Result<u32, DomainError> {
        round_trip().await;
        Ok(u32::from(lock(&self.detection).remove(&camera).is_some()))
    }
}
