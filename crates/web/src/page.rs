//! The page layout, formatting helpers, security headers and HTML error pages.
//! maud escapes every interpolated value, so text from users renders as text.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use seccom_domain::auth::{Principal, Role};
use seccom_domain::error::DomainError;
use seccom_domain::values::FieldError;

use crate::assets;

/// Which portal a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Portal {
    /// For users of a client, at `/`.
    Client,
    /// For SecCom staff, at `/manage`.
    Manager,
}

impl Portal {
    /// The path every page of the portal starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Client => "",
            Self::Manager => "/manage",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Client => "SecCom client portal",
            Self::Manager => "SecCom manager portal",
        }
    }

    fn home(self) -> &'static str {
        match self {
            Self::Client => "/",
            Self::Manager => "/manage",
        }
    }

    /// The bar's link whose count of waiting intrusions the page script keeps
    /// current, and where it reads the count: the staff's alarm queue.
    pub fn counted_link(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Client => None,
            Self::Manager => Some(("/manage", "/manage/queue/count")),
        }
    }
}

/// Where sign-out goes: the portal's own route, which ends the ALB session.
pub const SIGN_OUT_PATH: &str = "/signout";

/// A whole page: navigation for the portal, then `body`.
pub fn layout(portal: Portal, title: &str, viewer: Option<&Principal>, nav: &[(&str, String)], body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (portal.name()) }
                link rel="stylesheet" href=(assets::css_url(portal));
                script src=(assets::js_url(portal)) defer {}
            }
            body {
                header.bar {
                    a.brand href=(portal.home()) { (portal.name()) }
                    @for (label, href) in nav {
                        a href=(href) { (label) }
                        @if let Some((_, count)) = portal.counted_link().filter(|(link, _)| link == href) {
                            span.nav-count data-count-url=(count) data-poll=(crate::live::POLL_SECONDS) title="Intrusions waiting" hidden {}
                        }
                    }
                    @if let Some(viewer) = viewer {
                        span.muted { (match viewer.role { Role::Admin => "staff", Role::Client(_) => "client user" }) }
                        a href=(format!("{}{SIGN_OUT_PATH}", portal.prefix())) { "Sign out" }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A time, shown in UTC until the page script turns it into the viewer's time zone.
pub fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) { (at.format("%Y-%m-%d %H:%M:%S UTC")) } }
}

/// An optional time, or a dash.
pub fn maybe_time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { span.muted { "–" } },
    }
}

/// The error next to a form field, if the field was refused.
pub fn field_error(errors: &[FieldError], name: &str) -> Markup {
    html! {
        @for error in errors.iter().filter(|e| e.name == name) {
            span.field-error role="alert" { (error.reason) }
        }
    }
}

/// A value as the API spells it (an enum's serde name), for form values and data attributes.
pub fn wire_name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A "next page" link keeping the list's filters.
pub fn next_page(path: &str, filters: &[(&str, String)], token: Option<&str>) -> Markup {
    let Some(token) = token else {
        return html! {};
    };
    let query: Vec<(&str, &str)> = filters
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, v.as_str()))
        .chain([("nextToken", token)])
        .collect();
    let href = format!("{path}?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    html! { nav.pages { a.button href=(href) { "Next page" } } }
}

/// An HTML error page.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    title: String,
    detail: String,
}

impl PageError {
    /// A page with this status, heading and explanation.
    pub fn new(status: StatusCode, title: &str, detail: &str) -> Self {
        Self {
            status,
            title: title.to_owned(),
            detail: detail.to_owned(),
        }
    }

    /// The page for paths no route serves.
    pub fn not_found(portal: Portal) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            &format!("There is nothing at this address. Start again from {}.", portal.home()),
        )
    }
}

impl From<DomainError> for PageError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("This {what} does not exist, or is not yours to see."),
            ),
            DomainError::Forbidden(reason) => Self::new(StatusCode::FORBIDDEN, "Not allowed", &reason),
            DomainError::Conflict(reason) => Self::new(StatusCode::CONFLICT, "Not possible now", &reason),
            DomainError::Invalid(errors) | DomainError::InvalidQuery(errors) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check the form",
                &errors
                    .iter()
                    .map(|e| format!("{}: {}", e.name, e.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DomainError::BadPageToken => Self::new(
                StatusCode::BAD_REQUEST,
                "This page link is not valid",
                "Open the list again from the start.",
            ),
            DomainError::TooMany { detail, .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "Too many at once", &detail)
            }
            DomainError::Unavailable { context, source } => {
                tracing::error!(context, error = %seccom_domain::error::chain(source.as_ref()), "a dependency failed");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "SecCom cannot answer right now. Try again in a moment.",
                )
            }
        }
    }
}

/// What an error page says, left on the answer for [`error_pages`] to lay out
/// in the portal's own style.
#[derive(Clone, Debug)]
struct ErrorPage {
    title: String,
    detail: String,
}

impl IntoResponse for PageError {
    /// A plain page that needs no stylesheet; inside a portal, [`error_pages`]
    /// replaces it with the portal's page.
    fn into_response(self) -> Response {
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) }
                }
                body {
                    h1 { (self.title) }
                    p { (self.detail) }
                }
            }
        };
        let mut response = (self.status, Html(page.into_string())).into_response();
        response.extensions_mut().insert(ErrorPage {
            title: self.title,
            detail: self.detail,
        });
        response
    }
}

/// Lays an error out as a page of `portal`: its bar, its stylesheet, and ways
/// on (the page before, the portal's start), never a dead end.
pub async fn error_pages(portal: Portal, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let Some(error) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let body = html! {
        div.error-page {
            h1 { (error.title) }
            p { (error.detail) }
            p {
                a.button href=(portal.home()) { "Back to the start" } " "
                a href=(portal.home()) data-action="back" hidden { "Back to the page before" }
            }
            p.muted { "Status " (response.status().as_u16()) }
        }
    };
    (
        response.status(),
        Html(layout(portal, &error.title, None, &[], body).into_string()),
    )
        .into_response()
}

/// Adds the headers every portal answer carries: a strict content security
/// policy (scripts and styles from the portal only, no framing), no sniffing,
/// no referrer across origins, and no caching of pages.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http://127.0.0.1:*; \
         media-src 'self' https: http://127.0.0.1:*; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}
