//! The ALB stand-in: matches listener rules from the template, turns each HTTP
//! request into the JSON event an ALB sends a Lambda target group, invokes the
//! function in-process through `lambda_http`'s own event parser, and turns the
//! target-group response JSON back into HTTP, with the ALB's size limits.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::alb::AlbTargetGroupResponse;
use aws_lambda_events::encodings::Body as EventBody;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::sign_in::LocalSignIn;
use super::template::{Action, ListenerRule};

/// ALB Lambda targets take request bodies and response documents of at most 1 MB.
pub const LAMBDA_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// A Lambda target group with its function.
pub struct Target {
    pub arn: String,
    pub function: Router,
    pub multi_value_headers: bool,
}

/// The listener on the stand-in's port.
pub struct Listener {
    pub rules: Vec<ListenerRule>,
    pub default_action: Action,
    pub targets: BTreeMap<String, Target>,
    /// The `authenticate-cognito` step of rules that sign users in.
    pub sign_in: Arc<LocalSignIn>,
}

impl Listener {
    /// The HTTP service of the listener, with the sign-in pages the ALB would take from Cognito.
    pub fn into_router(self) -> Router {
        let sign_in = self.sign_in.clone().routes();
        Router::new().fallback(handle).with_state(Arc::new(self)).merge(sign_in)
    }

    fn action_for(&self, method: &str, path: &str) -> &Action {
        self.rules
            .iter()
            .find(|rule| {
                (rule.path_patterns.is_empty() || rule.path_patterns.iter().any(|p| path_matches(p, path)))
                    && (rule.methods.is_empty() || rule.methods.iter().any(|m| m == method))
            })
            .map_or(&self.default_action, |rule| &rule.action)
    }
}

/// ALB path patterns: case-sensitive, `*` matches any characters, `?` exactly one.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<char>, Vec<char>) = (pattern.chars().collect(), path.chars().collect());
    let (mut p, mut s, mut star, mut resume) = (0, 0, None, 0);
    while s < path.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == path[s]) {
            p += 1;
            s += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            p += 1;
            resume = s;
        } else if let Some(star_at) = star {
            p = star_at + 1;
            resume += 1;
            s = resume;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Bodies the ALB passes as text; anything else travels base64-encoded.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || [
            "application/json",
            "application/javascript",
            "application/xml",
            "application/yaml",
            "application/x-www-form-urlencoded",
        ]
        .contains(&essence.as_str())
        || ["+json", "+xml", "+yaml"]
            .iter()
            .any(|suffix| essence.ends_with(suffix))
}

fn alb_error(status: StatusCode) -> Response {
    let phrase = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or_default());
    let page = format!(
        "<html>\r\n<head><title>{phrase}</title></head>\r\n<body>\r\n<center><h1>{phrase}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    (status, [(http::header::CONTENT_TYPE, "text/html")], page).into_response()
}

/// The event an ALB sends for this request (query string left undecoded, header names lower-case).
pub fn event(
    target_group_arn: &str,
    multi_value: bool,
    method: &str,
    path: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Value {
    let mut query: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for pair in raw_query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        query.entry(key).or_default().push(value);
    }
    let mut header_values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in headers {
        header_values
            .entry(name.as_str())
            .or_default()
            .push(value.to_str().unwrap_or_default());
    }
    let text = is_text(headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()));
    let body = if text {
        String::from_utf8_lossy(body).into_owned()
    } else {
        STANDARD.encode(body)
    };
    let mut event = json!({
        "requestContext": { "elb": { "targetGroupArn": target_group_arn } },
        "httpMethod": method,
        "path": path,
        "body": body,
        "isBase64Encoded": !text && !body.is_empty(),
    });
    if multi_value {
        event["multiValueQueryStringParameters"] = json!(query);
        event["multiValueHeaders"] = json!(header_values);
    } else {
        let last = |values: &Vec<&str>| values.last().copied().unwrap_or_default().to_owned();
        event["queryStringParameters"] = json!(query.iter().map(|(k, v)| (*k, last(v))).collect::<BTreeMap<_, _>>());
        event["headers"] = json!(
            header_values
                .iter()
                .map(|(k, v)| (*k, last(v)))
                .collect::<BTreeMap<_, _>>()
        );
    }
    event
}

