//! Lambda entry point of the clip archiver, invoked by S3 for each clip upload.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_runtime::runner::serve_events(clip_archiver::ClipArchiver::new).await
}
