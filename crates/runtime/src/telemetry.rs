//! Structured JSON logs for CloudWatch, one line per event.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber; `RUST_LOG` overrides the `info` default.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}
