//! The small toolkit every DynamoDB adapter shares: attribute builders, the
//! error mapping, the conditional-failure tests and decoding through envelopes.

pub(crate) mod page_token;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client as DynamoDb;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::de::DeserializeOwned;

use seccom_domain::error::DomainError;

/// An item, or an item's key.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// `value` as an attribute; `what` names the encoding in the log line of a failure.
pub(crate) fn encoded(value: impl serde::Serialize, what: &str) -> Result<AttributeValue, DomainError> {
    serde_dynamo::to_attribute_value(value).map_err(unavailable(what))
}

/// Turns a store error into a 503 whose log line says what was being done.
pub(crate) fn unavailable<E: std::error::Error + Send + Sync + 'static>(
    action: &str,
) -> impl FnOnce(E) -> DomainError + '_ {
    move |e| DomainError::unavailable(format!("cannot {action}"), e)
}

/// A single-item write whose condition may fail.
pub(crate) trait ConditionalWrite {
    /// Whether the write was refused because its condition did not hold.
    fn condition_failed(&self) -> bool;
}

impl ConditionalWrite for UpdateItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalWrite for PutItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalWrite for DeleteItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

/// A conditional write's answer, or `None` when its condition did not hold.
pub(crate) fn updated<T, E, R>(result: Result<T, SdkError<E, R>>, what: &str) -> Result<Option<T>, DomainError>
where
    E: ConditionalWrite + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(e) if e.as_service_error().is_some_and(ConditionalWrite::condition_failed) => Ok(None),
        Err(e) => Err(unavailable(what)(e)),
    }
}

/// How an all-or-nothing write ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Transaction {
    Committed,
    /// Nothing was written: a condition failed (`failed[i]` for the i-th write),
    /// or another transaction touched the same items (none failed).
    Cancelled {
        failed: Vec<bool>,
    },
}

impl Transaction {
    /// Whether the `index`-th write's condition failed.
    pub(crate) fn failed(&self, index: usize) -> bool {
        matches!(self, Self::Cancelled { failed } if failed.get(index).copied().unwrap_or(false))
    }
}

/// Writes `writes` all or nothing; a cancellation is an answer, not an error.
pub(crate) async fn transact(
    db: &DynamoDb,
    writes: Vec<TransactWriteItem>,
    what: &str,
) -> Result<Transaction, DomainError> {
    match db.transact_write_items().set_transact_items(Some(writes)).send().await {
        Ok(_) => Ok(Transaction::Committed),
        Err(SdkError::ServiceError(e)) => match e.into_err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => Ok(Transaction::Cancelled {
                failed: cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code() == Some("ConditionalCheckFailed"))
                    .collect(),
            }),
            other => Err(unavailable(what)(other)),
        },
        Err(other) => Err(unavailable(what)(other)),
    }
}

/// One table through one client, with the operations every adapter repeats.
#[derive(Clone)]
pub(crate) struct Table {
    pub(crate) db: DynamoDb,
    pub(crate) name: String,
}

impl Table {
    /// `name` through `db`.
    pub(crate) fn new(db: DynamoDb, name: impl Into<String>) -> Self {
        Self { db, name: name.into() }
    }

    /// A put of `item` for a transaction, only if `condition` holds.
    pub(crate) fn put_in_transaction(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, DomainError> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(unavailable("build a put"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Stores `item` whatever was there.
    pub(crate) async fn put(&self, item: Item, what: &str) -> Result<(), DomainError> {
        self.db
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable(what))?;
        Ok(())
    }

    /// Stores `item` unless an item with its key exists; `false` when one does.
    pub(crate) async fn put_if_absent(&self, item: Item, what: &str) -> Result<bool, DomainError> {
        let result = self
            .db
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        Ok(updated(result, what)?.is_some())
    }

    /// Deletes the item with `key` if it exists; `false` when it did not.
    pub(crate) async fn delete_if_present(&self, key: Item, what: &str) -> Result<bool, DomainError> {
        let result = self
            .db
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        Ok(updated(result, what)?.is_some())
    }

    /// Deletes every item `query` finds (every page), keeping of each only the
    /// table's key attributes `keys`; answers how many. Deleting one already
    /// gone is no error, so a run cut off half way is simply run again.
    pub(crate) async fn delete_found(
        &self,
        query: QueryFluentBuilder,
        keys: &[&str],
        what: &str,
    ) -> Result<u32, DomainError> {
        let mut found = query.into_paginator().items().send();
        let mut deleted = 0;
        while let Some(item) = found.next().await {
            let mut item = item.map_err(unavailable(&format!("list {what}")))?;
            item.retain(|name, _| keys.contains(&name.as_str()));
            self.db
                .delete_item()
                .table_name(&self.name)
                .set_key(Some(item))
                .send()
                .await
                .map_err(unavailable(&format!("delete {what}")))?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// A query of every item of the table's partition `pk`.
    pub(crate) fn query_partition(&self, pk: impl Into<String>) -> QueryFluentBuilder {
        self.db
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
    }

    /// A query of the table (or of `index`) for the items of partition
    /// `partition` (attribute, value) whose `sort` attribute begins with `prefix`.
    pub(crate) fn query_prefix(
        &self,
        index: Option<&str>,
        partition: (&str, String),
        sort: (&str, &str),
    ) -> QueryFluentBuilder {
        self.db
            .query()
            .table_name(&self.name)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#p = :p AND begins_with(#s, :s)")
            .expression_attribute_names("#p", partition.0)
            .expression_attribute_names("#s", sort.0)
            .expression_attribute_values(":p", s(partition.1))
            .expression_attribute_values(":s", s(sort.1))
    }

    /// The item with `key`, read consistently.
    pub(crate) async fn get(&self, key: Item, what: &str) -> Result<Option<Item>, DomainError> {
        Ok(self
            .db
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable(what))?
            .item)
    }

    /// The item with `key` decoded through its envelope `S` into a record.
    pub(crate) async fn get_decoded<S: DeserializeOwned, T>(
        &self,
        key: Item,
        record: fn(S) -> T,
        what: &str,
    ) -> Result<Option<T>, DomainError> {
        let item = self.get(key, &format!("read {what}")).await?;
        Ok(
            decode_items(item.map(|item| vec![item]), record, &format!("decode {what}"))?
                .into_iter()
                .next(),
        )
    }
}

/// A key of `pk` and `sk`.
pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Decodes queried items into records, through their stored envelope.
pub(crate) fn decode_items<S: DeserializeOwned, T>(
    items: Option<Vec<HashMap<String, AttributeValue>>>,
    record: fn(S) -> T,
    action: &str,
) -> Result<Vec<T>, DomainError> {
    items
        .unwrap_or_default()
        .into_iter()
        .map(|item| serde_dynamo::from_item::<_, S>(item).map(record))
        .collect::<Result<_, _>>()
        .map_err(unavailable(action))
}
