//! Lambda entry point of the client portal, behind the ALB.

use seccom_domain::config::Config;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seccom_domain::telemetry::init();
    let sdk = aws_config::load_from_env().await;
    let app = client_web_ui::app(&sdk, &Config::from_process_env())?;
    lambda_http::run(app).await
}
