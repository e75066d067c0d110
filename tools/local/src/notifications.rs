//! S3 event notifications, as S3 sends them to Lambda: after an object is
//! created in a bucket, every function subscribed to that bucket (and key
//! prefix and suffix) is invoked asynchronously with the S3 event JSON, and
//! retried twice on failure, as Lambda does for asynchronous invocations.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::REGION;

/// An in-process Lambda function that takes an event document.
pub type EventFunction = seccom_runtime::runner::JsonHandler;

/// One function's subscription to a bucket.
pub struct Subscription {
    pub configuration_id: String,
    pub bucket: String,
    pub prefix: String,
    pub suffix: String,
    pub function_name: String,
    pub function: EventFunction,
}

/// Delivers notifications and tracks those still running.
#[derive(Default)]
pub struct Notifier {
    subscriptions: Vec<Subscription>,
    sequencer: AtomicU64,
    running: AtomicUsize,
    settled: Notify,
    /// How long the latest invocations ran, by function: Lambda's `REPORT ... Duration`.
    durations: Mutex<BTreeMap<String, VecDeque<Duration>>>,
}

/// Invocation durations kept per function: a stack left running keeps a bounded tail.
const DURATIONS_KEPT: usize = 10_000;

/// Retries of a failed asynchronous invocation, and the pause before each.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

/// Encodes a key as S3 does in event notifications: `+` for spaces, `%XX` for
/// anything but unreserved characters and `/`.
pub fn notification_key(key: &str) -> String {
    key.bytes()
        .map(|byte| match byte {
            b' ' => "+".to_owned(),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl Notifier {
    /// A notifier for these subscriptions.
    pub fn new(subscriptions: Vec<Subscription>) -> Self {
        Self {
            subscriptions,
            ..Self::default()
        }
    }

    /// Whether any function listens to this bucket.
    pub fn watches(&self, bucket: &str) -> bool {
        self.subscriptions.iter().any(|s| s.bucket == bucket)
    }

    /// Sends `ObjectCreated:<how>` for `key` to every matching subscription, without waiting.
    pub fn object_created(self: &Arc<Self>, bucket: &str, key: &str, size: u64, etag: &str, how: &str) {
        for (index, subscription) in self.subscriptions.iter().enumerate() {
            if subscription.bucket != bucket
                || !key.starts_with(&subscription.prefix)
                || !key.ends_with(&subscription.suffix)
            {
                continue;
            }
            let sequencer = self.sequencer.fetch_add(1, Ordering::SeqCst);
            let event = json!({ "Records": [{
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "eventName": format!("ObjectCreated:{how}"),
                "userIdentity": { "principalId": "AWS:seccom-local" },
                "requestParameters": { "sourceIPAddress": "127.0.0.1" },
                "responseElements": { "x-amz-request-id": format!("{sequencer:016X}"), "x-amz-id-2": "seccom-local" },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": subscription.configuration_id,
                    "bucket": { "name": bucket, "ownerIdentity": { "principalId": "seccom-local" }, "arn": format!("arn:aws:s3:::{bucket}") },
                    "object": { "key": notification_key(key), "size": size, "eTag": etag.trim_matches('"'), "sequencer": format!("{sequencer:016X}") },
                },
            }]});
            self.running.fetch_add(1, Ordering::SeqCst);
            let notifier = self.clone();
            tokio::spawn(async move {
                notifier.deliver(index, event).await;
                if notifier.running.fetch_sub(1, Ordering::SeqCst) == 1 {
                    notifier.settled.notify_waiters();
                }
            });
        }
    }

    async fn deliver(&self, index: usize, event: Value) {
        let subscription = &self.subscriptions[index];
        for attempt in 0..=RETRY_DELAYS.len() {
            let started = Instant::now();
            let outcome = (subscription.function)(event.clone()).await;
            let duration = started.elapsed();
            tracing::debug!(
                function = subscription.function_name,
                duration_ms = duration.as_secs_f64() * 1000.0,
                "REPORT"
            );
            {
                let mut durations = self.durations.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let kept = durations.entry(subscription.function_name.clone()).or_default();
                if kept.len() == DURATIONS_KEPT {
                    kept.pop_front();
                }
                kept.push_back(duration);
            }
            match outcome {
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(function = subscription.function_name, attempt, error = %error, "asynchronous invocation failed");
                    if let Some(delay) = RETRY_DELAYS.get(attempt) {
                        tokio::time::sleep(*delay).await;
                    }
                }
            }
        }
        tracing::error!(function = subscription.function_name, "event dropped after retries");
    }

    /// How long the latest invocations of `function` by a notification ran
    /// (up to [`DURATIONS_KEPT`]), oldest first.
    pub fn durations(&self, function: &str) -> Vec<Duration> {
        self.durations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(function)
            .map(|kept| kept.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Whether no notification is being handled now.
    pub fn is_idle(&self) -> bool {
        self.running.load(Ordering::SeqCst) == 0
    }

    /// Waits until every notification sent so far has been handled.
    pub async fn settled(&self) {
        loop {
            let notified = self.settled.notified();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_as_s3_notifications_encode_them() {
        assert_eq!(notification_key("frames/a b/c+d%e"), "frames/a+b/c%2Bd%25e");
    }
}
