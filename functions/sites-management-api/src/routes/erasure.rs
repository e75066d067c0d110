//! Erasure: `POST /api/clients/{clientId}/erase`, `/api/sites/{siteId}/erase`
//! and `/api/{cameras|alarms}/{deviceId}/erase` (staff) start erasing the
//! target with everything recorded of it, and answer 202 with the job;
//! `/api/erasures` lists the jobs and `/api/erasures/{id}` follows one.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seccom_domain::directory::Directory;
use seccom_domain::ids::{ClientId, DeviceId, ErasureId, SiteId};
use seccom_domain::page::{Page, PageQuery};
use seccom_domain::retention::erasure::{ErasureJob, ErasureRequests, ErasureTarget};
use seccom_http::{ApiError, Caller, PathId, QueryParams};
use serde::Deserialize;
use utoipa::IntoParams;

use super::devices::Collection;

/// A 202 naming where the job can be followed.
fn accepted(job: ErasureJob) -> Response {
    let location = format!("/api/erasures/{}", job.id);
    let mut response = (StatusCode::ACCEPTED, Json(job)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Erases a client: its sites, cameras, alarms, credentials, frames, intrusions,
/// commands, notifications, preferences, health events and footage, except
/// intrusions under a legal hold (SecCom staff only). The audit trail keeps its entries.
#[utoipa::path(post, path = "/api/clients/{clientId}/erase", tag = "erasure",
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 202, description = "The erasure has started; follow it at `Location`", body = ErasureJob)))]
pub(crate) async fn erase_client(
    State(requests): State<ErasureRequests>,
    Caller(who): Caller,
    PathId(client): PathId<ClientId>,
) -> Result<Response, ApiError> {
    Ok(accepted(requests.request(&who, ErasureTarget::Client(client)).await?))
}

/// Erases a site with its cameras, alarms and everything recorded of them,
/// except intrusions under a legal hold (SecCom staff only).
#[utoipa::path(post, path = "/api/sites/{siteId}/erase", tag = "erasure",
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 202, description = "The erasure has started; follow it at `Location`", body = ErasureJob)))]
pub(crate) async fn erase_site(
    State(requests): State<ErasureRequests>,
    Caller(who): Caller,
    PathId(site): PathId<SiteId>,
) -> Result<Response, ApiError> {
    Ok(accepted(requests.request(&who, ErasureTarget::Site(site)).await?))
}

/// Erases a camera or alarm with everything recorded of it (frames, results,
/// settings, commands, health events, a camera's intrusions and footage),
/// except intrusions under a legal hold (SecCom staff only).
#[utoipa::path(post, path = "/api/{collection}/{deviceId}/erase", tag = "erasure", params(
        ("collection" = Collection, Path, description = "`cameras` or `alarms`"),
        ("deviceId" = DeviceId, Path, description = "The device's id")),
    responses((status = 202, description = "The erasure has started; follow it at `Location`", body = ErasureJob)))]
pub(crate) async fn erase_device(
    State(requests): State<ErasureRequests>,
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId((collection, id)): PathId<(Collection, DeviceId)>,
) -> Result<Response, ApiError> {
    who.require_staff()?;
    let device = directory.get_device(&who, id, collection.kind()).await?;
    Ok(accepted(
        requests.request(&who, ErasureTarget::Device(device.id)).await?,
    ))
}

/// An erasure job: `running` until every pass is done, then `done` with what
/// it deleted and the held intrusions it kept (SecCom staff only).
#[utoipa::path(get, path = "/api/erasures/{id}", tag = "erasure",
    params(("id" = ErasureId, Path, description = "The job's id")),
    responses((status = 200, description = "The job", body = ErasureJob)))]
pub(crate) async fn job(
    State(requests): State<ErasureRequests>,
    Caller(who): Caller,
    PathId(id): PathId<ErasureId>,
) -> Result<Json<ErasureJob>, ApiError> {
    Ok(Json(requests.job(&who, id).await?))
}

/// `GET /api/erasures` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct ErasureListQuery {
    /// Only the jobs about this client.
    client_id: Option<ClientId>,
    /// How many items to return, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u16>,
    /// The `nextToken` of the previous page.
    next_token: Option<String>,
}

/// Erasure jobs, newest first (SecCom staff only).
#[utoipa::path(get, path = "/api/erasures", tag = "erasure", params(ErasureListQuery),
    responses((status = 200, description = "One page of jobs", body = Page<ErasureJob>)))]
pub(crate) async fn list(
    State(requests): State<ErasureRequests>,
    Caller(who): Caller,
    QueryParams(query): QueryParams<ErasureListQuery>,
) -> Result<Json<Page<ErasureJob>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        next_token: query.next_token,
    }
    .try_into()?;
    Ok(Json(requests.jobs(&who, query.client_id, &page).await?))
}
