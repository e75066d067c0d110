//! Lambda entry point of the clip archiver, invoked by S3 for each clip upload.

use std::sync::Arc;

use aws_lambda_events::s3::S3Event;
use clip_archiver::ClipArchiver;
use lambda_runtime::{LambdaEvent, service_fn};
use seccom_domain::config::Config;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_domain::telemetry::init();
    let sdk = aws_config::load_from_env().await;
    let function = Arc::new(ClipArchiver::new(&sdk, &Config::from_process_env())?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| {
        let function = function.clone();
        async move {
            function
                .handle(event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
