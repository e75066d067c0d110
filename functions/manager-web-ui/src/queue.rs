//! `/manage`, the staff's landing page: the alarm queue. Every intrusion nobody
//! has resolved yet, of every client, oldest first, with the client, site and
//! camera it concerns, how long it has waited, its state and its snapshot; and
//! the cameras and alarms offline or faulty now. The page updates itself (see
//! [`seccom_web::live`]) and sounds on a new intrusion. Every staff page shows
//! the queue's count beside its link, read from `/manage/queue/count`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use seccom_domain::detection::{Intrusion, IntrusionStatus};
use seccom_domain::directory::{Device, DeviceState};
use seccom_domain::error::DomainError;
use seccom_domain::ids::{ClientId, DeviceId, SiteId};
use seccom_domain::page::{Page, PageRequest};
use seccom_web::live;
use seccom_web::page::{maybe_time, next_page, time};
use seccom_web::{PageError, PortalState, Signed};

use crate::{ListQuery, Staff, page};

/// How long an intrusion has waited, in the largest whole unit.
fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - since).num_seconds().max(0);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        3600..86_400 => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
        _ => format!("{} days", seconds / 86_400),
    }
}

/// What a row shows for a client, site or camera removed since.
const REMOVED: &str = "(removed)";

/// The name kept for `id`.
fn name<K: Eq + std::hash::Hash>(names: &HashMap<K, String>, id: &K) -> String {
    names.get(id).cloned().unwrap_or_default()
}

/// The names a queue row shows, each looked up once per page.
#[derive(Default)]
struct Names {
    clients: HashMap<ClientId, String>,
    sites: HashMap<SiteId, String>,
    cameras: HashMap<DeviceId, String>,
}

impl Names {
    async fn client(&mut self, state: &PortalState, id: ClientId) -> Result<(), DomainError> {
        if let Entry::Vacant(entry) = self.clients.entry(id) {
            let client = state.directory.find_client(id).await?;
            entry.insert(client.map_or_else(|| REMOVED.to_owned(), |c| c.name.as_str().to_owned()));
        }
        Ok(())
    }

    async fn site(&mut self, state: &PortalState, id: SiteId) -> Result<(), DomainError> {
        if let Entry::Vacant(entry) = self.sites.entry(id) {
            let site = state.directory.find_site(id).await?;
            entry.insert(site.map_or_else(|| REMOVED.to_owned(), |s| s.name.as_str().to_owned()));
        }
        Ok(())
    }

    async fn camera(&mut self, state: &PortalState, id: DeviceId) -> Result<(), DomainError> {
        if let Entry::Vacant(entry) = self.cameras.entry(id) {
            let camera = state.directory.find_device(id).await?;
            entry.insert(camera.map_or_else(|| REMOVED.to_owned(), |c| c.name.as_str().to_owned()));
        }
        Ok(())
    }
}

fn device_state(state: DeviceState) -> &'static str {
    match state {
        DeviceState::Offline => "Offline",
        DeviceState::Faulty => "Reported a fault",
        DeviceState::Online => "Online",
        DeviceState::Unknown => "Never heard from",
    }
}

