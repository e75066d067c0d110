//! `AuditTable`: one item per audited action, only ever added.
//!
//! | `pk` | `sk` | Attributes |
//! |---|---|---|
//! | `CLIENT#<client id>` (`STAFF` for staff sign-ins) | `<at, ms, UTC>#<entry id>` | the entry, `entity` = `AUDIT`, `expiresAt` |
//!
//! A client's entries are its partition, newest first; staff read every
//! client's through the `byEntity` index (`entity`, `sk`). `from`/`to` bound
//! the sort key; the actor is filtered as read. `expiresAt` (TTL) ends an
//! entry after the audit's own retention. Appends are conditional on a new
//! key, and the functions' roles grant `PutItem` and `Query` only.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use seccom_domain::audit::{AuditEntry, AuditFilter, AuditStore};
use seccom_domain::error::DomainError;
use seccom_domain::page::{Page, PageRequest};

use crate::dynamo::page_token::{self, ListKey};
use crate::dynamo::{Table, decode_items, s, unavailable};

/// An entry as the table holds it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredEntry {
    pk: String,
    sk: String,
    entity: String,
    expires_at: i64,
    #[serde(flatten)]
    entry: AuditEntry,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The audit table, keeping entries for `retention`.
#[derive(Clone)]
pub struct AuditTable {
    table: Table,
    retention: TimeDelta,
}

impl AuditTable {
    /// `table` through `db`, its entries expiring after `retention_days`.
    pub fn new(db: aws_sdk_dynamodb::Client, table: impl Into<String>, retention_days: i64) -> Self {
        Self {
            table: Table::new(db, table),
            retention: TimeDelta::days(retention_days),
        }
    }
}

#[async_trait]
impl AuditStore for AuditTable {
    async fn append(&self, entry: &AuditEntry) -> Result<bool, DomainError> {
        let stored = StoredEntry {
            pk: entry
                .client_id
                .map_or_else(|| "STAFF".to_owned(), |c| format!("CLIENT#{c}")),
            sk: format!("{}#{}", stamp(entry.at), entry.id),
            entity: "AUDIT".into(),
            expires_at: (entry.at + self.retention).timestamp(),
            entry: entry.clone(),
        };
        let item = serde_dynamo::to_item(stored).map_err(unavailable("encode an audit entry"))?;
        self.table.put_if_absent(item, "record an audit entry").await
    }

    async fn entries(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Page<AuditEntry>, DomainError> {
        let (index, partition_attribute, partition_value) = match filter.client_id {
            Some(client) => (None, "pk", format!("CLIENT#{client}")),
            None => (Some("byEntity"), "entity", "AUDIT".to_owned()),
        };
        let list = ListKey {
            table_keys: &["pk", "sk"],
            partition: (partition_attribute, &partition_value),
            sort: ("sk", ""),
        };
        let start = page
            .token
            .as_deref()
            .map(|token| page_token::decode(token, &list))
            .transpose()?;
        let from = filter.from.map(stamp).unwrap_or_default();
        let to = format!("{}~", filter.to.map(stamp).unwrap_or_else(|| "~".into()));
        // A token of the same list read with another period would start the
        // query outside its range, which DynamoDB refuses.
        let in_range = |key: &crate::dynamo::Item| {
            key.get("sk")
                .and_then(|sk| sk.as_s().ok())
                .is_some_and(|sk| from.as_str() <= sk.as_str() && sk.as_str() <= to.as_str())
        };
        if start.as_ref().is_some_and(|key| !in_range(key)) {
            return Err(DomainError::BadPageToken);
        }
        let mut query = self
            .table
            .db
            .query()
            .table_name(&self.table.name)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#p = :p AND sk BETWEEN :from AND :to")
            .expression_attribute_names("#p", partition_attribute)
            .expression_attribute_values(":p", s(partition_value.clone()))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .scan_index_forward(false)
            .limit(i32::from(page.limit))
            .set_exclusive_start_key(start);
        if let Some(actor) = &filter.actor {
            // Filtered after the read: a page may come back short, with a next one.
            query = query
                .filter_expression("actor = :actor OR actorEmail = :actor")
                .expression_attribute_values(":actor", s(actor.clone()));
        }
        let output = query.send().await.map_err(unavailable("list audit entries"))?;
        Ok(Page {
            items: decode_items(
                output.items,
                |stored: StoredEntry| stored.entry,
                "decode an audit entry",
            )?,
            next_token: output.last_evaluated_key.as_ref().map(page_token::encode),
        })
    }
}
