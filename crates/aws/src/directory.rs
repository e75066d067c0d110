//! The directory's DynamoDB adapter. One table, keyed by `pk`, with two sparse
//! indexes (see docs/data-model.md):
//! - `byParent` (`parentKey`, `sortKey`): a client's sites, a site's cameras and alarms;
//! - `byEntity` (`entity`, `sortKey`): every client, site, camera or alarm, for staff.
//!
//! Parents count their children (`childCount`), maintained in the same
//! transaction as each create and delete, so a client with sites or a site with
//! devices can never be deleted and a child can never be created under a
//! missing parent, whatever runs concurrently.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client as DynamoDb;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use seccom_domain::directory::{
    Client, ClientChanges, Deletion, Device, DeviceCredential, DeviceKind, DeviceUpdate, DirectoryStore,
    FailureSubject, HealthUpdate, Site, SiteChanges, UploadRate,
};
use seccom_domain::error::DomainError;
use seccom_domain::ids::{ClientId, DeviceId, SiteId};
use seccom_domain::page::{Page, PageRequest};
use seccom_domain::values::Name;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::dynamo::page_token::{self, ListKey};
use crate::dynamo::{Item, Table, Transaction, encoded, n, s, transact, unavailable, updated};

/// The index listing children of a parent by name.
pub(crate) const BY_PARENT: &str = "byParent";
/// The index listing all records of one entity type by name.
pub(crate) const BY_ENTITY: &str = "byEntity";

fn client_key(id: ClientId) -> String {
    format!("CLIENT#{id}")
}

fn site_key(id: SiteId) -> String {
    format!("SITE#{id}")
}

fn device_key(id: DeviceId) -> String {
    format!("DEVICE#{id}")
}

fn entity_of(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Camera => "CAMERA",
        DeviceKind::Alarm => "ALARM",
    }
}

/// The name-ordered sort key of the indexes.
fn sort_key(entity: &str, name: &Name, id: impl std::fmt::Display) -> String {
    format!("{entity}#{}#{id}", name.sort_key())
}

fn client_placement(client: &Client) -> Placement {
    Placement {
        pk: client_key(client.id),
        entity: "CLIENT",
        parent_key: None,
        sort_key: sort_key("CLIENT", &client.name, client.id),
    }
}

fn site_placement(site: &Site) -> Placement {
    Placement {
        pk: site_key(site.id),
        entity: "SITE",
        parent_key: Some(client_key(site.client_id)),
        sort_key: sort_key("SITE", &site.name, site.id),
    }
}

fn device_placement(device: &Device) -> Placement {
    let entity = entity_of(device.kind);
    Placement {
        pk: device_key(device.id),
        entity,
        parent_key: Some(site_key(device.site_id)),
        sort_key: sort_key(entity, &device.name, device.id),
    }
}

/// The fields a change sets, with `updatedAt` and the name-ordered sort key kept in step.
fn changed_fields(
    changes: impl Serialize,
    at: DateTime<Utc>,
    renamed_sort_key: Option<String>,
) -> Result<HashMap<String, AttributeValue>, DomainError> {
    let mut set: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(changes).map_err(unavailable("encode a change"))?;
    set.insert("updatedAt".into(), s(at.to_rfc3339()));
    if let Some(sort_key) = renamed_sort_key {
        set.insert("sortKey".into(), s(sort_key));
    }
    Ok(set)
}

/// When a user last signed out of the portals: sessions that began before are refused.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignOut {
    subject: String,
    at: DateTime<Utc>,
}

/// The key of the record `pk` (the table has no sort key).
fn pk_key(pk: &str) -> Item {
    Item::from([("pk".to_owned(), s(pk))])
}

fn sign_out_key(subject: &str) -> String {
    format!("SIGNOUT#{subject}")
}

const NO_CHILDREN: &str = "attribute_not_exists(childCount) OR childCount = :zero";

