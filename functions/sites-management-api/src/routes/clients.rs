//! `/api/clients`: the security company's customers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use seccom_domain::directory::{Client, ClientBody, ClientPatchBody, Directory};
use seccom_domain::ids::ClientId;
use seccom_domain::page::{Page, PageQuery};
use seccom_http::{ApiError, Caller, JsonBody, PathId, QueryParams};

use super::created;

/// Lists clients by name: all for staff, only their own for a client user.
#[utoipa::path(get, path = "/api/clients", tag = "clients", params(PageQuery),
    responses((status = 200, description = "A page of clients", body = Page<Client>)))]
pub(crate) async fn list(
    State(directory): State<Directory>,
    Caller(who): Caller,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<Json<Page<Client>>, ApiError> {
    Ok(Json(directory.list_clients(&who, page.try_into()?).await?))
}

/// Registers a client (staff only).
#[utoipa::path(post, path = "/api/clients", tag = "clients", request_body = ClientBody,
    responses((status = 201, description = "The new client", body = Client)))]
pub(crate) async fn create(
    State(directory): State<Directory>,
    Caller(who): Caller,
    JsonBody(body): JsonBody<ClientBody>,
) -> Result<Response, ApiError> {
    let client = directory.create_client(&who, body).await?;
    Ok(created(format!("/api/clients/{}", client.id), client))
}

/// Reads one client.
#[utoipa::path(get, path = "/api/clients/{clientId}", tag = "clients",
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 200, description = "The client", body = Client)))]
pub(crate) async fn get(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId(id): PathId<ClientId>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(directory.get_client(&who, id).await?))
}

/// Changes a client's name or contact details (staff only); `"phone": null` removes the phone.
#[utoipa::path(patch, path = "/api/clients/{clientId}", tag = "clients", request_body = ClientPatchBody,
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 200, description = "The changed client", body = Client)))]
pub(crate) async fn update(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId(id): PathId<ClientId>,
    JsonBody(body): JsonBody<ClientPatchBody>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(directory.update_client(&who, id, body).await?))
}

/// Deletes a client that has no sites left (staff only).
#[utoipa::path(delete, path = "/api/clients/{clientId}", tag = "clients",
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 204, description = "Deleted"), (status = 409, description = "The client still has sites", body = ApiError, content_type = "application/problem+json")))]
pub(crate) async fn delete(
    State(directory): State<Directory>,
    Caller(who): Caller,
    PathId(id): PathId<ClientId>,
) -> Result<StatusCode, ApiError> {
    directory.delete_client(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
