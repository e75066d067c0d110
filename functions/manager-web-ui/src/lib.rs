//! The manager portal, at `/manage`: for SecCom staff (the ALB signs them in).
//! Clients, their sites, cameras and alarms with their health, every intrusion
//! across clients with its alarm activations and notifications. Every change
//! goes through the same domain use cases as the Sites Management API.

mod directory;
mod erasure;
mod queue;
mod recipients;
mod retention;

use aws_config::SdkConfig;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use maud::{Markup, html};
use seccom_domain::auth::{Principal, Role};
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::page::{PageQuery, PageRequest};
use seccom_web::page::{layout, next_page};
use seccom_web::views::{health_table, notification_table};
use seccom_web::{PageError, Portal, PortalState, PortalUser, Signed, Viewer};
use seccom_web::{controls, escalation};
use serde::Deserialize;

const PORTAL: Portal = Portal::Manager;

/// A signed-in SecCom staff member; anyone else gets a clear 403 page.
pub(crate) struct Staff(pub(crate) Principal);

impl PortalUser for Staff {
    const PORTAL: Portal = PORTAL;

    fn of(Viewer(principal): Viewer) -> Result<Self, PageError> {
        match principal.role {
            Role::Admin => Ok(Self(principal)),
            Role::Client(_) => Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This is the SecCom staff portal",
                "Your account belongs to a client. Your sites and intrusions are in the client portal at /.",
            )),
        }
    }

    fn principal(&self) -> &Principal {
        &self.0
    }

    fn page(&self, title: &str, body: Markup) -> Markup {
        page(self, title, body)
    }
}

pub(crate) fn page(staff: &Staff, title: &str, body: Markup) -> Markup {
    let nav = vec![
        ("Alarm queue", "/manage".to_owned()),
        ("Clients", "/manage/clients".to_owned()),
        ("Intrusions", "/manage/intrusions".to_owned()),
        ("Notifications", "/manage/notifications".to_owned()),
        ("Device health", "/manage/health".to_owned()),
        ("Audit", "/manage/audit".to_owned()),
        ("Erasures", "/manage/erasures".to_owned()),
    ];
    layout(PORTAL, title, Some(&staff.0), &nav, body)
}

/// `?nextToken=` of a list: the queue, clients, notifications, device health.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    next_token: Option<String>,
}

impl ListQuery {
    /// A page of 50 from the token.
    pub(crate) fn page(self) -> Result<PageRequest, PageError> {
        let query = PageQuery {
            limit: Some(50),
            next_token: self.next_token,
        };
        Ok(query.try_into()?)
    }
}

async fn notifications(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    Query(query): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let request = query.page()?;
    let found = state.responses.notifications(&staff.0, None, request).await?;
    Ok(page(
        &staff,
        "Notifications",
        html! {
            h1 { "Notifications sent" }
            (notification_table(&found.items))
            (next_page("/manage/notifications", &[], found.next_token.as_deref()))
        },
    ))
}

async fn health(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    Query(query): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let request = query.page()?;
    let found = state.responses.health_events(&staff.0, None, request).await?;
    Ok(page(
        &staff,
        "Device health",
        html! {
            h1 { "Device health" }
            p { "Cameras and alarms that went silent, reported a fault, or came back, across every client." }
            (health_table(&found.items))
            (next_page("/manage/health", &[], found.next_token.as_deref()))
        },
    ))
}

/// The portal's router, wired to the AWS services and settings given.
pub fn app(sdk: &SdkConfig, config: &Config) -> Result<Router, MissingSetting> {
    let state = PortalState::new(sdk, config)?;
    let erasures = state.erasures(sdk, config)?;
    let routes = Router::new()
        .route("/manage", get(queue::show))
        .route("/manage/queue/count", get(queue::count))
        .route(
            "/manage/clients",
            get(directory::clients).post(directory::create_client),
        )
        .route(
            "/manage/clients/{id}",
            get(directory::client).post(directory::update_client),
        )
        .route("/manage/clients/{id}/delete", post(directory::delete_client))
        .route("/manage/clients/{id}/erase", post(erasure::erase_client))
        .route("/manage/sites/{id}/erase", post(erasure::erase_site))
        .route("/manage/devices/{id}/erase", post(erasure::erase_device))
        .route("/manage/erasures", get(erasure::jobs))
        .route("/manage/erasures/{id}", get(erasure::job))
        .route("/manage/clients/{id}/recipients/verify", post(recipients::verify))
        .route("/manage/clients/{id}/retention", post(retention::save))
        .route("/manage/clients/{id}/sites", post(directory::create_site))
        .route("/manage/sites/{id}", get(directory::site))
        .route("/manage/sites/{id}/delete", post(directory::delete_site))
        .route("/manage/sites/{id}/devices", post(directory::register_device))
        .merge(controls::routes::<Staff>())
        .merge(escalation::routes::<Staff>())
        .merge(seccom_web::audit::routes::<Staff>())
        .merge(seccom_web::push::routes::<Staff>())
        .merge(seccom_web::intrusions::routes::<Staff>())
        .route("/manage/devices/{id}/rename", post(directory::rename_device))
        .route("/manage/devices/{id}/remove", post(directory::remove_device))
        .route("/manage/notifications", get(notifications))
        .route("/manage/health", get(health))
        .layer(axum::Extension(erasures))
        .with_state(state);
    Ok(seccom_web::portal(PORTAL, routes))
}
