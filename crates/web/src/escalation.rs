//! The escalation page both portals share: whom a site's intrusions are
//! escalated to, and after how long, when nobody acknowledges them. Staff edit
//! the steps in a form (one row per step: seconds, then e-mail addresses and
//! phone numbers); the client reads them. Refused input shows the page again
//! with the reasons, losing nothing typed.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use seccom_domain::auth::Principal;
use seccom_domain::response::{ContactChannel, EscalationContact, EscalationPolicy, EscalationStep};
use seccom_domain::values::FieldError;

use crate::controls::{Fields, refused_or, site_id, value};
use crate::{CsrfToken, Form, PageError, Portal, PortalState, PortalUser, Signed};

/// The most steps the form offers (the policy's limit).
const ROWS: usize = seccom_domain::response::MAX_ESCALATION_STEPS;

/// A step's contacts as typed: addresses and numbers separated by commas.
fn contacts_text(step: &EscalationStep) -> String {
    let addresses: Vec<&str> = step.notify.iter().map(|c| c.address.as_str()).collect();
    addresses.join(", ")
}

/// The policy the form describes; blank rows are left out. An address with `@`
/// is an e-mail address, anything else a phone number; the core checks both.
fn policy_of(fields: &Fields) -> EscalationPolicy {
    let steps = (0..ROWS)
        .filter_map(|row| {
            let after = value(fields, &format!("after{row}")).unwrap_or_default().trim();
            let notify = value(fields, &format!("notify{row}")).unwrap_or_default();
            let notify: Vec<EscalationContact> = notify
                .split([',', ';', '\n'])
                .map(str::trim)
                .filter(|address| !address.is_empty())
                .map(|address| EscalationContact {
                    channel: if address.contains('@') {
                        ContactChannel::Email
                    } else {
                        ContactChannel::Sms
                    },
                    address: address.to_owned(),
                })
                .collect();
            (!after.is_empty() || !notify.is_empty()).then(|| EscalationStep {
                // Not a whole number: 0, which the core refuses by name.
                after_seconds: after.parse().unwrap_or(0),
                notify,
            })
        })
        .collect();
    EscalationPolicy { steps }
}

/// The escalation page of a site, showing `shown` (what was sent, when refused) and `errors`.
async fn page(
    state: &PortalState,
    who: &Principal,
    portal: Portal,
    csrf: &CsrfToken,
    raw_site: &str,
    shown: Option<&EscalationPolicy>,
    errors: &[FieldError],
) -> Result<Markup, PageError> {
    let id = site_id(raw_site)?;
    let site = state.directory.get_site(who, id).await?;
    let saved = state.controls.escalation(who, id).await?;
    let policy = shown.unwrap_or(&saved);
    let base = format!("{}/sites/{id}", portal.prefix());
    Ok(html! {
        h1 { "Escalation at " (site.name.as_str()) }
        p.muted { "When nobody acknowledges an intrusion at this site, each step tells its contacts "
            "that long after the intrusion opened, until someone acknowledges or resolves it. "
            a href=(format!("{base}/arming")) { "Arming of this site" } }
        @if !errors.is_empty() {
            div.errors role="alert" {
                p { "Nothing was changed. Please check:" }
                ul { @for error in errors { li { code { (error.name) } ": " (error.reason) } } }
            }
        }
        @if who.tenant().is_some() {
            @if policy.steps.is_empty() {
                p { "No escalation: only your notification recipients are told. SecCom sets escalation steps on request." }
            } @else {
                table.list {
                    thead { tr { th { "Step" } th { "After" } th { "Tells" } } }
                    tbody { @for (index, step) in policy.steps.iter().enumerate() {
                        tr {
                            td data-label="Step" { (index + 1) }
                            td data-label="After" { (step.after_seconds) " s" }
                            td data-label="Tells" { (contacts_text(step)) }
                        }
                    } }
                }
            }
        } @else {
            form.stack method="post" action=(format!("{base}/escalation")) {
                (csrf.field())
                p.muted { "Each step: seconds after the intrusion opened (later than the step before), and the "
                    "e-mail addresses and phone numbers (international form) to tell, separated by commas. "
                    "Leave every row empty for no escalation." }
                @for row in 0..ROWS {
                    @let step = policy.steps.get(row);
                    div.row {
                        label { "Step " (row + 1) ": after (seconds)"
                            input type="number" min="1" max="86400" name=(format!("after{row}"))
                                value=[step.map(|s| s.after_seconds)]; }
                        label { "Tell"
                            input type="text" name=(format!("notify{row}"))
                                placeholder="duty@seccom.example, +44 20 7946 0958"
                                value=[step.map(contacts_text)]; }
                    }
                }
                button type="submit" { "Save the escalation" }
            }
        }
    })
}

async fn show<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let body = page(&state, user.principal(), U::PORTAL, &csrf, &id, None, &[]).await?;
    Ok(user.page("Escalation", body))
}

async fn save<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    csrf: CsrfToken,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    let who = user.principal();
    let site = site_id(&id)?;
    let sent = policy_of(&fields);
    match state.controls.set_escalation(who, site, sent.clone()).await {
        Ok(_) => Ok(Redirect::to(&format!("{}/sites/{site}/escalation", U::PORTAL.prefix())).into_response()),
        Err(error) => {
            refused_or(error, async |errors| {
                let body = page(&state, who, U::PORTAL, &csrf, &id, Some(&sent), errors).await?;
                Ok(user.page("Escalation", body))
            })
            .await
        }
    }
}

/// `/sites/{id}/escalation` under the portal's prefix: the page, and its form for staff.
pub fn routes<U: PortalUser>() -> Router<PortalState> {
    Router::new().route(
        &format!("{}/sites/{{id}}/escalation", U::PORTAL.prefix()),
        get(show::<U>).post(save::<U>),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_form_reads_as_steps_with_email_and_phone_contacts() {
        let policy = policy_of(&fields(&[
            ("after0", "60"),
            ("notify0", "duty@seccom.example, +44 20 7946 0958"),
            ("after1", ""),
            ("notify1", ""),
            ("after2", "soon"),
            ("notify2", "keys@client.example"),
        ]));
        assert_eq!(policy.steps.len(), 2, "the blank row is left out");
        assert_eq!(policy.steps[0].after_seconds, 60);
        let channels: Vec<_> = policy.steps[0].notify.iter().map(|c| c.channel).collect();
        assert_eq!(channels, [ContactChannel::Email, ContactChannel::Sms]);
        assert_eq!(policy.steps[0].notify[1].address, "+44 20 7946 0958");
        assert_eq!(policy.steps[1].after_seconds, 0, "not a number: refused by the core");
        assert_eq!(contacts_text(&policy.steps[0]), "duty@seccom.example, +44 20 7946 0958");
    }
}
