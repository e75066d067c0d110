//! Device health: a device whose heartbeats stop is offline after a timeout,
//! and a device that reports itself faulty is faulty. Each problem opens one
//! health alarm on the device (`healthAlarm`) until the device is well again,
//! so an outage is reported once, and its recovery once. Every change is a
//! conditional write on what was read, so a heartbeat arriving meanwhile wins.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Device, DeviceKind, DeviceState, Directory, HealthUpdate};
use crate::auth::Principal;
use crate::error::DomainError;

/// What is wrong with a device while its health alarm is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthProblem {
    /// Its heartbeats stopped.
    Offline,
    /// It reported a fault.
    Faulty,
}

/// A change of a device's health, reported once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum HealthChange {
    WentOffline,
    ReportedFaulty,
    Recovered,
}

/// A device whose health changed, as it is now.
#[derive(Clone, Debug)]
pub struct HealthTransition {
    pub device: Device,
    pub change: HealthChange,
}

/// What a device's state calls for: a change to report and the alarm it leaves open.
fn transition(
    device: &Device,
    now: DateTime<Utc>,
    offline_after: TimeDelta,
) -> Option<(HealthChange, Option<HealthProblem>)> {
    let silent = device.last_seen_at.is_some_and(|seen| now - seen > offline_after);
    match (device.state, device.health_alarm) {
        (DeviceState::Online | DeviceState::Faulty, _) if silent => {
            Some((HealthChange::WentOffline, Some(HealthProblem::Offline)))
        }
        (DeviceState::Faulty, None | Some(HealthProblem::Offline)) => {
            Some((HealthChange::ReportedFaulty, Some(HealthProblem::Faulty)))
        }
        (DeviceState::Online, Some(_)) => Some((HealthChange::Recovered, None)),
        _ => None,
    }
}

impl Directory {
    /// Cameras and alarms offline or faulty now, of every client, the longest
    /// silent first. Staff only: the alarm queue shows them beside intrusions.
    #[tracing::instrument(skip_all)]
    pub async fn unhealthy_devices(&self, who: &Principal) -> Result<Vec<Device>, DomainError> {
        who.require_staff()?;
        let mut unhealthy = Vec::new();
        for kind in [DeviceKind::Camera, DeviceKind::Alarm] {
            unhealthy.extend(
                self.every_device(None, kind)
                    .await?
                    .into_iter()
                    .filter(|d| matches!(d.state, DeviceState::Offline | DeviceState::Faulty)),
            );
        }
        unhealthy.sort_by_key(|d| (d.last_seen_at, d.id));
        Ok(unhealthy)
    }

    /// Checks every camera and alarm, records each health change once, and returns them.
    #[tracing::instrument(skip_all)]
    pub async fn sweep_health(
        &self,
        now: DateTime<Utc>,
        offline_after: TimeDelta,
    ) -> Result<Vec<HealthTransition>, DomainError> {
        let mut transitions = Vec::new();
        for kind in [DeviceKind::Camera, DeviceKind::Alarm] {
            for device in self.every_device(None, kind).await? {
                let Some((change, alarm)) = transition(&device, now, offline_after) else {
                    continue;
                };
                let update = HealthUpdate {
                    alarm,
                    state: (change == HealthChange::WentOffline).then_some(DeviceState::Offline),
                };
                // `None`: a heartbeat changed the device meanwhile, and it wins.
                if let Some(device) = self.store.update_health(&device, &update).await? {
                    transitions.push(HealthTransition { device, change });
                }
            }
        }
        Ok(transitions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientId, DeviceId, SiteId};
    use crate::values::Name;

    fn device(state: DeviceState, seen_seconds_ago: Option<i64>, alarm: Option<HealthProblem>) -> Device {
        let now = Utc::now();
        Device {
            id: DeviceId::generate(),
            kind: DeviceKind::Camera,
            site_id: SiteId::generate(),
            client_id: ClientId::generate(),
            name: Name::parse("Gate").unwrap(),
            state,
            last_seen_at: seen_seconds_ago.map(|s| now - TimeDelta::seconds(s)),
            endpoint: None,
            health_alarm: alarm,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn each_problem_is_reported_once_and_so_is_the_recovery() {
        let now = Utc::now();
        let timeout = TimeDelta::seconds(180);
        let decide = |d: &Device| transition(d, now, timeout).map(|(change, _)| change);
        assert_eq!(decide(&device(DeviceState::Online, Some(10), None)), None);
        assert_eq!(
            decide(&device(DeviceState::Online, Some(200), None)),
            Some(HealthChange::WentOffline)
        );
        assert_eq!(
            decide(&device(DeviceState::Offline, Some(900), Some(HealthProblem::Offline))),
            None,
            "an outage is reported once"
        );
        assert_eq!(
            decide(&device(DeviceState::Online, Some(1), Some(HealthProblem::Offline))),
            Some(HealthChange::Recovered)
        );
        assert_eq!(
            decide(&device(DeviceState::Faulty, Some(1), None)),
            Some(HealthChange::ReportedFaulty)
        );
        assert_eq!(
            decide(&device(DeviceState::Faulty, Some(1), Some(HealthProblem::Faulty))),
            None
        );
        assert_eq!(
            decide(&device(DeviceState::Unknown, None, None)),
            None,
            "never installed is not an outage"
        );
    }
}
