//! Live pages without streaming (the ALB cannot stream a Lambda's answer): a
//! page that changes by itself carries an ETag of what it shows, and the
//! portal script asks for it again every few seconds with `If-None-Match`,
//! answered 304 when nothing changed, so polling costs one small answer.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How often a live page asks whether it changed, in seconds.
pub const POLL_SECONDS: u32 = 5;

/// The ETag of a page's state, described as text (ids, states, a time bucket).
pub fn etag(state: &str) -> String {
    // The project's SHA-256 in hex; 96 bits tell one queue from another.
    format!("\"{}\"", &seccom_domain::credential::hash(state)[..24])
}

/// 304 when the caller already has `etag`: nothing to render.
pub fn unchanged(headers: &HeaderMap, etag: &str) -> Option<Response> {
    let known = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|seen| seen.split(',').any(|t| t.trim() == etag));
    known.then(|| (StatusCode::NOT_MODIFIED, [(header::ETAG, tag(etag))]).into_response())
}

/// `page` (or any answer, such as JSON) with its ETag.
pub fn tagged(page: impl IntoResponse, etag: &str) -> Response {
    let mut response = page.into_response();
    response.headers_mut().insert(header::ETAG, tag(etag));
    response
}

fn tag(etag: &str) -> HeaderValue {
    HeaderValue::from_str(etag).expect("an ETag is quoted hex")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_state_is_not_sent_again() {
        let tag = etag("a:open");
        assert_eq!(tag, etag("a:open"));
        assert_ne!(tag, etag("a:acknowledged"));
        let mut headers = HeaderMap::new();
        assert!(unchanged(&headers, &tag).is_none(), "a first visit gets the page");
        let fresh = tagged(maud::html! { p { "queue" } }, &tag);
        assert_eq!(fresh.status(), StatusCode::OK);
        assert_eq!(fresh.headers()[header::ETAG], tag.as_str());
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&tag).unwrap());
        let same = unchanged(&headers, &tag).expect("the same state is not sent again");
        assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(unchanged(&headers, &tag).is_none());
    }
}
