//! Page parts both portals show: intrusion lists with filters, and the
//! intrusion page with its snapshot, clip, handling and response history.

use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use seccom_domain::detection::{Intrusion, IntrusionFilter, IntrusionStatus};
use seccom_domain::directory::{Device, Site};
use seccom_domain::ids::{DeviceId, SiteId};
use seccom_domain::media::IntrusionDetail;
use seccom_domain::page::{Page, PageQuery, PageRequest};
use serde::Deserialize;

use axum::response::{IntoResponse, Redirect, Response};
use seccom_domain::auth::Principal;
use seccom_domain::ids::IntrusionId;

use crate::PortalState;
use crate::csrf::CsrfToken;
use crate::page::{PageError, Portal, maybe_time, next_page, time};

/// The filters of an intrusion list, as a GET form sends them (empty fields mean "any").
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntrusionQuery {
    #[serde(default)]
    pub site_id: String,
    #[serde(default)]
    pub camera_id: String,
    /// A date (`YYYY-MM-DD`, UTC) the intrusions started on or after.
    #[serde(default)]
    pub from: String,
    /// A date (`YYYY-MM-DD`, UTC) the intrusions started on or before.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub next_token: Option<String>,
}

fn optional<T: std::str::FromStr>(raw: &str, what: &str) -> Result<Option<T>, PageError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    raw.trim().parse().map(Some).map_err(|_| {
        PageError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "This filter is not valid",
            &format!("The {what} filter is not valid. Clear it and try again."),
        )
    })
}

fn day(raw: &str, what: &str, end_of_day: bool) -> Result<Option<DateTime<Utc>>, PageError> {
    Ok(optional::<NaiveDate>(raw, what)?.map(|date| {
        let time = if end_of_day {
            date.and_hms_opt(23, 59, 59)
        } else {
            date.and_hms_opt(0, 0, 0)
        };
        time.expect("a valid time of day").and_utc()
    }))
}

impl IntrusionQuery {
    /// The domain filter and page this query asks for.
    pub fn parse(&self) -> Result<(IntrusionFilter, PageRequest), PageError> {
        let filter = IntrusionFilter {
            site: optional::<SiteId>(&self.site_id, "site")?,
            camera: optional::<DeviceId>(&self.camera_id, "camera")?,
            from: day(&self.from, "from", false)?,
            to: day(&self.to, "to", true)?,
            status: None,
        };
        let page = PageQuery {
            limit: Some(25),
            next_token: self.next_token.clone(),
        }
        .try_into()?;
        Ok((filter, page))
    }

    fn kept(&self) -> Vec<(&'static str, String)> {
        vec![
            ("siteId", self.site_id.clone()),
            ("cameraId", self.camera_id.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
        ]
    }
}

fn status(status: IntrusionStatus) -> Markup {
    html! { span class=(format!("status-{}", status.as_str())) { (status.as_str()) } }
}

/// The list of intrusions with its filter form and paging.
pub fn intrusion_list(portal: Portal, sites: &[Site], query: &IntrusionQuery, page: &Page<Intrusion>) -> Markup {
    let path = format!("{}/intrusions", portal.prefix());
    let site_name = |id: SiteId| {
        sites
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| id.to_string(), |s| s.name.as_str().to_owned())
    };
    html! {
        form.inline method="get" action=(path) {
            label { "Site"
                select name="siteId" {
                    option value="" { "All sites" }
                    @for site in sites {
                        option value=(site.id) selected[query.site_id == site.id.to_string()] { (site.name.as_str()) }
                    }
                }
            }
            label { "From" input type="date" name="from" value=(query.from); }
            label { "To" input type="date" name="to" value=(query.to); }
            button type="submit" { "Filter" }
        }
        @if page.items.is_empty() {
            p.muted { "No intrusion matches." }
        } @else {
            table.list {
                thead { tr { th { "Started" } th { "Site" } th { "Frames" } th { "Peak score" } th { "Status" } th {} } }
                tbody {
                    @for intrusion in &page.items {
                        tr {
                            td data-label="Started" { (time(intrusion.started_at)) }
                            td data-label="Site" { (site_name(intrusion.site_id)) }
                            td data-label="Frames" { (intrusion.first_seq) "–" (intrusion.last_seq) }
                            td data-label="Peak score" { (format!("{:.2}", intrusion.peak_score)) }
                            td data-label="Status" { (status(intrusion.status)) }
                            td { a href=(format!("{path}/{}", intrusion.id)) { "Open" } }
                        }
                    }
                }
            }
        }
        (next_page(&path, &query.kept(), page.next_token.as_deref()))
    }
}

