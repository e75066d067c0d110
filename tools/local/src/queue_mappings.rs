//! SQS event source mappings, as Lambda runs them: receive batches from the
//! queue, invoke the function with the SQS event JSON, delete what it handled
//! and leave what it reports failed (`ReportBatchItemFailures`) to come back
//! after the visibility timeout; the queue's redrive policy moves a message
//! that keeps failing to its dead-letter queue. Up to five batches run at once,
//! as Lambda's pollers start, so one slow message delays no other batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Semaphore, watch};

use super::notifications::EventFunction;
use super::queues::{Queues, Received};
use super::streams::reported_failures;
use super::template::QueueSubscription;

/// Batches one mapping runs at once (Lambda's initial pollers for a queue).
const CONCURRENT_BATCHES: usize = 5;
/// The longest an idle mapping waits before looking again.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// One function's mapping to one queue.
pub struct QueueMapping {
    pub function_name: String,
    pub subscription: QueueSubscription,
    pub function: EventFunction,
}

/// Runs every mapping and tells when all are idle.
pub struct QueuePoller {
    mappings: Vec<QueueMapping>,
    queues: Arc<Queues>,
    running: AtomicUsize,
}

impl QueuePoller {
    /// A poller for `mappings` over `queues`.
    pub fn new(mappings: Vec<QueueMapping>, queues: Arc<Queues>) -> Arc<Self> {
        Arc::new(Self {
            mappings,
            queues,
            running: AtomicUsize::new(0),
        })
    }

    /// Polls every mapping until `stop` turns true.
    pub fn start(self: &Arc<Self>, stop: &watch::Receiver<bool>) {
        for index in 0..self.mappings.len() {
            tokio::spawn(self.clone().run(index, stop.clone()));
        }
    }

    async fn run(self: Arc<Self>, index: usize, mut stop: watch::Receiver<bool>) {
        let mapping = &self.mappings[index];
        let slots = Arc::new(Semaphore::new(CONCURRENT_BATCHES));
        loop {
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            // Counted before receiving, so a received batch is never idle.
            self.running.fetch_add(1, Ordering::SeqCst);
            let batch = self
                .queues
                .receive(&mapping.subscription.queue, mapping.subscription.batch_size);
            if batch.is_empty() {
                self.running.fetch_sub(1, Ordering::SeqCst);
                drop(permit);
                let wait = self
                    .queues
                    .next_visible(&mapping.subscription.queue)
                    .map_or(IDLE_WAIT, |at| {
                        at.saturating_duration_since(tokio::time::Instant::now())
                    })
                    .min(IDLE_WAIT);
                tokio::select! {
                    _ = self.queues.wait_for_arrival(wait) => {}
                    _ = stop.wait_for(|stopped| *stopped) => return,
                }
                continue;
            }
            let poller = self.clone();
            tokio::spawn(async move {
                poller.invoke(index, batch).await;
                poller.running.fetch_sub(1, Ordering::SeqCst);
                drop(permit);
            });
        }
    }

    /// Invokes the function with one batch and deletes what it handled.
    async fn invoke(&self, index: usize, batch: Vec<Received>) {
        let mapping = &self.mappings[index];
        let queue = &mapping.subscription.queue;
        let event = json!({ "Records": batch.iter().map(|m| m.lambda_record(queue)).collect::<Vec<_>>() });
        let failed: Vec<String> = match (mapping.function)(event).await {
            Ok(response) if mapping.subscription.report_failures => {
                reported_failures(&response).into_iter().map(str::to_owned).collect()
            }
            Ok(_) => Vec::new(),
            Err(error) => {
                tracing::warn!(
                    function = mapping.function_name,
                    error = format!("{error:#}"),
                    "queue batch failed; its messages come back after the visibility timeout"
                );
                batch.iter().map(|m| m.id.clone()).collect()
            }
        };
        for message in batch.iter().filter(|m| !failed.contains(&m.id)) {
            self.queues.delete(queue, &message.receipt);
        }
        if !failed.is_empty() {
            tracing::warn!(
                function = mapping.function_name,
                count = failed.len(),
                "messages failed; the queue retries them after the visibility timeout"
            );
        }
    }

    /// Whether no batch is running and no message is waiting in a mapped queue
    /// (messages hidden until a retry do not count).
    pub fn is_idle(&self) -> bool {
        self.running.load(Ordering::SeqCst) == 0
            && self
                .mappings
                .iter()
                .all(|m| self.queues.depth(&m.subscription.queue).0 == 0)
    }

    /// Waits until [`Self::is_idle`].
    pub async fn settled(&self) {
        while !self.is_idle() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
