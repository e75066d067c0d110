//! The API's routes, each documented for the OpenAPI description as it is registered.

mod clients;
mod controls;
pub(crate) mod devices;
mod erasure;
mod retention;
mod sites;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// Every route of the API, with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get, clients::update, clients::delete))
        .routes(routes!(sites::list, sites::create))
        .routes(routes!(sites::get, sites::update, sites::delete))
        .routes(routes!(devices::list, devices::register))
        .routes(routes!(devices::get, devices::rename, devices::remove))
        .routes(routes!(controls::arming, controls::set_plan))
        .routes(routes!(controls::arm))
        .routes(routes!(controls::disarm))
        .routes(routes!(controls::history))
        .routes(routes!(controls::detection, controls::set_detection))
        .routes(routes!(controls::escalation, controls::set_escalation))
        .routes(routes!(retention::retention, retention::set_retention))
        .routes(routes!(erasure::erase_client))
        .routes(routes!(erasure::erase_site))
        .routes(routes!(erasure::erase_device))
        .routes(routes!(erasure::list))
        .routes(routes!(erasure::job))
}

/// A 201 answer naming where the new resource lives.
pub(crate) fn created(location: String, body: impl Serialize) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
