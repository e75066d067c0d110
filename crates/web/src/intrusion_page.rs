//! One intrusion's page, the same in both portals: whom and what it concerns,
//! the snapshot, the pictures that opened it and the clip (opened at the
//! event), who handled it, the handling forms, any legal hold, and what the
//! response did. The
//! page keeps itself current ([`crate::live`]): it is cut into regions, each
//! with a version, and the portal script swaps in only the regions whose
//! version changed, so a note being typed or a clip playing is left alone
//! until its own region changes; the media region's version also turns every
//! ten minutes, renewing its links before they expire.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use seccom_domain::auth::Principal;
use seccom_domain::detection::{Intrusion, IntrusionStatus};
use seccom_domain::directory::Device;
use seccom_domain::ids::{DeviceId, IntrusionId};
use seccom_domain::media::IntrusionDetail;
use seccom_domain::retention::{HoldBody, LegalHold};
use serde::Deserialize;

use crate::csrf::CsrfToken;
use crate::live::{self, POLL_SECONDS};
use crate::page::{PageError, Portal, maybe_time, time};
use crate::views::{notification_table, seen_for};
use crate::{PortalState, PortalUser};

/// How often the media region's links are renewed (they live 15 minutes).
const LINK_RENEWAL_SECONDS: i64 = 600;

/// The version of each region of the page: what it shows, hashed.
struct Versions {
    summary: String,
    media: String,
    actions: String,
    records: String,
}

impl Versions {
    fn of(detail: &IntrusionDetail, hold: Option<&LegalHold>) -> Self {
        let intrusion = &detail.intrusion;
        let version = |value: serde_json::Value| live::etag(&value.to_string());
        Self {
            summary: version(serde_json::json!([
                intrusion.status,
                intrusion.last_seen_at,
                intrusion.last_seq,
                intrusion.peak_score,
                intrusion.acknowledged,
                intrusion.resolved,
                intrusion.reopened,
                intrusion.followed_by,
                detail.subject,
            ])),
            media: version(serde_json::json!([
                intrusion.snapshot_key,
                detail.evidence_urls.len(),
                detail.clip.as_ref().map(|c| (c.state, c.stored_at)),
                detail.links_expire_at.timestamp() / LINK_RENEWAL_SECONDS,
            ])),
            actions: version(serde_json::json!([intrusion.status, hold])),
            records: version(serde_json::json!([
                detail
                    .commands
                    .iter()
                    .map(|c| (c.delivered_at, c.push_attempts))
                    .collect::<Vec<_>>(),
                detail
                    .notifications
                    .iter()
                    .map(|n| (&n.id, n.status, n.attempts))
                    .collect::<Vec<_>>(),
                detail.escalations.len(),
            ])),
        }
    }
}

/// The page's ETag: every region's version.
fn etag(versions: &Versions) -> String {
    live::etag(
        &[&versions.summary, &versions.media, &versions.actions, &versions.records]
            .map(|v| v.as_str())
            .join(","),
    )
}

