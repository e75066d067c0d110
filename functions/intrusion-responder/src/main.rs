//! Lambda entry point of the intrusion responder, invoked by the intrusions table's stream.

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use intrusion_responder::IntrusionResponder;
use lambda_runtime::{LambdaEvent, service_fn};
use seccom_domain::config::Config;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_domain::telemetry::init();
    let sdk = aws_config::load_from_env().await;
    let function = Arc::new(IntrusionResponder::new(&sdk, &Config::from_process_env())?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| {
        let function = function.clone();
        async move { Ok::<_, lambda_runtime::Error>(function.handle(event.payload).await) }
    }))
    .await
}
