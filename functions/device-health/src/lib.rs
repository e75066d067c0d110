//! The device health check, run every minute by an EventBridge schedule. Each
//! camera or alarm that went silent for longer than `DEVICE_OFFLINE_AFTER_SECONDS`
//! (or reported a fault) opens one health alarm, which is stored and told to the
//! client's own recipients and to SecCom staff (`STAFF_ALERT_EMAIL`); its
//! recovery is told once too. The domain's conditional writes make a change
//! happen once even when two checks overlap.

use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::TimeDelta;
use seccom_domain::clock::SystemClock;
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::directory::HealthChange;
use seccom_domain::error::DomainError;
use seccom_domain::response::{HealthCheck, HealthEvent};
use seccom_outbound::OutboundChannels;
use seccom_runtime::metrics::Metrics;
use seccom_runtime::runner::EventFunction;
use serde::Serialize;

/// How long a device may stay silent before it is offline (default 180).
pub const DEVICE_OFFLINE_AFTER_SECONDS: &str = "DEVICE_OFFLINE_AFTER_SECONDS";
/// Where SecCom staff are told about device health (optional).
pub const STAFF_ALERT_EMAIL: &str = "STAFF_ALERT_EMAIL";

/// What one check did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub changes: Vec<HealthEvent>,
}

/// What the function holds between invocations.
pub struct DeviceHealth {
    check: HealthCheck,
    metrics: Metrics,
}

impl DeviceHealth {
    /// Connects to the tables and channels named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        Ok(Self {
            check: HealthCheck {
                directory: stores.directory()?,
                store: stores.responses()?,
                channels: Arc::new(OutboundChannels::from_config(sdk, config)?),
                clock: Arc::new(SystemClock),
                offline_after: TimeDelta::seconds(config.number(DEVICE_OFFLINE_AFTER_SECONDS, 180)?),
                staff_email: config.optional(STAFF_ALERT_EMAIL).map(str::to_owned),
            },
            metrics: Metrics::from_config(config, "device-health"),
        })
    }

    /// Checks every device once; stores and tells each health change.
    pub async fn check(&self) -> Result<HealthReport, DomainError> {
        let changes = self.check.run().await?;
        let offline = changes.iter().filter(|e| e.change == HealthChange::WentOffline).count();
        self.metrics.emit(&[
            ("DevicesWentOffline", offline as f64, "Count"),
            ("DeviceHealthChanges", changes.len() as f64, "Count"),
        ]);
        Ok(HealthReport { changes })
    }
}

impl EventFunction for DeviceHealth {
    /// The schedule's event, which says nothing the check needs.
    type Event = serde_json::Value;
    type Output = HealthReport;
    type Error = DomainError;

    async fn handle(&self, _event: serde_json::Value) -> Result<HealthReport, DomainError> {
        self.check().await
    }
}
