//! What every SecCom Lambda shares at run time: JSON logs, EMF metrics, and one
//! runner for HTTP and event functions. Each function's `main.rs` is one call
//! of [`runner::serve_http`] or [`runner::serve_events`]; the local stack
//! invokes event functions through the same [`runner::EventFunction`] trait.

pub mod batch;
pub mod metrics;
pub mod runner;
pub mod s3;
pub mod telemetry;
