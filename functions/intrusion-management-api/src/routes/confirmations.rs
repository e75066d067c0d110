//! `/api/recipient-confirmations/{token}`: the link a new recipient is sent.
//! It needs no account: the token is the proof. `GET` shows a page with one
//! button (so a mail scanner that opens links confirms nothing) and `POST`
//! confirms; a webhook answering its challenge POSTs the link and reads JSON.
//! And `/api/clients/{clientId}/recipients/verify`: staff vouch for a recipient.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use seccom_domain::error::DomainError;
use seccom_domain::ids::ClientId;
use seccom_domain::response::{PreferencesView, Recipient, Responses, VerifyBody, is_confirmation_token};
use seccom_http::{ApiError, Caller, JsonBody, PathId};

/// Only the page's own form may post, and nothing else loads.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · SecCom" }
                style { "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem}" }
            }
            body { h1 { (title) } (body) }
        }
    };
    let mut response = (status, markup).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    response
}

fn not_a_link() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "This link does not work",
        html! { p { "It was used already, it expired (links work for 7 days), or the recipient was removed. Ask the person who added you to add you again." } },
    )
}

/// Shows the confirmation page: what confirming means, and one button.
#[utoipa::path(get, path = "/api/recipient-confirmations/{token}", tag = "notifications", security(()),
    params(("token" = String, Path, description = "The token of the link the recipient was sent", max_length = 128)),
    responses(
        (status = 200, description = "A page with a button that confirms", content_type = "text/html", body = String),
        (status = 404, description = "Not a link SecCom sends", content((String = "text/html"), (ApiError = "application/problem+json"))),
    ))]
pub(crate) async fn show(PathId(token): PathId<String>) -> Response {
    if !is_confirmation_token(&token) {
        return not_a_link();
    }
    page(
        StatusCode::OK,
        "Confirm intrusion alerts",
        html! {
            p { "Someone asked SecCom to send intrusion alerts for their premises to you. Confirm only if you expect them." }
            form method="post" action={ "/api/recipient-confirmations/" (token) } {
                button type="submit" { "Confirm" }
            }
            p { "If you did not expect this, close this page: nothing will be sent to you." }
        },
    )
}

/// Confirms the recipient the link was sent to. Works once, within 7 days, and
/// only while the recipient is listed; answers a page to a browser, JSON otherwise.
#[utoipa::path(post, path = "/api/recipient-confirmations/{token}", tag = "notifications", security(()),
    params(("token" = String, Path, description = "The token of the link the recipient was sent", max_length = 128)),
    responses(
        (status = 200, description = "The recipient, now confirmed", body = Recipient),
        (status = 404, description = "No such link, or it was used, expired or its recipient removed (a page to a browser)",
            content((ApiError = "application/problem+json"), (String = "text/html"))),
    ))]
pub(crate) async fn confirm(
    State(responses): State<Responses>,
    headers: HeaderMap,
    PathId(token): PathId<String>,
) -> Result<Response, ApiError> {
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    match responses.confirm_recipient(&token).await {
        Ok(recipient) if wants_page => Ok(page(
            StatusCode::OK,
            "Confirmed",
            html! { p { "SecCom will send intrusion alerts to " strong { (recipient.address) } "." } },
        )),
        Ok(recipient) => Ok(Json(recipient).into_response()),
        Err(DomainError::NotFound(_)) if wants_page => Ok(not_a_link()),
        Err(error) => Err(error.into()),
    }
}

/// Marks a recipient of a client verified (staff only): police and building
/// administrators whose address staff checked are notified without confirming.
#[utoipa::path(post, path = "/api/clients/{clientId}/recipients/verify", tag = "notifications",
    request_body = VerifyBody,
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 200, description = "The preferences, with the recipient verified", body = PreferencesView)))]
pub(crate) async fn verify(
    State(responses): State<Responses>,
    Caller(who): Caller,
    PathId(client): PathId<ClientId>,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Json<PreferencesView>, ApiError> {
    let preferences = responses.verify_recipient(&who, client, body).await?;
    Ok(Json(responses.view(&preferences)))
}
