//! Lambda entry point of the device health check, invoked on a schedule by EventBridge.

use std::sync::Arc;

use device_health::DeviceHealth;
use lambda_runtime::{LambdaEvent, service_fn};
use seccom_domain::config::Config;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_domain::telemetry::init();
    let sdk = aws_config::load_from_env().await;
    let function = Arc::new(DeviceHealth::new(&sdk, &Config::from_process_env())?);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let function = function.clone();
        async move { function.check().await.map_err(lambda_runtime::Error::from) }
    }))
    .await
}
