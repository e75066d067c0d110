//! A client's footage retention on its page: how many days its snapshots,
//! evidence, clips and intrusion records are kept, and the form that sets it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use seccom_domain::ids::ClientId;
use seccom_domain::retention::{RetentionBody, RetentionView};
use seccom_web::page::time;
use seccom_web::{CsrfToken, Form, PageError, PortalState, Signed};
use serde::Deserialize;

use crate::Staff;
use crate::directory::client_id;

/// The "Footage retention" section of a client's page.
pub(crate) fn section(client: ClientId, retention: &RetentionView, csrf: &CsrfToken) -> Markup {
    html! {
        h2 { "Footage retention" }
        p.retention { "Snapshots, evidence pictures, clips and intrusion records older than "
            strong { (retention.days) " days" } " are deleted"
            @if retention.is_default { " (SecCom's default)" }
            @if let (Some(by), Some(at)) = (&retention.updated_by, retention.updated_at) { ", as set by " (by) " on " (time(at)) }
            ". A legal hold on an intrusion keeps it until released." }
        form.inline method="post" action=(format!("/manage/clients/{client}/retention")) {
            (csrf.field())
            label { "Days to keep "
                input type="number" name="days" min="1" max=(retention.max_days) value=(retention.days) required; }
            button type="submit" { "Set retention" }
        }
    }
}

/// The retention form's field (beside its CSRF token).
#[derive(Deserialize)]
pub(crate) struct RetentionForm {
    days: String,
}

/// Sets the period and returns to the client's page; a refused number is a readable error page.
pub(crate) async fn save(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    Path(id): Path<String>,
    Form(form): Form<RetentionForm>,
) -> Result<Response, PageError> {
    let id = client_id(&id)?;
    let days = form.days.trim().parse().unwrap_or(0);
    state
        .retention
        .set_retention(&staff.0, id, RetentionBody { days })
        .await?;
    Ok(Redirect::to(&format!("/manage/clients/{id}")).into_response())
}
