//! The Sites Management API: SecCom staff manage clients, sites, cameras and
//! alarms; client users read their own. An axum `Router` that `lambda_http`
//! runs behind the ALB, and that tests and the local stack call in-process.

mod openapi;
mod routes;

use std::sync::Arc;

use aws_config::SdkConfig;
use axum::Router;
use axum::extract::FromRef;
use seccom_domain::clock::SystemClock;
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::controls::SiteControls;
use seccom_domain::directory::Directory;
use seccom_domain::retention::RetentionPeriods;
use seccom_domain::retention::erasure::ErasureRequests;
use seccom_http::auth::Authenticator;

pub use openapi::openapi;

/// What every handler may use; built once per Lambda container.
#[derive(Clone, FromRef)]
pub struct AppState {
    directory: Directory,
    controls: SiteControls,
    retention: RetentionPeriods,
    erasures: ErasureRequests,
    authenticator: Arc<Authenticator>,
}

impl AppState {
    /// The handlers' state over these use cases.
    pub fn new(
        directory: Directory,
        controls: SiteControls,
        retention: RetentionPeriods,
        erasures: ErasureRequests,
        authenticator: Authenticator,
    ) -> Self {
        Self {
            directory,
            controls,
            retention,
            erasures,
            authenticator: Arc::new(authenticator),
        }
    }
}

/// The API over `state`, with the health check, fallbacks and limits every API has.
pub fn router(state: AppState) -> Router {
    let (routes, _) = routes::router().with_state(state).split_for_parts();
    seccom_http::service(routes)
}

/// The function's router, wired to the AWS services and settings given.
pub fn app(sdk: &SdkConfig, config: &Config) -> Result<Router, MissingSetting> {
    let stores = seccom_aws::Stores::new(sdk, config);
    let directory = stores.directory()?;
    let state = AppState::new(
        directory.clone(),
        SiteControls::new(directory.clone(), stores.controls()?, Arc::new(SystemClock)),
        RetentionPeriods::new(directory.clone(), stores.retention()?, config.retention_bounds()?),
        ErasureRequests::new(
            directory.clone(),
            stores.retention()?,
            Arc::new(seccom_aws::SqsErasureQueue::from_config(sdk, config)?),
        ),
        Authenticator::new(seccom_http::auth::settings(config)?).with_sessions(Arc::new(directory)),
    );
    Ok(router(state))
}

#[cfg(test)]
mod tests;
