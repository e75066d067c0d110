//! Site controls: the settings that decide whether a person in view is an
//! intrusion, which staff and the site's own client may change: the site's
//! arming (see [`crate::arming`]) and each camera's detection zones, masks and
//! thresholds (see [`crate::detection::zones`]); and the site's escalation
//! policy, which staff set and the client may read (see
//! [`crate::response::EscalationPolicy`]). The store is a port; the
//! detector reads it through [`CachedControls`], a short per-container cache
//! that serves the frames in which nobody was found.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::arming::{ArmingAction, ArmingBody, ArmingChange, ArmingView, ManualBody, SiteArming};
use crate::audit::AuditAction;
use crate::auth::Principal;
use crate::clock::Clock;
use crate::detection::zones::{CameraDetection, DetectionBody};
use crate::directory::{DeviceKind, Directory};
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, SiteId};
use crate::page::{Page, PageRequest};
use crate::response::EscalationPolicy;

/// Where site controls are kept.
#[async_trait]
pub trait ControlStore: Send + Sync {
    /// A site's arming; `None` when never set (the site is armed).
    async fn arming(&self, site: SiteId) -> Result<Option<SiteArming>, DomainError>;
    /// Replaces a site's arming and adds `change` to its history, all or nothing.
    async fn save_arming(&self, site: SiteId, arming: &SiteArming, change: &ArmingChange) -> Result<(), DomainError>;
    /// A site's arming history, newest first.
    async fn arming_history(&self, site: SiteId, page: &PageRequest) -> Result<Page<ArmingChange>, DomainError>;
    /// A camera's detection settings; `None` when never set (the defaults apply).
    async fn camera_detection(&self, camera: DeviceId) -> Result<Option<CameraDetection>, DomainError>;
    /// Replaces a camera's detection settings.
    async fn save_camera_detection(&self, camera: DeviceId, settings: &CameraDetection) -> Result<(), DomainError>;
    /// A site's escalation policy; `None` when never set (nobody beyond the client's recipients is told).
    async fn escalation(&self, site: SiteId) -> Result<Option<EscalationPolicy>, DomainError>;
    /// Replaces a site's escalation policy.
    async fn save_escalation(&self, site: SiteId, policy: &EscalationPolicy) -> Result<(), DomainError>;
    /// Deletes a site's arming, its history and its escalation policy; answers how many records.
    async fn erase_site(&self, site: SiteId) -> Result<u32, DomainError>;
    /// Deletes a camera's detection settings; answers how many records.
    async fn erase_camera(&self, camera: DeviceId) -> Result<u32, DomainError>;
}

type Entries<K, V> = Mutex<HashMap<K, (DateTime<Utc>, Option<V>)>>;

/// Reads site controls through a cache that keeps each answer for `ttl`, so a
/// detector handling a stream of frames reads them about once a `ttl` per
/// container. The cache serves only what no change could alter: the detector
/// judges every frame in which it found someone on settings read for that
/// notification ([`CachedControls::arming_now`], [`CachedControls::camera_detection_now`]),
/// so a change applies to the next frame.
pub struct CachedControls {
    inner: Arc<dyn ControlStore>,
    clock: Arc<dyn Clock>,
    ttl: TimeDelta,
    arming: Entries<SiteId, SiteArming>,
    detection: Entries<DeviceId, CameraDetection>,
}

impl CachedControls {
    /// Caches `inner` for `ttl` by `clock`.
    pub fn new(inner: Arc<dyn ControlStore>, clock: Arc<dyn Clock>, ttl: TimeDelta) -> Self {
        Self {
            inner,
            clock,
            ttl,
            arming: Mutex::default(),
            detection: Mutex::default(),
        }
    }

