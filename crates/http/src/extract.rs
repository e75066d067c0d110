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
        Ok(Self(who.with_address(client_address(&parts.headers))))
    }
}

/// The address a request came from, as the load balancer saw it: the last
/// entry of `X-Forwarded-For`, the one the ALB appends (earlier ones are
/// whatever the caller sent).
pub fn client_address(headers: &axum::http::HeaderMap) -> Option<String> {
    let forwarded = headers.get("x-forwarded-for")?.to_str().ok()?;
    let last = forwarded.rsplit(',').next()?.trim();
    last.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
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
        object_body(value).map(Self)
    }
}

/// A parsed JSON body as `T`, when it is an object with the expected fields:
/// 422 otherwise, naming the field's path. What [`JsonBody`] applies, for
/// handlers that read an optional body themselves.
pub fn object_body<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body must be a JSON object",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the body does not have the expected fields: {e}"),
        )
    })
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

/// The largest whole number every JSON reader keeps exactly (2^53 - 1).
pub const MAX_WHOLE_NUMBER: u64 = (1 << 53) - 1;

/// Reads a whole number from 0 to [`MAX_WHOLE_NUMBER`] as JSON Schema counts
/// one: `7`, and also `7.0` (serde alone refuses the second for an integer
/// field). For `#[serde(deserialize_with = "seccom_http::whole_number")]` on a
/// `u64` whose schema says `maximum = 9007199254740991`.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct WholeNumber;

    impl serde::de::Visitor<'_> for WholeNumber {
        type Value = u64;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(formatter, "a whole number from 0 to {MAX_WHOLE_NUMBER}")
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<u64, E> {
            if value <= MAX_WHOLE_NUMBER {
                Ok(value)
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Unsigned(value), &self))
            }
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<u64, E> {
            u64::try_from(value)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
                .and_then(|value| self.visit_u64(value))
        }

        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<u64, E> {
            if value.fract() == 0.0 && (0.0..=MAX_WHOLE_NUMBER as f64).contains(&value) {
                Ok(value as u64)
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(value), &self))
            }
        }
    }

    deserializer.deserialize_any(WholeNumber)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Counted {
        #[serde(deserialize_with = "super::whole_number")]
        seq: u64,
    }

    fn seq(json: &str) -> Result<u64, serde_json::Error> {
        serde_json::from_str::<Counted>(json).map(|c| c.seq)
    }

    #[test]
    fn whole_numbers_are_read_however_they_are_written() {
        assert_eq!(seq(r#"{"seq": 7483}"#).unwrap(), 7483);
        assert_eq!(seq(r#"{"seq": 7483.0}"#).unwrap(), 7483);
        assert_eq!(seq(r#"{"seq": 7.483e3}"#).unwrap(), 7483);
        assert_eq!(seq(r#"{"seq": 9007199254740991}"#).unwrap(), super::MAX_WHOLE_NUMBER);
        for refused in [
            r#"{"seq": 7483.5}"#,
            r#"{"seq": -1}"#,
            r#"{"seq": -1.0}"#,
            r#"{"seq": 1e300}"#,
            r#"{"seq": "7"}"#,
            r#"{"seq": 9007199254740992}"#,
            r#"{"seq": 9223372036854775808}"#,
        ] {
            assert!(seq(refused).is_err(), "{refused}");
        }
    }
}