/// Where a record sits in the table, besides its own fields.
pub(crate) struct Placement {
    pub(crate) pk: String,
    pub(crate) entity: &'static str,
    pub(crate) parent_key: Option<String>,
    pub(crate) sort_key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored<T> {
    pk: String,
    entity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent_key: Option<String>,
    sort_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential_hash: Option<String>,
    /// A device's failed authentications in its current window (written only
    /// by their counter, never by a put).
    #[serde(default, skip_serializing)]
    auth_failures: Option<u32>,
    #[serde(default, skip_serializing)]
    auth_failures_until: Option<i64>,
    #[serde(flatten)]
    record: T,
}

/// An extra condition on an update, with the names and values it uses.
#[derive(Default)]
pub(crate) struct Condition {
    pub(crate) expression: Option<String>,
    pub(crate) names: Vec<(String, String)>,
    pub(crate) values: Vec<(String, AttributeValue)>,
}

/// The directory table.
#[derive(Clone)]
pub struct DirectoryTable {
    table: Table,
}

impl DirectoryTable {
    /// Uses `table` through `db`.
    pub fn new(db: DynamoDb, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(db, table),
        }
    }

    fn item<T: Serialize>(
        placement: Placement,
        credential_hash: Option<String>,
        record: &T,
    ) -> Result<HashMap<String, AttributeValue>, DomainError> {
        let stored = Stored {
            pk: placement.pk,
            entity: placement.entity.to_owned(),
            parent_key: placement.parent_key,
            sort_key: placement.sort_key,
            credential_hash,
            auth_failures: None,
            auth_failures_until: None,
            record,
        };
        serde_dynamo::to_item(stored).map_err(unavailable("encode a record"))
    }

    /// A record as an item of the table, ready for [`Self::put_items`].
    pub(crate) fn encode<T: Serialize>(
        placement: Placement,
        record: &T,
    ) -> Result<HashMap<String, AttributeValue>, DomainError> {
        Self::item(placement, None, record)
    }

    /// Stores items whatever was there before, all or nothing.
    pub(crate) async fn put_items(&self, items: Vec<Item>) -> Result<(), DomainError> {
        let writes = items
            .into_iter()
            .map(|item| self.table.put_in_transaction(item, None))
            .collect::<Result<Vec<_>, _>>()?;
        match transact(&self.table.db, writes, "store records").await? {
            Transaction::Committed => Ok(()),
            Transaction::Cancelled { .. } => Err(DomainError::unavailable(
                "cannot store records",
                "another write touched them at the same time",
            )),
        }
    }