/// The intrusion page: media, facts, handling forms (when the viewer may act), and the response history.
pub fn intrusion_page(
    portal: Portal,
    detail: &IntrusionDetail,
    csrf: &CsrfToken,
    devices: &[Device],
    hold: Option<&LegalHold>,
    done: Option<HandlingStep>,
) -> Markup {
    let intrusion = &detail.intrusion;
    let versions = Versions::of(detail, hold);
    let device_name = |id: DeviceId| {
        devices
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| id.to_string(), |d| d.name.as_str().to_owned())
    };
    let action = |what: &str| format!("{}/intrusions/{}/{what}", portal.prefix(), intrusion.id);
    html! {
        h1 { "Intrusion at " (detail.subject.site_name.as_deref().unwrap_or("a site")) }
        @if let Some(step) = done {
            p.done role="status" { "The intrusion was " (step.said()) "." }
        }
      div data-live=(POLL_SECONDS) data-etag=(etag(&versions)) {
        div data-version=(versions.summary) {
        p { "Seen by camera " strong { (device_name(intrusion.camera_id)) }
            @if !intrusion.zones.is_empty() { " in " (if intrusion.zones.len() == 1 { "zone " } else { "zones " }) strong { (intrusion.zones.join(", ")) } }
            "." }
        @if let Some(client) = &detail.subject.client_name {
            p.keyholder { "Client " strong { (client) } ": "
                @if let Some(phone) = &detail.subject.client_phone { a href={ "tel:" (phone) } { (phone) } ", " }
                @if let Some(email) = &detail.subject.client_email { a href={ "mailto:" (email) } { (email) } }
                @if let Some(address) = &detail.subject.site_address { ". Site address: " (address) }
                "." }
        }
        p { "Started " (time(intrusion.started_at)) ", last seen " (time(intrusion.last_seen_at))
            " (" (seen_for(intrusion)) "), " (format!("{:.0} %", intrusion.peak_score * 100.0)) " sure at best"
            ". Status: " (crate::views::status(intrusion.status)) "." }
        (handled(intrusion, portal))
        }
        div data-version=(versions.media) {
        div.media {
            figure {
                @if let Some(url) = &detail.snapshot_url {
                    a href=(url) target="_blank" rel="noopener" {
                        img src=(url) alt="The frame that opened the intrusion, with the people boxed";
                    }
                    figcaption { "Snapshot (select it to see it full size)" }
                } @else { p.muted { "No snapshot yet." } figcaption { "Snapshot" } }
            }
            figure {
                @match &detail.clip {
                    Some(clip) => {
                        @let pre_roll = (intrusion.started_at - clip.from).num_seconds().max(0);
                        @if let Some(url) = &clip.url {
                            // A media fragment opens the clip where the intrusion starts.
                            video src=(format!("{url}#t={pre_roll}")) controls preload="metadata" {}
                        } @else {
                            p.muted { "The clip is " (format!("{:?}", clip.state).to_lowercase())
                                " (due by " (time(clip.due_by)) ")." }
                        }
                        figcaption { "Recording " (time(clip.from)) " to " (time(clip.to)) "."
                            @if clip.url.is_some() {
                                " It opens at the intrusion, " (format!("{}:{:02}", pre_roll / 60, pre_roll % 60))
                                " in; what comes before is the time leading up to it." } }
                    }
                    None => { p.muted { "The clip has not been requested yet." } }
                }
            }
        }
        @if !detail.evidence_urls.is_empty() {
            figure.strip {
                div {
                    @for (index, url) in detail.evidence_urls.iter().enumerate() {
                        a href=(url) target="_blank" rel="noopener" {
                            img src=(url) loading="lazy"
                                alt=(format!("Picture {} of the {} that opened the intrusion", index + 1, detail.evidence_urls.len()));
                        }
                    }
                }
                figcaption { "The pictures that opened the intrusion, oldest first (select one to see it full size)" }
            }
        }
        }
        div data-version=(versions.actions) {
        @if intrusion.status == IntrusionStatus::Resolved && portal == Portal::Manager {
            form.stack method="post" action=(action("reopen")) {
                (csrf.field())
                label { "Why it is opened again (optional)" textarea name="note" rows="2" maxlength="2000" {} }
                button type="submit" { "Reopen" }
            }
        }
        @if intrusion.status == IntrusionStatus::Open {
            form.stack method="post" action=(action("acknowledge")) {
                (csrf.field())
                label { "Note (optional)" textarea name="note" rows="2" maxlength="2000" {} }
                button type="submit" { "Acknowledge" }
            }
        }
        @if intrusion.status != IntrusionStatus::Resolved {
            form.stack method="post" action=(action("resolve")) {
                (csrf.field())
                label { "Note (optional)" textarea name="note" rows="2" maxlength="2000" {} }
                label { span { input type="checkbox" name="falseAlarm" value="true"; " It was a false alarm" } }
                button type="submit" { "Resolve" }
            }
        }
        (hold_section(portal, hold, csrf, &action))
        }
        div data-version=(versions.records) {
        h2 { "Alarms and clip request" }
        table.list {
            thead { tr { th { "Device" } th { "What" } th { "Asked" } th { "Reached it" } th { "How" } } }
            tbody {
                @for command in &detail.commands {
                    tr {
                        td data-label="Device" { (device_name(command.device_id)) }
                        td data-label="What" { (command_words(command.kind)) }
                        td data-label="Asked" { (time(command.raised_at)) }
                        td data-label="Reached it" { (maybe_time(command.delivered_at)) }
                        td data-label="How" { (delivery_words(command)) }
                    }
                }
            }
        }
        h2 { "Notifications" }
        (notification_table(&detail.notifications))
        h2 { "Escalation" }
        @if detail.escalations.is_empty() {
            p.muted { "No escalation step taken." }
        } @else {
            table.list {
                thead { tr { th { "Step" } th { "Not acknowledged after" } th { "When" } th { "Told" } } }
                tbody { @for step in &detail.escalations {
                    tr {
                        td data-label="Step" { (step.step) }
                        td data-label="Not acknowledged after" { (step.after_seconds) " s" }
                        td data-label="When" { (time(step.at)) }
                        td data-label="Told" { (step.notified.join(", ")) }
                    }
                } }
            }
        }
        }
      }
    }
}

