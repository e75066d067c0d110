//! Who is looking at a page: the user the ALB signed in (its `x-amzn-oidc-data`
//! and access token, verified), with an HTML page instead of a problem document
//! when there is none, and sign-out.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use seccom_domain::auth::{AuthError, Authenticator, Principal};

use crate::page::PageError;

/// The signed-in user of a portal page.
pub struct Viewer(pub Principal);

impl<S> FromRequestParts<S> for Viewer
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let authenticator = Arc::<Authenticator>::from_ref(state);
        match authenticator.authenticate(&parts.headers).await {
            Ok(principal) => {
                seccom_domain::http::LogIdentity::record(&parts.extensions, &principal);
                Ok(Self(principal))
            }
            Err(AuthError::NoRole) => Err(PageError::new(
                StatusCode::FORBIDDEN,
                "No access",
                "You are signed in, but your account has no SecCom role. Ask SecCom to give you access.",
            )),
            Err(AuthError::Unavailable { what, source }) => {
                tracing::error!(what, error = %source, "cannot verify the signed-in user");
                Err(PageError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "Signing in cannot be checked right now. Try again in a moment.",
                ))
            }
            Err(error) => {
                tracing::info!(%error, "a portal request was not signed in");
                Err(PageError::new(
                    StatusCode::UNAUTHORIZED,
                    "Please sign in",
                    "This page is for signed-in users. Open the portal's home page to sign in.",
                ))
            }
        }
    }
}

/// The ALB's session cookies (it splits large sessions into shards 0 to 3).
const SESSION_COOKIES: [&str; 4] = [
    "AWSELBAuthSessionCookie-0",
    "AWSELBAuthSessionCookie-1",
    "AWSELBAuthSessionCookie-2",
    "AWSELBAuthSessionCookie-3",
];

/// Ends the ALB session (its cookies expire) and sends the browser to the identity provider's sign-out.
pub fn sign_out(logout_url: &str) -> Response {
    let mut response = Redirect::to(logout_url).into_response();
    for name in SESSION_COOKIES {
        let cookie = format!("{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