    /// Counts one more failed attempt on `pk` within a window that ends at
    /// `until` (a new window when the last one ended before `now`); creates
    /// the item (with a TTL at the window's end) when `create`. Answers the count.
    async fn count_failure_on(&self, pk: &str, now: i64, until: i64, create: bool) -> Result<u32, DomainError> {
        // A counter item of its own expires with its window (TTL); a counter kept on
        // another record (a device) must never give that record an expiry.
        let (exists, set) = if create {
            (
                "",
                "SET authFailures = :one, authFailuresUntil = :until, expiresAt = :until",
            )
        } else {
            (
                "attribute_exists(pk) AND ",
                "SET authFailures = :one, authFailuresUntil = :until",
            )
        };
        let fresh = self
            .table
            .db
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(pk))
            .update_expression(set)
            .condition_expression(format!(
                "{exists}(attribute_not_exists(authFailuresUntil) OR authFailuresUntil < :now)"
            ))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        if updated(fresh, "count a failed attempt")?.is_some() {
            return Ok(1);
        }
        let counted = self
            .table
            .db
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(pk))
            .update_expression("ADD authFailures :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        // `None`: the device was removed meanwhile, nothing left to count on.
        Ok(updated(counted, "count a failed attempt")?
            .and_then(|output| output.attributes)
            .and_then(|a| {
                a.get("authFailures")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(1))
    }

    fn decode<T: DeserializeOwned>(item: HashMap<String, AttributeValue>) -> Result<T, DomainError> {
        serde_dynamo::from_item::<_, Stored<T>>(item)
            .map(|stored| stored.record)
            .map_err(unavailable("decode a record"))
    }

    /// Stores a record that has no parent, such as a client.
    async fn put_root<T: Serialize>(&self, placement: Placement, record: &T) -> Result<(), DomainError> {
        if self
            .table
            .put_if_absent(Self::item(placement, None, record)?, "store a record")
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::unavailable("cannot store a record", "its key is taken"))
        }
    }

    /// Stores a child and counts it on its parent; `false` when the parent does not exist.
    async fn put_child<T: Serialize>(
        &self,
        placement: Placement,
        credential_hash: Option<String>,
        record: &T,
    ) -> Result<bool, DomainError> {
        let parent = placement.parent_key.clone().expect("a child names its parent");
        let put = self.table.put_in_transaction(
            Self::item(placement, credential_hash, record)?,
            Some("attribute_not_exists(pk)"),
        )?;
        let count = Update::builder()
            .table_name(&self.table.name)
            .key("pk", s(parent))
            .update_expression("ADD childCount :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(unavailable("build an update"))?;
        let writes = vec![put, TransactWriteItem::builder().update(count).build()];
        match transact(&self.table.db, writes, "store a record").await? {
            Transaction::Committed => Ok(true),
            // The parent's condition: it does not exist.
            missing_parent if missing_parent.failed(1) => Ok(false),
            Transaction::Cancelled { .. } => Err(DomainError::unavailable(
                "cannot store a record",
                "another write touched it at the same time",
            )),
        }
    }

    /// Reads one record by key.
    pub(crate) async fn get<T: DeserializeOwned>(&self, pk: &str) -> Result<Option<T>, DomainError> {
        Ok(self.get_with_credential(pk).await?.map(|(record, _)| record))
    }

    /// Reads one record with its stored credential hash (devices have one; other records none).
    pub(crate) async fn get_with_credential<T: DeserializeOwned>(
        &self,
        pk: &str,
    ) -> Result<Option<(T, Option<String>)>, DomainError> {
        self.table
            .get(pk_key(pk), "read a record")
            .await?
            .map(|item| {
                serde_dynamo::from_item::<_, Stored<T>>(item)
                    .map(|stored| (stored.record, stored.credential_hash))
                    .map_err(unavailable("decode a record"))
            })
            .transpose()
    }

    /// Sets and removes fields of an existing record; `None` when it does not exist.
    async fn update<T: DeserializeOwned>(
        &self,
        pk: &str,
        set: HashMap<String, AttributeValue>,
        remove: &[&str],
    ) -> Result<Option<T>, DomainError> {
        self.update_if(pk, set, remove, Condition::default()).await
    }

    /// Changes fields only while `condition` holds (and the item exists); `None` otherwise.
    async fn update_if<T: DeserializeOwned>(
        &self,
        pk: &str,
        set: HashMap<String, AttributeValue>,
        remove: &[&str],
        condition: Condition,
    ) -> Result<Option<T>, DomainError> {
        let mut request = self
            .table
            .db
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(pk));
        for (name, field) in condition.names {
            request = request.expression_attribute_names(name, field);
        }
        for (name, value) in condition.values {
            request = request.expression_attribute_values(name, value);
        }
        let condition = match condition.expression {
            Some(expression) => format!("attribute_exists(pk) AND ({expression})"),
            None => "attribute_exists(pk)".to_owned(),
        };
        let mut assignments = Vec::new();
        for (index, (field, value)) in set.into_iter().enumerate() {
            assignments.push(format!("#s{index} = :s{index}"));
            request = request
                .expression_attribute_names(format!("#s{index}"), field)
                .expression_attribute_values(format!(":s{index}"), value);
        }
        let mut expression = if assignments.is_empty() {
            String::new()
        } else {
            format!("SET {}", assignments.join(", "))
        };
        if !remove.is_empty() {
            let names: Vec<String> = (0..remove.len()).map(|index| format!("#r{index}")).collect();
            expression.push_str(&format!(" REMOVE {}", names.join(", ")));
            for (name, field) in names.into_iter().zip(remove) {
                request = request.expression_attribute_names(name, *field);
            }
        }
        let result = request
            .update_expression(expression.trim())
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        updated(result, "update a record")?
            .and_then(|output| output.attributes)
            .map(Self::decode)
            .transpose()
    }

    /// Deletes a record that has no children, uncounting it on its parent.
    async fn delete(&self, pk: &str, parent: Option<String>) -> Result<Deletion, DomainError> {
        let delete = Delete::builder()
            .table_name(&self.table.name)
            .key("pk", s(pk))
            .condition_expression(format!("attribute_exists(pk) AND ({NO_CHILDREN})"))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(unavailable("build a delete"))?;
        let mut writes = vec![TransactWriteItem::builder().delete(delete).build()];
        if let Some(parent) = parent {
            let uncount = Update::builder()
                .table_name(&self.table.name)
                .key("pk", s(parent))
                .update_expression("ADD childCount :minus_one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":minus_one", n(-1))
                .build()
                .map_err(unavailable("build an update"))?;
            writes.push(TransactWriteItem::builder().update(uncount).build());
        }
        match transact(&self.table.db, writes, "delete a record").await? {
            Transaction::Committed => Ok(Deletion::Deleted),
            Transaction::Cancelled { .. } => {
                let still_there = self.table.get(pk_key(pk), "read a record").await?.is_some();
                Ok(if still_there {
                    Deletion::HasChildren
                } else {
                    Deletion::Missing
                })
            }
        }
    }

    /// Deletes the uncounted records listed under `parent_key` whose sort key
    /// starts with `prefix` (a site's arming history); answers how many.
    pub(crate) async fn delete_listed(&self, parent_key: String, prefix: &str, what: &str) -> Result<u32, DomainError> {
        let query = self
            .table
            .query_prefix(Some(BY_PARENT), ("parentKey", parent_key), ("sortKey", prefix));
        self.table.delete_found(query, &["pk"], what).await
    }

    /// Lists records of one index partition whose sort key starts with `prefix`, in name order.
    async fn query<T: DeserializeOwned>(
        &self,
        index: &str,
        partition: (&str, String),
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<T>, DomainError> {
        self.query_in_order(index, partition, prefix, page, true).await
    }

    /// Stores an uncounted item unless one with its key exists; `false` when one does.
    pub(crate) async fn put_if_absent(&self, item: Item, what: &str) -> Result<bool, DomainError> {
        self.table.put_if_absent(item, what).await
    }

    /// Deletes the uncounted item `pk` (a control, a hold); `false` when it was not there.
    pub(crate) async fn delete_uncounted(&self, pk: &str) -> Result<bool, DomainError> {
        let key = HashMap::from([("pk".to_owned(), s(pk))]);
        self.table.delete_if_present(key, "delete a record").await
    }

    /// Lists records of one index partition whose sort key starts with `prefix`,
    /// in sort-key order (`forward`) or last first.
    pub(crate) async fn query_in_order<T: DeserializeOwned>(
        &self,
        index: &str,
        partition: (&str, String),
        prefix: &str,
        page: &PageRequest,
        forward: bool,
    ) -> Result<Page<T>, DomainError> {
        let (partition_attribute, partition_value) = partition;
        let start = page
            .token
            .as_deref()
            .map(|token| {
                let list = ListKey {
                    table_keys: &["pk"],
                    partition: (partition_attribute, &partition_value),
                    sort: ("sortKey", prefix),
                };
                page_token::decode(token, &list)
            })
            .transpose()?;
        let output = self
            .table
            .db
            .query()
            .table_name(&self.table.name)
            .index_name(index)
            .key_condition_expression("#p = :p AND begins_with(sortKey, :prefix)")
            .expression_attribute_names("#p", partition_attribute)
            .expression_attribute_values(":p", s(partition_value))
            .expression_attribute_values(":prefix", s(prefix))
            .limit(i32::from(page.limit))
            .scan_index_forward(forward)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable("list records"))?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(Self::decode)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_token: output.last_evaluated_key.as_ref().map(page_token::encode),
        })
    }
}

