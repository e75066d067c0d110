//! The Intrusion Management API: the intrusions of the caller's sites (all of
//! them for SecCom staff), newest first, with filters and pagination.

use std::sync::Arc;

use aws_config::SdkConfig;
use axum::extract::{FromRef, State};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use seccom_domain::auth::Authenticator;
use seccom_domain::config::{Config, DIRECTORY_TABLE, FRAMES_TABLE, INTRUSIONS_TABLE, MissingSetting};
use seccom_domain::detection::{DetectionTables, Intrusion, IntrusionFilter, Intrusions};
use seccom_domain::directory::{Directory, DirectoryTable};
use seccom_domain::http::openapi::{self, Callers};
use seccom_domain::http::{ApiError, Caller, QueryParams};
use seccom_domain::ids::{DeviceId, SiteId};
use seccom_domain::page::{Page, PageQuery};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the handlers share; built once per Lambda container.
#[derive(Clone)]
pub struct AppState {
    intrusions: Intrusions,
    authenticator: Arc<Authenticator>,
}

impl FromRef<AppState> for Intrusions {
    fn from_ref(state: &AppState) -> Self {
        state.intrusions.clone()
    }
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.authenticator.clone()
    }
}

/// `GET /api/intrusions` parameters, written out because query strings carry only text.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct IntrusionListQuery {
    /// Only this site's intrusions.
    site_id: Option<SiteId>,
    /// Only this camera's intrusions.
    camera_id: Option<DeviceId>,
    /// Only intrusions started at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Only intrusions started at or before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// How many items to return, 1 to 100 (default 50).
    limit: Option<u16>,
    /// The `nextToken` of the previous page.
    next_token: Option<String>,
}

/// Lists intrusions, newest first: every one for staff, their own sites' for a client user.
#[utoipa::path(get, path = "/api/intrusions", tag = "intrusions", params(IntrusionListQuery),
    responses((status = 200, description = "A page of intrusions", body = Page<Intrusion>)))]
async fn list(
    State(intrusions): State<Intrusions>,
    Caller(who): Caller,
    QueryParams(query): QueryParams<IntrusionListQuery>,
) -> Result<Json<Page<Intrusion>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        next_token: query.next_token,
    }
    .try_into()?;
    let filter = IntrusionFilter {
        site: query.site_id,
        camera: query.camera_id,
        from: query.from,
        to: query.to,
    };
    Ok(Json(intrusions.list(&who, filter, page).await?))
}

#[derive(OpenApi)]
#[openapi(info(
    title = "SecCom Intrusion Management API",
    description = "Intrusions (bursts of person frames of one camera) of the caller's sites. Reached through the ALB \
                   on `/api/intrusions*` with a Cognito ID token. Every error is an RFC 9457 problem document.",
    version = "1.0.0"
))]
struct ApiDoc;

fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).routes(routes!(list))
}

/// The API's OpenAPI description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = router().split_for_parts().1;
    openapi::complete(&mut document, Callers::Users);
    document
}

/// The function's router, wired to the AWS services and settings given.
pub fn app(sdk: &SdkConfig, config: &Config) -> Result<Router, MissingSetting> {
    let db = aws_sdk_dynamodb::Client::new(sdk);
    let directory = Directory::new(DirectoryTable::new(db.clone(), config.required(DIRECTORY_TABLE)?));
    let tables = DetectionTables::new(db, config.required(FRAMES_TABLE)?, config.required(INTRUSIONS_TABLE)?);
    let state = AppState {
        intrusions: Intrusions::new(directory, tables),
        authenticator: Arc::new(Authenticator::new(config.auth_settings()?)),
    };
    let (routes, _) = router().with_state(state).split_for_parts();
    Ok(seccom_domain::http::service(routes))
}
