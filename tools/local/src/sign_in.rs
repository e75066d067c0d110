//! The `authenticate-cognito` step of the ALB stand-in. In AWS the ALB sends
//! an unauthenticated browser to Cognito's sign-in page, keeps the session in
//! its `AWSELBAuthSessionCookie` and forwards each request with the user's
//! claims signed by the ALB (`x-amzn-oidc-data`) and Cognito's access token.
//! Locally the stand-in does the same with a sign-in page of its own, where a
//! developer picks SecCom staff or a user of one of the clients, and the local
//! identity provider's keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use seccom_domain::auth::{Principal, Role};
use seccom_domain::directory::Directory;
use seccom_domain::ids::ClientId;
use seccom_domain::page::PageRequest;
use serde::Deserialize;

use super::LOAD_BALANCER_ARN;
use crate::idp::{LocalIdp, LocalUser};

/// The session cookie, named as the ALB names it.
pub const SESSION_COOKIE: &str = "AWSELBAuthSessionCookie-0";
/// Where the stand-in's sign-in page is.
pub const SIGN_IN_PATH: &str = "/oauth2/sign-in";
/// Where portals send the browser to sign out (their `AUTH_LOGOUT_URL` locally).
pub const SIGN_OUT_PATH: &str = "/oauth2/sign-out";

/// Signed-in browsers, by session cookie.
pub struct LocalSignIn {
    idp: LocalIdp,
    directory: Directory,
    /// Each session's user and when they signed in (the `auth_time` of its tokens).
    sessions: Mutex<HashMap<String, (LocalUser, i64)>>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The session cookie's value.
fn session_of(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
}

/// Only paths of this site may be returned to after sign-in: relative, one
/// leading slash, nothing a browser might read as another host (`//`, `\\`,
/// tabs and other whitespace or control characters), and a valid path.
fn safe_return(path: Option<&str>) -> String {
    match path {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control())
                && path.parse::<axum::http::uri::PathAndQuery>().is_ok() =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The cookie holding the sign-in form's CSRF token (double submit).
const CSRF_COOKIE: &str = "seccom-local-sign-in-csrf";

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut bytes)
        .expect("the system random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_owned())
}

/// The headers every page of the stand-in carries, as the portals' do.
fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default)]
    redirect: Option<String>,
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    redirect: Option<String>,
    #[serde(default)]
    csrf: String,
}

