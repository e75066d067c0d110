//! `/api/sites/{siteId}/cameras|alarms` and `/api/cameras|alarms/{id}`: the devices of a site.
//! Cameras and alarms behave alike, so one set of handlers serves both collections.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use seccom_domain::directory::{Device, DeviceBody, DeviceKind, Directory, RegisteredDevice};
use seccom_domain::ids::{DeviceId, SiteId};
use seccom_domain::page::{Page, PageQuery};
use seccom_http::{ApiError, Caller, JsonBody, PathId, QueryParams};
use serde::Deserialize;
use utoipa::ToSchema;

use super::created;

/// The collection named in the path.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Collection {
    Cameras,
    Alarms,
}

impl Collection {
    pub(crate) fn kind(self) -> DeviceKind {
        match self {
            Self::Cameras => DeviceKind::Camera,
            Self::Alarms => DeviceKind::Alarm,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Cameras => "cameras",
            Self::Alarms => "alarms",
        }
    }
}

/// Lists a site's cameras or alarms by name.
#[utoipa::path(get, path = "/api/sites/{siteId}/{collection}", tag = "devices", params(
        ("siteId" = SiteId, Path, description = "The site's id"),
        ("collection" = Collection, Path, description = "`cameras` or `alarms`"),
        PageQuery),
    responses((status = 200, description = "A page of devices", body = Page<Device>)))]
pub(crate) async fn list(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId((site, collection)): PathId<(SiteId, Collection)>,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<Json<Page<Device>>, ApiError> {
    Ok(Json(
        directory
            .list_devices(&who, site, collection.kind(), page.try_into()?)
            .await?,
    ))
}

/// Registers a camera or alarm at a site (staff only); the answer carries the device's credential, shown only once.
#[utoipa::path(post, path = "/api/sites/{siteId}/{collection}", tag = "devices", request_body = DeviceBody, params(
        ("siteId" = SiteId, Path, description = "The site's id"),
        ("collection" = Collection, Path, description = "`cameras` or `alarms`")),
    responses((status = 201, description = "The new device and its credential", body = RegisteredDevice)))]
pub(crate) async fn register(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId((site, collection)): PathId<(SiteId, Collection)>,
    JsonBody(body): JsonBody<DeviceBody>,
) -> Result<Response, ApiError> {
    let registered = directory.register_device(&who, site, collection.kind(), body).await?;
    Ok(created(
        format!("/api/{}/{}", collection.path(), registered.device.id),
        registered,
    ))
}

/// Reads one camera or alarm.
#[utoipa::path(get, path = "/api/{collection}/{deviceId}", tag = "devices", params(
        ("collection" = Collection, Path, description = "`cameras` or `alarms`"),
        ("deviceId" = DeviceId, Path, description = "The device's id")),
    responses((status = 200, description = "The device", body = Device)))]
pub(crate) async fn get(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId((collection, id)): PathId<(Collection, DeviceId)>,
) -> Result<Json<Device>, ApiError> {
    Ok(Json(directory.get_device(&who, id, collection.kind()).await?))
}

/// Renames a camera or alarm (staff only).
#[utoipa::path(patch, path = "/api/{collection}/{deviceId}", tag = "devices", request_body = DeviceBody, params(
        ("collection" = Collection, Path, description = "`cameras` or `alarms`"),
        ("deviceId" = DeviceId, Path, description = "The device's id")),
    responses((status = 200, description = "The renamed device", body = Device)))]
pub(crate) async fn rename(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId((collection, id)): PathId<(Collection, DeviceId)>,
    JsonBody(body): JsonBody<DeviceBody>,
) -> Result<Json<Device>, ApiError> {
    Ok(Json(directory.rename_device(&who, id, collection.kind(), body).await?))
}

/// Removes a camera or alarm; its credential stops working (staff only).
#[utoipa::path(delete, path = "/api/{collection}/{deviceId}", tag = "devices", params(
        ("collection" = Collection, Path, description = "`cameras` or `alarms`"),
        ("deviceId" = DeviceId, Path, description = "The device's id")),
    responses((status = 204, description = "Removed")))]
pub(crate) async fn remove(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId((collection, id)): PathId<(Collection, DeviceId)>,
) -> Result<StatusCode, ApiError> {
    directory.remove_device(&who, id, collection.kind()).await?;
    Ok(StatusCode::NO_CONTENT)
}
