//! The response store, in memory, with the DynamoDB adapter's conditions: first
//! writes are claims that find an earlier attempt's record, a command is
//! recorded and queued together, only the first delivery counts, and a clip is
//! marked stored only under the key it was requested with.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::{lock, page_of, round_trip};
use crate::error::DomainError;
use crate::ids::{ClientId, DeviceId, IntrusionId};
use crate::page::{Page, PageRequest};
use crate::response::{
    Claim, Clip, Command, DeliveredBy, Delivery, EscalationRecord, HealthEvent, Notification, NotificationPreferences,
    NotificationScope, PendingConfirmation, ResponseRecords, ResponseStore,
};

#[derive(Default)]
struct Records {
    /// By intrusion, then command id.
    deliveries: HashMap<IntrusionId, BTreeMap<String, Delivery>>,
    /// By device, then command id.
    queues: HashMap<DeviceId, BTreeMap<String, Command>>,
    clips: HashMap<IntrusionId, Clip>,
    notifications: BTreeMap<String, Notification>,
    health: Vec<HealthEvent>,
    preferences: HashMap<ClientId, NotificationPreferences>,
    /// By client and address key.
    confirmations: HashMap<(ClientId, String), PendingConfirmation>,
    /// Confirmation messages counted by client and day.
    confirmations_sent: HashMap<(ClientId, NaiveDate), u32>,
    /// By intrusion, then step.
    escalations: HashMap<IntrusionId, BTreeMap<u32, EscalationRecord>>,
}

/// Responses, command queues, preferences and health events, in memory.
#[derive(Default)]
pub struct MemoryResponses {
    records: Mutex<Records>,
}

fn in_scope(client: ClientId, scope: NotificationScope) -> bool {
    match scope {
        NotificationScope::Client(own) => client == own,
        NotificationScope::All => true,
    }
}

fn missing(what: &'static str) -> DomainError {
    DomainError::unavailable(format!("cannot update a {what}"), "it was never recorded")
}