/// The devices offline or faulty now.
fn unhealthy_table(devices: &[Device], names: &Names) -> Markup {
    html! {
        h2 { "Devices offline or faulty now" }
        @if devices.is_empty() {
            p.muted { "Every camera and alarm is reporting." }
        } @else {
            table.list.unhealthy {
                thead { tr { th { "Device" } th { "State" } th { "Client" } th { "Site" } th { "Last heard" } } }
                tbody {
                    @for device in devices {
                        tr data-device=(device.id) {
                            td data-label="Device" { (device.name.as_str()) " (" (device.kind.noun()) ")" }
                            td data-label="State" { (device_state(device.state)) }
                            td data-label="Client" { (name(&names.clients, &device.client_id)) }
                            td data-label="Site" { (name(&names.sites, &device.site_id)) }
                            td data-label="Last heard" { (maybe_time(device.last_seen_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// The alarm queue.
pub(crate) async fn show(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    csrf: seccom_web::CsrfToken,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let queue = state.intrusions.queue(&staff.0, query.page()?).await?;
    let unhealthy = state.directory.unhealthy_devices(&staff.0).await?;
    let now = state.directory.now();
    let etag = live::etag(&version(&queue, &unhealthy, now));
    if let Some(not_modified) = live::unchanged(&headers, &etag) {
        return Ok(not_modified);
    }
    let push_key = state.push.public_key().await?;
    let mut names = Names::default();
    for intrusion in &queue.items {
        names.client(&state, intrusion.client_id).await?;
        names.site(&state, intrusion.site_id).await?;
        names.camera(&state, intrusion.camera_id).await?;
    }
    for device in &unhealthy {
        names.client(&state, device.client_id).await?;
        names.site(&state, device.site_id).await?;
    }
    let mut thumbnails = HashMap::new();
    for intrusion in &queue.items {
        if let Some(key) = &intrusion.snapshot_key {
            thumbnails.insert(intrusion.id, state.links.frame_link(key).await?);
        }
    }
    let count = format!(
        "{}{}",
        queue.items.len(),
        if queue.next_token.is_some() { "+" } else { "" }
    );
    let body = page(
        &staff,
        &format!("Alarm queue ({count})"),
        html! {
          div.live data-live=(live::POLL_SECONDS) data-etag=(etag) {
            h1 { "Alarm queue " span.count data-count=(queue.items.len()) { "(" (count) ")" } }
            p { "Intrusions nobody has resolved yet, of every client, oldest first. Open one to acknowledge or resolve it. "
                "The page updates itself; a new intrusion sounds and, once you allow it, shows a notification. "
                button type="button" data-action="enable-alerts" { "Allow notifications" } }
            @if queue.items.is_empty() {
                p.muted { "Nothing waiting." }
            } @else {
                table.list.queue {
                    thead { tr { th { "Waiting" } th { "State" } th { "Client" } th { "Site" } th { "Camera" } th { "Started" } th { "Snapshot" } } }
                    tbody {
                        @for intrusion in &queue.items {
                            tr data-intrusion=(intrusion.id) data-status=(intrusion.status.as_str()) {
                                td data-label="Waiting" {
                                    a href=(format!("/manage/intrusions/{}", intrusion.id)) { (age(intrusion.started_at, now)) }
                                }
                                td data-label="State" {
                                    span class=(format!("status-{}", intrusion.status.as_str())) {
                                        @match intrusion.status {
                                            IntrusionStatus::Open => "Not acknowledged",
                                            IntrusionStatus::Acknowledged => "Acknowledged",
                                            IntrusionStatus::Resolved => "Resolved",
                                        }
                                    }
                                }
                                td data-label="Client" { (name(&names.clients, &intrusion.client_id)) }
                                td data-label="Site" { (name(&names.sites, &intrusion.site_id)) }
                                td data-label="Camera" { (name(&names.cameras, &intrusion.camera_id)) }
                                td data-label="Started" { (time(intrusion.started_at)) }
                                td data-label="Snapshot" {
                                    @if let Some(url) = thumbnails.get(&intrusion.id) {
                                        img.thumbnail src=(url) alt={ "Snapshot at " (name(&names.cameras, &intrusion.camera_id)) } width="120" loading="lazy";
                                    } @else { span.muted { "–" } }
                                }
                            }
                        }
                    }
                }
            }
            (next_page("/manage", &[], queue.next_token.as_deref()))
            (unhealthy_table(&unhealthy, &names))
          }
          (seccom_web::push::opt_in(seccom_web::Portal::Manager, &push_key, &csrf))
        },
    );
    Ok(live::tagged(body, &etag))
}

/// The most intrusions the bar counts; beyond, it shows `100+`.
const COUNTED: u16 = 100;

/// `GET /manage/queue/count`: how many intrusions wait, for the bar of every
/// staff page (`{"unresolved": 3, "more": false}`), 304 while unchanged.
pub(crate) async fn count(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let page = PageRequest {
        limit: COUNTED,
        token: None,
    };
    let queue = state.intrusions.queue(&staff.0, page).await?;
    let count = serde_json::json!({ "unresolved": queue.items.len(), "more": queue.next_token.is_some() });
    let etag = live::etag(&count.to_string());
    if let Some(not_modified) = live::unchanged(&headers, &etag) {
        return Ok(not_modified);
    }
    Ok(live::tagged(axum::Json(count), &etag))
}

/// The queue is sent again at least this often, so its waiting times and
/// snapshot links (15 minutes) stay fresh on a page left open.
const REFRESH_SECONDS: i64 = 60;

/// What the queue shows, as text for its ETag.
fn version(queue: &Page<Intrusion>, unhealthy: &[Device], now: DateTime<Utc>) -> String {
    let mut version = format!("{}|", now.timestamp() / REFRESH_SECONDS);
    for intrusion in &queue.items {
        version.push_str(&format!(
            "{}:{}:{}:{};",
            intrusion.id,
            intrusion.status.as_str(),
            intrusion.snapshot_key.is_some(),
            intrusion.last_seq
        ));
    }
    version.push_str(&format!("|{}|", queue.next_token.is_some()));
    for device in unhealthy {
        version.push_str(&format!("{}:{:?};", device.id, device.state));
    }
    version
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        let now = Utc::now();
        let ago = |seconds| now - chrono::TimeDelta::seconds(seconds);
        assert_eq!(age(ago(42), now), "42 s");
        assert_eq!(age(ago(150), now), "2 min");
        assert_eq!(age(ago(3 * 3600 + 5 * 60), now), "3 h 5 min");
        assert_eq!(age(ago(3 * 86_400), now), "3 days");
        assert_eq!(
            age(now + chrono::TimeDelta::seconds(5), now),
            "0 s",
            "a clock ahead is no age"
        );
    }
}
