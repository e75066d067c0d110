//! Legal holds: `/api/intrusions/{id}/hold` (staff place and release one) and
//! `/api/holds` (the holds in force). A held intrusion and its footage outlive
//! the client's retention period until the hold is released.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use seccom_domain::ids::{ClientId, IntrusionId};
use seccom_domain::page::{Page, PageQuery};
use seccom_domain::retention::{HoldBody, LegalHold, LegalHolds};
use seccom_http::{ApiError, Caller, JsonBody, PathId, QueryParams};
use serde::Deserialize;
use utoipa::IntoParams;

/// Keeps an intrusion and its footage past retention until released (SecCom staff only).
#[utoipa::path(put, path = "/api/intrusions/{id}/hold", tag = "retention", request_body = HoldBody,
    params(("id" = IntrusionId, Path, description = "The intrusion's id")),
    responses((status = 200, description = "The hold in force", body = LegalHold)))]
pub(crate) async fn place(
    State(holds): State<LegalHolds>,
    Caller(who): Caller,
    PathId(id): PathId<IntrusionId>,
    JsonBody(body): JsonBody<HoldBody>,
) -> Result<Json<LegalHold>, ApiError> {
    Ok(Json(holds.place_hold(&who, id, body).await?))
}

/// The hold on an intrusion (404 when it has none).
#[utoipa::path(get, path = "/api/intrusions/{id}/hold", tag = "retention",
    params(("id" = IntrusionId, Path, description = "The intrusion's id")),
    responses((status = 200, description = "The hold in force", body = LegalHold)))]
pub(crate) async fn get(
    State(holds): State<LegalHolds>,
    Caller(who): Caller,
    PathId(id): PathId<IntrusionId>,
) -> Result<Json<LegalHold>, ApiError> {
    let hold = holds.hold(&who, id).await?;
    Ok(Json(hold.ok_or(seccom_domain::error::DomainError::NotFound("hold"))?))
}

/// Releases the hold (SecCom staff only): the next purge deletes the intrusion
/// if it is past its client's retention.
#[utoipa::path(delete, path = "/api/intrusions/{id}/hold", tag = "retention",
    params(("id" = IntrusionId, Path, description = "The intrusion's id")),
    responses((status = 204, description = "Released")))]
pub(crate) async fn release(
    State(holds): State<LegalHolds>,
    Caller(who): Caller,
    PathId(id): PathId<IntrusionId>,
) -> Result<StatusCode, ApiError> {
    holds.release_hold(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/holds` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct HoldListQuery {
    /// Only this client's holds (a client user sees only its own anyway).
    client_id: Option<ClientId>,
    /// How many items to return, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u16>,
    /// The `nextToken` of the previous page.
    next_token: Option<String>,
}

/// The legal holds in force, newest first.
#[utoipa::path(get, path = "/api/holds", tag = "retention", params(HoldListQuery),
    responses((status = 200, description = "A page of holds", body = Page<LegalHold>)))]
pub(crate) async fn list(
    State(holds): State<LegalHolds>,
    Caller(who): Caller,
    QueryParams(query): QueryParams<HoldListQuery>,
) -> Result<Json<Page<LegalHold>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        next_token: query.next_token,
    }
    .try_into()?;
    Ok(Json(holds.holds(&who, query.client_id, page).await?))
}
