//! What a portal's handlers share, built once per Lambda container.

use std::sync::Arc;

use axum::extract::FromRef;
use seccom_domain::auth::Principal;
use seccom_domain::clock::SystemClock;
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
        let stores = seccom_aws::Stores::new(sdk, config);
        let directory = stores.directory()?;
        let controls = SiteControls::new(directory.clone(), stores.controls()?, Arc::new(SystemClock));
        let intrusions = Intrusions::new(directory.clone(), stores.detection()?);
        let responses = Responses::new(directory.clone(), intrusions.clone(), stores.responses()?)
            .with_destinations(config.destinations());
        let retention = stores.retention()?;
        let media = Arc::new(seccom_aws::S3Media::from_config(
            sdk,
            config,
            &[seccom_domain::media::Store::Frames, seccom_domain::media::Store::Clips],
        )?);
        let links = MediaLinks::new(media.clone());
        let periods = RetentionPeriods::new(directory.clone(), retention.clone(), config.retention_bounds()?);
        let holds = LegalHolds::new(intrusions.clone(), retention, Arc::new(SystemClock));
        Ok(Self {
            exports: Exports {
                directory: directory.clone(),
                intrusions: intrusions.clone(),
                responses: responses.clone(),
                periods: periods.clone(),
                holds: holds.clone(),
                links: links.clone(),
                writer: media.clone(),
            },
            frames: media,
            retention: periods,
            push: stores.web_push()?,
            holds,
            directory,
            intrusions,
            responses,
            controls,
            links,
            authenticator: Arc::new(Authenticator::new(seccom_http::auth::settings(config)?)),
            logout_url: config.required(AUTH_LOGOUT_URL)?.to_owned(),
        })
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
