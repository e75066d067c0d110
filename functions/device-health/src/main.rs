//! Lambda entry point of the device health check, invoked on a schedule by EventBridge.
// The check's future nests deeply (each notice sent with retries); its layout needs more than the default depth.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_runtime::runner::serve_events(device_health::DeviceHealth::new).await
}