#[async_trait]
impl DirectoryStore for DirectoryTable {
    async fn insert_client(&self, client: &Client) -> Result<(), DomainError> {
        self.put_root(client_placement(client), client).await
    }

    async fn insert_site(&self, site: &Site) -> Result<bool, DomainError> {
        self.put_child(site_placement(site), None, site).await
    }

    async fn insert_device(&self, device: &Device, credential_hash: &str) -> Result<bool, DomainError> {
        self.put_child(device_placement(device), Some(credential_hash.to_owned()), device)
            .await
    }

    async fn client(&self, id: ClientId) -> Result<Option<Client>, DomainError> {
        self.get(&client_key(id)).await
    }

    async fn site(&self, id: SiteId) -> Result<Option<Site>, DomainError> {
        self.get(&site_key(id)).await
    }

    async fn device(&self, id: DeviceId) -> Result<Option<Device>, DomainError> {
        self.get(&device_key(id)).await
    }

    /// One read: the device's record carries its credential's hash and its failure count.
    async fn device_credential(&self, id: DeviceId) -> Result<Option<DeviceCredential>, DomainError> {
        let Some(item) = self.table.get(pk_key(&device_key(id)), "read a device").await? else {
            return Ok(None);
        };
        let stored: Stored<Device> = serde_dynamo::from_item(item).map_err(unavailable("decode a device"))?;
        Ok(stored.credential_hash.map(|hash| DeviceCredential {
            device: stored.record,
            hash,
            failures: stored.auth_failures.unwrap_or(0),
            failures_until: stored
                .auth_failures_until
                .and_then(|seconds| DateTime::from_timestamp(seconds, 0)),
        }))
    }

