//! Lambda entry point of the intrusion responder, invoked by the intrusions table's stream.
// The response future nests deeply (alarms, clip and notifications joined); its layout needs more than the default depth.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    seccom_runtime::runner::serve_events(intrusion_responder::IntrusionResponder::new).await
}
