//! Lambda entry point of the devices API behind the ALB.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seccom_runtime::runner::serve_http(cameras_api::app).await
}
