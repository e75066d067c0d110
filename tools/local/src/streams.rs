//! DynamoDB stream event source mappings, as Lambda runs them: poll the
//! table's stream, filter records by `eventName`, invoke the function with
//! batches of the stream event JSON Lambda sends, retry a failing batch from
//! the record it reports (`ReportBatchItemFailures`), and after the last retry
//! set the batch aside in the failure destination (locally, a JSON file under
//! `failed-events/` in the data directory). Positions are kept in the data
//! directory, so a restarted stack resumes where it stopped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};
use tokio::sync::{Mutex, watch};

use super::REGION;
use super::notifications::EventFunction;
use super::template::StreamSubscription;

/// How often an idle stream is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The pause before each retry of a failing batch, doubled each time.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);

/// One function's mapping to one table's stream.
pub struct StreamMapping {
    pub function_name: String,
    pub table: String,
    pub subscription: StreamSubscription,
    pub function: EventFunction,
}

/// Runs every mapping and reports when all of them have caught up.
pub struct StreamPoller {
    mappings: Vec<StreamMapping>,
    client: aws_sdk_dynamodbstreams::Client,
    positions_file: PathBuf,
    failures_dir: PathBuf,
    positions: Mutex<BTreeMap<String, String>>,
    /// Counts polls of every mapping that found nothing new.
    idle_rounds: watch::Sender<u64>,
}

