//! Erasure in the manager portal: the "Erase" sections of a client's and a
//! site's page (staff type the name to confirm), the "Erase" button of each
//! camera and alarm, and the pages that follow the jobs: `/manage/erasures`
//! and `/manage/erasures/{id}`, which updates itself until the job is done.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use seccom_domain::ids::{ClientId, DeviceId, ErasureId, SiteId};
use seccom_domain::retention::erasure::{ErasureJob, ErasureRequests, ErasureStatus, ErasureTarget};
use seccom_web::page::{maybe_time, next_page, time};
use seccom_web::{CsrfToken, Form, PageError, PortalState, Signed, live};
use serde::Deserialize;

use crate::{ListQuery, Staff, page};

/// What erasing removes, in the words staff read before they confirm.
const WHAT_GOES: &str = "every record and object of it: sites, cameras and alarms with their credentials, \
frames and their results, intrusions with their snapshots, evidence and clips, commands, notifications, \
settings, preferences and health events. Intrusions under a legal hold stay until released. \
The audit trail keeps its entries. This cannot be undone.";

/// The "Erase" section of a client's (`kind` = "client") or a site's page.
pub(crate) fn section(kind: &str, action: &str, name: &str, csrf: &CsrfToken) -> Markup {
    html! {
        h2 { "Erase" }
        p { "Erasing this " (kind) " deletes " (WHAT_GOES) }
        form.stack method="post" action=(action) {
            (csrf.field())
            label { "Type “" (name) "” to confirm"
                input type="text" name="confirm" autocomplete="off" required; }
            button.danger type="submit" { "Erase this " (kind) " and everything recorded of it" }
        }
    }
}

/// The "Erase" button of a camera or alarm row.
pub(crate) fn device_button(device: DeviceId, kind: &str, name: &str, csrf: &CsrfToken) -> Markup {
    html! {
        form.inline method="post" action=(format!("/manage/devices/{device}/erase"))
            data-confirm=(format!("Erase {name} and everything recorded of it (frames, intrusions, footage)? This cannot be undone.")) {
            (csrf.field())
            input type="hidden" name="kind" value=(kind);
            button.danger type="submit" { "Erase" }
        }
    }
}

/// The confirmation typed on a client's or a site's page.
#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// A 422 page when the typed name does not match.
fn unconfirmed(name: &str, back: &str) -> PageError {
    PageError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Nothing was erased",
        &format!("To erase, type the name exactly as shown (“{name}”). Go back to {back} to try again."),
    )
}

/// Starts `target`'s erasure and shows its job.
async fn start(erasures: &ErasureRequests, staff: &Staff, target: ErasureTarget) -> Result<Response, PageError> {
    let job = erasures.request(&staff.0, target).await?;
    Ok(Redirect::to(&format!("/manage/erasures/{}", job.id)).into_response())
}

pub(crate) async fn erase_client(
    State(state): State<PortalState>,
    Extension(erasures): Extension<ErasureRequests>,
    Signed(staff): Signed<Staff>,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    let id = crate::directory::client_id(&id)?;
    let client = state.directory.get_client(&staff.0, id).await?;
    if form.confirm.trim() != client.name.as_str() {
        return Err(unconfirmed(client.name.as_str(), "the client's page"));
    }
    start(&erasures, &staff, ErasureTarget::Client(client.id)).await
}

pub(crate) async fn erase_site(
    State(state): State<PortalState>,
    Extension(erasures): Extension<ErasureRequests>,
    Signed(staff): Signed<Staff>,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    let id: SiteId = id.parse().map_err(|_| PageError::not_found(crate::PORTAL))?;
    let site = state.directory.get_site(&staff.0, id).await?;
    if form.confirm.trim() != site.name.as_str() {
        return Err(unconfirmed(site.name.as_str(), "the site's page"));
    }
    start(&erasures, &staff, ErasureTarget::Site(site.id)).await
}

pub(crate) async fn erase_device(
    State(state): State<PortalState>,
    Extension(erasures): Extension<ErasureRequests>,
    Signed(staff): Signed<Staff>,
    Path(id): Path<String>,
    Form(form): Form<crate::directory::DeviceForm>,
) -> Result<Response, PageError> {
    let id: DeviceId = id.parse().map_err(|_| PageError::not_found(crate::PORTAL))?;
    let device = state.directory.get_device(&staff.0, id, form.kind()?).await?;
    start(&erasures, &staff, ErasureTarget::Device(device.id)).await
}

