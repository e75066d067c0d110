//! Web Push for API users: `GET /api/push-key` (the key browsers subscribe
//! with), `POST /api/push-subscriptions` (a browser's subscription, told of
//! each new intrusion the caller may see) and `DELETE
//! /api/push-subscriptions/{id}`. The portals save subscriptions the same way.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seccom_domain::response::push::{PushKeyView, PushSubscriptionJson, PushSubscriptionView, WebPush};
use seccom_http::{ApiError, Caller, JsonBody, PathId};

/// The deployment's VAPID public key, for `pushManager.subscribe`.
#[utoipa::path(get, path = "/api/push-key", tag = "push",
    responses((status = 200, description = "The key", body = PushKeyView)))]
pub(crate) async fn key(State(push): State<WebPush>, Caller(_who): Caller) -> Result<Json<PushKeyView>, ApiError> {
    Ok(Json(PushKeyView {
        public_key: push.public_key().await?,
    }))
}

/// Saves a browser's push subscription: it is told of each new intrusion the
/// caller may see (staff: every client's; a client user: its own). The
/// endpoint must be an https URL of a public host.
#[utoipa::path(post, path = "/api/push-subscriptions", tag = "push", request_body = PushSubscriptionJson,
    responses((status = 201, description = "Saved", body = PushSubscriptionView)))]
pub(crate) async fn subscribe(
    State(push): State<WebPush>,
    Caller(who): Caller,
    JsonBody(body): JsonBody<PushSubscriptionJson>,
) -> Result<Response, ApiError> {
    let saved = push.subscribe(&who, body.into()).await?;
    let view = PushSubscriptionView {
        id: saved.id,
        created_at: saved.created_at,
    };
    let mut response = (StatusCode::CREATED, Json(&view)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/push-subscriptions/{}", view.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Ends one of the caller's push subscriptions.
#[utoipa::path(delete, path = "/api/push-subscriptions/{id}", tag = "push",
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 204, description = "Ended")))]
pub(crate) async fn unsubscribe(
    State(push): State<WebPush>,
    Caller(who): Caller,
    PathId(id): PathId<String>,
) -> Result<StatusCode, ApiError> {
    push.unsubscribe(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
