//! Page parts both portals show: intrusion lists with filters, and the
//! intrusion page with its snapshot, clip, handling and response history.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
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
    /// A date (`YYYY-MM-DD`, in `tz`) the intrusions started on or after.
    #[serde(default)]
    pub from: String,
    /// A date (`YYYY-MM-DD`, in `tz`) the intrusions started on or before.
    #[serde(default)]
    pub to: String,
    /// The viewer's time zone (IANA name, filled in by the portal script), so a
    /// date means the viewer's day; UTC without it.
    #[serde(default)]
    pub tz: String,
    /// `open`, `acknowledged` or `resolved`; any when empty.
    #[serde(default)]
    pub status: String,
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

/// The first (or last) second of a day in `zone`, as UTC.
fn day(raw: &str, what: &str, end_of_day: bool, zone: Tz) -> Result<Option<DateTime<Utc>>, PageError> {
    Ok(optional::<NaiveDate>(raw, what)?.map(|date| {
        let time = if end_of_day {
            date.and_hms_opt(23, 59, 59)
        } else {
            date.and_hms_opt(0, 0, 0)
        }
        .expect("a valid time of day");
        // A time a clock change skips or repeats takes its earliest meaning.
        zone.from_local_datetime(&time)
            .earliest()
            .map_or_else(|| time.and_utc(), |local| local.with_timezone(&Utc))
    }))
}

impl IntrusionQuery {
    /// The domain filter and page this query asks for.
    pub fn parse(&self) -> Result<(IntrusionFilter, PageRequest), PageError> {
        // An unknown zone name falls back to UTC: the dates still filter, a day off at worst.
        let zone: Tz = self.tz.trim().parse().unwrap_or(Tz::UTC);
        let filter = IntrusionFilter {
            site: optional::<SiteId>(&self.site_id, "site")?,
            camera: optional::<DeviceId>(&self.camera_id, "camera")?,
            from: day(&self.from, "from", false, zone)?,
            to: day(&self.to, "to", true, zone)?,
            status: optional::<StatusFilter>(&self.status, "state")?.map(|s| s.0),
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
            ("tz", self.tz.clone()),
            ("status", self.status.clone()),
        ]
    }
}

/// An intrusion state as a filter field spells it.
struct StatusFilter(IntrusionStatus);

impl std::str::FromStr for StatusFilter {
    type Err = ();

    fn from_str(raw: &str) -> Result<Self, ()> {
        match raw {
            "open" => Ok(Self(IntrusionStatus::Open)),
            "acknowledged" => Ok(Self(IntrusionStatus::Acknowledged)),
            "resolved" => Ok(Self(IntrusionStatus::Resolved)),
            _ => Err(()),
        }
    }
}

