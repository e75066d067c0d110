//! `/api/clients/{clientId}/retention`: how long a client's footage and
//! intrusion records are kept. Staff set it within SecCom's bounds; the
//! client's own users may read it.

use axum::Json;
use axum::extract::State;
use seccom_domain::ids::ClientId;
use seccom_domain::retention::{RetentionBody, RetentionPeriods, RetentionView};
use seccom_http::{ApiError, Caller, JsonBody, PathId};

/// A client's retention period (SecCom's default until staff set one).
#[utoipa::path(get, path = "/api/clients/{clientId}/retention", tag = "retention",
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 200, description = "The client's period", body = RetentionView)))]
pub(crate) async fn retention(
    State(periods): State<RetentionPeriods>,
    Caller(who): Caller,
    PathId(client): PathId<ClientId>,
) -> Result<Json<RetentionView>, ApiError> {
    Ok(Json(periods.retention(&who, client).await?))
}

/// Sets a client's retention period (SecCom staff only), from 1 day to the
/// configured maximum: the hourly purge deletes footage and intrusion records
/// older than that, except what a legal hold keeps.
#[utoipa::path(put, path = "/api/clients/{clientId}/retention", tag = "retention", request_body = RetentionBody,
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 200, description = "The client's period", body = RetentionView)))]
pub(crate) async fn set_retention(
    State(periods): State<RetentionPeriods>,
    Caller(who): Caller,
    PathId(client): PathId<ClientId>,
    JsonBody(body): JsonBody<RetentionBody>,
) -> Result<Json<RetentionView>, ApiError> {
    Ok(Json(periods.set_retention(&who, client, body).await?))
}
