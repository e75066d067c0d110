//! `/preferences`: who is told about an intrusion, by which channel, and for
//! which sites. One row per recipient with its confirmation status; blank rows
//! add recipients, a ticked Remove (or a cleared address) removes one. Refused
//! rows show their error next to the field. The webhook secret appears by its
//! last characters; rotating it shows the new one once.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use seccom_domain::directory::Site;
use seccom_domain::error::DomainError;
use seccom_domain::response::{
    NotificationPreferences, PreferencesBody, PreferencesView, Recipient, RecipientStatus, RotatedWebhookSecret,
};
use seccom_domain::values::FieldError;
use seccom_web::page::{field_error, time, wire_name};
use seccom_web::{CsrfToken, Form, PageError, PortalState, Signed};

use crate::{ClientUser, page};

/// Blank rows offered for new recipients.
const BLANK_ROWS: usize = 2;

/// One row of the form, as typed.
#[derive(Clone, Debug, Default)]
struct Row {
    role: String,
    channel: String,
    address: String,
    site_id: String,
    /// As saved; `None` for rows not saved yet.
    status: Option<RecipientStatus>,
    /// Ticked to remove the recipient on saving.
    remove: bool,
}

/// What a recipient's status means to the person reading the form.
fn status_text(status: RecipientStatus) -> &'static str {
    match status {
        RecipientStatus::AwaitingConfirmation => {
            "Awaiting confirmation: we sent this address a link (a webhook: a signed challenge to POST back). \
             Nothing is sent to it until it confirms."
        }
        RecipientStatus::Confirmed => "Confirmed by the recipient.",
        RecipientStatus::VerifiedByStaff => "Verified by SecCom.",
    }
}

const ROLES: [(&str, &str); 3] = [
    ("client", "Us"),
    ("buildingAdministrator", "Building administrator"),
    ("police", "Police"),
];
const CHANNELS: [(&str, &str); 3] = [("email", "E-mail"), ("sms", "SMS"), ("webhook", "Webhook (URL)")];

impl From<&Recipient> for Row {
    fn from(recipient: &Recipient) -> Self {
        Self {
            role: wire_name(recipient.role),
            channel: wire_name(recipient.channel),
            address: recipient.address.clone(),
            site_id: recipient.site_id.map(|s| s.to_string()).unwrap_or_default(),
            status: Some(recipient.status),
            remove: false,
        }
    }
}

fn form(
    csrf: &CsrfToken,
    sites: &[Site],
    rows: &[Row],
    errors: &[FieldError],
    secret: &PreferencesView,
    push_key: &str,
) -> Markup {
    html! {
        h1 { "Who is told about an intrusion" }
        p { "Each row is one recipient; tick Remove (or empty its address) to take one off. A new address is sent \
            a link to confirm first; SecCom staff can verify police and building administrators for you." }
        form.stack method="post" action="/preferences" {
            (csrf.field())
            @for (index, row) in rows.iter().enumerate() {
                fieldset {
                    legend { "Recipient " (index + 1) }
                    @if let Some(status) = row.status {
                        p.recipient-status data-status=(wire_name(status)) { (status_text(status)) }
                    }
                    label { "Who"
                        select name="role" {
                            @for (value, label) in ROLES { option value=(value) selected[row.role == value] { (label) } }
                        }
                    }
                    label { "How"
                        select name="channel" {
                            @for (value, label) in CHANNELS { option value=(value) selected[row.channel == value] { (label) } }
                        }
                    }
                    label { "Address, phone number or URL"
                        input type="text" name="address" value=(row.address) autocomplete="off";
                        (field_error(errors, &format!("rows[{index}].address")))
                        (field_error(errors, &format!("rows[{index}].siteId")))
                    }
                    label { "For"
                        select name="siteId" {
                            option value="" { "Every site" }
                            @for site in sites { option value=(site.id) selected[row.site_id == site.id.to_string()] { (site.name.as_str()) } }
                        }
                    }
                    @if row.status.is_some() {
                        label.check { input type="checkbox" name="remove" value="yes" checked[row.remove]; " Remove this recipient" }
                    }
                }
            }
            (field_error(errors, "recipients"))
            button type="submit" { "Save" }
        }
        (webhook_section(csrf, secret))
        h2 { "This browser" }
        (seccom_web::push::opt_in(seccom_web::Portal::Client, push_key, csrf))
    }
}

/// How webhook calls are signed, which secret signs them (by its last
/// characters), and the button that replaces it.
fn webhook_section(csrf: &CsrfToken, view: &PreferencesView) -> Markup {
    html! {
        h2 { "Webhooks" }
        p { "Each webhook call is signed: " code { "X-SecCom-Signature: v1=<hex>" } " is HMAC-SHA256 over "
            code { "<X-SecCom-Timestamp>.<body>" } " with your webhook secret." }
        p.secret-hint { "Current secret: " code { (view.webhook_secret_hint) }
            @if let Some(at) = view.webhook_secret_rotated_at { ", issued " (time(at)) } }
        @if let Some(until) = view.retiring_secret_valid_until {
            p.muted { "Until " (time(until)) " each call also carries a second signature made with the secret it replaced." }
        }
        form.inline method="post" action="/preferences/webhook-secret"
            data-confirm="Issue a new webhook secret? It is shown once; the current one keeps signing beside it for a day." {
            (csrf.field())
            button type="submit" { "Issue a new secret" }
        }
    }
}

