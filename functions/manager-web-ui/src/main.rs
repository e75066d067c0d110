//! Lambda entry point of the manager portal, behind the ALB.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seccom_runtime::runner::serve_http(manager_web_ui::app).await
}
