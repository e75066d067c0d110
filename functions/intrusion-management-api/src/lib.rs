//! The Intrusion Management API: the intrusions of the caller's sites (all of
//! them for SecCom staff) with what the response to each did, their
//! acknowledgement and resolution, notifications, each client's notification
//! preferences, and the confirmation links new recipients are sent.

mod routes;

use std::sync::Arc;

use aws_config::SdkConfig;
use axum::Router;
use axum::extract::FromRef;
use seccom_domain::audit::AuditTrail;
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::detection::Intrusions;
use seccom_domain::export::Exports;
use seccom_domain::media::MediaLinks;
use seccom_domain::response::Responses;
use seccom_domain::response::push::WebPush;
use seccom_domain::retention::LegalHolds;
use seccom_domain::wiring::UseCases;
use seccom_http::auth::Authenticator;
use seccom_http::openapi::{self, Callers};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the handlers share; built once per Lambda container.
#[derive(Clone, FromRef)]
pub struct AppState {
    intrusions: Intrusions,
    responses: Responses,
    links: MediaLinks,
    holds: LegalHolds,
    audit: AuditTrail,
    exports: Exports,
    push: WebPush,
    authenticator: Arc<Authenticator>,
}

#[derive(OpenApi)]
#[openapi(info(
    title = "SecCom Intrusion Management API",
    description = "Intrusions (bursts of person frames of one camera) of the caller's sites, what the response to \
                   each did (alarm activations, the clip, notifications), their acknowledgement and resolution, and \
                   notification preferences with their recipients' confirmation and the webhook secret, legal \
                   holds, the audit trail and Web Push subscriptions. Reached through the ALB on `/api/intrusions*`, `/api/holds`, `/api/audit`, `/api/push*`, `/api/notifications`, \
                   `/api/health-events`, `/api/clients/*/notification-preferences*`, `/api/clients/*/export` and \
                   `/api/clients/*/recipients/verify` with a Cognito \
                   ID token, and on `/api/recipient-confirmations/*` with the link's token alone. Every error is an \
                   RFC 9457 problem document.",
    version = "1.0.0"
))]
struct ApiDoc;

fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::intrusions::list))
        .routes(routes!(routes::intrusions::get))
        .routes(routes!(routes::intrusions::acknowledge))
        .routes(routes!(routes::intrusions::resolve))
        .routes(routes!(routes::intrusions::reopen))
        .routes(routes!(
            routes::holds::get,
            routes::holds::place,
            routes::holds::release
        ))
        .routes(routes!(routes::holds::list))
        .routes(routes!(routes::audit::list))
        .routes(routes!(routes::export::export))
        .routes(routes!(routes::notifications::list))
        .routes(routes!(routes::notifications::health_events))
        .routes(routes!(
            routes::notifications::preferences,
            routes::notifications::set_preferences
        ))
        .routes(routes!(routes::notifications::rotate_webhook_secret))
        .routes(routes!(routes::confirmations::verify))
        .routes(routes!(routes::confirmations::show, routes::confirmations::confirm))
        .routes(routes!(routes::push::key))
        .routes(routes!(routes::push::subscribe))
        .routes(routes!(routes::push::unsubscribe))
}

/// The API's OpenAPI description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = router().split_for_parts().1;
    openapi::complete(&mut document, Callers::Users);
    document
}

impl AppState {
    /// The API's use cases, callers verified by `authenticator`.
    pub fn new(use_cases: UseCases, authenticator: Authenticator) -> Self {
        Self {
            audit: use_cases.directory.audit().clone(),
            intrusions: use_cases.intrusions,
            responses: use_cases.responses,
            links: use_cases.links,
            holds: use_cases.holds,
            exports: use_cases.exports,
            push: use_cases.push,
            authenticator: Arc::new(authenticator),
        }
    }
}

/// The API over `state`, with the health check, fallbacks and limits every API has.
pub fn router_with(state: AppState) -> Router {
    let (routes, _) = router().with_state(state).split_for_parts();
    seccom_http::service(routes)
}

/// The function's router, wired to the AWS services and settings given.
pub fn app(sdk: &SdkConfig, config: &Config) -> Result<Router, MissingSetting> {
    let use_cases = UseCases::new(seccom_aws::Stores::new(sdk, config).ports(sdk, true)?);
    let authenticator =
        Authenticator::new(seccom_http::auth::settings(config)?).with_sessions(Arc::new(use_cases.directory.clone()));
    Ok(router_with(AppState::new(use_cases, authenticator)))
}

#[cfg(test)]
mod tests;