fn status(status: IntrusionStatus) -> Markup {
    let words = match status {
        IntrusionStatus::Open => "not acknowledged",
        IntrusionStatus::Acknowledged => "acknowledged",
        IntrusionStatus::Resolved => "resolved",
    };
    html! { span class=(format!("status-{}", status.as_str())) { (words) } }
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
            label { "State"
                select name="status" {
                    @for (value, label) in [("", "Any"), ("open", "Not acknowledged"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved")] {
                        option value=(value) selected[query.status == value] { (label) }
                    }
                }
            }
            label { "From" input type="date" name="from" value=(query.from); }
            label { "To" input type="date" name="to" value=(query.to); }
            input type="hidden" name="tz" value=(query.tz) data-viewer-zone;
            button type="submit" { "Filter" }
        }
        @if page.items.is_empty() {
            p.muted { "No intrusion matches." }
        } @else {
            table.list {
                thead { tr { th { "Started" } th { "Site" } th { "Seen" } th { "Sure at best" } th { "Status" } th {} } }
                tbody {
                    @for intrusion in &page.items {
                        tr {
                            td data-label="Started" { (time(intrusion.started_at)) }
                            td data-label="Site" { (site_name(intrusion.site_id)) }
                            td data-label="Seen" { (seen_for(intrusion)) }
                            td data-label="Sure at best" { (format!("{:.0} %", intrusion.peak_score * 100.0)) }
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
    devices: &[Device],
    done: Option<HandlingStep>,
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
        h1 { "Intrusion at " (detail.subject.site_name.as_deref().unwrap_or("a site")) }
        @if let Some(step) = done {
            p.done role="status" { "The intrusion was " (step.done()) "." }
        }
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
            ". Status: " (status(intrusion.status)) "." }
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
        @if let Some(handled) = &intrusion.acknowledged {
            p.handled { "Acknowledged " (time(handled.at)) " by " span.who { (handled.by) }
                @if let Some(note) = &handled.note { ": " q { (note) } } }
        }
        @if let Some(reopened) = &intrusion.reopened {
            p.handled { "Reopened " (time(reopened.handling.at)) " by " span.who { (reopened.handling.by) }
                " (resolved " (time(reopened.undid.at)) " by " (reopened.undid.by)
                @if reopened.undid.false_alarm == Some(true) { " as a false alarm" } ")"
                @if let Some(note) = &reopened.handling.note { ": " q { (note) } } }
        }
        @if let Some(handled) = &intrusion.resolved {
            p.handled { "Resolved " (time(handled.at)) " by " span.who { (handled.by) }
                @if handled.false_alarm == Some(true) { " as a false alarm" }
                @if let Some(note) = &handled.note { ": " q { (note) } } }
        }
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

/// How long people were seen, in words.
fn seen_for(intrusion: &Intrusion) -> String {
    let seconds = (intrusion.last_seen_at - intrusion.started_at).num_seconds().max(0);
    let frames = intrusion.last_seq.saturating_sub(intrusion.first_seq) + 1;
    match seconds {
        0 => format!("{frames} pictures"),
        1..120 => format!("{frames} pictures over {seconds} s"),
        _ => format!("{frames} pictures over {} min", seconds / 60),
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

fn channel_words(channel: seccom_domain::response::Channel) -> &'static str {
    match channel {
        seccom_domain::response::Channel::Email => "E-mail",
        seccom_domain::response::Channel::Sms => "Text message",
        seccom_domain::response::Channel::Webhook => "Webhook",
    }
}

fn notification_words(status: seccom_domain::response::NotificationStatus) -> &'static str {
    match status {
        seccom_domain::response::NotificationStatus::Pending => "Sending",
        seccom_domain::response::NotificationStatus::Sent => "Sent",
        seccom_domain::response::NotificationStatus::Failed => "Failed",
    }
}

/// Notifications with their outcome.
pub fn notification_table(notifications: &[seccom_domain::response::Notification]) -> Markup {
    html! {
        @if notifications.is_empty() {
            p.muted { "None." }
        } @else {
            table.list {
                thead { tr { th { "To" } th { "By" } th { "Status" } th { "Tries" } th { "Sent" } th { "Problem" } } }
                tbody {
                    @for notification in notifications {
                        @let status = format!("{:?}", notification.status).to_lowercase();
                        tr {
                            td data-label="To" { (notification.recipient.address) }
                            td data-label="By" { (channel_words(notification.recipient.channel)) }
                            td data-label="Status" { span class=(format!("status-{status}")) { (notification_words(notification.status)) } }
                            td data-label="Tries" { (notification.attempts) }
                            td data-label="Sent" { (maybe_time(notification.sent_at)) }
                            td data-label="Problem" {
                                @match &notification.last_error {
                                    Some(error) => (error),
                                    None => span.muted { "none" },
                                }
                            }
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
    done: Option<HandlingStep>,
) -> Result<Markup, PageError> {
    let record = state.responses.intrusion(who, intrusion_id(raw_id)?).await?;
    let devices = state.site_devices(who, record.intrusion.site_id).await?;
    let detail = state.links.detail(record).await?;
    Ok(intrusion_page(portal, &detail, csrf, &devices, done))
}

/// What a form on an intrusion's page does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlingStep {
    Acknowledge,
    Resolve,
    /// Staff only.
    Reopen,
}

impl HandlingStep {
    /// Every step, in the order the routes index them.
    pub const ALL: [Self; 3] = [Self::Acknowledge, Self::Resolve, Self::Reopen];

    /// The word `?done=` carries after the step.
    fn done(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledged",
            Self::Resolve => "resolved",
            Self::Reopen => "reopened",
        }
    }

    /// The step `?done=` names; anything else is ignored.
    pub fn from_done(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.done() == word)
    }
}

/// Acknowledges, resolves or reopens an intrusion from its page's form, then
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
    let body = form.into_body(step == HandlingStep::Resolve);
    match step {
        HandlingStep::Acknowledge => state.intrusions.acknowledge(who, id, body).await?,
        HandlingStep::Resolve => state.intrusions.resolve(who, id, body).await?,
        HandlingStep::Reopen => state.intrusions.reopen(who, id, body).await?,
    };
    let done = step.done();
    Ok(Redirect::to(&format!("{}/intrusions/{id}?done={done}", portal.prefix())).into_response())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_means_the_viewers_day() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        assert_eq!(
            day("2026-12-01", "from", false, tokyo).unwrap(),
            Some(Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0).unwrap())
        );
        assert_eq!(
            day("2026-12-01", "to", true, tokyo).unwrap(),
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 14, 59, 59).unwrap())
        );
        assert_eq!(
            day("2026-12-01", "from", false, Tz::UTC).unwrap(),
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn a_query_reads_the_state_and_the_viewers_zone() {
        let query = IntrusionQuery {
            status: "acknowledged".into(),
            tz: "Asia/Tokyo".into(),
            from: "2026-12-01".into(),
            ..Default::default()
        };
        let (filter, _) = query.parse().unwrap();
        assert_eq!(filter.status, Some(IntrusionStatus::Acknowledged));
        assert_eq!(filter.from, Some(Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0).unwrap()));
        let unknown_zone = IntrusionQuery {
            tz: "Mars/Olympus".into(),
            from: "2026-12-01".into(),
            ..Default::default()
        };
        assert_eq!(
            unknown_zone.parse().unwrap().0.from,
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()),
            "UTC when the zone is unknown"
        );
        let bad = IntrusionQuery {
            status: "pending".into(),
            ..Default::default()
        };
        assert!(bad.parse().is_err());
    }
}