impl StreamPoller {
    /// A poller for `mappings`, keeping positions and failed batches under `data_dir`.
    pub fn new(sdk: &SdkConfig, mappings: Vec<StreamMapping>, data_dir: &std::path::Path) -> Arc<Self> {
        let positions_file = data_dir.join("stream-positions.json");
        let positions = std::fs::read(&positions_file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Arc::new(Self {
            mappings,
            client: aws_sdk_dynamodbstreams::Client::new(sdk),
            positions_file,
            failures_dir: data_dir.join("failed-events"),
            positions: Mutex::new(positions),
            idle_rounds: watch::channel(0).0,
        })
    }

    /// Polls until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut iterators: BTreeMap<usize, String> = BTreeMap::new();
        loop {
            let mut found_any = false;
            for (index, mapping) in self.mappings.iter().enumerate() {
                match self.poll(mapping, iterators.get(&index).cloned()).await {
                    Ok((next, found)) => {
                        found_any |= found;
                        match next {
                            Some(next) => iterators.insert(index, next),
                            None => iterators.remove(&index),
                        };
                    }
                    Err(error) => {
                        tracing::warn!(
                            function = mapping.function_name,
                            error = format!("{error:#}"),
                            "stream poll failed"
                        );
                        iterators.remove(&index);
                    }
                }
            }
            if !found_any {
                self.idle_rounds.send_modify(|rounds| *rounds += 1);
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_INTERVAL), if !found_any => {}
                _ = async {}, if found_any => {}
                _ = stop.wait_for(|stopped| *stopped) => return,
            }
        }
    }

    /// Waits until every mapping has been polled twice in a row with nothing new.
    pub async fn caught_up(&self) {
        let mut rounds = self.idle_rounds.subscribe();
        let start = *rounds.borrow_and_update();
        let _ = rounds.wait_for(|now| *now >= start + 2).await;
    }

    /// Reads one batch and delivers it; returns the next iterator and whether records came.
    async fn poll(&self, mapping: &StreamMapping, iterator: Option<String>) -> anyhow::Result<(Option<String>, bool)> {
        let (stream_arn, iterator) = match iterator {
            Some(iterator) => (self.stream_arn(&mapping.table).await?, Some(iterator)),
            None => {
                let arn = self.stream_arn(&mapping.table).await?;
                let iterator = self.first_iterator(&arn).await?;
                (arn, iterator)
            }
        };
        let Some(iterator) = iterator else {
            return Ok((None, false));
        };
        let output = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(mapping.subscription.batch_size as i32)
            .send()
            .await
            .context("GetRecords")?;
        let records = output.records.unwrap_or_default();
        if records.is_empty() {
            return Ok((output.next_shard_iterator, false));
        }
        let last = records
            .last()
            .and_then(|r| r.dynamodb())
            .and_then(|d| d.sequence_number())
            .map(str::to_owned);
        let wanted: Vec<&Record> = records
            .iter()
            .filter(|record| {
                let name = record.event_name().map(|n| n.as_str()).unwrap_or_default();
                mapping.subscription.event_names.is_empty()
                    || mapping.subscription.event_names.iter().any(|w| w == name)
            })
            .collect();
        if !wanted.is_empty() {
            self.deliver(mapping, &stream_arn, &wanted).await;
        }
        if let Some(last) = last {
            let mut positions = self.positions.lock().await;
            positions.insert(stream_arn.clone(), last);
            std::fs::write(&self.positions_file, serde_json::to_vec_pretty(&*positions)?)
                .context("cannot save stream positions")?;
        }
        Ok((output.next_shard_iterator, true))
    }

    async fn stream_arn(&self, table: &str) -> anyhow::Result<String> {
        let streams = self
            .client
            .list_streams()
            .table_name(table)
            .send()
            .await
            .context("ListStreams")?;
        streams
            .streams()
            .first()
            .and_then(|s| s.stream_arn())
            .map(str::to_owned)
            .with_context(|| format!("the table {table} has no stream"))
    }

    /// Where to start reading: after the last delivered record, or the oldest one.
    async fn first_iterator(&self, stream_arn: &str) -> anyhow::Result<Option<String>> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(stream_arn)
            .send()
            .await
            .context("DescribeStream")?;
        let Some(shard) = described
            .stream_description()
            .and_then(|d| d.shards().last())
            .and_then(|s| s.shard_id())
        else {
            return Ok(None);
        };
        let after = self.positions.lock().await.get(stream_arn).cloned();
        let request = self.client.get_shard_iterator().stream_arn(stream_arn).shard_id(shard);
        let request = match after {
            Some(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let output = request.send().await.context("GetShardIterator")?;
        Ok(output.shard_iterator)
    }

    /// Invokes the function with a batch, retrying from the first reported failure.
    async fn deliver(&self, mapping: &StreamMapping, stream_arn: &str, records: &[&Record]) {
        let mut pending: Vec<Value> = records.iter().map(|r| event_record(r, stream_arn)).collect();
        let mut delay = FIRST_RETRY_DELAY;
        for attempt in 0..=mapping.subscription.maximum_retry_attempts {
            let event = json!({ "Records": pending });
            let failed_from = match (mapping.function)(event).await {
                Ok(response) => first_failure(&response, &pending),
                Err(error) => {
                    tracing::warn!(
                        function = mapping.function_name,
                        attempt,
                        error = format!("{error:#}"),
                        "stream batch failed"
                    );
                    Some(0)
                }
            };
            match failed_from {
                None => return,
                Some(index) => pending.drain(..index),
            };
            if attempt < mapping.subscription.maximum_retry_attempts {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        let file = self.failures_dir.join(format!(
            "{}-{}.json",
            mapping.function_name,
            pending[0]["dynamodb"]["SequenceNumber"].as_str().unwrap_or("unknown")
        ));
        let saved = std::fs::create_dir_all(&self.failures_dir).and_then(|()| {
            std::fs::write(
                &file,
                serde_json::to_vec_pretty(&json!({ "Records": pending })).unwrap_or_default(),
            )
        });
        tracing::error!(function = mapping.function_name, file = %file.display(), saved = saved.is_ok(), "stream batch set aside after every retry");
    }
}

/// The item identifiers a `ReportBatchItemFailures` response names (stream
/// sequence numbers, SQS message ids).
pub(super) fn reported_failures(response: &Value) -> Vec<&str> {
    response["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect()
}

/// The index of the first record a `ReportBatchItemFailures` response names, if any.
fn first_failure(response: &Value, pending: &[Value]) -> Option<usize> {
    let failed = reported_failures(response);
    if failed.is_empty() {
        return None;
    }
    pending
        .iter()
        .position(|r| failed.contains(&r["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default()))
        .or(Some(0))
}

/// A stream record as Lambda passes it to a function.
fn event_record(record: &Record, stream_arn: &str) -> Value {
    let change = record.dynamodb();
    let image = |map: Option<&std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        map.map(|m| serde_json::to_value(serde_dynamo::Item::from(m.clone())).unwrap_or_default())
    };
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": change
            .and_then(|c| c.approximate_creation_date_time())
            .map_or(0, |t| t.secs()),
        "Keys": image(change.and_then(|c| c.keys())),
        "SequenceNumber": change.and_then(|c| c.sequence_number()),
        "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or_default(),
        "StreamViewType": change.and_then(|c| c.stream_view_type()).map(|v| v.as_str().to_owned()),
    });
    if let Some(new_image) = image(change.and_then(|c| c.new_image())) {
        dynamodb["NewImage"] = new_image;
    }
    if let Some(old_image) = image(change.and_then(|c| c.old_image())) {
        dynamodb["OldImage"] = old_image;
    }
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str().to_owned()),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    })
}
