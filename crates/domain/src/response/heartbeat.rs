//! Heartbeat → command handover: a device that says it is alive (or faulty)
//! is recorded as such, gets every command still waiting for it (those a push
//! did not deliver), and learns whether its site is armed, so a camera may
//! stay quiet while it is not.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Command, DeliveredBy, ResponseStore};
use crate::clock::Clock;
use crate::controls::ControlStore;
use crate::directory::{Device, Directory};
use crate::error::DomainError;

/// What a heartbeat hands the device.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    /// The device as now recorded.
    pub device: Device,
    /// Commands not yet delivered by push, oldest first; now delivered by this heartbeat.
    pub commands: Vec<Command>,
    /// Whether the device's site is armed now.
    pub armed: bool,
    /// Until when `armed` holds, if it changes within the schedule's horizon.
    pub armed_until: Option<DateTime<Utc>>,
}

/// The heartbeat use case.
pub struct Heartbeats {
    pub directory: Directory,
    pub store: Arc<dyn ResponseStore>,
    pub controls: Arc<dyn ControlStore>,
    pub clock: Arc<dyn Clock>,
}

impl Heartbeats {
    /// Records a heartbeat of `device` and hands over what waits for it.
    #[tracing::instrument(skip_all, fields(device = %device.id))]
    pub async fn beat(&self, device: &Device, faulty: bool) -> Result<Heartbeat, DomainError> {
        let device = self.directory.record_heartbeat(device, faulty).await?;
        let commands = self.store.queued(device.id).await?;
        let now = self.clock.now();
        for command in &commands {
            self.store.delivered(command, DeliveredBy::Heartbeat, now).await?;
        }
        let arming = self.controls.arming(device.site_id).await?.unwrap_or_default();
        Ok(Heartbeat {
            commands,
            armed: arming.armed_at(now),
            armed_until: arming.next_change(now),
            device,
        })
    }
}
