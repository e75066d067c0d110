//! The SQS stand-in: the template's queues, served over SQS's JSON protocol
//! (`SendMessage`, `ReceiveMessage`, `DeleteMessage`, `GetQueueAttributes`)
//! with the semantics the notifier relies on: a message sent with
//! `DelaySeconds` stays hidden that long; a received message is hidden for
//! the queue's visibility timeout and comes back unless deleted; each receive
//! is counted, and past the redrive policy's `maxReceiveCount` the message
//! moves to the dead-letter queue. Sends are held to the sender's policy in the
//! template. Messages live in memory: a restarted stack starts with empty queues.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::iam::{self, Iam};
use super::template::QueueDefinition;
use super::{ACCOUNT, REGION};

/// One message in a queue.
#[derive(Clone, Debug)]
struct Stored {
    id: String,
    body: String,
    sent_at_ms: i64,
    receives: u32,
    first_received_ms: Option<i64>,
    visible_at: Instant,
    receipt: Option<String>,
}

/// A received message, as `ReceiveMessage` and Lambda's SQS event show it.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub receipt: String,
    pub body: String,
    pub receives: u32,
    pub sent_at_ms: i64,
    pub first_received_ms: i64,
}

impl Received {
    /// The record Lambda passes to a function for this message.
    pub fn lambda_record(&self, queue: &str) -> Value {
        json!({
            "messageId": self.id,
            "receiptHandle": self.receipt,
            "body": self.body,
            "attributes": {
                "ApproximateReceiveCount": self.receives.to_string(),
                "SentTimestamp": self.sent_at_ms.to_string(),
                "SenderId": ACCOUNT,
                "ApproximateFirstReceiveTimestamp": self.first_received_ms.to_string(),
            },
            "messageAttributes": {},
            "md5OfBody": md5_hex(&self.body),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn(queue),
            "awsRegion": REGION,
        })
    }
}

struct Queue {
    definition: QueueDefinition,
    messages: Vec<Stored>,
}

/// Every queue of the template, by logical id.
pub struct Queues {
    queues: Mutex<BTreeMap<String, Queue>>,
    iam: Arc<Iam>,
    /// Wakes the event source mappings when a message arrives.
    arrived: tokio::sync::Notify,
}

/// A queue's ARN.
pub fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
}