/// Who acknowledged, reopened and resolved the intrusion, and when; and the
/// intrusion people seen after the resolution opened, or the one this followed.
fn handled(intrusion: &Intrusion, portal: Portal) -> Markup {
    let link = |id: &IntrusionId| format!("{}/intrusions/{id}", portal.prefix());
    html! {
        @if let Some(follows) = &intrusion.follows {
            p.handled { "People were seen again after " a href=(link(follows)) { "an intrusion resolved here" }
                " was resolved: this is a new intrusion." }
        }
        @if let Some(handled) = &intrusion.acknowledged {
            p.handled { "Acknowledged " (time(handled.at)) " by " span.who { (handled.who()) }
                @if let Some(note) = &handled.note { ": " q { (note) } } }
        }
        @if let Some(reopened) = &intrusion.reopened {
            p.handled { "Reopened " (time(reopened.handling.at)) " by " span.who { (reopened.handling.who()) }
                " (resolved " (time(reopened.undid.at)) " by " (reopened.undid.who())
                @if reopened.undid.false_alarm == Some(true) { " as a false alarm" } ")"
                @if let Some(note) = &reopened.handling.note { ": " q { (note) } } }
        }
        @if let Some(handled) = &intrusion.resolved {
            p.handled { "Resolved " (time(handled.at)) " by " span.who { (handled.who()) }
                @if handled.false_alarm == Some(true) { " as a false alarm" }
                @if let Some(note) = &handled.note { ": " q { (note) } } }
        }
        @if let Some(next) = &intrusion.followed_by {
            p.handled role="status" { "People were seen here again after it was resolved: "
                a href=(link(next)) { "the intrusion that followed" } "." }
        }
    }
}

/// A command, as the people handling the intrusion say it.
fn command_words(kind: &str) -> &'static str {
    match kind {
        "activateAlarm" => "Ring the alarm",
        "recordClip" => "Send the recording",
        _ => "Command",
    }
}

/// How a command reached its device, or why it has not yet.
fn delivery_words(command: &seccom_domain::response::DeliveryView) -> String {
    use seccom_domain::response::DeliveredBy;
    match command.delivered_by {
        Some(DeliveredBy::Push) => "Sent to the device".to_owned(),
        Some(DeliveredBy::Heartbeat) => "Collected by the device when it checked in".to_owned(),
        None if command.push_attempts > 0 => format!(
            "Not reached after {} tries; the device gets it when it next checks in",
            command.push_attempts
        ),
        None => "Waiting for the device to check in".to_owned(),
    }
}

/// Whether a legal hold keeps the intrusion past retention; for staff, the
/// form that places or releases it.
fn hold_section(portal: Portal, hold: Option<&LegalHold>, csrf: &CsrfToken, action: &dyn Fn(&str) -> String) -> Markup {
    html! {
        @if let Some(hold) = hold {
            p.hold { "Kept under a legal hold since " (time(hold.placed_at)) " (" (hold.placed_by) "): " (hold.reason)
                ". It and its footage outlive the client's retention period until released." }
            @if portal == Portal::Manager {
                form.inline method="post" action=(action("release-hold"))
                    data-confirm="Release the hold? Past the client's retention period, the intrusion and its footage are then deleted." {
                    (csrf.field())
                    button type="submit" { "Release the hold" }
                }
            }
        } @else if portal == Portal::Manager {
            form.stack method="post" action=(action("hold")) {
                (csrf.field())
                label { "Keep past retention (legal hold): why" textarea name="note" rows="2" maxlength="500" required {} }
                button type="submit" { "Place a legal hold" }
            }
        }
    }
}