    fn fresh<K: Eq + Hash, V: Clone>(&self, entries: &Entries<K, V>, key: &K) -> Option<Option<V>> {
        let now = self.clock.now();
        let entries = entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(read_at, _)| now - *read_at < self.ttl)
            .map(|(_, value)| value.clone())
    }

    /// A site's arming as stored now, bypassing (and refreshing) the cache.
    pub async fn arming_now(&self, site: SiteId) -> Result<Option<SiteArming>, DomainError> {
        let arming = self.inner.arming(site).await?;
        self.keep(&self.arming, site, arming.clone());
        Ok(arming)
    }

    /// A camera's detection settings as stored now, bypassing (and refreshing) the cache.
    pub async fn camera_detection_now(&self, camera: DeviceId) -> Result<Option<CameraDetection>, DomainError> {
        let settings = self.inner.camera_detection(camera).await?;
        self.keep(&self.detection, camera, settings.clone());
        Ok(settings)
    }

    fn keep<K: Eq + Hash, V>(&self, entries: &Entries<K, V>, key: K, value: Option<V>) {
        let now = self.clock.now();
        entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (now, value));
    }
}

#[async_trait]
impl ControlStore for CachedControls {
    async fn arming(&self, site: SiteId) -> Result<Option<SiteArming>, DomainError> {
        if let Some(cached) = self.fresh(&self.arming, &site) {
            return Ok(cached);
        }
        let arming = self.inner.arming(site).await?;
        self.keep(&self.arming, site, arming.clone());
        Ok(arming)
    }

    async fn save_arming(&self, site: SiteId, arming: &SiteArming, change: &ArmingChange) -> Result<(), DomainError> {
        self.inner.save_arming(site, arming, change).await?;
        self.keep(&self.arming, site, Some(arming.clone()));
        Ok(())
    }

    async fn arming_history(&self, site: SiteId, page: &PageRequest) -> Result<Page<ArmingChange>, DomainError> {
        self.inner.arming_history(site, page).await
    }

    async fn camera_detection(&self, camera: DeviceId) -> Result<Option<CameraDetection>, DomainError> {
        if let Some(cached) = self.fresh(&self.detection, &camera) {
            return Ok(cached);
        }
        let settings = self.inner.camera_detection(camera).await?;
        self.keep(&self.detection, camera, settings.clone());
        Ok(settings)
    }

    async fn save_camera_detection(&self, camera: DeviceId, settings: &CameraDetection) -> Result<(), DomainError> {
        self.inner.save_camera_detection(camera, settings).await?;
        self.keep(&self.detection, camera, Some(settings.clone()));
        Ok(())
    }

    /// Not cached: the detector never reads it.
    async fn escalation(&self, site: SiteId) -> Result<Option<EscalationPolicy>, DomainError> {
        self.inner.escalation(site).await
    }

    async fn save_escalation(&self, site: SiteId, policy: &EscalationPolicy) -> Result<(), DomainError> {
        self.inner.save_escalation(site, policy).await
    }

    async fn erase_site(&self, site: SiteId) -> Result<u32, DomainError> {
        self.inner.erase_site(site).await
    }

    async fn erase_camera(&self, camera: DeviceId) -> Result<u32, DomainError> {
        self.inner.erase_camera(camera).await
    }
}

/// The site-control use cases, for staff and the site's own client.
#[derive(Clone)]
pub struct SiteControls {
    directory: Directory,
    store: Arc<dyn ControlStore>,
    clock: Arc<dyn Clock>,
}

