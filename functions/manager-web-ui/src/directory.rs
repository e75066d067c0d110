//! Clients, sites, cameras and alarms: lists, forms (errors shown next to
//! their field), and the credential of a new device, shown once.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use seccom_domain::directory::{Client, ClientBody, ClientPatchBody, DeviceBody, DeviceKind, Site, SiteBody};
use seccom_domain::error::DomainError;
use seccom_domain::ids::{ClientId, DeviceId, SiteId};
use seccom_domain::page::{MAX_LIMIT, PageRequest};
use seccom_domain::values::FieldError;
use seccom_web::page::{field_error, maybe_time, next_page, time};
use seccom_web::{CsrfToken, Form, PageError, PortalState, Signed};
use serde::Deserialize;

use crate::{ListQuery, Staff, page};

fn not_found(what: &'static str) -> PageError {
    PageError::from(DomainError::NotFound(what))
}

/// The fields of the client forms.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ClientForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
}

impl From<&Client> for ClientForm {
    fn from(client: &Client) -> Self {
        Self {
            name: client.name.as_str().to_owned(),
            email: client.email.as_str().to_owned(),
            phone: client.phone.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
        }
    }
}

fn client_fields(form: &ClientForm, errors: &[FieldError]) -> Markup {
    html! {
        label { "Name" input type="text" name="name" value=(form.name) required; (field_error(errors, "name")) }
        label { "E-mail" input type="email" name="email" value=(form.email) required; (field_error(errors, "email")) }
        label { "Phone (optional, international form)" input type="tel" name="phone" value=(form.phone); (field_error(errors, "phone")) }
    }
}

async fn clients_page(
    state: &PortalState,
    staff: &Staff,
    csrf: &CsrfToken,
    query: ListQuery,
    form: &ClientForm,
    errors: &[FieldError],
) -> Result<Markup, PageError> {
    let clients = state.directory.list_clients(&staff.0, query.page()?).await?;
    Ok(page(
        staff,
        "Clients",
        html! {
            h1 { "Clients" }
            table.list {
                thead { tr { th { "Name" } th { "E-mail" } th { "Phone" } th { "Since" } } }
                tbody {
                    @for client in &clients.items {
                        tr {
                            td data-label="Name" { a href=(format!("/manage/clients/{}", client.id)) { (client.name.as_str()) } }
                            td data-label="E-mail" { (client.email.as_str()) }
                            td data-label="Phone" { (client.phone.as_ref().map_or("", |p| p.as_str())) }
                            td data-label="Since" { (time(client.created_at)) }
                        }
                    }
                }
            }
            (next_page("/manage/clients", &[], clients.next_token.as_deref()))
            h2 { "New client" }
            form.stack method="post" action="/manage/clients" {
                (csrf.field())
                (client_fields(form, errors))
                button type="submit" { "Create client" }
            }
        },
    ))
}

pub(crate) async fn clients(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    csrf: CsrfToken,
    Query(query): Query<ListQuery>,
) -> Result<Markup, PageError> {
    clients_page(&state, &staff, &csrf, query, &ClientForm::default(), &[]).await
}

/// A form shown again with its errors.
fn invalid(page: Markup) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

pub(crate) async fn create_client(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    csrf: CsrfToken,
    Form(form): Form<ClientForm>,
) -> Result<Response, PageError> {
    let body = ClientBody {
        name: form.name.clone(),
        email: form.email.clone(),
        phone: Some(form.phone.clone()).filter(|p| !p.trim().is_empty()),
    };
    match state.directory.create_client(&staff.0, body).await {
        Ok(client) => Ok(Redirect::to(&format!("/manage/clients/{}", client.id)).into_response()),
        Err(DomainError::Invalid(errors)) => {
            let page = clients_page(&state, &staff, &csrf, ListQuery::default(), &form, &errors).await?;
            Ok(invalid(page))
        }
        Err(other) => Err(other.into()),
    }
}

/// The fields of the new-site form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SiteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
}

struct ClientPageInput<'a> {
    client_form: &'a ClientForm,
    client_errors: &'a [FieldError],
    site_form: &'a SiteForm,
    site_errors: &'a [FieldError],
}