    async fn clients(&self, page: &PageRequest) -> Result<Page<Client>, DomainError> {
        self.query(BY_ENTITY, ("entity", "CLIENT".into()), "CLIENT#", page)
            .await
    }

    async fn sites(&self, client: Option<ClientId>, page: &PageRequest) -> Result<Page<Site>, DomainError> {
        match client {
            Some(client) => {
                self.query(BY_PARENT, ("parentKey", client_key(client)), "SITE#", page)
                    .await
            }
            None => self.query(BY_ENTITY, ("entity", "SITE".into()), "SITE#", page).await,
        }
    }

    async fn devices(
        &self,
        site: Option<SiteId>,
        kind: DeviceKind,
        page: &PageRequest,
    ) -> Result<Page<Device>, DomainError> {
        let entity = entity_of(kind);
        let prefix = format!("{entity}#");
        match site {
            Some(site) => {
                self.query(BY_PARENT, ("parentKey", site_key(site)), &prefix, page)
                    .await
            }
            None => {
                self.query(BY_ENTITY, ("entity", entity.to_owned()), &prefix, page)
                    .await
            }
        }
    }

    async fn update_client(
        &self,
        id: ClientId,
        changes: &ClientChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Client>, DomainError> {
        let set = changed_fields(
            changes,
            at,
            changes.name.as_ref().map(|name| sort_key("CLIENT", name, id)),
        )?;
        let remove: &[&str] = if matches!(changes.phone, Some(None)) {
            &["phone"]
        } else {
            &[]
        };
        self.update(&client_key(id), set, remove).await
    }

    async fn update_site(
        &self,
        id: SiteId,
        changes: &SiteChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Site>, DomainError> {
        let set = changed_fields(
            changes,
            at,
            changes.name.as_ref().map(|name| sort_key("SITE", name, id)),
        )?;
        self.update(&site_key(id), set, &[]).await
    }

    async fn update_device(
        &self,
        id: DeviceId,
        update: &DeviceUpdate,
        at: DateTime<Utc>,
    ) -> Result<Option<Device>, DomainError> {
        let set = match update {
            DeviceUpdate::Rename { name, kind } => changed_fields(
                HashMap::from([("name", name)]),
                at,
                Some(sort_key(entity_of(*kind), name, id)),
            )?,
            DeviceUpdate::Endpoint(endpoint) => HashMap::from([
                ("endpoint".to_owned(), s(endpoint.as_str())),
                ("updatedAt".to_owned(), s(at.to_rfc3339())),
            ]),
            DeviceUpdate::Heard(state) => HashMap::from([
                ("lastSeenAt".to_owned(), s(at.to_rfc3339())),
                ("state".to_owned(), encoded(state, "encode a state")?),
            ]),
        };
        self.update(&device_key(id), set, &[]).await
    }

    async fn update_health(&self, seen: &Device, update: &HealthUpdate) -> Result<Option<Device>, DomainError> {
        let mut set = HashMap::new();
        let mut remove: Vec<&str> = Vec::new();
        match update.alarm {
            Some(alarm) => {
                set.insert("healthAlarm".to_owned(), encoded(alarm, "encode a health alarm")?);
            }
            None => remove.push("healthAlarm"),
        }
        if let Some(state) = update.state {
            set.insert("state".to_owned(), encoded(state, "encode a state")?);
        }
        let mut condition = Condition {
            expression: Some("#state = :seen_state AND attribute_not_exists(lastSeenAt)".into()),
            names: vec![("#state".into(), "state".into())],
            values: vec![(":seen_state".into(), encoded(seen.state, "encode a state")?)],
        };
        if let Some(seen_at) = seen.last_seen_at {
            condition.expression = Some("#state = :seen_state AND lastSeenAt = :seen_at".into());
            condition.values.push((":seen_at".into(), s(seen_at.to_rfc3339())));
        }
        self.update_if(&device_key(seen.id), set, &remove, condition).await
    }

    async fn delete_client(&self, id: ClientId) -> Result<Deletion, DomainError> {
        self.delete(&client_key(id), None).await
    }

    async fn delete_site(&self, site: &Site) -> Result<Deletion, DomainError> {
        self.delete(&site_key(site.id), Some(client_key(site.client_id))).await
    }

    async fn delete_device(&self, device: &Device) -> Result<Deletion, DomainError> {
        self.delete(&device_key(device.id), Some(site_key(device.site_id)))
            .await
    }

    async fn count_failure(
        &self,
        subject: FailureSubject,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<u32, DomainError> {
        let (pk, create) = match subject {
            FailureSubject::Device(id) => (device_key(id), false),
            FailureSubject::Source(address) => (format!("AUTHFAIL#SOURCE#{address}"), true),
        };
        self.count_failure_on(&pk, now.timestamp(), until.timestamp(), create)
            .await
    }

    /// Two conditional writes at most, each the whole rule for one case: a
    /// camera quiet until now starts again from now; a busy one moves its
    /// time on by an interval while that stays within the burst. The first is
    /// tried first (a camera within its rate needs only it); when both
    /// conditions fail, the budget is spent.
    async fn take_upload(&self, id: DeviceId, rate: UploadRate, now: DateTime<Utc>) -> Result<bool, DomainError> {
        let now_ms = now.timestamp_millis();
        let quiet = self
            .table
            .db
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(device_key(id)))
            .update_expression("SET uploadTat = :first")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(uploadTat) OR uploadTat < :now)")
            .expression_attribute_values(":first", n(rate.first(now)))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        if updated(quiet, "take an upload from a camera's budget")?.is_some() {
            return Ok(true);
        }
        let busy = self
            .table
            .db
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(device_key(id)))
            .update_expression("SET uploadTat = uploadTat + :interval")
            .condition_expression("attribute_exists(pk) AND uploadTat BETWEEN :now AND :latest")
            .expression_attribute_values(":interval", n(rate.interval_ms))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":latest", n(rate.latest_allowed(now)))
            .send()
            .await;
        Ok(updated(busy, "take an upload from a camera's budget")?.is_some())
    }

    async fn signed_out_at(&self, subject: &str) -> Result<Option<DateTime<Utc>>, DomainError> {
        Ok(self
            .get::<SignOut>(&sign_out_key(subject))
            .await?
            .map(|sign_out| sign_out.at))
    }

    async fn record_sign_out(&self, subject: &str, at: DateTime<Utc>) -> Result<(), DomainError> {
        let placement = Placement {
            pk: sign_out_key(subject),
            entity: "SIGNOUT",
            parent_key: None,
            sort_key: subject.to_owned(),
        };
        let record = SignOut {
            subject: subject.to_owned(),
            at,
        };
        self.put_items(vec![Self::encode(placement, &record)?]).await
    }
}
