//! A client's recipients on its page, with their confirmation status, and
//! staff vouching for one (police, building administrators whose number or
//! address they checked), so it is told without confirming a link.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use seccom_domain::ids::ClientId;
use seccom_domain::response::{Channel, NotificationPreferences, RecipientStatus, VerifyBody};
use seccom_web::page::wire_name;
use seccom_web::{CsrfToken, Form, PageError, PortalState, Signed};
use serde::Deserialize;

use crate::Staff;

fn status_label(status: RecipientStatus) -> &'static str {
    match status {
        RecipientStatus::AwaitingConfirmation => "Awaiting confirmation (told nothing yet)",
        RecipientStatus::Confirmed => "Confirmed by the recipient",
        RecipientStatus::VerifiedByStaff => "Verified by SecCom",
    }
}

/// The "Who is told" section of a client's page.
pub(crate) fn section(client: ClientId, preferences: &NotificationPreferences, csrf: &CsrfToken) -> Markup {
    html! {
        h2 { "Who is told" }
        table.list {
            thead { tr { th { "Who" } th { "How" } th { "Address" } th { "Status" } th {} } }
            tbody {
                @for recipient in &preferences.recipients {
                    tr data-status=(wire_name(recipient.status)) {
                        td data-label="Who" { (wire_name(recipient.role)) }
                        td data-label="How" { (wire_name(recipient.channel)) }
                        td data-label="Address" { (recipient.address) }
                        td data-label="Status" { (status_label(recipient.status)) }
                        td {
                            @if recipient.status == RecipientStatus::AwaitingConfirmation {
                                form.inline method="post" action=(format!("/manage/clients/{client}/recipients/verify"))
                                    data-confirm=(format!("Vouch for {}? It will be told of intrusions without confirming.", recipient.address)) {
                                    (csrf.field())
                                    input type="hidden" name="channel" value=(wire_name(recipient.channel));
                                    input type="hidden" name="address" value=(recipient.address);
                                    button type="submit" { "Verify" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The verify form's fields (beside its CSRF token).
#[derive(Deserialize)]
pub(crate) struct VerifyForm {
    channel: Channel,
    address: String,
}

/// Staff vouch for one recipient of a client.
pub(crate) async fn verify(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    Path(id): Path<String>,
    Form(form): Form<VerifyForm>,
) -> Result<Response, PageError> {
    let client = crate::directory::client_id(&id)?;
    let body = VerifyBody {
        channel: form.channel,
        address: form.address,
    };
    state.responses.verify_recipient(&staff.0, client, body).await?;
    Ok(Redirect::to(&format!("/manage/clients/{client}")).into_response())
}