async fn client_page(
    state: &PortalState,
    staff: &Staff,
    csrf: &CsrfToken,
    id: ClientId,
    input: ClientPageInput<'_>,
) -> Result<Markup, PageError> {
    let client = state.directory.get_client(&staff.0, id).await?;
    let request = PageRequest {
        limit: MAX_LIMIT,
        token: None,
    };
    let sites = state.directory.list_sites(&staff.0, Some(id), request).await?;
    let preferences = state.responses.preferences(&staff.0, id).await?;
    let retention = state.retention.retention(&staff.0, id).await?;
    Ok(page(
        staff,
        client.name.as_str(),
        html! {
            h1 { (client.name.as_str()) }
            h2 { "Sites" }
            @if sites.items.is_empty() { p.muted { "No site yet." } }
            table.list {
                tbody {
                    @for site in &sites.items {
                        tr {
                            td data-label="Site" { a href=(format!("/manage/sites/{}", site.id)) { (site.name.as_str()) } }
                            td data-label="Address" { (site.address.as_str()) }
                        }
                    }
                }
            }
            h2 { "New site" }
            form.stack method="post" action=(format!("/manage/clients/{id}/sites")) {
                (csrf.field())
                label { "Name" input type="text" name="name" value=(input.site_form.name) required; (field_error(input.site_errors, "name")) }
                label { "Address" input type="text" name="address" value=(input.site_form.address) required; (field_error(input.site_errors, "address")) }
                button type="submit" { "Add site" }
            }
            (crate::recipients::section(id, &preferences, csrf))
            (crate::retention::section(id, &retention, csrf))
            h2 { "Client details" }
            form.stack method="post" action=(format!("/manage/clients/{id}")) {
                (csrf.field())
                (client_fields(input.client_form, input.client_errors))
                button type="submit" { "Save" }
            }
            h2 { "Delete" }
            form.inline method="post" action=(format!("/manage/clients/{id}/delete")) data-confirm=(format!("Delete {}?", client.name.as_str())) {
                (csrf.field())
                button.danger type="submit" { "Delete this client" }
                span.muted { "Only a client without sites can be deleted; to remove one with its sites and everything recorded, erase it." }
            }
            (crate::erasure::section("client", &format!("/manage/clients/{id}/erase"), client.name.as_str(), csrf))
            p { a href=(format!("/manage/erasures?clientId={id}")) { "Erasures of this client" } }
        },
    ))
}

pub(crate) fn client_id(raw: &str) -> Result<ClientId, PageError> {
    raw.parse().map_err(|_| not_found("client"))
}

pub(crate) async fn client(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id = client_id(&id)?;
    let current = state.directory.get_client(&staff.0, id).await?;
    let input = ClientPageInput {
        client_form: &ClientForm::from(&current),
        client_errors: &[],
        site_form: &SiteForm::default(),
        site_errors: &[],
    };
    client_page(&state, &staff, &csrf, id, input).await
}

