//! Web Push in the portals: the "Notify this browser" form (its script
//! subscribes through the service worker and posts the subscription here),
//! the routes that save and end a subscription for the signed-in user, and
//! the service worker itself, served at the portal's root so its scope
//! covers every page.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maud::{Markup, html};
use seccom_domain::response::push::{SubscriptionBody, subscription_id};
use serde::Deserialize;

use crate::page::Portal;
use crate::{CsrfToken, Form, PageError, PortalState, PortalUser, Signed};

const SERVICE_WORKER: &str = include_str!("../assets/sw.js");

/// Where a portal saves subscriptions (under a path its ALB rule already sends it).
fn subscriptions_path(portal: Portal) -> &'static str {
    match portal {
        Portal::Client => "/preferences/push",
        Portal::Manager => "/manage/push",
    }
}

fn worker_path(portal: Portal) -> String {
    format!("{}/sw.js", portal.prefix())
}

/// The "Notify this browser" form, with the key browsers subscribe with.
pub fn opt_in(portal: Portal, public_key: &str, csrf: &CsrfToken) -> Markup {
    html! {
        form.push method="post" action=(subscriptions_path(portal)) data-push-key=(public_key)
            data-worker=(worker_path(portal)) data-scope=(format!("{}/", portal.prefix())) {
            (csrf.field())
            p { "Get a notification from this browser for each new intrusion, even with the portal closed." }
            button type="submit" { "Notify this browser" }
            " " span.muted data-push-status role="status" {}
        }
    }
}

/// The subscription the portal's script posts.
#[derive(Deserialize)]
struct SubscriptionForm {
    endpoint: String,
    p256dh: String,
    auth: String,
}

async fn subscribe<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    Form(form): Form<SubscriptionForm>,
) -> Result<StatusCode, PageError> {
    let body = SubscriptionBody {
        endpoint: form.endpoint,
        p256dh: form.p256dh,
        auth: form.auth,
    };
    state.push.subscribe(user.principal(), body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The endpoint of the subscription to end.
#[derive(Deserialize)]
struct EndpointForm {
    endpoint: String,
}

async fn unsubscribe<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    Form(form): Form<EndpointForm>,
) -> Result<StatusCode, PageError> {
    let id = subscription_id(user.principal(), form.endpoint.trim());
    state.push.unsubscribe(user.principal(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The service worker: not cached long, so a new one takes over at once.
async fn service_worker() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER,
    )
}

/// The routes of Web Push in portal `U`.
pub fn routes<U: PortalUser>() -> Router<PortalState> {
    let path = subscriptions_path(U::PORTAL);
    Router::new()
        .route(path, post(subscribe::<U>))
        .route(&format!("{path}/remove"), post(unsubscribe::<U>))
        .route(&worker_path(U::PORTAL), get(service_worker))
}
