//! The responses table, the DynamoDB adapter of [`ResponseStore`]: what the
//! response to each intrusion did, device command queues, notification
//! preferences and health events.
//!
//! | pk | sk | item |
//! |---|---|---|
//! | `INTRUSION#<id>` | `COMMAND#<command id>` | a command and its delivery |
//! | `INTRUSION#<id>` | `CLIP` | the clip request and arrival |
//! | `INTRUSION#<id>` | `NOTIFICATION#<id>` | a notification (indexed by client and for staff) |
//! | `INTRUSION#<id>` | `ESCALATION#<step, 3 digits>` | an escalation step taken |
//! | `DEVICE#<id>` | `COMMAND#<command id>` | a command waiting for the device's heartbeat |
//! | `CLIENT#<id>` | `PREFERENCES` | notification preferences |
//! | `CLIENT#<id>` | `CONFIRMATION#<address key>` | the confirmation link last sent to an address (expires by TTL) |
//! | `CLIENT#<id>` | `CONFIRMATIONS#<day>` | confirmation messages sent that day (expires by TTL) |
//!
//! Every first write is conditional, so a retried stream batch finds what an
//! earlier attempt did instead of doing it again.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client as DynamoDb;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use seccom_domain::error::DomainError;
use seccom_domain::ids::{ClientId, DeviceId, IntrusionId};
use seccom_domain::page::{Page, PageRequest};
use seccom_domain::response::{
    Claim, Clip, Command, DeliveredBy, Delivery, EscalationRecord, HealthEvent, Notification, NotificationPreferences,
    NotificationScope, PendingConfirmation, ResponseRecords, ResponseStore,
};

use crate::dynamo::page_token::{self, ListKey};
use crate::dynamo::{Item, Table, Transaction, decode_items, encoded, key, n, s, transact, unavailable, updated};

fn intrusion_key(intrusion: IntrusionId) -> String {
    format!("INTRUSION#{intrusion}")
}

fn device_key(device: DeviceId) -> String {
    format!("DEVICE#{device}")
}

fn command_key(command: &Command) -> String {
    format!("COMMAND#{}", command.id)
}

#[derive(Serialize, Deserialize)]
struct Stored<T> {
    pk: String,
    sk: String,
    #[serde(flatten)]
    record: T,
}

/// A notification with the index keys that list it by client and for staff.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredNotification {
    pk: String,
    sk: String,
    entity: String,
    sort_key: String,
    #[serde(flatten)]
    notification: Notification,
}

/// A health event with the keys that list it by client and for staff.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredHealth {
    pk: String,
    sk: String,
    entity: String,
    sort_key: String,
    #[serde(flatten)]
    event: HealthEvent,
}

/// Which items a newest-first list reads: the table's or an index's
/// partition (attribute, value); the sort key and the prefix items must start
/// with, if any; and, when given, only items of that entity (the `byClient`
/// index also holds a client's health events).
struct Listing<'a> {
    index: Option<&'a str>,
    partition: (&'a str, String),
    sort: (&'a str, Option<&'a str>),
    entity: Option<&'a str>,
}

/// The responses table.
#[derive(Clone)]
pub struct ResponseTable {
    table: Table,
}

