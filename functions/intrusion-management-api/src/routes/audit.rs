//! `/api/audit`: who viewed which intrusion's footage and who changed what,
//! newest first. Staff read every entry; a client user the entries about its
//! own client. There is no way to change or remove an entry.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use seccom_domain::audit::{AuditEntry, AuditFilter, AuditTrail};
use seccom_domain::ids::ClientId;
use seccom_domain::page::{Page, PageQuery};
use seccom_http::{ApiError, Caller, QueryParams};
use serde::Deserialize;
use utoipa::IntoParams;

/// `GET /api/audit` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Only entries about this client (a client user sees only its own anyway).
    client_id: Option<ClientId>,
    /// Only entries by this user: their id or e-mail address (empty: anyone).
    actor: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Only entries at or before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// How many items to return, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u16>,
    /// The `nextToken` of the previous page.
    next_token: Option<String>,
}

/// Lists audit entries, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of audit entries", body = Page<AuditEntry>)))]
pub(crate) async fn list(
    State(audit): State<AuditTrail>,
    Caller(who): Caller,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        next_token: query.next_token,
    }
    .try_into()?;
    let filter = AuditFilter {
        client_id: query.client_id,
        actor: query.actor.filter(|a| !a.trim().is_empty()),
        from: query.from,
        to: query.to,
    };
    Ok(Json(audit.entries(&who, filter, page).await?))
}