fn md5_hex(text: &str) -> String {
    format!("{:x}", md5::compute(text.as_bytes()))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Queues {
    /// The template's queues, empty, with sends checked against `iam`.
    pub fn new(definitions: &BTreeMap<String, QueueDefinition>, iam: Arc<Iam>) -> Arc<Self> {
        let queues = definitions
            .iter()
            .map(|(name, definition)| {
                (
                    name.clone(),
                    Queue {
                        definition: definition.clone(),
                        messages: Vec::new(),
                    },
                )
            })
            .collect();
        Arc::new(Self {
            queues: Mutex::new(queues),
            iam,
            arrived: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Queue>> {
        self.queues.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a message, hidden for `delay` (SQS's `DelaySeconds`); its id, or
    /// `None` when there is no such queue.
    pub fn send(&self, queue: &str, body: &str, delay: Duration) -> Option<String> {
        let id = uuid::Uuid::new_v4().to_string();
        self.lock().get_mut(queue)?.messages.push(Stored {
            id: id.clone(),
            body: body.to_owned(),
            sent_at_ms: now_ms(),
            receives: 0,
            first_received_ms: None,
            visible_at: Instant::now() + delay,
            receipt: None,
        });
        self.arrived.notify_waiters();
        Some(id)
    }

    /// Receives up to `max` visible messages, oldest first, hiding each for the
    /// visibility timeout; a message received `maxReceiveCount` times before is
    /// moved to the dead-letter queue instead.
    pub fn receive(&self, queue: &str, max: usize) -> Vec<Received> {
        let now = Instant::now();
        let mut queues = self.lock();
        let Some(source) = queues.get_mut(queue) else {
            return Vec::new();
        };
        let visibility = source.definition.visibility_timeout;
        let redrive = source.definition.redrive.clone();
        let mut received = Vec::new();
        let mut dead = Vec::new();
        let mut index = 0;
        while index < source.messages.len() && received.len() < max {
            let message = &mut source.messages[index];
            if message.visible_at > now {
                index += 1;
                continue;
            }
            if let Some((_, max_receives)) = &redrive
                && message.receives >= *max_receives
            {
                dead.push(source.messages.remove(index));
                continue;
            }
            message.receives += 1;
            let first = *message.first_received_ms.get_or_insert_with(now_ms);
            let receipt = uuid::Uuid::new_v4().to_string();
            message.receipt = Some(receipt.clone());
            message.visible_at = now + visibility;
            received.push(Received {
                id: message.id.clone(),
                receipt,
                body: message.body.clone(),
                receives: message.receives,
                sent_at_ms: message.sent_at_ms,
                first_received_ms: first,
            });
            index += 1;
        }
        if let (Some((dead_letter, _)), false) = (redrive, dead.is_empty()) {
            tracing::error!(
                queue,
                dead_letter,
                count = dead.len(),
                "messages moved to the dead-letter queue after their last receive"
            );
            if let Some(target) = queues.get_mut(&dead_letter) {
                target.messages.extend(dead.into_iter().map(|mut m| {
                    m.visible_at = now;
                    m.receives = 0;
                    m.receipt = None;
                    m
                }));
            }
        }
        received
    }

    /// Deletes the message `receipt` names; `false` when none has it.
    pub fn delete(&self, queue: &str, receipt: &str) -> bool {
        let mut queues = self.lock();
        let Some(queue) = queues.get_mut(queue) else {
            return false;
        };
        let before = queue.messages.len();
        queue.messages.retain(|m| m.receipt.as_deref() != Some(receipt));
        queue.messages.len() < before
    }

    /// How many messages a queue holds: visible now, and hidden (in flight or waiting to be retried).
    pub fn depth(&self, queue: &str) -> (usize, usize) {
        let now = Instant::now();
        self.lock().get(queue).map_or((0, 0), |q| {
            let visible = q.messages.iter().filter(|m| m.visible_at <= now).count();
            (visible, q.messages.len() - visible)
        })
    }

    /// The earliest time a hidden message of `queue` turns visible again.
    pub fn next_visible(&self, queue: &str) -> Option<Instant> {
        self.lock()
            .get(queue)?
            .messages
            .iter()
            .map(|m| m.visible_at)
            .filter(|at| *at > Instant::now())
            .min()
    }

    /// Waits until a message is sent to any queue, or `timeout` passes.
    pub async fn wait_for_arrival(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.arrived.notified()).await;
    }
}

/// The queue a request's `QueueUrl` names: its last path segment.
fn queue_of(request: &Value) -> Option<String> {
    let url = request["QueueUrl"].as_str()?;
    url.rsplit('/').next().map(str::to_owned)
}

fn error(status: http::StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/x-amz-json-1.0")],
        json!({ "__type": format!("com.amazonaws.sqs#{kind}"), "message": message }).to_string(),
    )
        .into_response()
}

/// Serves SQS's JSON protocol.
pub async fn serve_sqs(State(queues): State<Arc<Queues>>, headers: http::HeaderMap, body: bytes::Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(operation) = header("x-amz-target").strip_prefix("AmazonSQS.") else {
        return error(http::StatusCode::BAD_REQUEST, "InvalidAction", "not an SQS request");
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(
            http::StatusCode::BAD_REQUEST,
            "MalformedQueryString",
            "the body is not JSON",
        );
    };
    let Some(queue) = queue_of(&request) else {
        return error(
            http::StatusCode::BAD_REQUEST,
            "MissingParameter",
            "QueueUrl is required",
        );
    };
    let key = iam::signing_key(header("authorization")).unwrap_or_default();
    if queues
        .iam
        .authorize(key, &format!("sqs:{operation}"), &queue_arn(&queue), None)
        .is_err()
    {
        return error(
            http::StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!("not authorized to perform sqs:{operation} on {}", queue_arn(&queue)),
        );
    }
    let no_queue = || {
        error(
            http::StatusCode::BAD_REQUEST,
            "QueueDoesNotExist",
            "the queue does not exist",
        )
    };
    let answer = match operation {
        "SendMessage" => {
            let body = request["MessageBody"].as_str().unwrap_or_default();
            if body.is_empty() {
                return error(
                    http::StatusCode::BAD_REQUEST,
                    "MissingParameter",
                    "MessageBody is required",
                );
            }
            let delay = request["DelaySeconds"].as_u64().unwrap_or(0);
            if delay > 900 {
                return error(
                    http::StatusCode::BAD_REQUEST,
                    "InvalidParameterValue",
                    "DelaySeconds must be 0 to 900",
                );
            }
            let Some(id) = queues.send(&queue, body, Duration::from_secs(delay)) else {
                return no_queue();
            };
            json!({ "MessageId": id, "MD5OfMessageBody": md5_hex(body) })
        }
        "ReceiveMessage" => {
            let max = request["MaxNumberOfMessages"].as_u64().unwrap_or(1).clamp(1, 10) as usize;
            let messages: Vec<Value> = queues
                .receive(&queue, max)
                .iter()
                .map(|m| {
                    json!({
                        "MessageId": m.id,
                        "ReceiptHandle": m.receipt,
                        "Body": m.body,
                        "MD5OfBody": md5_hex(&m.body),
                        "Attributes": { "ApproximateReceiveCount": m.receives.to_string() },
                    })
                })
                .collect();
            json!({ "Messages": messages })
        }
        "DeleteMessage" => {
            let receipt = request["ReceiptHandle"].as_str().unwrap_or_default();
            if !queues.delete(&queue, receipt) {
                return error(
                    http::StatusCode::BAD_REQUEST,
                    "ReceiptHandleIsInvalid",
                    "no message has this receipt handle",
                );
            }
            json!({})
        }
        "GetQueueAttributes" => {
            let (visible, hidden) = queues.depth(&queue);
            json!({ "Attributes": {
                "ApproximateNumberOfMessages": visible.to_string(),
                "ApproximateNumberOfMessagesNotVisible": hidden.to_string(),
                "QueueArn": queue_arn(&queue),
            }})
        }
        other => {
            return error(
                http::StatusCode::BAD_REQUEST,
                "InvalidAction",
                &format!("the local SQS does not serve {other}"),
            );
        }
    };
    ([("content-type", "application/x-amz-json-1.0")], answer.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The visibility timeout of the test queue: short, so a test waits it out.
    const VISIBILITY: Duration = Duration::from_millis(100);

    async fn wait_out_visibility() {
        tokio::time::sleep(VISIBILITY + Duration::from_millis(50)).await;
    }

    fn queues() -> Arc<Queues> {
        let definitions = BTreeMap::from([
            (
                "Work".to_owned(),
                QueueDefinition {
                    visibility_timeout: VISIBILITY,
                    redrive: Some(("Dead".to_owned(), 2)),
                },
            ),
            (
                "Dead".to_owned(),
                QueueDefinition {
                    visibility_timeout: Duration::from_secs(30),
                    redrive: None,
                },
            ),
        ]);
        Queues::new(&definitions, Arc::new(Iam::default()))
    }

    #[tokio::test]
    async fn a_received_message_is_hidden_comes_back_and_after_its_last_receive_is_dead_lettered() {
        let queues = queues();
        queues.send("Work", "hello", Duration::ZERO).unwrap();
        let first = queues.receive("Work", 10);
        assert_eq!((first.len(), first[0].receives), (1, 1));
        assert!(queues.receive("Work", 10).is_empty(), "hidden while in flight");
        wait_out_visibility().await;
        let second = queues.receive("Work", 10);
        assert_eq!(second[0].receives, 2, "back after the visibility timeout");
        assert!(
            !queues.delete("Work", &first[0].receipt),
            "an old receipt deletes nothing"
        );
        wait_out_visibility().await;
        assert!(queues.receive("Work", 10).is_empty(), "received twice: moved");
        assert_eq!(queues.depth("Work"), (0, 0));
        assert_eq!(queues.depth("Dead"), (1, 0));
        assert_eq!(queues.receive("Dead", 10)[0].body, "hello");
    }

    #[test]
    fn a_deleted_message_is_gone_and_others_are_untouched() {
        let queues = queues();
        queues.send("Work", "one", Duration::ZERO).unwrap();
        queues.send("Work", "two", Duration::ZERO).unwrap();
        let received = queues.receive("Work", 1);
        assert_eq!(received[0].body, "one", "oldest first");
        assert!(queues.delete("Work", &received[0].receipt));
        assert_eq!(queues.depth("Work"), (1, 0));
        assert_eq!(queues.send("Missing", "x", Duration::ZERO), None);
    }

    #[tokio::test]
    async fn a_delayed_message_stays_hidden_until_its_delay_passes() {
        let queues = queues();
        queues.send("Work", "later", VISIBILITY).unwrap();
        assert!(queues.receive("Work", 10).is_empty(), "held back");
        assert_eq!(queues.depth("Work"), (0, 1));
        assert!(
            queues.next_visible("Work").is_some(),
            "the mapping knows when to look again"
        );
        wait_out_visibility().await;
        assert_eq!(queues.receive("Work", 10)[0].body, "later");
    }
}
