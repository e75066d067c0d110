//! `/api/sites`: clients' buildings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use seccom_domain::directory::{Directory, Site, SiteBody, SitePatchBody};
use seccom_domain::ids::{ClientId, SiteId};
use seccom_domain::page::{Page, PageQuery};
use seccom_http::{ApiError, Caller, JsonBody, PathId, QueryParams};
use serde::Deserialize;
use utoipa::IntoParams;

use super::created;

/// `GET /api/sites` parameters. Written out rather than flattening [`PageQuery`]:
/// query strings carry only text, which flattened numbers cannot be read from.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct SiteListQuery {
    /// Only this client's sites.
    client_id: Option<ClientId>,
    /// How many items to return, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u16>,
    /// The `nextToken` of the previous page.
    next_token: Option<String>,
}

/// Lists sites by name: every site (or one client's) for staff, their own for a client user.
#[utoipa::path(get, path = "/api/sites", tag = "sites", params(SiteListQuery),
    responses((status = 200, description = "A page of sites", body = Page<Site>)))]
pub(crate) async fn list(
    State(directory): State<Directory>,
    Caller(who): Caller,
    QueryParams(query): QueryParams<SiteListQuery>,
) -> Result<Json<Page<Site>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        next_token: query.next_token,
    }
    .try_into()?;
    Ok(Json(directory.list_sites(&who, query.client_id, page).await?))
}

/// Adds a site to a client (staff only).
#[utoipa::path(post, path = "/api/sites", tag = "sites", request_body = SiteBody,
    responses((status = 201, description = "The new site", body = Site)))]
pub(crate) async fn create(
    State(directory): State<Directory>,
    Caller(who): Caller,
    JsonBody(body): JsonBody<SiteBody>,
) -> Result<Response, ApiError> {
    let site = directory.create_site(&who, body).await?;
    Ok(created(format!("/api/sites/{}", site.id), site))
}

/// Reads one site.
#[utoipa::path(get, path = "/api/sites/{siteId}", tag = "sites",
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 200, description = "The site", body = Site)))]
pub(crate) async fn get(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId(id): PathId<SiteId>,
) -> Result<Json<Site>, ApiError> {
    Ok(Json(directory.get_site(&who, id).await?))
}

/// Renames a site or corrects its address (staff only).
#[utoipa::path(patch, path = "/api/sites/{siteId}", tag = "sites", request_body = SitePatchBody,
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 200, description = "The changed site", body = Site)))]
pub(crate) async fn update(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId(id): PathId<SiteId>,
    JsonBody(body): JsonBody<SitePatchBody>,
) -> Result<Json<Site>, ApiError> {
    Ok(Json(directory.update_site(&who, id, body).await?))
}

/// Deletes a site that has no cameras or alarms left (staff only).
#[utoipa::path(delete, path = "/api/sites/{siteId}", tag = "sites",
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 204, description = "Deleted"), (status = 409, description = "The site still has devices", body = ApiError, content_type = "application/problem+json")))]
pub(crate) async fn delete(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId(id): PathId<SiteId>,
) -> Result<StatusCode, ApiError> {
    directory.delete_site(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
