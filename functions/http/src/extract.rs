//! Extractors whose rejections are problem details, never framework text.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request};
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::auth::Authenticator;
use seccom_domain::auth::Principal;

/// The authenticated caller of a request.
pub struct Caller(pub Principal);

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let authenticator = Arc::<Authenticator>::from_ref(state);
        let who = authenticator.authenticate(&parts.headers).await?;
        super::LogIdentity::record(&parts.extensions, &who);
        Ok(Self(who))
    }
}

/// A JSON object request body: 400 when it is not JSON, 415 without a JSON
/// content type, 413 past the size cap, 422 when it is not an object or fields
/// are missing or of the wrong type. (serde would read a struct from an array
/// too: `[null, null]` must not pass for an empty change.)
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let value = match axum::Json::<serde_json::Value>::from_request(request, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_problem(&rejection)),
        };
        if !value.is_object() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body must be a JSON object",
            ));
        }
        serde_path_to_error::deserialize(value).map(Self).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the body does not have the expected fields: {e}"),
            )
        })
    }
}

fn json_problem(rejection: &JsonRejection) -> ApiError {
    let detail = match rejection {
        JsonRejection::JsonDataError(e) => format!("the body does not have the expected fields: {}", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => {
            format!("the body is not valid JSON: {}", e.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => "send the body as application/json".to_owned(),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the body exceeds {} bytes", super::MAX_BODY_BYTES)
        }
        other => other.body_text(),
    };
    ApiError::new(rejection.status(), detail)
}

/// Identifiers from the path; one that cannot exist is simply not found.
pub struct PathId<T>(pub T);

impl<S, T> FromRequestParts<S> for PathId<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let path = parts.uri.path().to_owned();
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("nothing exists at {path}")))
    }
}

/// Query parameters: 400 with the reason when they do not parse.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("invalid query string: {}", e.body_text()),
                )
            })
    }
}