impl ResponseTable {
    /// Uses `table` through `db`.
    pub fn new(db: DynamoDb, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(db, table),
        }
    }

    fn item<T: Serialize>(pk: String, sk: String, record: &T) -> Result<Item, DomainError> {
        serde_dynamo::to_item(Stored { pk, sk, record }).map_err(unavailable("encode a response record"))
    }

    /// A query of every item recorded about an intrusion's response (its
    /// partition), to drain with the SDK's paginator.
    fn intrusion_partition(&self, intrusion: IntrusionId) -> QueryFluentBuilder {
        self.table.query_partition(intrusion_key(intrusion))
    }

    /// Sets `fields` (attribute, value) on a client's saved preferences and
    /// leaves every other attribute as it is, so writers of different fields
    /// never undo each other.
    async fn set_on_preferences(
        &self,
        client: ClientId,
        fields: &[(&str, AttributeValue)],
        what: &str,
    ) -> Result<(), DomainError> {
        let set: Vec<String> = (0..fields.len()).map(|i| format!("#f{i} = :f{i}")).collect();
        let mut update = self
            .table
            .db
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(format!("CLIENT#{client}")))
            .key("sk", s("PREFERENCES"))
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression("attribute_exists(pk)");
        for (i, (name, value)) in fields.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#f{i}"), *name)
                .expression_attribute_values(format!(":f{i}"), value.clone());
        }
        match updated(update.send().await, &format!("save {what}"))? {
            Some(_) => Ok(()),
            None => Err(DomainError::unavailable(
                format!("cannot save {what}"),
                "the preferences were removed meanwhile",
            )),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, pk: String, sk: String) -> Result<Option<T>, DomainError> {
        self.table
            .get_decoded(key(pk, sk), |stored: Stored<T>| stored.record, "a response record")
            .await
    }

    fn stored_notification(notification: &Notification) -> StoredNotification {
        StoredNotification {
            pk: intrusion_key(notification.intrusion_id),
            sk: format!("NOTIFICATION#{}", notification.id),
            entity: "NOTIFICATION".into(),
            sort_key: format!(
                "{}#{}",
                notification
                    .created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                notification.id
            ),
            notification: notification.clone(),
        }
    }

    /// One page of a listing, newest first, decoded through its stored envelope.
    async fn newest_first<S: serde::de::DeserializeOwned, T>(
        &self,
        listing: Listing<'_>,
        page: &PageRequest,
        record: fn(S) -> T,
        what: &str,
    ) -> Result<Page<T>, DomainError> {
        let Listing {
            index,
            partition: (partition_attribute, partition_value),
            sort: (sort_attribute, prefix),
            entity,
        } = listing;
        let list = ListKey {
            table_keys: &["pk", "sk"],
            partition: (partition_attribute, &partition_value),
            sort: (sort_attribute, prefix.unwrap_or_default()),
        };
        let start = page
            .token
            .as_deref()
            .map(|token| page_token::decode(token, &list))
            .transpose()?;
        let mut query = self
            .table
            .db
            .query()
            .table_name(&self.table.name)
            .set_index_name(index.map(str::to_owned))
            .expression_attribute_names("#p", partition_attribute)
            .expression_attribute_values(":p", s(partition_value.clone()));
        query = match prefix {
            Some(prefix) => query
                .key_condition_expression("#p = :p AND begins_with(#s, :prefix)")
                .expression_attribute_names("#s", sort_attribute)
                .expression_attribute_values(":prefix", s(prefix)),
            None => query.key_condition_expression("#p = :p"),
        };
        if let Some(entity) = entity {
            query = query
                .filter_expression("entity = :entity")
                .expression_attribute_values(":entity", s(entity));
        }
        let output = query
            .scan_index_forward(false)
            .limit(i32::from(page.limit))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable(&format!("list {what}")))?;
        Ok(Page {
            items: decode_items(output.items, record, &format!("decode {what}"))?,
            next_token: output.last_evaluated_key.as_ref().map(page_token::encode),
        })
    }
}

#[async_trait]
impl ResponseStore for ResponseTable {
    /// Records a new command and queues it for the device's heartbeat, in one
    /// transaction; finds the earlier record if the command was raised before.
    async fn claim_delivery(&self, delivery: &Delivery) -> Result<Claim<Delivery>, DomainError> {
        let command = &delivery.command;
        let record = Self::item(intrusion_key(command.intrusion_id), command_key(command), delivery)?;
        let queued = Self::item(device_key(command.device_id), command_key(command), command)?;
        let writes = vec![
            self.table
                .put_in_transaction(record, Some("attribute_not_exists(pk)"))?,
            self.table.put_in_transaction(queued, None)?,
        ];
        match transact(&self.table.db, writes, "raise a command").await? {
            Transaction::Committed => Ok(Claim::New),
            claimed if claimed.failed(0) => {
                let existing = self
                    .get(intrusion_key(command.intrusion_id), command_key(command))
                    .await?
                    .ok_or_else(|| DomainError::unavailable("cannot claim a command", "claimed but missing"))?;
                Ok(Claim::Existing(existing))
            }
            Transaction::Cancelled { .. } => Err(DomainError::unavailable(
                "cannot raise a command",
                "another write touched it at the same time",
            )),
        }
    }

