//! The intrusion pages both portals serve under their prefix, for any
//! [`PortalUser`]: the list with its filters, one intrusion, acknowledging,
//! resolving and (staff) reopening it; and signing out. What a user sees is scoped by the use cases'
//! policy (a client user its own intrusions, staff every one). The list and
//! the intrusion page keep themselves current (see [`crate::live`]).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;

use serde::Deserialize;

use crate::intrusion_page::{HandlingForm, HandlingStep, handle_intrusion, show_intrusion};
use crate::live;
use crate::views::{IntrusionQuery, intrusion_list};
use crate::{CsrfToken, Form, PageError, PortalState, PortalUser, Signed, Viewer};

async fn list<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    headers: HeaderMap,
    Query(query): Query<IntrusionQuery>,
) -> Result<Response, PageError> {
    let who = user.principal();
    let (filter, request) = query.parse()?;
    let found = state.intrusions.list(who, filter, request).await?;
    let shown: Vec<_> = found.items.iter().map(|i| (i.id, i.status, i.last_seen_at)).collect();
    let etag = live::etag(&serde_json::json!([shown, found.next_token]).to_string());
    if let Some(not_modified) = live::unchanged(&headers, &etag) {
        return Ok(not_modified);
    }
    let sites = state.all_sites(who, who.tenant()).await?;
    let heading = if who.tenant().is_some() {
        "Intrusions"
    } else {
        "Every intrusion"
    };
    let body = html! {
        div data-live=(live::POLL_SECONDS) data-etag=(etag) {
            h1 { (heading) }
            (intrusion_list(U::PORTAL, &sites, &query, &found))
        }
    };
    Ok(live::tagged(user.page("Intrusions", body), &etag))
}

/// `?done=` on an intrusion's page: what the form just did, to say so.
#[derive(Deserialize)]
struct Shown {
    done: Option<String>,
}

async fn one<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    csrf: CsrfToken,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let done = shown.done.as_deref().and_then(HandlingStep::from_done);
    show_intrusion(&state, &user, &csrf, &id, done, &headers).await
}

/// One of the handling forms; `STEP` indexes [`HandlingStep::ALL`] (const
/// generics take no enums).
async fn handle<U: PortalUser, const STEP: usize>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    Path(id): Path<String>,
    Form(form): Form<HandlingForm>,
) -> Result<Response, PageError> {
    let step = HandlingStep::ALL[STEP];
    handle_intrusion(&state, user.principal(), U::PORTAL, &id, form, step).await
}

async fn sign_out(State(state): State<PortalState>, viewer: Result<Viewer, PageError>) -> Response {
    let viewer = viewer.ok().map(|Viewer(principal)| principal);
    crate::viewer::sign_out(&state.directory, viewer.as_ref(), &state.logout_url).await
}

/// `/intrusions`, `/intrusions/{id}` (and its `acknowledge`, `resolve`,
/// `reopen`, `hold` and `release-hold` forms) and the sign-out page, under the
/// portal's prefix.
pub fn routes<U: PortalUser>() -> Router<PortalState> {
    let prefix = U::PORTAL.prefix();
    Router::new()
        .route(&format!("{prefix}/intrusions"), get(list::<U>))
        .route(&format!("{prefix}/intrusions/{{id}}"), get(one::<U>))
        .route(&format!("{prefix}/intrusions/{{id}}/acknowledge"), post(handle::<U, 0>))
        .route(&format!("{prefix}/intrusions/{{id}}/resolve"), post(handle::<U, 1>))
        .route(&format!("{prefix}/intrusions/{{id}}/reopen"), post(handle::<U, 2>))
        .route(&format!("{prefix}/intrusions/{{id}}/hold"), post(handle::<U, 3>))
        .route(
            &format!("{prefix}/intrusions/{{id}}/release-hold"),
            post(handle::<U, 4>),
        )
        .route(&format!("{prefix}{}", crate::page::SIGN_OUT_PATH), get(sign_out))
}