impl LocalSignIn {
    /// Sign-in with the identity provider's keys, offering the clients of `directory`.
    pub fn new(idp: LocalIdp, directory: Directory) -> Arc<Self> {
        Arc::new(Self {
            idp,
            directory,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// The signed-in user of a request, if its session cookie is known.
    pub fn user(&self, headers: &HeaderMap) -> Option<(LocalUser, i64)> {
        let session = session_of(headers)?;
        self.sessions.lock().expect("the session lock").get(&session).cloned()
    }

    /// Replaces whatever claims headers the browser sent with the ALB's, for `user`.
    pub fn sign(&self, (user, signed_in_at): &(LocalUser, i64), headers: &mut HeaderMap) {
        let forged: Vec<HeaderName> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("x-amzn-oidc-"))
            .cloned()
            .collect();
        for name in forged {
            headers.remove(name);
        }
        let mut claims = self.idp.claims(user, "access");
        claims["auth_time"] = (*signed_in_at).into();
        let access = self.idp.sign(&claims);
        let values = [
            ("x-amzn-oidc-data", self.idp.alb_user_claims(user, LOAD_BALANCER_ARN)),
            ("x-amzn-oidc-accesstoken", access),
            ("x-amzn-oidc-identity", user.subject.clone()),
        ];
        for (name, value) in values {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }

    /// Where an unauthenticated browser is sent first.
    pub fn sign_in_redirect(path_and_query: &str) -> Response {
        let query = serde_urlencoded::to_string([("redirect", path_and_query)]).unwrap_or_default();
        Redirect::to(&format!("{SIGN_IN_PATH}?{query}")).into_response()
    }

    /// The sign-in and sign-out pages.
    pub fn routes(self: Arc<Self>) -> Router {
        Router::new()
            .route(SIGN_IN_PATH, get(page).post(sign_in))
            .route(SIGN_OUT_PATH, get(sign_out))
            .with_state(self)
    }
}

async fn page(State(sign_in): State<Arc<LocalSignIn>>, Query(query): Query<SignInQuery>) -> Response {
    let staff = Principal {
        subject: "local-sign-in".into(),
        role: Role::Admin,
        email: None,
        address: None,
    };
    let request = PageRequest {
        limit: seccom_domain::page::MAX_LIMIT,
        token: None,
    };
    let clients = match sign_in.directory.list_clients(&staff, request).await {
        Ok(page) => page.items,
        Err(error) => {
            tracing::warn!(%error, "the sign-in page cannot list clients");
            Vec::new()
        }
    };
    let options: String = clients
        .iter()
        .map(|c| {
            format!(
                "<option value=\"client:{}\">A user of {}</option>",
                c.id,
                escape(c.name.as_str())
            )
        })
        .collect();
    let redirect = escape(&safe_return(query.redirect.as_deref()));
    let token = random_token();
    let mut response = Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign in · SecCom (local)</title></head><body>\
         <h1>Sign in</h1><p>The local stand-in for Cognito's sign-in page: choose who you are.</p>\
         <form method=\"post\" action=\"{SIGN_IN_PATH}\"><input type=\"hidden\" name=\"redirect\" value=\"{redirect}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <label>Account <select name=\"account\"><option value=\"admin\">SecCom staff (admin)</option>{options}</select></label> \
         <button type=\"submit\">Sign in</button></form></body></html>"
    ))
    .into_response();
    let cookie = format!("{CSRF_COOKIE}={token}; Path={SIGN_IN_PATH}; HttpOnly; Secure; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    secured(response)
}

async fn sign_in(
    State(sign_in): State<Arc<LocalSignIn>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SignInForm>,
) -> Response {
    let expected = cookie_value(&headers, CSRF_COOKIE).unwrap_or_default();
    let matches = !expected.is_empty()
        && aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), form.csrf.as_bytes()).is_ok();
    if !matches {
        return secured(
            (
                axum::http::StatusCode::FORBIDDEN,
                "the sign-in form expired; open it again",
            )
                .into_response(),
        );
    }
    let user = match form.account.strip_prefix("client:") {
        None if form.account == "admin" => LocalUser::admin(),
        Some(client) => match client.parse::<ClientId>() {
            Ok(client) => LocalUser::client(client),
            Err(_) => return (axum::http::StatusCode::BAD_REQUEST, "unknown account").into_response(),
        },
        None => return (axum::http::StatusCode::BAD_REQUEST, "unknown account").into_response(),
    };
    let session = random_token();
    sign_in
        .sessions
        .lock()
        .expect("the session lock")
        .insert(session.clone(), (user, chrono::Utc::now().timestamp()));
    let mut response = Redirect::to(&safe_return(form.redirect.as_deref())).into_response();
    let cookie = format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; Secure; SameSite=Lax");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    secured(response)
}

async fn sign_out(State(sign_in): State<Arc<LocalSignIn>>, headers: HeaderMap) -> Response {
    if let Some(session) = session_of(&headers) {
        sign_in.sessions.lock().expect("the session lock").remove(&session);
    }
    secured(
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out · SecCom (local)</title></head>\
             <body><h1>You are signed out</h1>\
             <p><a href=\"{SIGN_IN_PATH}?redirect=/\">Sign in again</a></p></body></html>"
        ))
        .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return(Some("/intrusions?x=1")), "/intrusions?x=1");
        assert_eq!(safe_return(Some("//evil.example/")), "/");
        assert_eq!(safe_return(Some("https://evil.example/")), "/");
        assert_eq!(safe_return(Some("/\t/evil.example")), "/", "a tab browsers drop");
        assert_eq!(safe_return(Some("/\\evil.example")), "/");
        assert_eq!(safe_return(Some("/a\r\nSet-Cookie: x=1")), "/", "no header splitting");
        assert_eq!(safe_return(None), "/");
    }
}
