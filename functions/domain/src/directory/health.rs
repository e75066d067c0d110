//! Device health: a device whose heartbeats stop is offline after a timeout,
//! and a device that reports itself faulty is faulty. Each problem opens one
//! health alarm on the device (`healthAlarm`) until the device is well again,
//! so an outage is reported once, and its recovery once. Every change is a
//! conditional write on what was read, so a heartbeat arriving meanwhile wins.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dynamo::Condition;
use super::{BY_ENTITY, Device, DeviceKind, DeviceState, Directory, device_key, entity_of};
use crate::error::DomainError;
use crate::page::{MAX_LIMIT, Page, PageRequest};

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

fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn encoded(value: impl Serialize) -> Result<AttributeValue, DomainError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| DomainError::unavailable("cannot encode a health state", e))
}

impl Directory {
    /// Checks every camera and alarm, records each health change once, and returns them.
    pub async fn sweep_health(
        &self,
        now: DateTime<Utc>,
        offline_after: TimeDelta,
    ) -> Result<Vec<HealthTransition>, DomainError> {
        let mut transitions = Vec::new();
        for kind in [DeviceKind::Camera, DeviceKind::Alarm] {
            let prefix = format!("{}#", entity_of(kind));
            let mut request = PageRequest {
                limit: MAX_LIMIT,
                token: None,
            };
            loop {
                let page: Page<Device> = self
                    .table
                    .query(BY_ENTITY, ("entity", entity_of(kind).to_owned()), &prefix, &request)
                    .await?;
                for device in page.items {
                    if let Some((change, alarm)) = transition(&device, now, offline_after)
                        && let Some(device) = self.apply(&device, change, alarm).await?
                    {
                        transitions.push(HealthTransition { device, change });
                    }
                }
                match page.next_token {
                    Some(token) => request.token = Some(token),
                    None => break,
                }
            }
        }
        Ok(transitions)
    }

    /// Writes a change if the device is still as it was read; `None` when something changed meanwhile.
    async fn apply(
        &self,
        device: &Device,
        change: HealthChange,
        alarm: Option<HealthProblem>,
    ) -> Result<Option<Device>, DomainError> {
        let mut set = HashMap::new();
        let mut remove: Vec<&str> = Vec::new();
        match alarm {
            Some(alarm) => {
                set.insert("healthAlarm".to_owned(), encoded(alarm)?);
            }
            None => remove.push("healthAlarm"),
        }
        if change == HealthChange::WentOffline {
            set.insert("state".to_owned(), encoded(DeviceState::Offline)?);
        }
        let mut condition = Condition {
            expression: Some("#state = :seen_state".into()),
            names: vec![("#state".into(), "state".into())],
            values: vec![(":seen_state".into(), encoded(device.state)?)],
        };
        match device.last_seen_at {
            Some(seen) => {
                condition.expression = Some("#state = :seen_state AND lastSeenAt = :seen_at".into());
                condition.values.push((":seen_at".into(), text(seen.to_rfc3339())));
            }
            None => condition.expression = Some("#state = :seen_state AND attribute_not_exists(lastSeenAt)".into()),
        }
        self.table
            .update_if(&device_key(device.id), set, &remove, condition)
            .await
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
