//! Lambda entry point of the client portal, behind the ALB.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seccom_runtime::runner::serve_http(client_web_ui::app).await
}
