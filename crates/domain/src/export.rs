//! Subject access: a client's own records in one JSON document, for the
//! client (or staff on its behalf) to download: the client, its sites and
//! devices, every intrusion with what its response did and links to its
//! footage, notifications, device health, notification preferences,
//! retention, legal holds and the audit trail about it. The document is
//! written to the frames bucket (`exports/`, deleted after a day) and handed
//! out as a short-lived link: a load balancer answers at most 1 MB.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{AuditAction, AuditEntry, AuditFilter};
use crate::auth::Principal;
use crate::detection::{IntrusionFilter, Intrusions};
use crate::directory::{Client, Device, DeviceKind, Directory, Site};
use crate::error::DomainError;
use crate::ids::ClientId;
use crate::media::{IntrusionDetail, LINK_LIFETIME, MediaLinks};
use crate::page::every_page;
use crate::response::{HealthEvent, Notification, PreferencesView, Responses};
use crate::retention::{LegalHold, LegalHolds, RetentionPeriods, RetentionView};

/// Where export documents are written (S3; in memory for tests).
#[async_trait]
pub trait ExportWriter: Send + Sync {
    /// Stores `body` (JSON) under `key` of the frames bucket.
    async fn write(&self, key: &str, body: Vec<u8>) -> Result<(), DomainError>;
}

/// The answer to an export: where to download it, until when.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportLink {
    /// A link to the JSON document.
    pub url: String,
    /// When the link (and the footage links inside the document) stop working.
    pub expires_at: DateTime<Utc>,
}

/// Everything SecCom keeps about one client.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientExport {
    exported_at: DateTime<Utc>,
    client: Client,
    sites: Vec<Site>,
    devices: Vec<Device>,
    intrusions: Vec<IntrusionDetail>,
    notifications: Vec<Notification>,
    health_events: Vec<HealthEvent>,
    notification_preferences: PreferencesView,
    retention: RetentionView,
    legal_holds: Vec<LegalHold>,
    audit: Vec<AuditEntry>,
}

/// The subject-access export, scoped by the authorisation policy.
#[derive(Clone)]
pub struct Exports {
    pub directory: Directory,
    pub intrusions: Intrusions,
    pub responses: Responses,
    pub periods: RetentionPeriods,
    pub holds: LegalHolds,
    pub links: MediaLinks,
    pub writer: Arc<dyn ExportWriter>,
}

