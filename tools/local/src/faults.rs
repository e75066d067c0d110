//! Injected faults: a share of DynamoDB and S3 requests answered with AWS's own
//! retryable errors (`ProvisionedThroughputExceededException` and
//! `InternalServerError` from DynamoDB, `503 SlowDown` from S3), and latency
//! added to every request, so the retries of the SDK and of the event sources
//! can be watched working. Off unless asked for.
//!
//! By default only a request's first attempt can fail (the SDK says which
//! attempt it sends in `amz-sdk-request`), so every fault is one the SDK's
//! retries absorb and a run ends as it would without faults; `retries_too`
//! lets retries fail as well, which reaches the event sources' own retries.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What to inject.
#[derive(Clone, Copy, Debug, Default)]
pub struct FaultOptions {
    /// The share of requests answered with an error, from 0 to 1.
    pub rate: f64,
    /// Added before every request is answered.
    pub latency: Duration,
    /// Whether retried attempts may fail too.
    pub retries_too: bool,
    /// Seeds the choice of requests, so a run can be repeated.
    pub seed: u64,
}

/// Decides which requests fail, and counts them.
pub struct Faults {
    options: FaultOptions,
    random: Mutex<fastrand::Rng>,
    injected: AtomicU64,
}

impl Faults {
    /// Faults as `options` say.
    pub fn new(options: FaultOptions) -> Self {
        Self {
            options,
            random: Mutex::new(fastrand::Rng::with_seed(options.seed)),
            injected: AtomicU64::new(0),
        }
    }

    /// Waits the added latency, then says whether the request with `headers` fails.
    pub async fn strike(&self, headers: &http::HeaderMap) -> Option<Fault> {
        if !self.options.latency.is_zero() {
            tokio::time::sleep(self.options.latency).await;
        }
        if self.options.rate <= 0.0 || (attempt(headers) > 1 && !self.options.retries_too) {
            return None;
        }
        let draw = self
            .random
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .f64();
        if draw >= self.options.rate {
            return None;
        }
        let count = self.injected.fetch_add(1, Ordering::SeqCst);
        Some(if count.is_multiple_of(2) {
            Fault::Throttled
        } else {
            Fault::Internal
        })
    }

    /// How many requests were failed so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::SeqCst)
    }
}

/// Which error a failed request gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Too many requests: DynamoDB's throughput exceeded, S3's `SlowDown`.
    Throttled,
    /// The service failed: DynamoDB's `InternalServerError`, S3's 503.
    Internal,
}

impl Fault {
    /// DynamoDB's answer: status, error type and JSON body.
    pub fn dynamodb(self) -> (http::StatusCode, &'static str, String) {
        let (status, kind, message) = match self {
            Self::Throttled => (
                http::StatusCode::BAD_REQUEST,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            ),
            Self::Internal => (
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Internal server error (injected by the local stack).",
            ),
        };
        let body = serde_json::json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"),
            "message": message,
        });
        (status, kind, body.to_string())
    }

    /// S3's answer: status and XML body.
    pub fn s3(self) -> (http::StatusCode, String) {
        let (code, message) = match self {
            Self::Throttled => ("SlowDown", "Please reduce your request rate."),
            Self::Internal => ("ServiceUnavailable", "Service is unable to handle request."),
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        );
        (http::StatusCode::SERVICE_UNAVAILABLE, body)
    }
}

/// The attempt number the AWS SDK sends (`amz-sdk-request: attempt=2; max=3`); 1 when absent.
fn attempt(headers: &http::HeaderMap) -> u32 {
    headers
        .get("amz-sdk-request")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .split(';')
                .find_map(|part| part.trim().strip_prefix("attempt="))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(attempt: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("amz-sdk-request", attempt.parse().unwrap());
        headers
    }

    #[tokio::test]
    async fn only_first_attempts_fail_unless_retries_may_too() {
        let always = FaultOptions {
            rate: 1.0,
            ..Default::default()
        };
        let faults = Faults::new(always);
        assert_eq!(
            faults.strike(&headers("attempt=1; max=3")).await,
            Some(Fault::Throttled)
        );
        assert_eq!(faults.strike(&headers("attempt=2; max=3")).await, None);
        assert_eq!(faults.strike(&http::HeaderMap::new()).await, Some(Fault::Internal));
        let faults = Faults::new(FaultOptions {
            retries_too: true,
            ..always
        });
        assert!(faults.strike(&headers("attempt=3; max=3")).await.is_some());
        assert_eq!(faults.injected(), 1);
        let never = Faults::new(FaultOptions::default());
        assert_eq!(never.strike(&headers("attempt=1; max=3")).await, None);
    }

    #[tokio::test]
    async fn a_share_of_requests_fails_and_a_seed_repeats_the_choice() {
        let options = FaultOptions {
            rate: 0.25,
            seed: 7,
            ..Default::default()
        };
        let run = || async {
            let faults = Faults::new(options);
            let mut failed = Vec::new();
            for _ in 0..400 {
                failed.push(faults.strike(&http::HeaderMap::new()).await.is_some());
            }
            failed
        };
        let (first, second) = (run().await, run().await);
        assert_eq!(first, second);
        let share = first.iter().filter(|f| **f).count();
        assert!((60..140).contains(&share), "{share} of 400");
    }
}
