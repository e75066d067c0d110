//! Lambda entry point of data protection: the footage purge, invoked every
//! hour by EventBridge, and erasure, invoked by the erasure queue.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_runtime::runner::serve_events(footage_retention::FootageRetention::new).await
}
