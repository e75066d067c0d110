//! Page parts both portals show: intrusion lists with filters (the page keeps
//! itself current, see [`crate::live`]), notification and health tables. One
//! intrusion's page is in [`crate::intrusion_page`].

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use seccom_domain::detection::{Intrusion, IntrusionFilter, IntrusionStatus};
use seccom_domain::directory::Site;
use seccom_domain::ids::{DeviceId, SiteId};
use seccom_domain::page::{Page, PageQuery, PageRequest};
use serde::Deserialize;

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
pub(crate) fn day(raw: &str, what: &str, end_of_day: bool, zone: Tz) -> Result<Option<DateTime<Utc>>, PageError> {
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

pub(crate) fn status(status: IntrusionStatus) -> Markup {
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
                        tr data-intrusion=(intrusion.id) {
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

/// How long people were seen, in words.
pub(crate) fn seen_for(intrusion: &Intrusion) -> String {
    let seconds = (intrusion.last_seen_at - intrusion.started_at).num_seconds().max(0);
    let frames = intrusion.last_seq.saturating_sub(intrusion.first_seq) + 1;
    match seconds {
        0 => format!("{frames} pictures"),
        1..120 => format!("{frames} pictures over {seconds} s"),
        _ => format!("{frames} pictures over {} min", seconds / 60),
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
