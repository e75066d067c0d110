//! Lambda entry point of the device health check, invoked on a schedule by EventBridge.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_runtime::runner::serve_events(device_health::DeviceHealth::new).await
}