impl Exports {
    /// Writes a client's records (the client's own users, or staff) and
    /// answers a link to them; the export itself is audited.
    #[tracing::instrument(skip_all, fields(client = %client))]
    pub async fn export(&self, who: &Principal, client: ClientId) -> Result<ExportLink, DomainError> {
        let client = self.directory.get_client(who, client).await?;
        let id = client.id;
        let sites = every_page(|page| self.directory.list_sites(who, Some(id), page)).await?;
        let mut devices = Vec::new();
        let mut intrusions = Vec::new();
        for site in &sites {
            for kind in [DeviceKind::Camera, DeviceKind::Alarm] {
                devices.extend(every_page(|page| self.directory.list_devices(who, site.id, kind, page)).await?);
            }
            let filter = || IntrusionFilter {
                site: Some(site.id),
                ..IntrusionFilter::default()
            };
            for intrusion in every_page(|page| self.intrusions.list(who, filter(), page)).await? {
                let record = self.responses.intrusion(who, intrusion.id, false).await?;
                intrusions.push(self.links.detail(record).await?);
            }
        }
        let audit_filter = || AuditFilter {
            client_id: Some(id),
            ..AuditFilter::default()
        };
        let document = ClientExport {
            exported_at: self.directory.now(),
            sites,
            devices,
            intrusions,
            notifications: every_page(|page| self.responses.notifications(who, Some(id), page)).await?,
            health_events: every_page(|page| self.responses.health_events(who, Some(id), page)).await?,
            notification_preferences: self.responses.view(&self.responses.preferences(who, id).await?),
            retention: self.periods.retention(who, id).await?,
            legal_holds: every_page(|page| self.holds.holds(who, Some(id), page)).await?,
            audit: every_page(|page| self.directory.audit().entries(who, audit_filter(), page)).await?,
            client,
        };
        let body =
            serde_json::to_vec_pretty(&document).map_err(|e| DomainError::unavailable("cannot encode an export", e))?;
        let key = format!("exports/{id}/{}.json", uuid::Uuid::new_v4());
        self.writer.write(&key, body).await?;
        self.directory
            .audit()
            .record(who, AuditAction::ExportedRecords, id, format!("client/{id}"))
            .await?;
        Ok(ExportLink {
            url: self.links.frame_link(&key).await?,
            expires_at: self.directory.now() + LINK_LIFETIME,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::detection::ports::{DetectionStore, IntrusionChange};
    use crate::directory::DeviceBody;
    use crate::fixtures::{self, staff, start, user_of};
    use crate::memory::{
        MemoryAudit, MemoryDetectionStore, MemoryExports, MemoryLinks, MemoryResponses, MemoryRetention,
    };
    use crate::retention::RetentionBounds;

    #[tokio::test]
    async fn a_client_downloads_its_own_records_and_nothing_of_another() {
        let clock = Arc::new(FixedClock::at(start()));
        let audit = Arc::new(MemoryAudit::default());
        let (plain, _) = fixtures::directory(clock.clone());
        let directory = plain.with_audit(audit.clone());
        let detection = Arc::new(MemoryDetectionStore::default());
        let intrusions = Intrusions::with_clock(directory.clone(), detection.clone(), clock.clone());
        let retention = Arc::new(MemoryRetention::default());
        let writer = Arc::new(MemoryExports::default());
        let exports = Exports {
            directory: directory.clone(),
            intrusions: intrusions.clone(),
            responses: Responses::new(
                directory.clone(),
                intrusions.clone(),
                Arc::new(MemoryResponses::default()),
            ),
            periods: RetentionPeriods::new(directory.clone(), retention.clone(), RetentionBounds::default()),
            holds: LegalHolds::new(intrusions, retention, clock.clone()),
            links: MediaLinks::with_clock(Arc::new(MemoryLinks), clock.clone()),
            writer: writer.clone(),
        };
        let (acme, depot) = fixtures::client_with_site(&directory, "Acme").await;
        let (other, yard) = fixtures::client_with_site(&directory, "Other").await;
        let mut cameras = Vec::new();
        for site in [&depot, &yard] {
            let body = DeviceBody { name: "Gate".into() };
            let camera = directory
                .register_device(&staff(), site.id, DeviceKind::Camera, body)
                .await
                .unwrap()
                .device;
            let mut intrusion = fixtures::intrusion(site.client_id, site.id, camera.id, start());
            intrusion.snapshot_key = Some(format!("snapshots/{}.jpg", intrusion.id));
            detection
                .commit(camera.id, 0, &IntrusionChange::Open(intrusion.clone()))
                .await
                .unwrap();
            cameras.push((camera, intrusion));
        }

        let user = user_of(acme.id);
        let link = exports.export(&user, acme.id).await.unwrap();
        assert_eq!(link.expires_at, start() + LINK_LIFETIME);
        let documents = writer.documents();
        let (key, body) = documents.iter().next().unwrap();
        assert!(key.starts_with(&format!("exports/{}/", acme.id)) && link.url.contains(key.as_str()));
        let document: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(document["client"]["id"], acme.id.to_string());
        assert_eq!(document["sites"].as_array().unwrap().len(), 1);
        assert_eq!(document["devices"][0]["id"], cameras[0].0.id.to_string());
        let intrusion = &document["intrusions"][0];
        assert_eq!(intrusion["id"], cameras[0].1.id.to_string());
        assert!(
            intrusion["snapshotUrl"].as_str().unwrap().contains("snapshots/"),
            "links to its footage"
        );
        assert_eq!(
            document["intrusions"].as_array().unwrap().len(),
            1,
            "not the other client's"
        );
        assert_eq!(document["retention"]["days"], 30);
        assert!(document["notificationPreferences"].get("webhookSecret").is_none());
        let text = String::from_utf8_lossy(body);
        assert!(!text.contains(&other.id.to_string()), "nothing of another client");
        let secret = exports
            .responses
            .preferences(&staff(), acme.id)
            .await
            .unwrap()
            .webhook_secret;
        assert!(
            !text.contains("credentialHash") && !text.contains(&secret),
            "no secrets"
        );
        assert_eq!(
            audit.all().last().map(|e| (e.action, e.client_id)),
            Some((AuditAction::ExportedRecords, Some(acme.id)))
        );
        let foreign = exports.export(&user, other.id).await;
        assert!(matches!(foreign, Err(DomainError::NotFound(_))), "{foreign:?}");
    }
}
