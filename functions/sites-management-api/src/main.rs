//! Lambda entry point of the Sites Management API behind the ALB.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seccom_runtime::runner::serve_http(sites_management_api::app).await
}
