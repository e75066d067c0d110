//! One runner for every function: it installs the JSON logs, loads the AWS
//! settings and the function's own, builds the function once per container,
//! and serves its events. Event functions implement [`EventFunction`]; the
//! local stack drives them through [`json_handler`], with the event as JSON,
//! exactly as Lambda hands it over.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_runtime::{LambdaEvent, service_fn};
use seccom_domain::config::Config;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::telemetry;

/// A function invoked with events (S3 notifications, stream batches, schedules).
///
/// A function whose event source retries single records (a stream batch) reports
/// their failures in its output (`batchItemFailures`); an `Err` fails the whole
/// invocation, and the event source delivers it again.
pub trait EventFunction: Send + Sync + 'static {
    /// The event, as the event source sends it.
    type Event: DeserializeOwned + Send + 'static;
    /// The answer.
    type Output: Serialize + Send + 'static;
    /// Why a whole invocation failed.
    type Error: Into<lambda_runtime::Error> + Send + 'static;

    /// Handles one invocation.
    fn handle(&self, event: Self::Event) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
}

/// An event function that takes and answers JSON: how the local stack invokes it.
pub type JsonHandler = Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = anyhow::Result<Value>> + Send>> + Send + Sync>;

/// Wraps an event function so it takes its event as JSON and answers JSON.
pub fn json_handler<F: EventFunction>(function: F) -> JsonHandler {
    let function = Arc::new(function);
    Arc::new(move |event| {
        let function = function.clone();
        Box::pin(async move {
            let event: F::Event = serde_json::from_value(event)?;
            let output = function.handle(event).await.map_err(|e| anyhow::anyhow!(e.into()))?;
            Ok(serde_json::to_value(output)?)
        })
    })
}

/// The settings a function is built from in Lambda.
async fn environment() -> (SdkConfig, Config) {
    telemetry::init();
    (aws_config::load_from_env().await, Config::from_process_env())
}

/// Serves an event function in Lambda: `main` of every event-triggered function.
pub async fn serve_events<F, E>(
    build: impl FnOnce(&SdkConfig, &Config) -> Result<F, E>,
) -> Result<(), lambda_runtime::Error>
where
    F: EventFunction,
    E: Into<lambda_runtime::Error>,
{
    let (sdk, config) = environment().await;
    let function = Arc::new(build(&sdk, &config).map_err(Into::into)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<F::Event>| {
        let function = function.clone();
        async move { function.handle(event.payload).await.map_err(Into::into) }
    }))
    .await
}

/// Serves an HTTP function behind the ALB: `main` of every API and portal.
pub async fn serve_http<E>(
    build: impl FnOnce(&SdkConfig, &Config) -> Result<axum::Router, E>,
) -> Result<(), lambda_http::Error>
where
    E: Into<lambda_http::Error>,
{
    let (sdk, config) = environment().await;
    lambda_http::run(build(&sdk, &config).map_err(Into::into)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Doubler;

    impl EventFunction for Doubler {
        type Event = Vec<i64>;
        type Output = Vec<i64>;
        type Error = std::io::Error;

        async fn handle(&self, event: Vec<i64>) -> Result<Vec<i64>, std::io::Error> {
            if event.is_empty() {
                return Err(std::io::Error::other("nothing to double"));
            }
            Ok(event.into_iter().map(|n| n * 2).collect())
        }
    }

    #[tokio::test]
    async fn the_json_handler_decodes_handles_and_encodes() {
        let handler = json_handler(Doubler);
        assert_eq!(
            handler(serde_json::json!([1, 2])).await.unwrap(),
            serde_json::json!([2, 4])
        );
        let failed = handler(serde_json::json!([])).await.unwrap_err();
        assert!(failed.to_string().contains("nothing to double"));
        assert!(handler(serde_json::json!({"not": "a list"})).await.is_err());
    }
}
