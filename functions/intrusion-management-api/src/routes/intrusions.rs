//! `/api/intrusions`: intrusions, what their response did, and their handling.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use seccom_domain::detection::{HandlingBody, Intrusion, IntrusionFilter, Intrusions};
use seccom_domain::http::{ApiError, Caller, JsonBody, PathId, QueryParams};
use seccom_domain::ids::{DeviceId, IntrusionId, SiteId};
use seccom_domain::page::{Page, PageQuery};
use seccom_domain::response::{ClipState, DeliveryView, Notification, Responses};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{LINK_LIFETIME, Links};

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
    /// How many items to return, 1 to 100 (default 50).
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
    };
    Ok(Json(intrusions.list(&who, filter, page).await?))
}

/// The clip of an intrusion as users see it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClipView {
    state: ClipState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// When a clip that has not arrived is reported missing.
    due_by: DateTime<Utc>,
    stored_at: Option<DateTime<Utc>>,
    /// Bytes.
    size: Option<u64>,
    /// A short-lived download link, once stored.
    url: Option<String>,
}

/// An intrusion with everything its response did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntrusionDetail {
    #[serde(flatten)]
    intrusion: Intrusion,
    /// A short-lived link to the frame with the people boxed.
    snapshot_url: Option<String>,
    /// `null` while the clip has not been requested yet.
    clip: Option<ClipView>,
    /// Alarm activations and the clip request, with how and when each reached its device.
    commands: Vec<DeliveryView>,
    notifications: Vec<Notification>,
    /// When the links stop working.
    links_expire_at: DateTime<Utc>,
}

/// Reads one intrusion with its alarm activations, clip and notifications.
#[utoipa::path(get, path = "/api/intrusions/{intrusionId}", tag = "intrusions",
    params(("intrusionId" = IntrusionId, Path, description = "The intrusion's id")),
    responses((status = 200, description = "The intrusion and its response", body = IntrusionDetail)))]
pub(crate) async fn get(
    State(responses): State<Responses>,
    State(links): State<Links>,
    Caller(who): Caller,
    PathId(id): PathId<IntrusionId>,
) -> Result<Json<IntrusionDetail>, ApiError> {
    let record = responses.intrusion(&who, id).await?;
    let now = Utc::now();
    let snapshot_url = match &record.intrusion.snapshot_key {
        Some(key) => Some(links.presign(&links.frames_bucket, key).await?),
        None => None,
    };
    let clip = match record.records.clip {
        Some(clip) => {
            let url = match clip.stored_at {
                Some(_) => Some(links.presign(&links.clips_bucket, &clip.key).await?),
                None => None,
            };
            Some(ClipView {
                state: clip.state(now),
                from: clip.from,
                to: clip.to,
                due_by: clip.due_by,
                stored_at: clip.stored_at,
                size: clip.size,
                url,
            })
        }
        None => None,
    };
    Ok(Json(IntrusionDetail {
        intrusion: record.intrusion,
        snapshot_url,
        clip,
        commands: record.records.deliveries.iter().map(DeliveryView::from).collect(),
        notifications: record.records.notifications,
        links_expire_at: now + LINK_LIFETIME,
    }))
}

/// Marks an open intrusion as being dealt with (staff, or a user of the client).
#[utoipa::path(post, path = "/api/intrusions/{intrusionId}/acknowledge", tag = "intrusions", request_body = HandlingBody,
    params(("intrusionId" = IntrusionId, Path, description = "The intrusion's id")),
    responses((status = 200, description = "The acknowledged intrusion", body = Intrusion)))]
pub(crate) async fn acknowledge(
    State(intrusions): State<Intrusions>,
    Caller(who): Caller,
    PathId(id): PathId<IntrusionId>,
    JsonBody(body): JsonBody<HandlingBody>,
) -> Result<Json<Intrusion>, ApiError> {
    Ok(Json(intrusions.acknowledge(&who, id, body).await?))
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
