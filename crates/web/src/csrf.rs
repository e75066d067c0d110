//! CSRF protection for every form, without server-side state: a random token
//! lives in a `SameSite=Strict`, `HttpOnly` cookie and is repeated in a hidden
//! field of each form (double submit). A state-changing request must carry both,
//! equal, and must not come from another site (`Sec-Fetch-Site`, `Origin`).

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::de::DeserializeOwned;

use crate::page::PageError;

/// The cookie holding the token.
pub const COOKIE: &str = "seccom-csrf";
/// The form field repeating it.
pub const FIELD: &str = "csrf";

/// This request's token, for the hidden field of the forms a page renders.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

impl CsrfToken {
    /// The hidden field every form carries.
    pub fn field(&self) -> maud::Markup {
        maud::html! { input type="hidden" name=(FIELD) value=(self.0); }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .unwrap_or_else(|| CsrfToken(String::new())))
    }
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut bytes)
        .expect("the system random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn is_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses requests from other sites by the browser's own headers.
fn same_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if text("sec-fetch-site").is_some_and(|site| site == "cross-site") {
        return false;
    }
    match (text("origin"), text("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

fn refused(reason: &str) -> Response {
    tracing::warn!(reason, "a form submission was refused as a possible cross-site request");
    PageError::new(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this portal, or it has expired. Go back, reload the page and try again.",
    )
    .into_response()
}

/// The middleware: issues the token, and checks it on every state-changing request.
pub async fn protect(request: Request, next: Next) -> Response {
    let presented_cookie = cookie(request.headers(), COOKIE).filter(|v| is_token(v));
    let token = presented_cookie.clone().unwrap_or_else(new_token);
    let mut request = request;
    if changes_state(request.method()) {
        if !same_site(request.headers()) {
            return refused("cross-site origin");
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, seccom_http::MAX_BODY_BYTES).await else {
            return PageError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much data",
                "The form sent more than 1 MB.",
            )
            .into_response();
        };
        let field = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
        match (&presented_cookie, field) {
            (Some(expected), Some(field))
                if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), field.as_bytes()).is_ok() => {
            }
            _ => return refused("missing or mismatched token"),
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    if presented_cookie.is_none() {
        let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict");
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A form body, decoded into `T`; a body that does not fit is a readable error page.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, PageError> {
        let bytes = to_bytes(request.into_body(), seccom_http::MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                PageError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Too much data",
                    "The form sent more than 1 MB.",
                )
            })?;
        serde_urlencoded::from_bytes(&bytes).map(Self).map_err(|e| {
            PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The form could not be read",
                &format!("Go back and check the form: {e}."),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_sites_are_told_apart_from_this_one() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, v.parse().unwrap());
            }
            map
        };
        assert!(same_site(&headers(&[
            ("host", "a.example"),
            ("origin", "https://a.example")
        ])));
        assert!(!same_site(&headers(&[
            ("host", "a.example"),
            ("origin", "https://evil.example")
        ])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(same_site(&headers(&[])));
        assert!(is_token(&new_token()) && !is_token("short"));
    }
}