/// The intrusion page: media, facts, handling forms (when the viewer may act), and the response history.
pub fn intrusion_page(
    portal: Portal,
    detail: &IntrusionDetail,
    csrf: &CsrfToken,
    site: Option<&Site>,
    devices: &[Device],
) -> Markup {
    let intrusion = &detail.intrusion;
    let device_name = |id: DeviceId| {
        devices
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| id.to_string(), |d| d.name.as_str().to_owned())
    };
    let action = |what: &str| format!("{}/intrusions/{}/{what}", portal.prefix(), intrusion.id);
    html! {
        h1 { "Intrusion at " (site.map_or("a site", |s| s.name.as_str())) }
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
            ", frames " (intrusion.first_seq) "–" (intrusion.last_seq) ", peak score " (format!("{:.2}", intrusion.peak_score))
            ". Status: " (status(intrusion.status)) "." }
        div.media {
            figure {
                @if let Some(url) = &detail.snapshot_url {
                    img src=(url) alt="The frame that opened the intrusion, with the people boxed";
                } @else { p.muted { "No snapshot yet." } }
                figcaption { "Snapshot" }
            }
            figure {
                @match &detail.clip {
                    Some(clip) => {
                        @if let Some(url) = &clip.url {
                            video src=(url) controls preload="metadata" {}
                        } @else {
                            p.muted { "The clip is " (format!("{:?}", clip.state).to_lowercase())
                                " (due by " (time(clip.due_by)) ")." }
                        }
                        figcaption { "Recording " (time(clip.from)) " to " (time(clip.to)) }
                    }
                    None => { p.muted { "The clip has not been requested yet." } }
                }
            }
        }
        @if let Some(handled) = &intrusion.acknowledged {
            p { "Acknowledged " (time(handled.at)) @if let Some(note) = &handled.note { ": " q { (note) } } }
        }
        @if let Some(handled) = &intrusion.resolved {
            p { "Resolved " (time(handled.at))
                @if handled.false_alarm == Some(true) { " as a false alarm" }
                @if let Some(note) = &handled.note { ": " q { (note) } } }
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
        h2 { "Alarms and clip request" }
        table.list {
            thead { tr { th { "Device" } th { "Command" } th { "Raised" } th { "Delivered" } th { "How" } th { "Push attempts" } } }
            tbody {
                @for command in &detail.commands {
                    tr {
                        td data-label="Device" { (device_name(command.device_id)) }
                        td data-label="Command" { (command.kind) }
                        td data-label="Raised" { (time(command.raised_at)) }
                        td data-label="Delivered" { (maybe_time(command.delivered_at)) }
                        td data-label="How" { (command.delivered_by.map_or("waiting for the device", |by| match by {
                            seccom_domain::response::DeliveredBy::Push => "push",
                            seccom_domain::response::DeliveredBy::Heartbeat => "heartbeat",
                        })) }
                        td data-label="Push attempts" { (command.push_attempts) }
                    }
                }
            }
        }
        h2 { "Notifications" }
        (notification_table(&detail.notifications))
    }
}

/// Notifications with their outcome.
pub fn notification_table(notifications: &[seccom_domain::response::Notification]) -> Markup {
    html! {
        @if notifications.is_empty() {
            p.muted { "None." }
        } @else {
            table.list {
                thead { tr { th { "To" } th { "Channel" } th { "Status" } th { "Attempts" } th { "Sent" } th { "Error" } } }
                tbody {
                    @for notification in notifications {
                        @let status = format!("{:?}", notification.status).to_lowercase();
                        tr {
                            td data-label="To" { (notification.recipient.address) }
                            td data-label="Channel" { (format!("{:?}", notification.recipient.channel).to_lowercase()) }
                            td data-label="Status" { span class=(format!("status-{status}")) { (status) } }
                            td data-label="Attempts" { (notification.attempts) }
                            td data-label="Sent" { (maybe_time(notification.sent_at)) }
                            td data-label="Error" { (notification.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// Device health changes and whether each was told.
pub fn health_table(events: &[seccom_domain::response::HealthEvent]) -> Markup {
    html! {
        @if events.is_empty() {
            p.muted { "No device has gone silent or reported a fault." }
        } @else {
            table.list {
                thead { tr { th { "When" } th { "What" } th { "Last heard from" } th { "Told" } } }
                tbody {
                    @for event in events {
                        @let class = match event.change {
                            seccom_domain::directory::HealthChange::Recovered => "state-online",
                            _ => "state-offline",
                        };
                        tr {
                            td data-label="When" { (time(event.at)) }
                            td data-label="What" { span class=(class) { (event.summary()) } }
                            td data-label="Last heard from" { (maybe_time(event.last_seen_at)) }
                            td data-label="Told" {
                                (event.notices.iter().filter(|n| n.sent).count()) " of " (event.notices.len())
                            }
                        }
                    }
                }
            }
        }
    }
}

fn intrusion_id(raw: &str) -> Result<IntrusionId, PageError> {
    raw.parse()
        .map_err(|_| PageError::from(seccom_domain::error::DomainError::NotFound("intrusion")))
}

/// The intrusion page's content for `who`, with device names and media links.
pub async fn show_intrusion(
    state: &PortalState,
    who: &Principal,
    portal: Portal,
    csrf: &CsrfToken,
    raw_id: &str,
) -> Result<Markup, PageError> {
    let record = state.responses.intrusion(who, intrusion_id(raw_id)?).await?;
    let site = state.directory.get_site(who, record.intrusion.site_id).await.ok();
    let devices = state.site_devices(who, record.intrusion.site_id).await?;
    let detail = state.links.detail(record).await?;
    Ok(intrusion_page(portal, &detail, csrf, site.as_ref(), &devices))
}

/// Acknowledges (or, when `resolving`, resolves) an intrusion from its page's
/// form, then shows the page again.
pub async fn handle_intrusion(
    state: &PortalState,
    who: &Principal,
    portal: Portal,
    raw_id: &str,
    form: HandlingForm,
    resolving: bool,
) -> Result<Response, PageError> {
    let id = intrusion_id(raw_id)?;
    let body = form.into_body(resolving);
    if resolving {
        state.intrusions.resolve(who, id, body).await?;
    } else {
        state.intrusions.acknowledge(who, id, body).await?;
    }
    Ok(Redirect::to(&format!("{}/intrusions/{id}", portal.prefix())).into_response())
}

/// Body of the acknowledge and resolve forms.
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
