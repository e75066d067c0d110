//! The stylesheet and script, compiled into the function and served with long
//! cache lifetimes; their URLs carry a content hash, so a new build is fetched at once.

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::page::Portal;

const CSS: &str = include_str!("../assets/portal.css");
const JS: &str = include_str!("../assets/portal.js");

fn short_hash(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    digest.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect()
}

static CSS_NAME: LazyLock<String> = LazyLock::new(|| format!("portal.{}.css", short_hash(CSS)));
static JS_NAME: LazyLock<String> = LazyLock::new(|| format!("portal.{}.js", short_hash(JS)));

/// The stylesheet's URL in a portal.
pub fn css_url(portal: Portal) -> String {
    format!("{}/assets/{}", portal.prefix(), *CSS_NAME)
}

/// The script's URL in a portal.
pub fn js_url(portal: Portal) -> String {
    format!("{}/assets/{}", portal.prefix(), *JS_NAME)
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
}

/// The routes serving the assets under the portal's prefix.
pub fn routes(portal: Portal) -> Router {
    Router::new()
        .route(
            &css_url(portal),
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            &js_url(portal),
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
}