    /// Records that a command reached its device (the first way it did) and takes it off the queue.
    async fn delivered(&self, command: &Command, by: DeliveredBy, at: DateTime<Utc>) -> Result<(), DomainError> {
        let result = self
            .table
            .db
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(intrusion_key(command.intrusion_id)))
            .key("sk", s(command_key(command)))
            .update_expression("SET deliveredAt = :at, deliveredBy = :by")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deliveredAt)")
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .expression_attribute_values(
                ":by",
                serde_dynamo::to_attribute_value(by).map_err(unavailable("encode a delivery"))?,
            )
            .send()
            .await;
        // `None`: delivered before (the first way counts), or never raised.
        updated(result, "record a delivery")?;
        self.table
            .db
            .delete_item()
            .table_name(&self.table.name)
            .key("pk", s(device_key(command.device_id)))
            .key("sk", s(command_key(command)))
            .send()
            .await
            .map_err(unavailable("dequeue a command"))?;
        Ok(())
    }

    /// Records failed push attempts; the command stays queued for the heartbeat.
    async fn push_failed(&self, command: &Command, attempts: u32, error: &str) -> Result<(), DomainError> {
        self.table
            .db
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(intrusion_key(command.intrusion_id)))
            .key("sk", s(command_key(command)))
            .update_expression("SET pushAttempts = if_not_exists(pushAttempts, :zero) + :attempts, lastError = :error")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":attempts", n(attempts))
            .expression_attribute_values(":error", s(error))
            .send()
            .await
            .map_err(unavailable("record a failed push"))?;
        Ok(())
    }

    /// The device's command queue, then its health events under its client.
    async fn erase_device(&self, client: ClientId, device: DeviceId) -> Result<u32, DomainError> {
        let queue = self
            .table
            .query_partition(device_key(device))
            .projection_expression("pk, sk");
        let commands = self
            .table
            .delete_found(queue, &["pk", "sk"], "a device's command queue")
            .await?;
        let health = self
            .table
            .query_prefix(None, ("pk", format!("CLIENT#{client}")), ("sk", "HEALTH#"))
            .filter_expression("deviceId = :device")
            .expression_attribute_values(":device", s(device.to_string()));
        let events = self
            .table
            .delete_found(health, &["pk", "sk"], "a device's health events")
            .await?;
        Ok(commands + events)
    }

    /// The client's partition: preferences, health events, confirmation links
    /// and their daily counts.
    async fn erase_client(&self, client: ClientId) -> Result<u32, DomainError> {
        let partition = self
            .table
            .query_partition(format!("CLIENT#{client}"))
            .projection_expression("pk, sk");
        self.table
            .delete_found(partition, &["pk", "sk"], "a client's preferences and health events")
            .await
    }

    /// Commands waiting for a device, oldest first.
    async fn queued(&self, device: DeviceId) -> Result<Vec<Command>, DomainError> {
        let output = self
            .table
            .db
            .query()
            .table_name(&self.table.name)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(device_key(device)))
            .expression_attribute_values(":prefix", s("COMMAND#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("read a command queue"))?;
        let mut commands = decode_items(
            output.items,
            |stored: Stored<Command>| stored.record,
            "decode a command",
        )?;
        commands.sort_by_key(|c| c.issued_at);
        Ok(commands)
    }

    /// Records a clip request unless one was recorded before.
    async fn record_escalation(&self, record: &EscalationRecord) -> Result<(), DomainError> {
        let sk = format!("ESCALATION#{:03}", record.step);
        let item = Self::item(intrusion_key(record.intrusion_id), sk, record)?;
        self.table.put_if_absent(item, "record an escalation step").await?;
        Ok(())
    }

    async fn claim_clip(&self, clip: &Clip) -> Result<Claim<Clip>, DomainError> {
        let item = Self::item(intrusion_key(clip.intrusion_id), "CLIP".into(), clip)?;
        if self.table.put_if_absent(item, "record a clip request").await? {
            return Ok(Claim::New);
        }
        self.get(intrusion_key(clip.intrusion_id), "CLIP".into())
            .await?
            .map(Claim::Existing)
            .ok_or_else(|| DomainError::unavailable("cannot claim a clip", "claimed but missing"))
    }

    /// Records that an intrusion's clip arrived; `false` when no clip was requested for it.
    async fn clip_stored(
        &self,
        intrusion: IntrusionId,
        uploaded: &str,
        stored: &str,
        size: u64,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let result = self
            .table
            .db
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(intrusion_key(intrusion)))
            .key("sk", s("CLIP"))
            .update_expression("SET storedAt = :at, #size = :size, #key = :stored")
            .condition_expression("attribute_exists(pk) AND #key = :uploaded")
            .expression_attribute_names("#key", "key")
            .expression_attribute_names("#size", "size")
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .expression_attribute_values(":size", n(size))
            .expression_attribute_values(":uploaded", s(uploaded))
            .expression_attribute_values(":stored", s(stored))
            .send()
            .await;
        Ok(updated(result, "record a stored clip")?.is_some())
    }

    /// Records a notification about to be sent, unless an earlier attempt recorded it.
    async fn claim_notification(&self, notification: &Notification) -> Result<Claim<Notification>, DomainError> {
        let stored = Self::stored_notification(notification);
        let key = key(stored.pk.clone(), stored.sk.clone());
        let item = serde_dynamo::to_item(stored).map_err(unavailable("encode a notification"))?;
        if self.table.put_if_absent(item, "record a notification").await? {
            return Ok(Claim::New);
        }
        self.table
            .get_decoded(key, |stored: StoredNotification| stored.notification, "a notification")
            .await?
            .map(Claim::Existing)
            .ok_or_else(|| DomainError::unavailable("cannot claim a notification", "claimed but missing"))
    }

    /// Stores a notification's outcome.
    async fn save_notification(&self, notification: &Notification) -> Result<(), DomainError> {
        let item = serde_dynamo::to_item(Self::stored_notification(notification))
            .map_err(unavailable("encode a notification"))?;
        self.table.put(item, "record a notification").await
    }

    /// Everything recorded about the response to an intrusion.
    async fn records(&self, intrusion: IntrusionId) -> Result<ResponseRecords, DomainError> {
        let mut records = ResponseRecords::default();
        let mut items = self.intrusion_partition(intrusion).into_paginator().items().send();
        while let Some(item) = items.next().await {
            let item = item.map_err(unavailable("read an intrusion's response"))?;
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let decode = |what| unavailable(what);
            if sk == "CLIP" {
                let stored: Stored<Clip> = serde_dynamo::from_item(item).map_err(decode("decode a clip"))?;
                records.clip = Some(stored.record);
            } else if sk.starts_with("COMMAND#") {
                let stored: Stored<Delivery> = serde_dynamo::from_item(item).map_err(decode("decode a delivery"))?;
                records.deliveries.push(stored.record);
            } else if sk.starts_with("ESCALATION#") {
                let stored: Stored<EscalationRecord> =
                    serde_dynamo::from_item(item).map_err(decode("decode an escalation step"))?;
                records.escalations.push(stored.record);
            } else if sk.starts_with("NOTIFICATION#") {
                let stored: StoredNotification =
                    serde_dynamo::from_item(item).map_err(decode("decode a notification"))?;
                records.notifications.push(stored.notification);
            }
        }
        records.deliveries.sort_by_key(|d| d.command.issued_at);
        records.notifications.sort_by_key(|n| n.created_at);
        Ok(records)
    }

    /// Deletes every record of an intrusion's response, item by item.
    async fn delete_records(&self, intrusion: IntrusionId) -> Result<(), DomainError> {
        let records = self.intrusion_partition(intrusion).projection_expression("pk, sk");
        self.table
            .delete_found(records, &["pk", "sk"], "an intrusion's records")
            .await?;
        Ok(())
    }

    /// Notifications newest first.
    async fn list_notifications(
        &self,
        scope: NotificationScope,
        page: &PageRequest,
    ) -> Result<Page<Notification>, DomainError> {
        // `byClient` also holds the client's health events; `byEntity`'s partition is the entity already (and a
        // filter may not name an index's key).
        let (index, partition, entity) = match scope {
            NotificationScope::Client(client) => ("byClient", ("clientId", client.to_string()), Some("NOTIFICATION")),
            NotificationScope::All => ("byEntity", ("entity", "NOTIFICATION".to_owned()), None),
        };
        let listing = Listing {
            index: Some(index),
            partition,
            sort: ("sortKey", None),
            entity,
        };
        self.newest_first(
            listing,
            page,
            |stored: StoredNotification| stored.notification,
            "notifications",
        )
        .await
    }

    /// Stores a device health change under its client.
    async fn record_health(&self, event: &HealthEvent) -> Result<(), DomainError> {
        let sort_key = format!(
            "{}#{}",
            event.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            event.device_id
        );
        let stored = StoredHealth {
            pk: format!("CLIENT#{}", event.client_id),
            sk: format!("HEALTH#{sort_key}"),
            entity: "HEALTH".into(),
            sort_key,
            event: event.clone(),
        };
        let item = serde_dynamo::to_item(stored).map_err(unavailable("encode a health event"))?;
        self.table.put(item, "record a health event").await
    }

    /// Health changes newest first, of one client or of all.
    async fn health_events(
        &self,
        scope: NotificationScope,
        page: &PageRequest,
    ) -> Result<Page<HealthEvent>, DomainError> {
        let (index, partition, sort) = match scope {
            NotificationScope::Client(client) => (None, ("pk", format!("CLIENT#{client}")), ("sk", Some("HEALTH#"))),
            NotificationScope::All => (Some("byEntity"), ("entity", "HEALTH".to_owned()), ("sortKey", None)),
        };
        let listing = Listing {
            index,
            partition,
            sort,
            entity: None,
        };
        self.newest_first(listing, page, |stored: StoredHealth| stored.event, "health events")
            .await
    }

    /// A client's saved notification preferences.
    async fn preferences(&self, client: ClientId) -> Result<Option<NotificationPreferences>, DomainError> {
        self.get(format!("CLIENT#{client}"), "PREFERENCES".into()).await
    }

    /// Sets only the recipients and `updatedAt`, so a webhook secret rotated
    /// meanwhile stays.
    async fn save_recipients(&self, preferences: &NotificationPreferences) -> Result<(), DomainError> {
        let fields = [
            ("recipients", encoded(&preferences.recipients, "encode recipients")?),
            ("updatedAt", encoded(preferences.updated_at, "encode a time")?),
        ];
        self.set_on_preferences(preferences.client_id, &fields, "notification recipients")
            .await
    }

    /// Sets only the secret attributes, so a recipient's confirmation saved
    /// meanwhile stays.
    async fn save_webhook_secret(&self, rotated: &NotificationPreferences) -> Result<(), DomainError> {
        let fields = [
            ("webhookSecret", s(rotated.webhook_secret.clone())),
            (
                "retiringWebhookSecret",
                encoded(&rotated.retiring_webhook_secret, "encode a retiring secret")?,
            ),
            (
                "webhookSecretRotatedAt",
                encoded(rotated.webhook_secret_rotated_at, "encode a time")?,
            ),
        ];
        self.set_on_preferences(rotated.client_id, &fields, "a webhook secret")
            .await
    }

    async fn confirmation(
        &self,
        client: ClientId,
        address_key: &str,
    ) -> Result<Option<PendingConfirmation>, DomainError> {
        self.get(format!("CLIENT#{client}"), format!("CONFIRMATION#{address_key}"))
            .await
    }

    /// `expiresAt` (epoch seconds) is the table's time to live.
    async fn save_confirmation(&self, pending: &PendingConfirmation) -> Result<(), DomainError> {
        let item = Self::item(
            format!("CLIENT#{}", pending.client_id),
            format!("CONFIRMATION#{}", pending.address_key()),
            pending,
        )?;
        self.table.put(item, "save a confirmation link").await
    }

    /// Deletes the link only if it is still the one sent and not withdrawn,
    /// so a link works once and a replaced one never.
    async fn take_confirmation(&self, pending: &PendingConfirmation) -> Result<bool, DomainError> {
        let result = self
            .table
            .db
            .delete_item()
            .table_name(&self.table.name)
            .set_key(Some(key(
                format!("CLIENT#{}", pending.client_id),
                format!("CONFIRMATION#{}", pending.address_key()),
            )))
            .condition_expression("tokenSha256 = :token AND withdrawn = :no")
            .expression_attribute_values(":token", s(pending.token_sha256.clone()))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .send()
            .await;
        Ok(updated(result, "take a confirmation link")?.is_some())
    }

    /// One counter item a day under the client, expiring two days later.
    async fn reserve_confirmations(
        &self,
        client: ClientId,
        day: NaiveDate,
        count: u32,
        cap: u32,
    ) -> Result<bool, DomainError> {
        let Some(most_before) = cap.checked_sub(count) else {
            return Ok(false);
        };
        let expires = day.and_time(chrono::NaiveTime::MIN).and_utc() + chrono::TimeDelta::days(2);
        let result = self
            .table
            .db
            .update_item()
            .table_name(&self.table.name)
            .set_key(Some(key(format!("CLIENT#{client}"), format!("CONFIRMATIONS#{day}"))))
            .update_expression("ADD sent :count SET expiresAt = :expires")
            .condition_expression("attribute_not_exists(sent) OR sent <= :most")
            .expression_attribute_values(":count", n(count))
            .expression_attribute_values(":most", n(most_before))
            .expression_attribute_values(":expires", n(expires.timestamp()))
            .send()
            .await;
        Ok(updated(result, "count confirmation messages")?.is_some())
    }

    /// Saves first preferences unless someone saved some meanwhile; returns what is stored.
    async fn create_preferences(
        &self,
        preferences: &NotificationPreferences,
    ) -> Result<NotificationPreferences, DomainError> {
        let item = Self::item(
            format!("CLIENT#{}", preferences.client_id),
            "PREFERENCES".into(),
            preferences,
        )?;
        if self.table.put_if_absent(item, "save notification preferences").await? {
            return Ok(preferences.clone());
        }
        self.preferences(preferences.client_id)
            .await?
            .ok_or_else(|| DomainError::unavailable("cannot save notification preferences", "saved but missing"))
    }
}
