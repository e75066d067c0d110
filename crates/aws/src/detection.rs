//! The frames and intrusions tables: the DynamoDB adapter of [`DetectionStore`].
//!
//! `FramesTable` (`pk` = `CAMERA#<id>`): one item per frame (`sk` = `FRAME#<seq>`,
//! expired by TTL), and one `STATE` item per camera whose `version` serialises
//! intrusion decisions for that camera.
//!
//! `IntrusionsTable` (`pk` = `CAMERA#<id>`, `sk` = `INTRUSION#<started at>#<id>`),
//! with indexes by id, client, site and entity for the API, and the sparse
//! `byQueue` index of intrusions not resolved yet (`queue` = `UNRESOLVED`,
//! removed when one is resolved): the staff's alarm queue. Decisions read the
//! base table with strongly consistent reads, never an index.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client as DynamoDb;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use seccom_domain::detection::ports::{CameraState, Commit, DetectionStore, IntrusionChange};
use seccom_domain::detection::rule;
use seccom_domain::detection::{
    FrameKey, FrameRecord, Handling, Intrusion, IntrusionScope, IntrusionStatus, Reopening,
};
use seccom_domain::error::DomainError;
use seccom_domain::ids::{DeviceId, IntrusionId};
use seccom_domain::page::{Page, PageRequest};

use crate::dynamo::page_token::{self, ListKey};
use crate::dynamo::{self, Table, Transaction, decode_items, encoded, key, n, s, transact, unavailable, updated};

/// The sort key of a camera's latest analysed frame.
const LATEST_FRAME: &str = "LATEST";

fn camera_key(camera: DeviceId) -> String {
    format!("CAMERA#{camera}")
}

fn frame_sort_key(seq: u64) -> String {
    format!("FRAME#{seq:020}")
}

/// An intrusion's index sort key: its start, in one fixed format so keys sort as
/// text in time order, then its id.
fn intrusion_sort_key(intrusion: &Intrusion) -> String {
    format!(
        "{}#{}",
        intrusion
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        intrusion.id
    )
}

/// An intrusion's key in the camera's partition.
fn intrusion_key(intrusion: &Intrusion) -> String {
    format!("INTRUSION#{}", intrusion_sort_key(intrusion))
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredFrame {
    pk: String,
    sk: String,
    #[serde(flatten)]
    record: FrameRecord,
}

/// An intrusion as the table (and so its stream) holds it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredIntrusion {
    pk: String,
    sk: String,
    /// `INTRUSION` for every intrusion item.
    pub entity: String,
    sort_key: String,
    /// `UNRESOLVED` until the intrusion is resolved: its key in the `byQueue` index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue: Option<String>,
    #[serde(flatten)]
    pub intrusion: Intrusion,
}

/// The `byQueue` partition of intrusions not resolved yet.
const UNRESOLVED: &str = "UNRESOLVED";

/// The frames and intrusions tables.
#[derive(Clone)]
pub struct DetectionTables {
    frames: Table,
    intrusions: Table,
}

impl DetectionTables {
    /// Uses the two tables through `db`.
    pub fn new(db: DynamoDb, frames: impl Into<String>, intrusions: impl Into<String>) -> Self {
        Self {
            frames: Table::new(db.clone(), frames),
            intrusions: Table::new(db, intrusions),
        }
    }

