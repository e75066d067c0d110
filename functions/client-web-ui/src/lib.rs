//! The client portal, at `/`: for users of one client (the ALB signs them in).
//! Their sites with cameras and alarms and their state, their intrusions with
//! the snapshot and the clip, acknowledging and resolving, and who is told
//! about intrusions. Every read and change goes through the same domain use
//! cases as the APIs, so tenant isolation is the domain's, not the page's.

mod preferences;

use aws_config::SdkConfig;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use maud::{Markup, html};
use seccom_domain::auth::{Principal, Role};
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::directory::{Device, DeviceKind};
use seccom_domain::ids::ClientId;
use seccom_domain::page::PageRequest;
use seccom_web::page::{layout, maybe_time};
use seccom_web::views::health_table;
use seccom_web::{CsrfToken, PageError, Portal, PortalState, PortalUser, Signed, Viewer};
use seccom_web::{controls, escalation};

const PORTAL: Portal = Portal::Client;

/// A signed-in user of a client: staff are sent to their own portal.
pub(crate) struct ClientUser {
    pub(crate) principal: Principal,
    pub(crate) client: ClientId,
}

impl PortalUser for ClientUser {
    const PORTAL: Portal = PORTAL;

    fn of(Viewer(principal): Viewer) -> Result<Self, PageError> {
        match principal.role {
            Role::Client(client) => Ok(Self { principal, client }),
            Role::Admin => Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This is the client portal",
                "SecCom staff use the manager portal at /manage.",
            )),
        }
    }

    fn principal(&self) -> &Principal {
        &self.principal
    }

    fn page(&self, title: &str, body: Markup) -> Markup {
        page(self, title, body)
    }
}

pub(crate) fn nav() -> Vec<(&'static str, String)> {
    vec![
        ("Sites", "/".to_owned()),
        ("Intrusions", "/intrusions".to_owned()),
        ("Notifications", "/preferences".to_owned()),
        ("Audit", "/audit".to_owned()),
    ]
}

pub(crate) fn page(user: &ClientUser, title: &str, body: Markup) -> Markup {
    layout(PORTAL, title, Some(&user.principal), &nav(), body)
}

fn device_rows(devices: &[Device]) -> Markup {
    html! {
        @for device in devices {
            @let state = format!("{:?}", device.state).to_lowercase();
            tr {
                td data-label="Name" {
                    @if device.kind == DeviceKind::Camera {
                        a href=(format!("/cameras/{}", device.id)) title="Zones and masks" { (device.name.as_str()) }
                    } @else { (device.name.as_str()) }
                }
                td data-label="Kind" { (device.kind.noun()) }
                td data-label="State" { span class=(format!("state-{state}")) { (state) } }
                td data-label="Last seen" { (maybe_time(device.last_seen_at)) }
            }
        }
    }
}

/// Writes the client's records and links to them (a form may not redirect
/// to another origin under the portal's content security policy).
async fn export(State(state): State<PortalState>, Signed(user): Signed<ClientUser>) -> Result<Markup, PageError> {
    let link = state.exports.export(&user.principal, user.client).await?;
    Ok(page(
        &user,
        "Your records",
        html! {
            h1 { "Your records are ready" }
            p { a.export href=(link.url) download="seccom-records.json" { "Download seccom-records.json" } }
            p.muted { "The link, and the links to footage inside the file, work until " (maybe_time(Some(link.expires_at)))
                ". Download again from the home page for fresh ones." }
            p { a href="/" { "Back to your sites" } }
        },
    ))
}

async fn overview(
    State(state): State<PortalState>,
    Signed(user): Signed<ClientUser>,
    csrf: CsrfToken,
) -> Result<Markup, PageError> {
    let sites = state.all_sites(&user.principal, Some(user.client)).await?;
    let mut sections = Vec::with_capacity(sites.len());
    for site in &sites {
        let devices = state.site_devices(&user.principal, site.id).await?;
        sections.push(html! {
            h2 { (site.name.as_str()) }
            p.muted { (site.address.as_str()) " · " a href=(format!("/intrusions?siteId={}", site.id)) { "Intrusions at this site" }
                " · " a href=(format!("/sites/{}/arming", site.id)) { "Arming" }
                " · " a href=(format!("/sites/{}/escalation", site.id)) { "Escalation" } }
            table.list {
                thead { tr { th { "Name" } th { "Kind" } th { "State" } th { "Last seen" } } }
                tbody { (device_rows(&devices)) }
            }
        });
    }
    let recent = PageRequest { limit: 10, token: None };
    let alerts = state
        .responses
        .health_events(&user.principal, Some(user.client), recent)
        .await?;
    Ok(page(
        &user,
        "Your sites",
        html! {
            h1 { "Your sites" }
            @if sites.is_empty() { p.muted { "SecCom has not registered any site for you yet." } }
            @for section in sections { (section) }
            h2 { "Device alerts" }
            (health_table(&alerts.items))
            h2 { "Your records" }
            p { "Download everything SecCom keeps about you: sites, devices, intrusions with links to their \
                footage, notifications, settings and the audit trail, as one JSON file. The links work for 15 minutes." }
            form.inline method="post" action="/export" {
                (csrf.field())
                button type="submit" { "Download our records" }
            }
        },
    ))
}

/// The portal's router, wired to the AWS services and settings given.
pub fn app(sdk: &SdkConfig, config: &Config) -> Result<Router, MissingSetting> {
    let state = PortalState::new(sdk, config)?.saving_preferences(sdk, config)?;
    let routes = Router::new()
        .route("/", get(overview))
        .route("/preferences", get(preferences::show).post(preferences::save))
        .route("/preferences/webhook-secret", post(preferences::rotate))
        .route("/export", post(export))
        .merge(controls::routes::<ClientUser>())
        .merge(escalation::routes::<ClientUser>())
        .merge(seccom_web::audit::routes::<ClientUser>())
        .merge(seccom_web::push::routes::<ClientUser>())
        .merge(seccom_web::intrusions::routes::<ClientUser>())
        .with_state(state);
    Ok(seccom_web::portal(PORTAL, routes))
}
