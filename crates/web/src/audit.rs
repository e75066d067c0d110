//! `/audit` in both portals: the audit trail, newest first, filtered by who
//! and by days in the viewer's time zone. Staff see every client's entries
//! (with the client's name); a client's users see their own client's.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono_tz::Tz;
use maud::{Markup, html};
use seccom_domain::audit::{AuditAction, AuditEntry, AuditFilter};
use seccom_domain::ids::ClientId;
use seccom_domain::page::PageQuery;
use serde::Deserialize;

use crate::page::{next_page, time};
use crate::views::day;
use crate::{PageError, PortalState, PortalUser, Signed};

/// What an entry says was done, in words.
fn action_words(action: AuditAction) -> &'static str {
    match action {
        AuditAction::ViewedIntrusion => "Viewed an intrusion and its footage",
        AuditAction::AcknowledgedIntrusion => "Acknowledged an intrusion",
        AuditAction::ResolvedIntrusion => "Resolved an intrusion",
        AuditAction::ReopenedIntrusion => "Reopened an intrusion",
        AuditAction::ChangedArming => "Changed a site's arming",
        AuditAction::ChangedDetectionSettings => "Changed a camera's detection settings",
        AuditAction::ChangedEscalation => "Changed a site's escalation",
        AuditAction::RegisteredDevice => "Registered a device",
        AuditAction::RemovedDevice => "Removed a device",
        AuditAction::ChangedNotificationPreferences => "Changed who is notified",
        AuditAction::RotatedWebhookSecret => "Issued a new webhook secret",
        AuditAction::ChangedRetention => "Changed the footage retention",
        AuditAction::PlacedLegalHold => "Placed a legal hold",
        AuditAction::ReleasedLegalHold => "Released a legal hold",
        AuditAction::RequestedErasure => "Asked for an erasure",
        AuditAction::ExportedRecords => "Downloaded the client's records",
        AuditAction::SignedIn => "Signed in",
    }
}

/// The filters, as the GET form sends them (empty means any).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    tz: String,
    #[serde(default)]
    next_token: Option<String>,
}

/// Where an entry's target is shown, when it has a page.
fn target_link(prefix: &str, entry: &AuditEntry) -> Markup {
    match entry.target.split_once('/') {
        Some(("intrusion", id)) => {
            html! { a href=(format!("{prefix}/intrusions/{id}")) { "intrusion" } }
        }
        Some((kind, id)) => html! { (kind) " " code { (id.get(..8).unwrap_or(id)) } },
        None => html! { (entry.target) },
    }
}

async fn show<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    Query(query): Query<AuditQuery>,
) -> Result<Markup, PageError> {
    let who = user.principal();
    let zone: Tz = query.tz.trim().parse().unwrap_or(Tz::UTC);
    let filter = AuditFilter {
        client_id: None,
        actor: Some(query.actor.trim().to_owned()).filter(|a| !a.is_empty()),
        from: day(&query.from, "from", false, zone)?,
        to: day(&query.to, "to", true, zone)?,
    };
    let page = PageQuery {
        limit: Some(50),
        next_token: query.next_token.clone(),
    }
    .try_into()?;
    let found = state.directory.audit().entries(who, filter, page).await?;
    let staff = who.tenant().is_none();
    let mut clients: HashMap<ClientId, String> = HashMap::new();
    if staff {
        for entry in &found.items {
            let Some(client) = entry.client_id else { continue };
            if let std::collections::hash_map::Entry::Vacant(slot) = clients.entry(client) {
                let name = state.directory.find_client(client).await?;
                slot.insert(name.map_or_else(|| "(removed)".to_owned(), |c| c.name.as_str().to_owned()));
            }
        }
    }
    let prefix = U::PORTAL.prefix();
    let path = format!("{prefix}/audit");
    let kept = [
        ("actor", query.actor.clone()),
        ("from", query.from.clone()),
        ("to", query.to.clone()),
        ("tz", query.tz.clone()),
    ];
    let body = html! {
        h1 { "Audit trail" }
        p { "Who looked at which intrusion's footage, and who changed what, newest first. Entries cannot be changed or removed." }
        form.filters method="get" action=(path) {
            label { "Who (e-mail or user id)" input type="text" name="actor" value=(query.actor); }
            label { "From" input type="date" name="from" value=(query.from); }
            label { "To" input type="date" name="to" value=(query.to); }
            input type="hidden" name="tz" value=(query.tz) data-viewer-zone;
            button type="submit" { "Filter" }
        }
        @if found.items.is_empty() {
            p.muted { "No entry matches." }
        } @else {
            table.list.audit {
                thead { tr { th { "When" } th { "Who" } th { "From" } th { "What" } th { "On" } @if staff { th { "Client" } } } }
                tbody {
                    @for entry in &found.items {
                        tr data-action=(crate::page::wire_name(entry.action)) {
                            td data-label="When" { (time(entry.at)) }
                            td data-label="Who" { (entry.actor_email.as_deref().unwrap_or(&entry.actor)) }
                            td data-label="From" { (entry.address.as_deref().unwrap_or("–")) }
                            td data-label="What" { (action_words(entry.action)) }
                            td data-label="On" { (target_link(prefix, entry)) }
                            @if staff { td data-label="Client" { (entry.client_id.and_then(|c| clients.get(&c)).map_or("SecCom", String::as_str)) } }
                        }
                    }
                }
            }
        }
        (next_page(&path, &kept, found.next_token.as_deref()))
    };
    Ok(user.page("Audit trail", body))
}

/// `/audit` under the portal's prefix.
pub fn routes<U: PortalUser>() -> Router<PortalState> {
    Router::new().route(&format!("{}/audit", U::PORTAL.prefix()), get(show::<U>))
}
