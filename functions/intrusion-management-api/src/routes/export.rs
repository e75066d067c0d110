//! `POST /api/clients/{clientId}/export`: subject access. A client's users
//! (or staff on its behalf) get every record SecCom keeps about the client,
//! with links to its footage, as one JSON document behind a short-lived link.

use axum::Json;
use axum::extract::State;
use seccom_domain::export::{ExportLink, Exports};
use seccom_domain::ids::ClientId;
use seccom_http::{ApiError, Caller, PathId};

/// Writes the client's records and answers where to download them (15 minutes).
#[utoipa::path(post, path = "/api/clients/{clientId}/export", tag = "retention",
    params(("clientId" = ClientId, Path, description = "The client's id")),
    responses((status = 200, description = "Where to download the records", body = ExportLink)))]
pub(crate) async fn export(
    State(exports): State<Exports>,
    Caller(who): Caller,
    PathId(client): PathId<ClientId>,
) -> Result<Json<ExportLink>, ApiError> {
    Ok(Json(exports.export(&who, client).await?))
}
