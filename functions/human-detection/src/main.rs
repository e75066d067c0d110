//! Lambda entry point of human detection, invoked by S3 for each uploaded frame.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_runtime::runner::serve_events(human_detection::HumanDetection::new).await
}