pub(crate) async fn update_client(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    csrf: CsrfToken,
    Path(id): Path<String>,
    Form(form): Form<ClientForm>,
) -> Result<Response, PageError> {
    let id = client_id(&id)?;
    let phone = form.phone.trim();
    let body = ClientPatchBody {
        name: Some(form.name.clone()),
        email: Some(form.email.clone()),
        phone: Some((!phone.is_empty()).then(|| phone.to_owned())),
    };
    match state.directory.update_client(&staff.0, id, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/manage/clients/{id}")).into_response()),
        Err(DomainError::Invalid(errors)) => {
            let input = ClientPageInput {
                client_form: &form,
                client_errors: &errors,
                site_form: &SiteForm::default(),
                site_errors: &[],
            };
            let page = client_page(&state, &staff, &csrf, id, input).await?;
            Ok(invalid(page))
        }
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn delete_client(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    state.directory.delete_client(&staff.0, client_id(&id)?).await?;
    Ok(Redirect::to("/manage/clients").into_response())
}

pub(crate) async fn create_site(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    csrf: CsrfToken,
    Path(id): Path<String>,
    Form(form): Form<SiteForm>,
) -> Result<Response, PageError> {
    let id = client_id(&id)?;
    let body = SiteBody {
        client_id: id.to_string(),
        name: form.name.clone(),
        address: form.address.clone(),
    };
    match state.directory.create_site(&staff.0, body).await {
        Ok(site) => Ok(Redirect::to(&format!("/manage/sites/{}", site.id)).into_response()),
        Err(DomainError::Invalid(errors)) => {
            let current = state.directory.get_client(&staff.0, id).await?;
            let input = ClientPageInput {
                client_form: &ClientForm::from(&current),
                client_errors: &[],
                site_form: &form,
                site_errors: &errors,
            };
            let page = client_page(&state, &staff, &csrf, id, input).await?;
            Ok(invalid(page))
        }
        Err(other) => Err(other.into()),
    }
}

fn site_id(raw: &str) -> Result<SiteId, PageError> {
    raw.parse().map_err(|_| not_found("site"))
}

fn kind_value(kind: DeviceKind) -> &'static str {
    kind.noun()
}

fn kind_of(raw: &str) -> Result<DeviceKind, PageError> {
    match raw {
        "camera" => Ok(DeviceKind::Camera),
        "alarm" => Ok(DeviceKind::Alarm),
        _ => Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unknown kind of device",
            "Choose a camera or an alarm.",
        )),
    }
}

async fn site_page(
    state: &PortalState,
    staff: &Staff,
    csrf: &CsrfToken,
    site: &Site,
    errors: &[FieldError],
) -> Result<Markup, PageError> {
    let devices = state.site_devices(&staff.0, site.id).await?;
    Ok(page(
        staff,
        site.name.as_str(),
        html! {
            h1 { (site.name.as_str()) }
            p.muted { (site.address.as_str()) " · " a href=(format!("/manage/clients/{}", site.client_id)) { "the client" }
                " · " a href=(format!("/manage/intrusions?siteId={}", site.id)) { "intrusions" }
                " · " a href=(format!("/manage/sites/{}/arming", site.id)) { "arming" }
                " · " a href=(format!("/manage/sites/{}/escalation", site.id)) { "escalation" } }
            h2 { "Cameras and alarms" }
            table.list {
                thead { tr { th { "Name" } th { "Kind" } th { "Health" } th { "Last seen" } th { "Rename" } th { "Remove" } th { "Erase" } } }
                tbody {
                    @for device in &devices {
                        @let health = format!("{:?}", device.state).to_lowercase();
                        tr {
                            td data-label="Name" {
                                @if device.kind == DeviceKind::Camera {
                                    a href=(format!("/manage/cameras/{}", device.id)) title="Zones and masks" { (device.name.as_str()) }
                                } @else { (device.name.as_str()) }
                            }
                            td data-label="Kind" { (device.kind.noun()) }
                            td data-label="Health" { span class=(format!("state-{health}")) { (health) } }
                            td data-label="Last seen" { (maybe_time(device.last_seen_at)) }
                            td {
                                form.inline method="post" action=(format!("/manage/devices/{}/rename", device.id)) {
                                    (csrf.field())
                                    input type="hidden" name="kind" value=(kind_value(device.kind));
                                    input type="text" name="name" value=(device.name.as_str()) aria-label="New name" required;
                                    button type="submit" { "Rename" }
                                }
                            }
                            td {
                                form.inline method="post" action=(format!("/manage/devices/{}/remove", device.id)) data-confirm=(format!("Remove {}? Its credential stops working.", device.name.as_str())) {
                                    (csrf.field())
                                    input type="hidden" name="kind" value=(kind_value(device.kind));
                                    button.danger type="submit" { "Remove" }
                                }
                            }
                            td { (crate::erasure::device_button(device.id, kind_value(device.kind), device.name.as_str(), csrf)) }
                        }
                    }
                }
            }
            h2 { "Register a device" }
            form.stack method="post" action=(format!("/manage/sites/{}/devices", site.id)) {
                (csrf.field())
                label { "Kind" select name="kind" { option value="camera" { "Camera" } option value="alarm" { "Alarm" } } }
                label { "Name" input type="text" name="name" required; (field_error(errors, "name")) }
                button type="submit" { "Register" }
            }
            h2 { "Delete" }
            form.inline method="post" action=(format!("/manage/sites/{}/delete", site.id)) data-confirm=(format!("Delete {}?", site.name.as_str())) {
                (csrf.field())
                button.danger type="submit" { "Delete this site" }
                span.muted { "Only a site without devices can be deleted; to remove one with its devices and everything recorded, erase it." }
            }
            (crate::erasure::section("site", &format!("/manage/sites/{}/erase", site.id), site.name.as_str(), csrf))
        },
    ))
}

