//! Batches of records (SQS messages, stream records): every record handled
//! side by side, each in a span of its own, and the failures reported the way
//! the event source retries them: SQS each failed message alone, a stream from
//! the first failed record on.

use std::future::Future;

use aws_lambda_events::sqs::SqsBatchResponse;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use tracing::{Instrument, Span};

/// Handles every record at once, each in `span(record)`, so a slow record holds
/// up only itself; answers the outcomes in record order.
pub async fn side_by_side<'a, R, T, Fut>(
    records: &'a [R],
    span: impl Fn(&R) -> Span,
    handle: impl Fn(&'a R) -> Fut,
) -> Vec<T>
where
    Fut: Future<Output = T>,
{
    futures::future::join_all(records.iter().map(|record| handle(record).instrument(span(record)))).await
}

/// The answer that has SQS receive again every message that `failed` (the
/// others are deleted): each is retried alone, and after the queue's last
/// receive goes to its dead-letter queue.
pub fn sqs_failures<R>(records: &[R], failed: &[bool], id: impl Fn(&R) -> Option<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (record, _) in records.iter().zip(failed).filter(|(_, failed)| **failed) {
        response.add_failure(id(record).unwrap_or_default());
    }
    response
}

/// The answer that has a stream deliver the batch again from its first record
/// that `failed` (in stream order): a stream keeps its order, so the records
/// after it come again too, and their handlers must find what they did.
pub fn stream_failures<R>(records: &[R], failed: &[bool], id: impl Fn(&R) -> Option<String>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some((record, _)) = records.iter().zip(failed).find(|(_, failed)| **failed) {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = id(record);
        response.batch_item_failures.push(failure);
    }
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn every_record_is_handled_at_once_and_answered_in_order() {
        // Each handler waits for all the others: handled one after another, they never finish.
        let records = [3, 1, 2];
        let everyone = Arc::new(tokio::sync::Barrier::new(records.len()));
        let handled = side_by_side(
            &records,
            |n| tracing::info_span!("record", n),
            |n| {
                let everyone = everyone.clone();
                async move {
                    everyone.wait().await;
                    n * 10
                }
            },
        );
        let outcomes = tokio::time::timeout(Duration::from_secs(5), handled)
            .await
            .expect("the records were handled side by side");
        assert_eq!(outcomes, [30, 10, 20]);
    }

    #[test]
    fn sqs_retries_each_failed_message_alone() {
        let ids = ["a", "b", "c", "d"];
        let response = sqs_failures(&ids, &[false, true, false, true], |id| Some((*id).to_owned()));
        let reported: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(reported, ["b", "d"]);
        assert!(
            sqs_failures(&ids, &[false; 4], |id| Some((*id).to_owned()))
                .batch_item_failures
                .is_empty()
        );
    }

    #[test]
    fn a_stream_retries_from_its_first_failed_record() {
        let sequence = ["100", "200", "300"];
        let response = stream_failures(&sequence, &[false, true, true], |n| Some((*n).to_owned()));
        let reported: Vec<Option<&str>> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_deref())
            .collect();
        assert_eq!(reported, [Some("200")]);
        assert!(
            stream_failures(&sequence, &[false; 3], |n| Some((*n).to_owned()))
                .batch_item_failures
                .is_empty()
        );
    }
}
