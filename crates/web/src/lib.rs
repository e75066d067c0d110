//! What both portals share: the page layout and formatting helpers, sign-in
//! through the ALB (the user is whoever the ALB's signed claims say), CSRF
//! protection of every form, security headers, the static assets, and HTML
//! error pages. Each portal is an axum `Router` built with [`portal`].

pub mod assets;
pub mod audit;
pub mod controls;
pub mod csrf;
pub mod escalation;
pub mod intrusion_page;
pub mod intrusions;
pub mod live;
pub mod page;
pub mod push;
mod state;
pub mod viewer;
pub mod views;

use axum::Router;
use axum::middleware;

pub use csrf::{CsrfToken, Form};
pub use page::{PageError, Portal};
pub use state::PortalState;
pub use viewer::{PortalUser, Signed, Viewer};

/// Wraps a portal's routes with its assets, CSRF protection, security headers and error pages.
pub fn portal(portal: Portal, routes: Router) -> Router {
    routes
        .merge(assets::routes(portal))
        .fallback(move || async move { PageError::not_found(portal) })
        .layer(middleware::from_fn(csrf::protect))
        .layer(middleware::from_fn(move |request, next| {
            page::error_pages(portal, request, next)
        }))
        .layer(middleware::from_fn(page::security_headers))
        .layer(middleware::from_fn(seccom_http::log_request))
        .layer(axum::extract::DefaultBodyLimit::max(seccom_http::MAX_BODY_BYTES))
}
