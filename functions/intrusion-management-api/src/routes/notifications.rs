//! `/api/notifications`, `/api/clients/{clientId}/notification-preferences` and
//! the client's webhook secret.

use axum::Json;
use axum::extract::State;
use seccom_domain::ids::ClientId;
use seccom_domain::page::{Page, PageQuery};
use seccom_domain::response::{
    HealthEvent, Notification, PreferencesBody, PreferencesView, Responses, RotatedWebhookSecret,
};
use seccom_http::{ApiError, Caller, JsonBody, PathId, QueryParams};
use serde::Deserialize;
use utoipa::IntoParams;

/// `GET /api/notifications` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct NotificationListQuery {
    /// Only this client's notifications (a client user sees only its own anyway).
    client_id: Option<ClientId>,
    /// How many items to return, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u16>,
    /// The `nextToken` of the previous page.
    next_token: Option<String>,
}

/// Lists notifications sent (or attempted), newest first.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications", params(NotificationListQuery),
    responses((status = 200, description = "A page of notifications", body = Page<Notification>)))]
pub(crate) async fn list(
    State(responses): State<Responses>,
    Caller(who): Caller,
    QueryParams(query): QueryParams<NotificationListQuery>,
) -> Result<Json<Page<Notification>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        next_token: query.next_token,
    }
    .try_into()?;
    Ok(Json(responses.notifications(&who, query.client_id, page).await?))
}

/// Lists device health changes (offline, faulty, recovered) and who was told, newest first.
#[utoipa::path(get, path = "/api/health-events", tag = "notifications", params(NotificationListQuery),
    responses((status = 200, description = "A page of health events", body = Page<HealthEvent>)))]
pub(crate) async fn health_events(
    State(responses): State<Responses>,
    Caller(who): Caller,
    QueryParams(query): QueryParams<NotificationListQuery>,
) -> Result<Json<Page<HealthEvent>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        next_token: query.next_token,
    }
    .try_into()?;
    Ok(Json(responses.health_events(&who, query.client_id, page).await?))
}

/// Reads who is notified of a client's intrusions, and how.
#[utoipa::path(get, path = "/api/clients/{clientId}/notification-preferences", tag = "notifications",
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 200, description = "The preferences", body = PreferencesView)))]
pub(crate) async fn preferences(
    State(responses): State<Responses>,
    Caller(who): Caller,
    PathId(client): PathId<ClientId>,
) -> Result<Json<PreferencesView>, ApiError> {
    let preferences = responses.preferences(&who, client).await?;
    Ok(Json(responses.view(&preferences)))
}

/// Replaces who is notified of a client's intrusions (staff, or a user of the client).
#[utoipa::path(put, path = "/api/clients/{clientId}/notification-preferences", tag = "notifications",
    request_body = PreferencesBody,
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses(
        (status = 200, description = "The saved preferences", body = PreferencesView),
        (status = 429, description = "The new recipients need more confirmation messages than the client's daily \
            budget has left (40 a day); nothing was saved", body = ApiError, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the next day (UTC)"))),
    ))]
pub(crate) async fn set_preferences(
    State(responses): State<Responses>,
    Caller(who): Caller,
    PathId(client): PathId<ClientId>,
    JsonBody(body): JsonBody<PreferencesBody>,
) -> Result<Json<PreferencesView>, ApiError> {
    let preferences = responses.set_preferences(&who, client, body).await?;
    Ok(Json(responses.view(&preferences)))
}

/// Replaces the client's webhook secret (staff, or a user of the client). The
/// answer is the only time the new secret is shown; for a day deliveries carry
/// a second signature made with the secret it replaced.
#[utoipa::path(post, path = "/api/clients/{clientId}/notification-preferences/webhook-secret", tag = "notifications",
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 200, description = "The new secret, shown this once", body = RotatedWebhookSecret)))]
pub(crate) async fn rotate_webhook_secret(
    State(responses): State<Responses>,
    Caller(who): Caller,
    PathId(client): PathId<ClientId>,
) -> Result<Json<RotatedWebhookSecret>, ApiError> {
    Ok(Json(responses.rotate_webhook_secret(&who, client).await?))
}
