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
    /// The function running `check`, writing `metrics`.
    pub fn with(check: HealthCheck, metrics: Metrics) -> Self {
        Self { check, metrics }
    }

    /// Connects to the tables and channels named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let stores = seccom_aws::Stores::new(sdk, config);
        Ok(Self::with(
            HealthCheck {
                directory: stores.directory()?,
                store: stores.responses()?,
                channels: Arc::new(OutboundChannels::from_config(sdk, config)?),
                clock: Arc::new(SystemClock),
                offline_after: TimeDelta::seconds(config.number(DEVICE_OFFLINE_AFTER_SECONDS, 180)?),
                staff_email: config.optional(STAFF_ALERT_EMAIL).map(str::to_owned),
            },
            Metrics::from_config(config, "device-health"),
        ))
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use seccom_domain::clock::FixedClock;
    use seccom_domain::directory::{Device, DeviceKind, Directory};
    use seccom_domain::fixtures;
    use seccom_domain::memory::{MemoryChannels, MemoryDirectory, MemoryResponses};

    use super::*;

    struct World {
        function: DeviceHealth,
        directory: Directory,
        clock: Arc<FixedClock>,
        channels: Arc<MemoryChannels>,
        camera: Device,
        metrics: tempfile::TempDir,
    }

    async fn world() -> World {
        let clock = Arc::new(FixedClock::at(Utc.with_ymd_and_hms(2026, 12, 8, 2, 0, 0).unwrap()));
        let directory = Directory::with_clock(Arc::new(MemoryDirectory::default()), clock.clone());
        let (_, site) = fixtures::client_with_site(&directory, "Acme").await;
        let camera = fixtures::register(&directory, site.id, DeviceKind::Camera, "Gate")
            .await
            .device;
        let camera = directory.record_heartbeat(&camera, false).await.unwrap();
        let metrics = tempfile::tempdir().unwrap();
        let metrics_file = metrics.path().join("metrics.jsonl").display().to_string();
        let config = Config::from_pairs([(seccom_domain::config::METRICS_FILE.to_owned(), metrics_file)]);
        let channels = Arc::new(MemoryChannels::default());
        let function = DeviceHealth::with(
            HealthCheck {
                directory: directory.clone(),
                store: Arc::new(MemoryResponses::default()),
                channels: channels.clone(),
                clock: clock.clone(),
                offline_after: TimeDelta::seconds(180),
                staff_email: Some("noc@seccom.example".into()),
            },
            Metrics::from_config(&config, "device-health"),
        );
        World {
            function,
            directory,
            clock,
            channels,
            camera,
            metrics,
        }
    }

    impl World {
        async fn run(&self) -> HealthReport {
            self.function
                .handle(serde_json::json!({ "source": "aws.events" }))
                .await
                .unwrap()
        }
    }

    #[tokio::test]
    async fn a_device_heard_within_its_time_is_left_alone() {
        let w = world().await;
        w.clock.advance(TimeDelta::seconds(170));
        assert!(w.run().await.changes.is_empty());
        assert!(w.channels.sent().is_empty());
    }

    #[tokio::test]
    async fn a_silent_device_goes_offline_once_and_staff_and_metrics_hear_of_it() {
        let w = world().await;
        w.clock.advance(TimeDelta::seconds(181));
        let report = w.run().await;
        assert_eq!(report.changes.len(), 1);
        assert_eq!(report.changes[0].change, HealthChange::WentOffline);
        assert_eq!(report.changes[0].device_id, w.camera.id);
        let told: Vec<String> = w.channels.sent().into_iter().map(|s| s.to).collect();
        assert!(told.contains(&"noc@seccom.example".to_owned()), "{told:?}");
        assert!(w.run().await.changes.is_empty(), "told once");
        let metrics = std::fs::read_to_string(w.metrics.path().join("metrics.jsonl")).unwrap();
        let first: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
        assert_eq!(first["DevicesWentOffline"], 1.0);
    }

    #[tokio::test]
    async fn a_device_heard_again_recovers_and_the_report_reads_as_json() {
        let w = world().await;
        w.clock.advance(TimeDelta::seconds(181));
        w.run().await;
        w.directory.record_heartbeat(&w.camera, false).await.unwrap();
        let report = w.run().await;
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["changes"][0]["change"], "recovered", "{json}");
    }
}
