//! What a portal's handlers share, built once per Lambda container.

use std::sync::Arc;

use axum::extract::FromRef;
use seccom_domain::auth::Principal;
use seccom_domain::config::{AUTH_LOGOUT_URL, Config, MissingSetting};
use seccom_domain::controls::SiteControls;
use seccom_domain::detection::Intrusions;
use seccom_domain::directory::{Device, DeviceKind, Directory, Site};
use seccom_domain::error::DomainError;
use seccom_domain::export::Exports;
use seccom_domain::ids::{ClientId, SiteId};
use seccom_domain::media::MediaLinks;
use seccom_domain::page::every_page;
use seccom_domain::response::Responses;
use seccom_domain::retention::{LegalHolds, RetentionPeriods};
use seccom_domain::wiring::UseCases;
use seccom_http::auth::Authenticator;

/// The use cases and settings a portal works with.
#[derive(Clone, FromRef)]
pub struct PortalState {
    pub directory: Directory,
    pub intrusions: Intrusions,
    pub responses: Responses,
    pub controls: SiteControls,
    pub retention: RetentionPeriods,
    pub holds: LegalHolds,
    pub links: MediaLinks,
    /// The frames bucket, for frames that came in bundles.
    pub frames: Arc<dyn seccom_domain::media::FrameReader>,
    pub exports: Exports,
    pub push: seccom_domain::response::push::WebPush,
    pub authenticator: Arc<Authenticator>,
    /// Where sign-out sends the browser (the identity provider's logout).
    pub logout_url: String,
}

impl PortalState {
    /// Connects to the tables and buckets named in `config`.
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let use_cases = UseCases::new(seccom_aws::Stores::new(sdk, config).ports(sdk, false)?);
        let frames = Arc::new(seccom_aws::S3Media::from_config(
            sdk,
            config,
            &[seccom_domain::media::Store::Frames],
        )?);
        let authenticator = Authenticator::new(seccom_http::auth::settings(config)?);
        Ok(Self::with(
            use_cases,
            frames,
            authenticator,
            config.required(AUTH_LOGOUT_URL)?.to_owned(),
        ))
    }

    /// A portal's state over `use_cases`: bundled frames read through
    /// `frames`, users verified by `authenticator`, sign-out sent to `logout_url`.
    pub fn with(
        use_cases: UseCases,
        frames: Arc<dyn seccom_domain::media::FrameReader>,
        authenticator: Authenticator,
        logout_url: String,
    ) -> Self {
        Self {
            directory: use_cases.directory,
            intrusions: use_cases.intrusions,
            responses: use_cases.responses,
            controls: use_cases.controls,
            retention: use_cases.periods,
            holds: use_cases.holds,
            links: use_cases.links,
            frames,
            exports: use_cases.exports,
            push: use_cases.push,
            authenticator: Arc::new(authenticator),
            logout_url,
        }
    }
}

impl PortalState {
    /// Erasure requests (the manager portal's), handed to the data-protection
    /// function through the queue `config` names (`ERASURE_QUEUE_URL`).
    pub fn erasures(
        &self,
        sdk: &aws_config::SdkConfig,
        config: &Config,
    ) -> Result<seccom_domain::retention::erasure::ErasureRequests, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        Ok(seccom_domain::retention::erasure::ErasureRequests::new(
            self.directory.clone(),
            stores.retention()?,
            Arc::new(seccom_aws::SqsErasureQueue::from_config(sdk, config)?),
        ))
    }

    /// The same state, able to save preferences: new recipients are sent their
    /// confirmation requests through the notification queue.
    pub fn saving_preferences(mut self, sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        self.responses = self
            .responses
            .with_confirmations(seccom_aws::confirmation_sender(sdk, config)?);
        Ok(self)
    }

    /// Every site of a client (or, for staff with no client, of every client), by name.
    pub async fn all_sites(&self, who: &Principal, client: Option<ClientId>) -> Result<Vec<Site>, DomainError> {
        every_page(|page| self.directory.list_sites(who, client, page)).await
    }

    /// Every camera and alarm of a site the viewer may see, cameras first, each by name.
    pub async fn site_devices(&self, who: &Principal, site: SiteId) -> Result<Vec<Device>, DomainError> {
        let mut devices = Vec::new();
        for kind in [DeviceKind::Camera, DeviceKind::Alarm] {
            devices.extend(every_page(|page| self.directory.list_devices(who, site, kind, page)).await?);
        }
        Ok(devices)
    }
}
