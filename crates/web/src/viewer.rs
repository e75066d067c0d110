//! Who is looking at a page: the user the ALB signed in (its `x-amzn-oidc-data`
//! and access token, verified), with an HTML page instead of a problem document
//! when there is none, and sign-out.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use seccom_domain::auth::Principal;
use seccom_domain::directory::Directory;
use seccom_http::auth::{AuthError, Authenticator};

use maud::Markup;

use crate::page::{PageError, Portal};

/// A signed-in user of one portal, as its pages need them.
pub trait PortalUser: Sized + Send + Sync + 'static {
    /// The portal the user is in.
    const PORTAL: Portal;
    /// The user, if the portal admits the viewer (else its readable refusal).
    fn of(viewer: Viewer) -> Result<Self, PageError>;
    /// Who the domain's use cases act for.
    fn principal(&self) -> &Principal;
    /// A whole page of the portal around `body`.
    fn page(&self, title: &str, body: Markup) -> Markup;
}

/// A portal's user, admitted by the portal's rules ([`PortalUser::of`]): a
/// handler taking `Signed<Staff>` runs only for SecCom staff.
pub struct Signed<U>(pub U);

impl<S, U> FromRequestParts<S> for Signed<U>
where
    S: Send + Sync,
    U: PortalUser,
    Arc<Authenticator>: FromRef<S>,
    Directory: FromRef<S>,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        U::of(viewer).map(Self)
    }
}

/// Whether this container has not yet recorded the sign-in of `subject` at
/// `signed_in_at`: the audit store records a session once anyway, this only
/// spares a write per page. Forgets everything past 10,000 sessions.
fn first_sight_of(subject: &str, signed_in_at: chrono::DateTime<chrono::Utc>) -> bool {
    static SEEN: std::sync::Mutex<std::collections::BTreeSet<(String, i64)>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if seen.len() > 10_000 {
        seen.clear();
    }
    seen.insert((subject.to_owned(), signed_in_at.timestamp()))
}

/// The signed-in user of a portal page.
pub struct Viewer(pub Principal);

impl<S> FromRequestParts<S> for Viewer
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
    Directory: FromRef<S>,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let authenticator = Arc::<Authenticator>::from_ref(state);
        match authenticator.authenticate_session(&parts.headers).await {
            Ok((principal, signed_in_at)) => {
                // The ALB's session cookie outlives a sign-out (Cognito's logout does not end
                // it), so a session that began before the user's last sign-out is refused here.
                let signed_out_at = Directory::from_ref(state).signed_out_at(&principal.subject).await?;
                if let (Some(out), Some(signed_in)) = (signed_out_at, signed_in_at)
                    && signed_in <= out
                {
                    return Err(PageError::new(
                        StatusCode::UNAUTHORIZED,
                        "You signed out",
                        "This session ended when you signed out. Open the portal's home page to sign in again.",
                    ));
                }
                if let Some(client) = principal.tenant()
                    && Directory::from_ref(state).find_client(client).await?.is_none()
                {
                    return Err(PageError::new(
                        StatusCode::FORBIDDEN,
                        "No access",
                        "Your company's account with SecCom was closed, and its records erased.",
                    ));
                }
                seccom_http::LogIdentity::record(&parts.extensions, &principal);
                let principal = principal.with_address(seccom_http::client_address(&parts.headers));
                if let Some(signed_in) = signed_in_at
                    && first_sight_of(&principal.subject, signed_in)
                {
                    Directory::from_ref(state)
                        .audit()
                        .record_sign_in(&principal, signed_in)
                        .await?;
                }
                Ok(Self(principal))
            }
            Err(AuthError::NoRole | AuthError::ClientErased) => Err(PageError::new(
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

/// Ends the session: every session of the user begun until now is refused from
/// now on, the ALB's cookies expire, and the browser goes to the identity
/// provider's sign-out.
pub async fn sign_out(directory: &Directory, viewer: Option<&Principal>, logout_url: &str) -> Response {
    if let Some(viewer) = viewer
        && let Err(error) = directory.record_sign_out(&viewer.subject, chrono::Utc::now()).await
    {
        tracing::error!(%error, "a sign-out could not be recorded; the session cookies still expire");
    }
    let mut response = Redirect::to(logout_url).into_response();
    for name in SESSION_COOKIES {
        let cookie = format!("{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
