//! The directory table as the store of site controls: one `ARMING#<site>` and
//! one `ESCALATION#<site>` item per site, one `DETECTION#<camera>` item per camera, and the arming history as
//! `ARMINGLOG#…` items listed newest first through `byParent`
//! (`parentKey` = `ARMINGLOG#<site>`, `sortKey` = `ARMINGLOG#<time>#<id>`). None of them is
//! a counted child, so they never hold up deleting a site or a camera.

use async_trait::async_trait;
use chrono::SecondsFormat;

use seccom_domain::arming::{ArmingChange, SiteArming};
use seccom_domain::controls::ControlStore;
use seccom_domain::detection::zones::CameraDetection;
use seccom_domain::error::DomainError;
use seccom_domain::ids::{DeviceId, SiteId};
use seccom_domain::page::{Page, PageRequest};
use seccom_domain::response::EscalationPolicy;

use crate::directory::{BY_PARENT, DirectoryTable, Placement};

fn arming_key(site: SiteId) -> String {
    format!("ARMING#{site}")
}

fn history_of(site: SiteId) -> String {
    format!("ARMINGLOG#{site}")
}

fn escalation_key(site: SiteId) -> String {
    format!("ESCALATION#{site}")
}

fn detection_key(camera: DeviceId) -> String {
    format!("DETECTION#{camera}")
}

#[async_trait]
impl ControlStore for DirectoryTable {
    async fn arming(&self, site: SiteId) -> Result<Option<SiteArming>, DomainError> {
        self.get(&arming_key(site)).await
    }

    async fn save_arming(&self, site: SiteId, arming: &SiteArming, change: &ArmingChange) -> Result<(), DomainError> {
        let entry = format!(
            "ARMINGLOG#{}#{}",
            change.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            uuid::Uuid::new_v4()
        );
        let current = Placement {
            pk: arming_key(site),
            entity: "ARMING",
            parent_key: None,
            sort_key: site.to_string(),
        };
        let logged = Placement {
            pk: format!("{}#{entry}", arming_key(site)),
            entity: "ARMINGLOG",
            parent_key: Some(history_of(site)),
            sort_key: entry,
        };
        self.put_items(vec![Self::encode(current, arming)?, Self::encode(logged, change)?])
            .await
    }

    async fn arming_history(&self, site: SiteId, page: &PageRequest) -> Result<Page<ArmingChange>, DomainError> {
        self.query_in_order(BY_PARENT, ("parentKey", history_of(site)), "ARMINGLOG#", page, false)
            .await
    }

    async fn camera_detection(&self, camera: DeviceId) -> Result<Option<CameraDetection>, DomainError> {
        self.get(&detection_key(camera)).await
    }

    async fn save_camera_detection(&self, camera: DeviceId, settings: &CameraDetection) -> Result<(), DomainError> {
        let placement = Placement {
            pk: detection_key(camera),
            entity: "DETECTION",
            parent_key: None,
            sort_key: camera.to_string(),
        };
        self.put_items(vec![Self::encode(placement, settings)?]).await
    }

    async fn escalation(&self, site: SiteId) -> Result<Option<EscalationPolicy>, DomainError> {
        self.get(&escalation_key(site)).await
    }

    async fn save_escalation(&self, site: SiteId, policy: &EscalationPolicy) -> Result<(), DomainError> {
        let placement = Placement {
            pk: escalation_key(site),
            entity: "ESCALATION",
            parent_key: None,
            sort_key: site.to_string(),
        };
        self.put_items(vec![Self::encode(placement, policy)?]).await
    }

    async fn erase_site(&self, site: SiteId) -> Result<u32, DomainError> {
        let history = self
            .delete_listed(history_of(site), "ARMINGLOG#", "a site's arming history")
            .await?;
        let arming = self.delete_uncounted(&arming_key(site)).await?;
        let escalation = self.delete_uncounted(&escalation_key(site)).await?;
        Ok(history + u32::from(arming) + u32::from(escalation))
    }

    async fn erase_camera(&self, camera: DeviceId) -> Result<u32, DomainError> {
        Ok(u32::from(self.delete_uncounted(&detection_key(camera)).await?))
    }
}