pub(crate) async fn site(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let site = state.directory.get_site(&staff.0, site_id(&id)?).await?;
    site_page(&state, &staff, &csrf, &site, &[]).await
}

pub(crate) async fn delete_site(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let site = state.directory.get_site(&staff.0, site_id(&id)?).await?;
    state.directory.delete_site(&staff.0, site.id).await?;
    Ok(Redirect::to(&format!("/manage/clients/{}", site.client_id)).into_response())
}

/// The fields of the device forms.
#[derive(Debug, Deserialize)]
pub(crate) struct DeviceForm {
    kind: String,
    #[serde(default)]
    name: String,
}

impl DeviceForm {
    /// The kind the form names.
    pub(crate) fn kind(&self) -> Result<DeviceKind, PageError> {
        kind_of(&self.kind)
    }
}

pub(crate) async fn register_device(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    csrf: CsrfToken,
    Path(id): Path<String>,
    Form(form): Form<DeviceForm>,
) -> Result<Response, PageError> {
    let site = state.directory.get_site(&staff.0, site_id(&id)?).await?;
    let kind = kind_of(&form.kind)?;
    match state
        .directory
        .register_device(&staff.0, site.id, kind, DeviceBody { name: form.name })
        .await
    {
        Ok(registered) => Ok(page(
            &staff,
            "Device registered",
            html! {
                h1 { (registered.device.kind.noun()) " “" (registered.device.name.as_str()) "” registered" }
                div.notice {
                    p { strong { "Copy the credential now: it is shown only once." }
                        " Configure the device with its id and this credential; SecCom keeps only a hash of it." }
                    p { "Device id" }
                    p.secret data-testid="device-id" { (registered.device.id) }
                    p { "Credential" }
                    p.secret data-testid="device-credential" { (registered.credential) }
                }
                p { a.button href=(format!("/manage/sites/{}", site.id)) { "Back to the site" } }
            },
        )
        .into_response()),
        Err(DomainError::Invalid(errors)) => {
            let page = site_page(&state, &staff, &csrf, &site, &errors).await?;
            Ok(invalid(page))
        }
        Err(other) => Err(other.into()),
    }
}

fn device_id(raw: &str) -> Result<DeviceId, PageError> {
    raw.parse().map_err(|_| not_found("device"))
}

pub(crate) async fn rename_device(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    Path(id): Path<String>,
    Form(form): Form<DeviceForm>,
) -> Result<Response, PageError> {
    let kind = kind_of(&form.kind)?;
    let device = state
        .directory
        .rename_device(&staff.0, device_id(&id)?, kind, DeviceBody { name: form.name })
        .await?;
    Ok(Redirect::to(&format!("/manage/sites/{}", device.site_id)).into_response())
}

pub(crate) async fn remove_device(
    State(state): State<PortalState>,
    Signed(staff): Signed<Staff>,
    Path(id): Path<String>,
    Form(form): Form<DeviceForm>,
) -> Result<Response, PageError> {
    let kind = kind_of(&form.kind)?;
    let id = device_id(&id)?;
    let device = state.directory.get_device(&staff.0, id, kind).await?;
    state.directory.remove_device(&staff.0, id, kind).await?;
    Ok(Redirect::to(&format!("/manage/sites/{}", device.site_id)).into_response())
}