/// Replaces the webhook secret and shows the new one, this once.
pub(crate) async fn rotate(
    State(state): State<PortalState>,
    Signed(user): Signed<ClientUser>,
) -> Result<Markup, PageError> {
    let RotatedWebhookSecret {
        webhook_secret,
        retiring_secret_valid_until,
    } = state
        .responses
        .rotate_webhook_secret(&user.principal, user.client)
        .await?;
    Ok(page(
        &user,
        "New webhook secret",
        html! {
            h1 { "New webhook secret" }
            p { strong { "Copy the secret now: it is shown only once." } }
            p.secret { code { (webhook_secret) } }
            p { "Put it in your receiver. Until " (time(retiring_secret_valid_until)) " each call carries two                 signatures, " code { "v1=<new>, v1=<old>" } ": accept a call when either matches, and nothing is                 refused while you switch." }
            p { a href="/preferences" { "Back to notifications" } }
        },
    ))
}

fn rows_of(preferences: &NotificationPreferences) -> Vec<Row> {
    let mut rows: Vec<Row> = preferences.recipients.iter().map(Row::from).collect();
    rows.extend(std::iter::repeat_n(Row::default(), BLANK_ROWS));
    rows
}

/// Shows the preferences.
pub(crate) async fn show(
    State(state): State<PortalState>,
    Signed(user): Signed<ClientUser>,
    csrf: CsrfToken,
) -> Result<Markup, PageError> {
    let preferences = state.responses.preferences(&user.principal, user.client).await?;
    let sites = state.all_sites(&user.principal, Some(user.client)).await?;
    Ok(page(
        &user,
        "Notifications",
        form(
            &csrf,
            &sites,
            &rows_of(&preferences),
            &[],
            &state.responses.view(&preferences),
            &state.push.public_key().await?,
        ),
    ))
}

/// Reads the rows in the order the form sent them (each row sends its four fields in order).
fn rows_from(pairs: Vec<(String, String)>) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for (key, value) in pairs {
        match key.as_str() {
            "role" => rows.push(Row {
                role: value,
                ..Row::default()
            }),
            "channel" | "address" | "siteId" | "remove" => {
                if let Some(row) = rows.last_mut() {
                    match key.as_str() {
                        "channel" => row.channel = value,
                        "address" => row.address = value,
                        "remove" => row.remove = true,
                        _ => row.site_id = value,
                    }
                }
            }
            _ => {}
        }
    }
    rows
}

fn parse_row(row: &Row) -> Result<Recipient, String> {
    let json = serde_json::json!({
        "role": row.role,
        "channel": row.channel,
        "address": row.address,
        "siteId": if row.site_id.is_empty() { serde_json::Value::Null } else { row.site_id.clone().into() },
    });
    serde_json::from_value(json).map_err(|_| "choose who, how and which site from the lists".to_owned())
}

/// Saves the preferences, or shows the form again with each problem next to its row.
pub(crate) async fn save(
    State(state): State<PortalState>,
    Signed(user): Signed<ClientUser>,
    csrf: CsrfToken,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let rows: Vec<Row> = rows_from(pairs)
        .into_iter()
        .filter(|r| !r.remove && !r.address.trim().is_empty())
        .collect();
    let mut errors = Vec::new();
    let mut status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    let mut recipients = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match parse_row(row) {
            Ok(recipient) => recipients.push(recipient),
            Err(reason) => errors.push(FieldError {
                name: format!("rows[{index}].address"),
                reason,
            }),
        }
    }
    if errors.is_empty() {
        match state
            .responses
            .set_preferences(&user.principal, user.client, PreferencesBody { recipients })
            .await
        {
            Ok(_) => return Ok(Redirect::to("/preferences").into_response()),
            Err(DomainError::Invalid(found)) => errors = found.into_iter().map(row_error).collect(),
            Err(DomainError::TooMany { detail, .. }) => {
                status = axum::http::StatusCode::TOO_MANY_REQUESTS;
                errors.push(FieldError {
                    name: "recipients".into(),
                    reason: detail,
                });
            }
            Err(other) => return Err(other.into()),
        }
    }
    let current = state.responses.preferences(&user.principal, user.client).await?;
    let sites = state.all_sites(&user.principal, Some(user.client)).await?;
    let mut shown = rows;
    shown.extend(std::iter::repeat_n(Row::default(), BLANK_ROWS));
    let push_key = state.push.public_key().await?;
    let body = form(
        &csrf,
        &sites,
        &shown,
        &errors,
        &state.responses.view(&current),
        &push_key,
    );
    Ok((status, page(&user, "Notifications", body)).into_response())
}

/// Maps the use case's `recipients[i].field` names onto the form's rows.
fn row_error(error: FieldError) -> FieldError {
    FieldError {
        name: error.name.replacen("recipients[", "rows[", 1),
        reason: error.reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_back_in_form_order() {
        let pairs = [
            ("csrf", "t"),
            ("role", "client"),
            ("channel", "email"),
            ("address", "a@b.example"),
            ("siteId", ""),
            ("role", "police"),
            ("channel", "sms"),
            ("address", "+441234567890"),
            ("siteId", "x"),
            ("remove", "yes"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec();
        let rows = rows_from(pairs);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].address, "+441234567890");
        assert_eq!(rows[1].site_id, "x");
        assert!(!rows[0].remove && rows[1].remove, "the tick belongs to its own row");
        assert!(parse_row(&rows[0]).is_ok());
        assert_eq!(
            parse_row(&rows[1]).unwrap_err(),
            "choose who, how and which site from the lists"
        );
    }
}