impl SiteControls {
    /// The use cases over a directory and a control store.
    pub fn new(directory: Directory, store: Arc<dyn ControlStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            directory,
            store,
            clock,
        }
    }

    /// A site's arming now, if the caller may see the site.
    pub async fn arming(&self, who: &Principal, site: SiteId) -> Result<ArmingView, DomainError> {
        self.directory.get_site(who, site).await?;
        let arming = self.store.arming(site).await?.unwrap_or_default();
        Ok(ArmingView::of(&arming, self.clock.now()))
    }

    /// Replaces a site's standing plan. A manual arm or disarm in force stays
    /// until its end (the answer shows it), unless the body asks to end it.
    #[tracing::instrument(skip(self, who, body), fields(user = %who.subject))]
    pub async fn set_plan(&self, who: &Principal, site: SiteId, body: ArmingBody) -> Result<ArmingView, DomainError> {
        let client = self.directory.get_site(who, site).await?.client_id;
        let end_manual = body.end_manual;
        let plan = body.parse()?;
        let now = self.clock.now();
        let current = self.store.arming(site).await?.unwrap_or_default();
        let mode = plan.mode;
        let arming = current.with_plan(plan, now, end_manual);
        let note = match (current.manual_at(now), &arming.manual) {
            (Some(kept), Some(_)) => Some(format!(
                "the manual {} stays in force",
                if kept.armed { "arm" } else { "disarm" }
            )),
            (Some(ended), None) => Some(format!(
                "the manual {} was ended",
                if ended.armed { "arm" } else { "disarm" }
            )),
            _ => None,
        };
        let change = ArmingChange {
            at: now,
            by: who.subject.clone(),
            action: ArmingAction::Plan,
            mode,
            until: arming.manual.as_ref().and_then(|m| m.until),
            note,
        };
        self.store.save_arming(site, &arming, &change).await?;
        self.audited(who, AuditAction::ChangedArming, client, format!("site/{site}"))
            .await?;
        Ok(ArmingView::of(&arming, now))
    }

    /// Arms (`armed`) or disarms a site by hand, until a time or the schedule's next change.
    #[tracing::instrument(skip(self, who, body), fields(user = %who.subject))]
    pub async fn set_by_hand(
        &self,
        who: &Principal,
        site: SiteId,
        armed: bool,
        body: ManualBody,
    ) -> Result<ArmingView, DomainError> {
        let client = self.directory.get_site(who, site).await?.client_id;
        let now = self.clock.now();
        let change = body.parse(now)?;
        let current = self.store.arming(site).await?.unwrap_or_default();
        let arming = current.set_by_hand(armed, change.until, &who.subject, now, change.note.clone());
        let entry = ArmingChange {
            at: now,
            by: who.subject.clone(),
            action: if armed { ArmingAction::Arm } else { ArmingAction::Disarm },
            mode: arming.plan.mode,
            until: arming.manual.as_ref().and_then(|m| m.until),
            note: change.note,
        };
        self.store.save_arming(site, &arming, &entry).await?;
        self.audited(who, AuditAction::ChangedArming, client, format!("site/{site}"))
            .await?;
        Ok(ArmingView::of(&arming, now))
    }

    /// Every change of a site's arming, newest first.
    pub async fn arming_history(
        &self,
        who: &Principal,
        site: SiteId,
        page: PageRequest,
    ) -> Result<Page<ArmingChange>, DomainError> {
        self.directory.get_site(who, site).await?;
        self.store.arming_history(site, &page).await
    }

    /// A site's escalation policy, if the caller may see the site.
    pub async fn escalation(&self, who: &Principal, site: SiteId) -> Result<EscalationPolicy, DomainError> {
        self.directory.get_site(who, site).await?;
        Ok(self.store.escalation(site).await?.unwrap_or_default())
    }

    /// Replaces a site's escalation policy: SecCom staff only, as it tells
    /// their duty operators and contacts they checked.
    #[tracing::instrument(skip(self, who, body), fields(user = %who.subject))]
    pub async fn set_escalation(
        &self,
        who: &Principal,
        site: SiteId,
        body: EscalationPolicy,
    ) -> Result<EscalationPolicy, DomainError> {
        let client = self.directory.get_site(who, site).await?.client_id;
        who.require_staff()?;
        let policy = body.parse()?;
        self.store.save_escalation(site, &policy).await?;
        self.audited(who, AuditAction::ChangedEscalation, client, format!("site/{site}"))
            .await?;
        Ok(policy)
    }

    /// A camera's detection settings, if the caller may see the camera.
    pub async fn detection(&self, who: &Principal, camera: DeviceId) -> Result<CameraDetection, DomainError> {
        self.directory.get_device(who, camera, DeviceKind::Camera).await?;
        Ok(self.store.camera_detection(camera).await?.unwrap_or_default())
    }

    /// Replaces a camera's detection settings.
    #[tracing::instrument(skip(self, who, body), fields(user = %who.subject))]
    pub async fn set_detection(
        &self,
        who: &Principal,
        camera: DeviceId,
        body: DetectionBody,
    ) -> Result<CameraDetection, DomainError> {
        let client = self
            .directory
            .get_device(who, camera, DeviceKind::Camera)
            .await?
            .client_id;
        let settings = body.parse()?;
        self.store.save_camera_detection(camera, &settings).await?;
        self.audited(
            who,
            AuditAction::ChangedDetectionSettings,
            client,
            format!("camera/{camera}"),
        )
        .await?;
        Ok(settings)
    }

    async fn audited(
        &self,
        who: &Principal,
        action: AuditAction,
        client: ClientId,
        target: String,
    ) -> Result<(), DomainError> {
        self.directory.audit().record(who, action, client, target).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arming::{ExceptionBody, PeriodBody};
    use crate::clock::FixedClock;
    use crate::fixtures::{self, start, user_of};
    use crate::memory::MemoryControls;

    fn plan(mode: &str, end_manual: bool) -> ArmingBody {
        ArmingBody {
            mode: mode.into(),
            time_zone: Some("Europe/Lisbon".into()),
            schedule: vec![PeriodBody {
                days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                    .map(String::from)
                    .to_vec(),
                from: "19:00".into(),
                to: "07:00".into(),
            }],
            exceptions: Vec::<ExceptionBody>::new(),
            end_manual,
        }
    }

    /// A client's site, disarmed by hand until 07:00 tomorrow for a stocktake,
    /// while its plan says armed around the clock.
    async fn disarmed_for_a_stocktake() -> (SiteControls, Principal, SiteId, Arc<FixedClock>, DateTime<Utc>) {
        let clock = Arc::new(FixedClock::at(start()));
        let (directory, _) = fixtures::directory(clock.clone());
        let (client, site) = fixtures::client_with_site(&directory, "Stocktake Ltd").await;
        let controls = SiteControls::new(directory, Arc::new(MemoryControls::default()), clock.clone());
        let user = user_of(client.id);
        let until = start() + TimeDelta::hours(10);
        let manual = ManualBody {
            until: Some(until.to_rfc3339()),
            note: Some("stocktake".into()),
        };
        let view = controls.set_by_hand(&user, site.id, false, manual).await.unwrap();
        assert!(!view.armed_now);
        (controls, user, site.id, clock, until)
    }

    #[tokio::test]
    async fn saving_a_plan_keeps_a_manual_disarm_until_it_ends() {
        let (controls, user, site, clock, until) = disarmed_for_a_stocktake().await;
        clock.advance(TimeDelta::minutes(5));
        let saved = controls.set_plan(&user, site, plan("armed", false)).await.unwrap();
        assert!(!saved.armed_now, "still disarmed by hand");
        let manual = saved.manual.expect("the answer shows the manual disarm kept");
        assert_eq!((manual.armed, manual.until), (false, Some(until)));
        assert_eq!(saved.next_change_at, Some(until));
        let history = controls.arming_history(&user, site, fixtures::page()).await.unwrap();
        assert_eq!(history.items[0].action, ArmingAction::Plan);
        assert_eq!(history.items[0].until, Some(until));
        assert_eq!(
            history.items[0].note.as_deref(),
            Some("the manual disarm stays in force")
        );
        clock.advance(TimeDelta::hours(10));
        assert!(
            controls.arming(&user, site).await.unwrap().armed_now,
            "the plan after it"
        );
    }

    #[tokio::test]
    async fn a_plan_saved_asking_to_end_the_manual_disarm_applies_at_once() {
        let (controls, user, site, clock, _) = disarmed_for_a_stocktake().await;
        clock.advance(TimeDelta::minutes(5));
        let saved = controls.set_plan(&user, site, plan("armed", true)).await.unwrap();
        assert!(saved.armed_now);
        assert!(saved.manual.is_none());
        let history = controls.arming_history(&user, site, fixtures::page()).await.unwrap();
        assert_eq!(history.items[0].note.as_deref(), Some("the manual disarm was ended"));
    }

    #[tokio::test]
    async fn a_manual_change_that_ended_is_not_carried_into_a_new_plan() {
        let (controls, user, site, clock, _) = disarmed_for_a_stocktake().await;
        clock.advance(TimeDelta::hours(11));
        let saved = controls.set_plan(&user, site, plan("scheduled", false)).await.unwrap();
        assert!(saved.manual.is_none());
        let history = controls.arming_history(&user, site, fixtures::page()).await.unwrap();
        assert_eq!(history.items[0].note, None);
    }
}