/// What a job erases, as a phrase.
fn target(job: &ErasureJob) -> String {
    let kind = match job.target {
        ErasureTarget::Client(_) => "client",
        ErasureTarget::Site(_) => "site",
        ErasureTarget::Device(_) => "device",
    };
    format!("{kind} {}", job.name)
}

fn status(job: &ErasureJob) -> &'static str {
    match job.status {
        ErasureStatus::Running => "running",
        ErasureStatus::Done => "done",
    }
}

/// `?clientId=` (and the page token) of the jobs list.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobsQuery {
    client_id: Option<ClientId>,
    #[serde(flatten)]
    list: ListQuery,
}

pub(crate) async fn jobs(
    Extension(erasures): Extension<ErasureRequests>,
    Signed(staff): Signed<Staff>,
    Query(query): Query<JobsQuery>,
) -> Result<Markup, PageError> {
    let request = query.list.page()?;
    let found = erasures.jobs(&staff.0, query.client_id, &request).await?;
    let filters: Vec<(&str, String)> = query
        .client_id
        .map(|c| ("clientId", c.to_string()))
        .into_iter()
        .collect();
    Ok(page(
        &staff,
        "Erasures",
        html! {
            h1 { "Erasures" }
            p { "Clients, sites, cameras and alarms erased with everything recorded of them, newest first. "
                "Start one from a client's or a site's page, or a device's row." }
            @if found.items.is_empty() { p.muted { "No erasure yet." } }
            table.list {
                thead { tr { th { "Requested" } th { "What" } th { "By" } th { "Status" } } }
                tbody {
                    @for job in &found.items {
                        tr {
                            td data-label="Requested" { a href=(format!("/manage/erasures/{}", job.id)) { (time(job.requested_at)) } }
                            td data-label="What" { (target(job)) }
                            td data-label="By" { (job.requested_by) }
                            td data-label="Status" { (status(job)) }
                        }
                    }
                }
            }
            (next_page("/manage/erasures", &filters, found.next_token.as_deref()))
        },
    ))
}

pub(crate) async fn job(
    Extension(erasures): Extension<ErasureRequests>,
    Signed(staff): Signed<Staff>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: ErasureId = id.parse().map_err(|_| PageError::not_found(crate::PORTAL))?;
    let job = erasures.job(&staff.0, id).await?;
    let etag = live::etag(&format!("{}:{}:{}", job.id, status(&job), job.passes));
    if let Some(unchanged) = live::unchanged(&headers, &etag) {
        return Ok(unchanged);
    }
    let deleted = job.deleted;
    let body = page(
        &staff,
        &format!("Erasure ({})", status(&job)),
        html! {
          div.live data-live=(live::POLL_SECONDS) data-etag=(etag) {
            h1 { "Erasure of " (target(&job)) }
            dl.facts {
                dt { "Status" } dd.status data-status=(status(&job)) { (status(&job)) }
                dt { "Requested" } dd { (time(job.requested_at)) " by " (job.requested_by) }
                dt { "Finished" } dd { (maybe_time(job.finished_at)) }
                dt { "Deleted" } dd {
                    (deleted.sites) " sites, " (deleted.devices) " cameras and alarms, "
                    (deleted.intrusions) " intrusions, " (deleted.records) " other records, "
                    (deleted.objects) " stored objects (frames, snapshots, evidence, clips, exports)" }
            }
            @if job.status == ErasureStatus::Running {
                p { "Erasing, in passes; this page updates itself." }
            }
            @if !job.held.is_empty() {
                h2 { "Kept by a legal hold" }
                p { "These intrusions and their footage stay until their hold is released; the next purge then deletes them." }
                ul {
                    @for intrusion in &job.held {
                        li { a href=(format!("/manage/intrusions/{intrusion}")) { (intrusion) } }
                    }
                }
            }
            @if matches!(job.target, ErasureTarget::Client(_)) && job.status == ErasureStatus::Done {
                p { "The client's sign-in accounts live in the identity provider: remove them there "
                    "(the deployment guide shows how)." }
            }
            p { a href=(format!("/manage/erasures?clientId={}", job.client_id)) { "Every erasure of this client" } }
          }
        },
    );
    Ok(live::tagged(body, &etag))
}
