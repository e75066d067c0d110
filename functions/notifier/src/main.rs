//! Lambda entry point of the notifier, invoked by the notification queue.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_runtime::runner::serve_events(notifier::NotifierFunction::new).await
}
