//! HTTP conventions shared by every SecCom API: problem details for every
//! error, extractors that never answer with a bare framework error, the 1 MB
//! body cap of ALB Lambda targets, a health route and one JSON log line per request.

pub mod auth;
mod extract;
pub mod openapi;
mod problem;
#[cfg(test)]
mod proptests;
#[cfg(feature = "testing")]
pub mod testing;

pub use extract::{Caller, JsonBody, MAX_WHOLE_NUMBER, PathId, QueryParams, client_address, object_body, whole_number};
pub use problem::{ApiError, PROBLEM_JSON};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};

/// ALB Lambda targets accept request bodies of at most 1 MB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The path ALB health checks are pointed at; it needs no credentials.
pub const HEALTH_PATH: &str = "/health";

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no resource answers {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not accept {method}", uri.path()),
    )
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Who a request was for: the authentication extractors fill it in, so the
/// request's log line names the user and tenant.
#[derive(Clone, Default)]
pub struct LogIdentity(std::sync::Arc<std::sync::Mutex<Option<seccom_domain::auth::Principal>>>);

impl LogIdentity {
    /// Records the authenticated caller of the request these extensions belong to.
    pub fn record(extensions: &http::Extensions, who: &seccom_domain::auth::Principal) {
        if let Some(slot) = extensions.get::<LogIdentity>()
            && let Ok(mut caller) = slot.0.lock()
        {
            *caller = Some(who.clone());
        }
    }
}

/// Logs one line per request: method, path, status, time, the Lambda request
/// id (or the ALB trace id locally), and the caller's user and tenant.
pub async fn log_request(mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = lambda_http::RequestExt::lambda_context_ref(&request)
        .map(|context| context.request_id.clone())
        .or_else(|| {
            request
                .headers()
                .get("x-amzn-trace-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let identity = LogIdentity::default();
    request.extensions_mut().insert(identity.clone());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let caller = identity.0.lock().ok().and_then(|c| c.clone());
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id,
        user = caller.as_ref().map(|c| c.subject.as_str()),
        tenant = caller.as_ref().and_then(|c| c.tenant()).map(|t| t.to_string()),
        "request"
    );
    response
}

/// Marks answers as private and not to be sniffed: API answers carry tenant
/// data and must never be cached by a shared proxy.
async fn protect(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Wraps a function's routes with the shared conventions.
pub fn service(routes: Router) -> Router {
    routes
        .route(HEALTH_PATH, get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(protect))
        .layer(middleware::from_fn(log_request))
}