/// The target-group response document a Lambda function returns for `response`.
pub async fn response_document(response: Response) -> AlbTargetGroupResponse {
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let text = is_text(
        parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut document = AlbTargetGroupResponse::default();
    document.status_code = i64::from(parts.status.as_u16());
    document.status_description = Some(format!(
        "{} {}",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or_default()
    ));
    document.headers = parts.headers.clone();
    document.multi_value_headers = parts.headers;
    document.is_base64_encoded = !text && !bytes.is_empty();
    document.body = match (bytes.is_empty(), text) {
        (true, _) => None,
        (false, true) => Some(EventBody::Text(String::from_utf8_lossy(&bytes).into_owned())),
        (false, false) => Some(EventBody::Text(STANDARD.encode(&bytes))),
    };
    document
}

async fn invoke(target: &Target, event: &Value) -> Response {
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => request,
        Err(e) => {
            tracing::error!(error = %e, "lambda_http refused the ALB event");
            return alb_error(StatusCode::BAD_GATEWAY);
        }
    };
    let response = match target.function.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let document = serde_json::to_vec(&response_document(response).await).expect("a response document serialises");
    if document.len() > LAMBDA_PAYLOAD_LIMIT {
        tracing::warn!(
            bytes = document.len(),
            "the function's response exceeds the ALB's 1 MB limit"
        );
        return alb_error(StatusCode::BAD_GATEWAY);
    }
    let document: AlbTargetGroupResponse = serde_json::from_slice(&document).expect("the document parses back");
    let status = u16::try_from(document.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok());
    let Some(status) = status else {
        return alb_error(StatusCode::BAD_GATEWAY);
    };
    let body = match document.body {
        Some(EventBody::Text(text)) if document.is_base64_encoded => STANDARD.decode(text).unwrap_or_default(),
        Some(EventBody::Text(text)) => text.into_bytes(),
        Some(EventBody::Binary(bytes)) => bytes,
        Some(_) | None => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = if target.multi_value_headers {
        document.multi_value_headers
    } else {
        document.headers
    };
    response.headers_mut().extend(headers);
    response
}

async fn handle(
    State(listener): State<Arc<Listener>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, LAMBDA_PAYLOAD_LIMIT).await else {
        return alb_error(StatusCode::PAYLOAD_TOO_LARGE);
    };
    match listener.action_for(parts.method.as_str(), parts.uri.path()) {
        Action::Fixed {
            status,
            content_type,
            body,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::NOT_FOUND);
            (
                status,
                [(http::header::CONTENT_TYPE, content_type.clone())],
                body.clone(),
            )
                .into_response()
        }
        Action::Forward {
            target_group,
            authenticate,
        } => {
            let Some(target) = listener.targets.get(target_group) else {
                return alb_error(StatusCode::SERVICE_UNAVAILABLE);
            };
            let mut headers = parts.headers.clone();
            if *authenticate {
                match listener.sign_in.user(&headers) {
                    Some(user) => listener.sign_in.sign(&user, &mut headers),
                    None if matches!(parts.method, http::Method::GET | http::Method::HEAD) => {
                        let wanted = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                        return LocalSignIn::sign_in_redirect(wanted);
                    }
                    None => return alb_error(StatusCode::UNAUTHORIZED),
                }
            }
            let forwarded = [
                ("x-forwarded-for", peer.ip().to_string()),
                ("x-forwarded-port", peer.port().to_string()),
                ("x-forwarded-proto", "http".to_owned()),
                ("x-amzn-trace-id", trace_id()),
            ];
            for (name, value) in forwarded {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(HeaderName::from_static(name), value);
                }
            }
            let event = event(
                &target.arn,
                target.multi_value_headers,
                parts.method.as_str(),
                parts.uri.path(),
                parts.uri.query(),
                &headers,
                &body,
            );
            invoke(target, &event).await
        }
    }
}

/// An X-Ray style trace id, `Root=1-<epoch seconds hex>-<96 random bits hex>`.
fn trace_id() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{:08x}-{}", chrono::Utc::now().timestamp(), &random[..24])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns_follow_alb_wildcards() {
        assert!(path_matches("/api/sites*", "/api/sites"));
        assert!(path_matches("/api/sites*", "/api/sites/1/cameras"));
        assert!(!path_matches("/api/sites*", "/api/Sites"));
        assert!(path_matches("/a?c", "/abc"));
        assert!(!path_matches("/a?c", "/ac"));
        assert!(path_matches("*/health", "/x/y/health"));
        assert!(!path_matches("/api/clients*", "/other/api/clients"));
    }

    #[test]
    fn events_keep_the_query_undecoded_and_encode_binary_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("image/jpeg"));
        headers.append("x-multi", HeaderValue::from_static("a"));
        headers.append("x-multi", HeaderValue::from_static("b"));
        let single = event(
            "arn",
            false,
            "POST",
            "/p",
            Some("q=a%20b&q=c&flag"),
            &headers,
            &[0xff, 0xd8],
        );
        assert_eq!(single["queryStringParameters"], json!({ "q": "c", "flag": "" }));
        assert_eq!(single["headers"]["x-multi"], "b");
        assert_eq!(single["isBase64Encoded"], true);
        assert_eq!(single["body"], STANDARD.encode([0xff, 0xd8]));
        let multi = event("arn", true, "POST", "/p", Some("q=a%20b&q=c"), &headers, b"");
        assert_eq!(multi["multiValueQueryStringParameters"]["q"], json!(["a%20b", "c"]));
        assert_eq!(multi["multiValueHeaders"]["x-multi"], json!(["a", "b"]));
        assert!(multi.get("headers").is_none());
    }
}