    /// The camera's most recent intrusions (up to 20, newest first), read consistently from the base table.
    pub async fn recent_intrusions(&self, camera: DeviceId) -> Result<Vec<Intrusion>, DomainError> {
        let output = self
            .intrusions
            .db
            .query()
            .table_name(&self.intrusions.name)
            .key_condition_expression("pk = :pk AND begins_with(sk, :intrusion)")
            .expression_attribute_values(":pk", s(camera_key(camera)))
            .expression_attribute_values(":intrusion", s("INTRUSION#"))
            .scan_index_forward(false)
            .limit(20)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("read a camera's intrusions"))?;
        decode_items(
            output.items,
            |stored: StoredIntrusion| stored.intrusion,
            "decode an intrusion",
        )
    }

    /// Runs a query of `list` from `page`'s token: one page of intrusions.
    async fn intrusion_page(
        &self,
        query: QueryFluentBuilder,
        list: &ListKey<'_>,
        page: &PageRequest,
        action: &str,
    ) -> Result<Page<Intrusion>, DomainError> {
        let start = page
            .token
            .as_deref()
            .map(|token| page_token::decode(token, list))
            .transpose()?;
        let output = query
            .limit(i32::from(page.limit))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable(action))?;
        let items = decode_items(
            output.items,
            |stored: StoredIntrusion| stored.intrusion,
            "decode an intrusion",
        )?;
        Ok(Page {
            items,
            next_token: output.last_evaluated_key.as_ref().map(page_token::encode),
        })
    }

    async fn camera_version(&self, camera: DeviceId) -> Result<u64, DomainError> {
        let state = self
            .frames
            .get(key(camera_key(camera), "STATE"), "read a camera's state")
            .await?;
        Ok(state
            .and_then(|item| {
                item.get("version")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0))
    }

    fn open(&self, intrusion: &Intrusion) -> Result<TransactWriteItem, DomainError> {
        let stored = StoredIntrusion {
            pk: camera_key(intrusion.camera_id),
            sk: intrusion_key(intrusion),
            entity: "INTRUSION".into(),
            sort_key: intrusion_sort_key(intrusion),
            queue: (intrusion.status != IntrusionStatus::Resolved).then(|| UNRESOLVED.to_owned()),
            intrusion: intrusion.clone(),
        };
        let item = serde_dynamo::to_item(stored).map_err(unavailable("encode an intrusion"))?;
        self.intrusions
            .put_in_transaction(item, Some("attribute_not_exists(pk)"))
    }

    /// Points the resolved intrusion `followed` at the one that followed it.
    fn followed(&self, followed: &Intrusion, by: &Intrusion) -> Result<TransactWriteItem, DomainError> {
        let update = Update::builder()
            .table_name(&self.intrusions.name)
            .key("pk", s(camera_key(followed.camera_id)))
            .key("sk", s(intrusion_key(followed)))
            .update_expression("SET followedBy = :by")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":by", s(by.id.to_string()))
            .build()
            .map_err(unavailable("build an intrusion update"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn extend(&self, existing: &Intrusion, merged: &rule::Extent) -> Result<TransactWriteItem, DomainError> {
        let update = Update::builder()
            .table_name(&self.intrusions.name)
            .key("pk", s(camera_key(existing.camera_id)))
            .key("sk", s(intrusion_key(existing)))
            .update_expression("SET firstSeq = :first, lastSeq = :last, lastSeenAt = :last_at, peakScore = :peak")
            // A resolved intrusion never grows: resolved since it was read, the decision is made again.
            .condition_expression("attribute_exists(pk) AND #status <> :resolved")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":resolved", s(IntrusionStatus::Resolved.as_str()))
            .expression_attribute_values(":first", n(merged.first_seq))
            .expression_attribute_values(":last", n(merged.last_seq))
            .expression_attribute_values(":last_at", s(merged.last_at.to_rfc3339()))
            .expression_attribute_values(":peak", n(merged.peak_score))
            .build()
            .map_err(unavailable("build an intrusion update"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[async_trait]
impl DetectionStore for DetectionTables {
    /// The stored result of a frame, if it was processed before.
    async fn frame(&self, key: &FrameKey) -> Result<Option<FrameRecord>, DomainError> {
        self.frames
            .get_decoded(
                dynamo::key(camera_key(key.camera), frame_sort_key(key.seq)),
                |stored: StoredFrame| stored.record,
                "a frame",
            )
            .await
    }

    /// Stores a frame's result. Storing the same frame again changes nothing that matters.
    async fn put_frame(&self, record: &FrameRecord) -> Result<(), DomainError> {
        let stored = StoredFrame {
            pk: camera_key(record.camera_id),
            sk: frame_sort_key(record.seq),
            record: record.clone(),
        };
        let item = serde_dynamo::to_item(stored).map_err(unavailable("encode a frame"))?;
        self.frames.put(item, "store a frame").await
    }

    /// The frames of a camera with sequence numbers in `from..=to`, read consistently.
    async fn frames_between(&self, camera: DeviceId, from: u64, to: u64) -> Result<Vec<FrameRecord>, DomainError> {
        let output = self
            .frames
            .db
            .query()
            .table_name(&self.frames.name)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(camera_key(camera)))
            .expression_attribute_values(":from", s(frame_sort_key(from)))
            .expression_attribute_values(":to", s(frame_sort_key(to)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable("read neighbouring frames"))?;
        decode_items(output.items, |stored: StoredFrame| stored.record, "decode a frame")
    }

    /// The item `LATEST` of the camera's partition, replaced only by a frame
    /// analysed later (times in RFC 3339, which compare as text).
    async fn keep_latest_frame(&self, record: &FrameRecord) -> Result<(), DomainError> {
        let stored = StoredFrame {
            pk: camera_key(record.camera_id),
            sk: LATEST_FRAME.into(),
            record: record.clone(),
        };
        let item = serde_dynamo::to_item(stored).map_err(unavailable("encode a frame"))?;
        let result = self
            .frames
            .db
            .put_item()
            .table_name(&self.frames.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(analysedAt) OR analysedAt < :at")
            .expression_attribute_values(":at", encoded(record.analysed_at, "encode a time")?)
            .send()
            .await;
        updated(result, "keep a camera's latest frame").map(|_| ())
    }

    async fn latest_frame(&self, camera: DeviceId) -> Result<Option<FrameRecord>, DomainError> {
        self.frames
            .get(key(camera_key(camera), LATEST_FRAME), "read a camera's latest frame")
            .await?
            .map(|item| {
                serde_dynamo::from_item::<_, StoredFrame>(item)
                    .map(|stored| stored.record)
                    .map_err(unavailable("decode a frame"))
            })
            .transpose()
    }

    async fn camera_state(&self, camera: DeviceId) -> Result<CameraState, DomainError> {
        let version = self.camera_version(camera).await?;
        let recent = self.recent_intrusions(camera).await?;
        Ok(CameraState { version, recent })
    }

    async fn commit(
        &self,
        camera: DeviceId,
        seen_version: u64,
        change: &IntrusionChange,
    ) -> Result<Commit, DomainError> {
        let mut writes = Vec::with_capacity(3);
        match change {
            IntrusionChange::Open(intrusion) => writes.push(self.open(intrusion)?),
            IntrusionChange::OpenAfter { opened, resolved } => {
                writes.push(self.open(opened)?);
                writes.push(self.followed(resolved, opened)?);
            }
            IntrusionChange::Extend { existing, merged } => writes.push(self.extend(existing, merged)?),
        }
        let bump = Update::builder()
            .table_name(&self.frames.name)
            .key("pk", s(camera_key(camera)))
            .key("sk", s("STATE"))
            .update_expression("SET version = :next")
            .condition_expression("attribute_not_exists(version) OR version = :current")
            .expression_attribute_values(":next", n(seen_version + 1))
            .expression_attribute_values(":current", n(seen_version))
            .build()
            .map_err(unavailable("build a version bump"))?;
        writes.insert(0, TransactWriteItem::builder().update(bump).build());
        Ok(match transact(&self.frames.db, writes, "record an intrusion").await? {
            Transaction::Committed => Commit::Done,
            Transaction::Cancelled { .. } => Commit::Contended,
        })
    }

    /// Intrusions of a scope started between `from` and `to`, newest first.
    async fn list_intrusions(
        &self,
        scope: IntrusionScope,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        status: Option<IntrusionStatus>,
        page: &PageRequest,
    ) -> Result<Page<Intrusion>, DomainError> {
        let (index, partition_attribute, partition_value, sort_attribute, prefix) = match scope {
            IntrusionScope::Camera(camera) => (None, "pk", camera_key(camera), "sk", "INTRUSION#"),
            IntrusionScope::Site(site) => (Some("bySite"), "siteId", site.to_string(), "sortKey", ""),
            IntrusionScope::Client(client) => (Some("byClient"), "clientId", client.to_string(), "sortKey", ""),
            IntrusionScope::All => (Some("byEntity"), "entity", "INTRUSION".to_owned(), "sortKey", ""),
        };
        let bound = |at: Option<DateTime<Utc>>, fallback: &str| {
            at.map_or_else(
                || format!("{prefix}{fallback}"),
                |at| format!("{prefix}{}", at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            )
        };
        let list = ListKey {
            table_keys: &["pk", "sk"],
            partition: (partition_attribute, &partition_value),
            sort: (sort_attribute, prefix),
        };
        let mut query = self
            .intrusions
            .db
            .query()
            .table_name(&self.intrusions.name)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#p = :p AND #s BETWEEN :from AND :to")
            .expression_attribute_names("#p", partition_attribute)
            .expression_attribute_names("#s", sort_attribute)
            .expression_attribute_values(":p", s(partition_value.clone()))
            .expression_attribute_values(":from", s(bound(from, "")))
            .expression_attribute_values(":to", s(format!("{}~", bound(to, "~"))))
            .scan_index_forward(false);
        if let Some(status) = status {
            // Filtered after the read: a page may come back short, with a next one.
            query = query
                .filter_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        self.intrusion_page(query, &list, page, "list intrusions").await
    }

    /// The `byQueue` index, oldest first.
    async fn unresolved(&self, page: &PageRequest) -> Result<Page<Intrusion>, DomainError> {
        let list = ListKey {
            table_keys: &["pk", "sk"],
            partition: ("queue", UNRESOLVED),
            sort: ("sortKey", ""),
        };
        let query = self
            .intrusions
            .db
            .query()
            .table_name(&self.intrusions.name)
            .index_name("byQueue")
            .key_condition_expression("#q = :q")
            .expression_attribute_names("#q", "queue")
            .expression_attribute_values(":q", s(UNRESOLVED))
            .scan_index_forward(true);
        self.intrusion_page(query, &list, page, "list the alarm queue").await
    }

    /// An intrusion by id, through the `byId` index.
    async fn intrusion(&self, id: IntrusionId) -> Result<Option<Intrusion>, DomainError> {
        let output = self
            .intrusions
            .db
            .query()
            .table_name(&self.intrusions.name)
            .index_name("byId")
            .key_condition_expression("id = :id")
            .expression_attribute_values(":id", s(id.to_string()))
            .send()
            .await
            .map_err(unavailable("find an intrusion"))?;
        let found = decode_items(
            output.items,
            |stored: StoredIntrusion| stored.intrusion,
            "decode an intrusion",
        )?;
        Ok(found.into_iter().next())
    }

    /// Moves an intrusion to `status`, recording who did it; refuses if someone else resolved it first.
    async fn set_handling(
        &self,
        intrusion: &Intrusion,
        status: IntrusionStatus,
        handling: &Handling,
    ) -> Result<Intrusion, DomainError> {
        // A resolved intrusion also leaves the alarm queue's sparse index.
        let (field, leave_queue) = if status == IntrusionStatus::Resolved {
            ("resolved", " REMOVE #queue")
        } else {
            ("acknowledged", "")
        };
        let mut update = self
            .intrusions
            .db
            .update_item()
            .table_name(&self.intrusions.name)
            .key("pk", s(camera_key(intrusion.camera_id)))
            .key("sk", s(intrusion_key(intrusion)))
            .update_expression(format!("SET #status = :status, {field} = :handling{leave_queue}"))
            .condition_expression("attribute_exists(pk) AND #status = :seen")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":seen", s(intrusion.status.as_str()))
            .expression_attribute_values(
                ":handling",
                serde_dynamo::to_attribute_value(handling).map_err(unavailable("encode a handling"))?,
            )
            .return_values(ReturnValue::AllNew);
        if !leave_queue.is_empty() {
            update = update.expression_attribute_names("#queue", "queue");
        }
        let result = update.send().await;
        let Some(output) = updated(result, "update an intrusion")? else {
            return Err(DomainError::Conflict(
                "the intrusion changed meanwhile; read it again".into(),
            ));
        };
        let stored: StoredIntrusion = serde_dynamo::from_item(output.attributes.unwrap_or_default())
            .map_err(unavailable("decode an intrusion"))?;
        Ok(stored.intrusion)
    }

    /// Opens a resolved intrusion again: back in the `byQueue` index, its
    /// resolution kept in `reopened`, unless someone reopened it meanwhile.
    async fn reopen(&self, intrusion: &Intrusion, reopening: &Reopening) -> Result<Intrusion, DomainError> {
        let result = self
            .intrusions
            .db
            .update_item()
            .table_name(&self.intrusions.name)
            .key("pk", s(camera_key(intrusion.camera_id)))
            .key("sk", s(intrusion_key(intrusion)))
            .update_expression("SET #status = :status, reopened = :reopening, #queue = :queue REMOVE resolved")
            .condition_expression("attribute_exists(pk) AND #status = :resolved")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#queue", "queue")
            .expression_attribute_values(":status", s(intrusion.status_when_reopened().as_str()))
            .expression_attribute_values(":resolved", s(IntrusionStatus::Resolved.as_str()))
            .expression_attribute_values(":queue", s(UNRESOLVED))
            .expression_attribute_values(
                ":reopening",
                serde_dynamo::to_attribute_value(reopening).map_err(unavailable("encode a reopening"))?,
            )
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let Some(output) = updated(result, "reopen an intrusion")? else {
            return Err(DomainError::Conflict(
                "the intrusion changed meanwhile; read it again".into(),
            ));
        };
        let stored: StoredIntrusion = serde_dynamo::from_item(output.attributes.unwrap_or_default())
            .map_err(unavailable("decode an intrusion"))?;
        Ok(stored.intrusion)
    }

    /// Deletes an intrusion past its retention (a missing one is no error).
    async fn delete_intrusion(&self, intrusion: &Intrusion) -> Result<(), DomainError> {
        self.intrusions
            .db
            .delete_item()
            .table_name(&self.intrusions.name)
            .key("pk", s(camera_key(intrusion.camera_id)))
            .key("sk", s(intrusion_key(intrusion)))
            .send()
            .await
            .map_err(unavailable("delete an intrusion"))?;
        Ok(())
    }

    /// The camera's partition of the frames table (its frame results and
    /// `STATE`), then its frames' rejections under `UNROUTABLE`.
    async fn erase_camera(&self, camera: DeviceId) -> Result<u32, DomainError> {
        let partition = self
            .frames
            .query_partition(camera_key(camera))
            .projection_expression("pk, sk");
        let records = self
            .frames
            .delete_found(partition, &["pk", "sk"], "a camera's frame results")
            .await?;
        let prefix = format!("frames/{camera}/");
        let rejected = self
            .frames
            .query_prefix(None, ("pk", "UNROUTABLE".to_owned()), ("sk", &prefix))
            .projection_expression("pk, sk");
        let rejections = self
            .frames
            .delete_found(rejected, &["pk", "sk"], "a camera's rejected frames")
            .await?;
        Ok(records + rejections)
    }

    /// Records where the annotated snapshot of an intrusion was stored.
    async fn set_snapshot(&self, intrusion: &Intrusion, snapshot_key: &str) -> Result<(), DomainError> {
        self.intrusions
            .db
            .update_item()
            .table_name(&self.intrusions.name)
            .key("pk", s(camera_key(intrusion.camera_id)))
            .key("sk", s(intrusion_key(intrusion)))
            .update_expression("SET snapshotKey = :key")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":key", s(snapshot_key))
            .send()
            .await
            .map_err(unavailable("record a snapshot"))?;
        Ok(())
    }

    /// Records a frame whose key names no camera, so it is never silently lost.
    async fn record_unroutable(&self, object_key: &str, reason: &str, expires_at: i64) -> Result<(), DomainError> {
        self.frames
            .db
            .put_item()
            .table_name(&self.frames.name)
            .item("pk", s("UNROUTABLE"))
            .item("sk", s(object_key))
            .item("status", s("rejected"))
            .item("reason", s(reason))
            .item("recordedAt", s(Utc::now().to_rfc3339()))
            .item("expiresAt", n(expires_at))
            .send()
            .await
            .map_err(unavailable("record an unroutable frame"))?;
        Ok(())
    }
}