fn intrusion_id(raw: &str) -> Result<IntrusionId, PageError> {
    raw.parse()
        .map_err(|_| PageError::from(seccom_domain::error::DomainError::NotFound("intrusion")))
}

/// The intrusion page for `user`, with device names and media links; 304 when
/// the caller's ETag says it has it already.
pub async fn show_intrusion<U: PortalUser>(
    state: &PortalState,
    user: &U,
    csrf: &CsrfToken,
    raw_id: &str,
    done: Option<HandlingStep>,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let who = user.principal();
    let id = intrusion_id(raw_id)?;
    // Opening the page is a view of the footage; the script's polls (which
    // carry the page's ETag) are not.
    let viewing = !headers.contains_key(axum::http::header::IF_NONE_MATCH);
    let record = state.responses.intrusion(who, id, viewing).await?;
    let hold = state.holds.hold(who, id).await?;
    let devices = state.site_devices(who, record.intrusion.site_id).await?;
    let detail = state.links.detail(record).await?;
    let etag = etag(&Versions::of(&detail, hold.as_ref()));
    if let Some(not_modified) = live::unchanged(headers, &etag) {
        return Ok(not_modified);
    }
    let body = intrusion_page(U::PORTAL, &detail, csrf, &devices, hold.as_ref(), done);
    Ok(live::tagged(user.page("Intrusion", body), &etag))
}

/// What a form on an intrusion's page does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlingStep {
    Acknowledge,
    Resolve,
    /// Staff only.
    Reopen,
    /// Staff only: a legal hold, the note its reason.
    Hold,
    /// Staff only.
    ReleaseHold,
}

impl HandlingStep {
    /// Every step, in the order the routes index them.
    pub const ALL: [Self; 5] = [
        Self::Acknowledge,
        Self::Resolve,
        Self::Reopen,
        Self::Hold,
        Self::ReleaseHold,
    ];

    /// The word `?done=` carries after the step.
    fn done(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledged",
            Self::Resolve => "resolved",
            Self::Reopen => "reopened",
            Self::Hold => "held",
            Self::ReleaseHold => "released",
        }
    }

    /// What the page says was done.
    fn said(self) -> &'static str {
        match self {
            Self::Hold => "put under a legal hold",
            Self::ReleaseHold => "released from its legal hold",
            other => other.done(),
        }
    }

    /// The step `?done=` names; anything else is ignored.
    pub fn from_done(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.done() == word)
    }
}

/// Acknowledges, resolves, reopens or holds an intrusion from its page's form, then
/// shows the page again, saying what was done.
pub async fn handle_intrusion(
    state: &PortalState,
    who: &Principal,
    portal: Portal,
    raw_id: &str,
    form: HandlingForm,
    step: HandlingStep,
) -> Result<Response, PageError> {
    let id = intrusion_id(raw_id)?;
    match step {
        HandlingStep::Acknowledge => {
            state.intrusions.acknowledge(who, id, form.into_body(false)).await?;
        }
        HandlingStep::Resolve => {
            state.intrusions.resolve(who, id, form.into_body(true)).await?;
        }
        HandlingStep::Reopen => {
            state.intrusions.reopen(who, id, form.into_body(false)).await?;
        }
        HandlingStep::Hold => {
            state.holds.place_hold(who, id, HoldBody { reason: form.note }).await?;
        }
        HandlingStep::ReleaseHold => state.holds.release_hold(who, id).await?,
    }
    let done = step.done();
    Ok(Redirect::to(&format!("{}/intrusions/{id}?done={done}", portal.prefix())).into_response())
}

/// Body of the handling forms (a legal hold's reason travels as its note).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandlingForm {
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub false_alarm: Option<String>,
}

impl HandlingForm {
    /// The use case's body; `resolving` decides whether the false-alarm box counts.
    pub fn into_body(self, resolving: bool) -> seccom_domain::detection::HandlingBody {
        seccom_domain::detection::HandlingBody {
            note: Some(self.note).filter(|n| !n.trim().is_empty()),
            false_alarm: resolving.then(|| self.false_alarm.is_some()),
        }
    }
}
