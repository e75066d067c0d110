//! RFC 9457 problem details: the one error shape every API answers with.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;
use seccom_domain::error::DomainError;
use seccom_domain::values::FieldError;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error as the API reports it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// Always `about:blank`: the status and title say what kind of problem it is.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The HTTP status phrase.
    title: String,
    /// The HTTP status code.
    status: u16,
    /// What went wrong with this request, for a person to read.
    detail: String,
    /// For validation failures: each refused field and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invalid_params: Vec<FieldError>,
    /// For 429: seconds until the caller may try again (the `Retry-After` header).
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl ApiError {
    /// A 429: too many attempts, try again after `seconds`.
    pub fn too_many_requests(detail: impl Into<String>, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, detail)
        }
    }

    /// A problem with a status and a human-readable detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            invalid_params: Vec::new(),
            retry_after: None,
        }
    }

    /// The HTTP status of this problem.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            DomainError::Forbidden(detail) => Self::new(StatusCode::FORBIDDEN, detail),
            DomainError::Conflict(detail) => Self::new(StatusCode::CONFLICT, detail),
            DomainError::Invalid(fields) => Self {
                invalid_params: fields,
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "some fields are invalid; see invalidParams",
                )
            },
            DomainError::InvalidQuery(fields) => Self {
                invalid_params: fields,
                ..Self::new(
                    StatusCode::BAD_REQUEST,
                    "some query parameters are invalid; see invalidParams",
                )
            },
            DomainError::BadPageToken => Self::new(StatusCode::BAD_REQUEST, error.to_string()),
            DomainError::TooMany { detail, retry_after } => Self::too_many_requests(detail, retry_after),
            DomainError::Unavailable {
                ref context,
                ref source,
            } => {
                tracing::error!(error = %context, cause = %seccom_domain::error::chain(source.as_ref()), "dependency failed");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the service is temporarily unavailable; retry shortly",
                )
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Missing | AuthError::Invalid(_) => {
                tracing::info!(reason = %error, "authentication failed");
                Self::new(StatusCode::UNAUTHORIZED, error.to_string())
            }
            AuthError::NoRole | AuthError::ClientErased => Self::new(StatusCode::FORBIDDEN, error.to_string()),
            AuthError::Unavailable { ref what, ref source } => {
                tracing::error!(keys = %what, cause = %source, "cannot fetch signing keys");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sign-in cannot be checked right now; retry shortly",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
