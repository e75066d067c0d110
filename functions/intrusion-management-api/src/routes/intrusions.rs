//! `/api/intrusions`: intrusions, what their response did, and their handling.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use seccom_domain::detection::{
    AcknowledgeBody, HandlingBody, Intrusion, IntrusionFilter, IntrusionStatus, Intrusions,
};
use seccom_domain::ids::{DeviceId, IntrusionId, SiteId};
use seccom_domain::media::{IntrusionDetail, MediaLinks};
use seccom_domain::page::{Page, PageQuery};
use seccom_domain::response::Responses;
use seccom_http::{ApiError, Caller, JsonBody, PathId, QueryParams};
use serde::Deserialize;
use utoipa::IntoParams;

/// `GET /api/intrusions` parameters, written out because query strings carry only text.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct IntrusionListQuery {
    /// Only this site's intrusions.
    site_id: Option<SiteId>,
    /// Only this camera's intrusions.
    camera_id: Option<DeviceId>,
    /// Only intrusions started at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Only intrusions started at or before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// Only intrusions in this state. Filtered as read, so a page may hold fewer
    /// than `limit` and still have a `nextToken`.
    status: Option<IntrusionStatus>,
    /// How many items to return, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u16>,
    /// The `nextToken` of the previous page.
    next_token: Option<String>,
}

/// Lists intrusions, newest first: every one for staff, their own sites' for a client user.
#[utoipa::path(get, path = "/api/intrusions", tag = "intrusions", params(IntrusionListQuery),
    responses((status = 200, description = "A page of intrusions", body = Page<Intrusion>)))]
pub(crate) async fn list(
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
        status: query.status,
    };
    Ok(Json(intrusions.list(&who, filter, page).await?))
}

/// Reads one intrusion with its alarm activations, clip and notifications.
#[utoipa::path(get, path = "/api/intrusions/{intrusionId}", tag = "intrusions",
    params(("intrusionId" = IntrusionId, Path, description = "The intrusion's id")),
    responses((status = 200, description = "The intrusion and its response", body = IntrusionDetail)))]
pub(crate) async fn get(
    State(responses): State<Responses>,
    State(links): State<MediaLinks>,
    Caller(who): Caller,
    PathId(id): PathId<IntrusionId>,
) -> Result<Json<IntrusionDetail>, ApiError> {
    let record = responses.intrusion(&who, id, true).await?;
    Ok(Json(links.detail(record).await?))
}

/// Marks an open intrusion as being dealt with (staff, or a user of the client).
#[utoipa::path(post, path = "/api/intrusions/{intrusionId}/acknowledge", tag = "intrusions", request_body = AcknowledgeBody,
    params(("intrusionId" = IntrusionId, Path, description = "The intrusion's id")),
    responses((status = 200, description = "The acknowledged intrusion", body = Intrusion)))]
pub(crate) async fn acknowledge(
    State(intrusions): State<Intrusions>,
    Caller(who): Caller,
    PathId(id): PathId<IntrusionId>,
    JsonBody(body): JsonBody<AcknowledgeBody>,
) -> Result<Json<Intrusion>, ApiError> {
    Ok(Json(intrusions.acknowledge(&who, id, body.into()).await?))
}

/// Closes an intrusion, with a note and whether it was a false alarm (staff, or a user of the client).
#[utoipa::path(post, path = "/api/intrusions/{intrusionId}/resolve", tag = "intrusions", request_body = HandlingBody,
    params(("intrusionId" = IntrusionId, Path, description = "The intrusion's id")),
    responses((status = 200, description = "The resolved intrusion", body = Intrusion)))]
pub(crate) async fn resolve(
    State(intrusions): State<Intrusions>,
    Caller(who): Caller,
    PathId(id): PathId<IntrusionId>,
    JsonBody(body): JsonBody<HandlingBody>,
) -> Result<Json<Intrusion>, ApiError> {
    Ok(Json(intrusions.resolve(&who, id, body).await?))
}

/// Opens a resolved intrusion again (SecCom staff only): back in the alarm queue, acknowledged if it was before; the resolution it undid is kept in `reopened`.
#[utoipa::path(post, path = "/api/intrusions/{intrusionId}/reopen", tag = "intrusions", request_body = AcknowledgeBody,
    params(("intrusionId" = IntrusionId, Path, description = "The intrusion's id")),
    responses((status = 200, description = "The reopened intrusion", body = Intrusion)))]
pub(crate) async fn reopen(
    State(intrusions): State<Intrusions>,
    Caller(who): Caller,
    PathId(id): PathId<IntrusionId>,
    JsonBody(body): JsonBody<AcknowledgeBody>,
) -> Result<Json<Intrusion>, ApiError> {
    Ok(Json(intrusions.reopen(&who, id, body.into()).await?))
}
