//! Lambda entry point of the footage purge, invoked on a schedule by EventBridge.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_runtime::runner::serve_events(footage_retention::FootageRetention::new).await
}