#[async_trait]
impl ResponseStore for MemoryResponses {
    async fn claim_delivery(&self, delivery: &Delivery) -> Result<Claim<Delivery>, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let command = &delivery.command;
        let of_intrusion = records.deliveries.entry(command.intrusion_id).or_default();
        if let Some(existing) = of_intrusion.get(&command.id) {
            return Ok(Claim::Existing(existing.clone()));
        }
        of_intrusion.insert(command.id.clone(), delivery.clone());
        records
            .queues
            .entry(command.device_id)
            .or_default()
            .insert(command.id.clone(), command.clone());
        Ok(Claim::New)
    }

    async fn delivered(&self, command: &Command, by: DeliveredBy, at: DateTime<Utc>) -> Result<(), DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        if let Some(delivery) = records
            .deliveries
            .get_mut(&command.intrusion_id)
            .and_then(|of_intrusion| of_intrusion.get_mut(&command.id))
            && delivery.delivered_at.is_none()
        {
            delivery.delivered_at = Some(at);
            delivery.delivered_by = Some(by);
        }
        if let Some(queue) = records.queues.get_mut(&command.device_id) {
            queue.remove(&command.id);
        }
        Ok(())
    }

    async fn push_failed(&self, command: &Command, attempts: u32, error: &str) -> Result<(), DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let delivery = records
            .deliveries
            .get_mut(&command.intrusion_id)
            .and_then(|of_intrusion| of_intrusion.get_mut(&command.id))
            .ok_or_else(|| missing("command"))?;
        delivery.push_attempts += attempts;
        delivery.last_error = Some(error.to_owned());
        Ok(())
    }

    async fn queued(&self, device: DeviceId) -> Result<Vec<Command>, DomainError> {
        round_trip().await;
        let mut commands: Vec<Command> = lock(&self.records)
            .queues
            .get(&device)
            .map(|queue| queue.values().cloned().collect())
            .unwrap_or_default();
        commands.sort_by_key(|c| c.issued_at);
        Ok(commands)
    }

    async fn claim_clip(&self, clip: &Clip) -> Result<Claim<Clip>, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        if let Some(existing) = records.clips.get(&clip.intrusion_id) {
            return Ok(Claim::Existing(existing.clone()));
        }
        records.clips.insert(clip.intrusion_id, clip.clone());
        Ok(Claim::New)
    }

    async fn clip_stored(
        &self,
        intrusion: IntrusionId,
        uploaded: &str,
        stored: &str,
        size: u64,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        match records.clips.get_mut(&intrusion) {
            Some(clip) if clip.key == uploaded => {
                clip.key = stored.to_owned();
                clip.stored_at = Some(at);
                clip.size = Some(size);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn claim_notification(&self, notification: &Notification) -> Result<Claim<Notification>, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        if let Some(existing) = records.notifications.get(&notification.id) {
            return Ok(Claim::Existing(existing.clone()));
        }
        records
            .notifications
            .insert(notification.id.clone(), notification.clone());
        Ok(Claim::New)
    }

    async fn save_notification(&self, notification: &Notification) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.records)
            .notifications
            .insert(notification.id.clone(), notification.clone());
        Ok(())
    }

    async fn list_notifications(
        &self,
        scope: NotificationScope,
        page: &PageRequest,
    ) -> Result<Page<Notification>, DomainError> {
        round_trip().await;
        let mut listed: Vec<Notification> = lock(&self.records)
            .notifications
            .values()
            .filter(|n| in_scope(n.client_id, scope))
            .cloned()
            .collect();
        listed.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        page_of(&listed, page)
    }

    async fn record_escalation(&self, record: &EscalationRecord) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.records)
            .escalations
            .entry(record.intrusion_id)
            .or_default()
            .entry(record.step)
            .or_insert_with(|| record.clone());
        Ok(())
    }

    async fn records(&self, intrusion: IntrusionId) -> Result<ResponseRecords, DomainError> {
        round_trip().await;
        let records = lock(&self.records);
        let mut found = ResponseRecords {
            deliveries: records
                .deliveries
                .get(&intrusion)
                .map(|of_intrusion| of_intrusion.values().cloned().collect())
                .unwrap_or_default(),
            clip: records.clips.get(&intrusion).cloned(),
            notifications: records
                .notifications
                .values()
                .filter(|n| n.intrusion_id == intrusion)
                .cloned()
                .collect(),
            escalations: records
                .escalations
                .get(&intrusion)
                .map(|steps| steps.values().cloned().collect())
                .unwrap_or_default(),
        };
        found.deliveries.sort_by_key(|d| d.command.issued_at);
        found.notifications.sort_by_key(|n| n.created_at);
        Ok(found)
    }

    async fn save_webhook_secret(&self, rotated: &NotificationPreferences) -> Result<(), DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let saved = records
            .preferences
            .get_mut(&rotated.client_id)
            .ok_or_else(|| missing("notification preferences"))?;
        saved.webhook_secret = rotated.webhook_secret.clone();
        saved.retiring_webhook_secret = rotated.retiring_webhook_secret.clone();
        saved.webhook_secret_rotated_at = rotated.webhook_secret_rotated_at;
        Ok(())
    }

    async fn delete_records(&self, intrusion: IntrusionId) -> Result<(), DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        records.deliveries.remove(&intrusion);
        records.clips.remove(&intrusion);
        records.notifications.retain(|_, n| n.intrusion_id != intrusion);
        records.escalations.remove(&intrusion);
        Ok(())
    }

    async fn erase_device(&self, _client: ClientId, device: DeviceId) -> Result<u32, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let queued = records.queues.remove(&device).map_or(0, |q| q.len());
        let before = records.health.len();
        records.health.retain(|e| e.device_id != device);
        Ok(u32::try_from(queued + before - records.health.len()).unwrap_or(u32::MAX))
    }

    async fn erase_client(&self, client: ClientId) -> Result<u32, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let before = records.health.len() + records.confirmations.len();
        records.health.retain(|e| e.client_id != client);
        records.confirmations.retain(|_, c| c.client_id != client);
        records.confirmations_sent.retain(|(of, _), _| *of != client);
        let preferences = usize::from(records.preferences.remove(&client).is_some());
        let after = records.health.len() + records.confirmations.len();
        Ok(u32::try_from(before - after + preferences).unwrap_or(u32::MAX))
    }

    async fn record_health(&self, event: &HealthEvent) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.records).health.push(event.clone());
        Ok(())
    }

    async fn health_events(
        &self,
        scope: NotificationScope,
        page: &PageRequest,
    ) -> Result<Page<HealthEvent>, DomainError> {
        round_trip().await;
        let mut listed: Vec<HealthEvent> = lock(&self.records)
            .health
            .iter()
            .filter(|e| in_scope(e.client_id, scope))
            .cloned()
            .collect();
        listed.sort_by_key(|e| std::cmp::Reverse(e.at));
        page_of(&listed, page)
    }

    async fn preferences(&self, client: ClientId) -> Result<Option<NotificationPreferences>, DomainError> {
        round_trip().await;
        Ok(lock(&self.records).preferences.get(&client).cloned())
    }

    async fn save_recipients(&self, preferences: &NotificationPreferences) -> Result<(), DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let saved = records
            .preferences
            .get_mut(&preferences.client_id)
            .ok_or_else(|| missing("notification preferences"))?;
        saved.recipients = preferences.recipients.clone();
        saved.updated_at = preferences.updated_at;
        Ok(())
    }

    async fn confirmation(
        &self,
        client: ClientId,
        address_key: &str,
    ) -> Result<Option<PendingConfirmation>, DomainError> {
        round_trip().await;
        Ok(lock(&self.records)
            .confirmations
            .get(&(client, address_key.to_owned()))
            .cloned())
    }

    async fn save_confirmation(&self, pending: &PendingConfirmation) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.records)
            .confirmations
            .insert((pending.client_id, pending.address_key()), pending.clone());
        Ok(())
    }

    async fn take_confirmation(&self, pending: &PendingConfirmation) -> Result<bool, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let key = (pending.client_id, pending.address_key());
        let current = records
            .confirmations
            .get(&key)
            .is_some_and(|c| c.token_sha256 == pending.token_sha256 && !c.withdrawn);
        if current {
            records.confirmations.remove(&key);
        }
        Ok(current)
    }

    async fn reserve_confirmations(
        &self,
        client: ClientId,
        day: NaiveDate,
        count: u32,
        cap: u32,
    ) -> Result<bool, DomainError> {
        round_trip().await;
        let mut records = lock(&self.records);
        let sent = records.confirmations_sent.entry((client, day)).or_default();
        let within = sent.checked_add(count).is_some_and(|total| total <= cap);
        if within {
            *sent += count;
        }
        Ok(within)
    }

    async fn create_preferences(
        &self,
        preferences: &NotificationPreferences,
    ) -> Result<NotificationPreferences, DomainError> {
        round_trip().await;
        Ok(lock(&self.records)
            .preferences
            .entry(preferences.client_id)
            .or_insert_with(|| preferences.clone())
            .clone())
    }
}
