//! The small toolkit every DynamoDB adapter shares: attribute builders, the
//! error mapping, the conditional-failure tests and decoding through envelopes.

pub(crate) mod page_token;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;

use seccom_domain::error::DomainError;

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Turns a store error into a 503 whose log line says what was being done.
pub(crate) fn unavailable<E: std::error::Error + Send + Sync + 'static>(
    action: &str,
) -> impl FnOnce(E) -> DomainError + '_ {
    move |e| DomainError::unavailable(format!("cannot {action}"), e)
}

/// Whether a transaction's cancellation reason is a failed condition.
pub(crate) fn is_condition_failure(reason_code: Option<&str>) -> bool {
    reason_code == Some("ConditionalCheckFailed")
}

/// Whether DynamoDB cancelled a transaction (a condition failed, or another
/// transaction touched the same items), as opposed to being unavailable.
pub(crate) fn is_cancelled<R>(error: &SdkError<TransactWriteItemsError, R>) -> bool {
    matches!(error, SdkError::ServiceError(e)
        if matches!(e.err(), TransactWriteItemsError::TransactionCanceledException(_)))
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
