//! Sending with retries: commands pushed to devices and webhooks, both signed,
//! and the retry policy every channel shares.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use seccom_domain::config::{Config, DELIVERY_ATTEMPTS, DELIVERY_BACKOFF_MS, DELIVERY_TIMEOUT_MS, MissingSetting};
use seccom_domain::response::signing::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// How many times, how patiently and how long each: one policy for every channel.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub timeout: Duration,
}

/// What the attempts came to.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub attempts: u32,
    /// The last attempt's error; `None` when one attempt succeeded.
    pub error: Option<String>,
}

fn millis(config: &Config, name: &str, default: i64) -> Result<Duration, MissingSetting> {
    Ok(Duration::from_millis(config.number(name, default)?.max(0) as u64))
}

impl RetryPolicy {
    /// The policy in `config`: 4 attempts, 0.5 s then 2 s then 8 s apart, 5 s each, unless set.
    pub fn from_config(config: &Config) -> Result<Self, MissingSetting> {
        Ok(Self {
            attempts: config.number(DELIVERY_ATTEMPTS, 4)?.clamp(1, 10) as u32,
            first_backoff: millis(config, DELIVERY_BACKOFF_MS, 500)?,
            timeout: millis(config, DELIVERY_TIMEOUT_MS, 5000)?,
        })
    }

    /// Tries `attempt` until it succeeds or the attempts are spent, each bounded by the timeout.
    pub async fn run<F, Fut>(&self, what: &str, mut attempt: F) -> Outcome
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let mut backoff = self.first_backoff;
        let mut error = None;
        for number in 1..=self.attempts {
            let result = match tokio::time::timeout(self.timeout, attempt()).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
            };
            match result {
                Ok(()) => {
                    return Outcome {
                        attempts: number,
                        error: None,
                    };
                }
                Err(reason) => {
                    tracing::warn!(what, attempt = number, error = %reason, "delivery attempt failed");
                    error = Some(reason);
                }
            }
            if number < self.attempts {
                tokio::time::sleep(backoff).await;
                backoff *= 4;
            }
        }
        Outcome {
            attempts: self.attempts,
            error,
        }
    }
}

/// POSTs a JSON body signed with `key`; any answer but 2xx is a failure.
pub async fn post_signed(http: &reqwest::Client, url: &str, key: &[u8], body: &[u8]) -> Result<(), String> {
    let now = Utc::now();
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, now.timestamp().to_string())
        .header(SIGNATURE_HEADER, signing::sign(key, now, body))
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered HTTP {}", response.status().as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_are_retried_until_an_attempt_succeeds() {
        let policy = RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_millis(1),
            timeout: Duration::from_millis(50),
        };
        let mut calls = 0;
        let outcome = policy
            .run("test", || {
                calls += 1;
                let fail = calls < 3;
                async move { if fail { Err("down".to_owned()) } else { Ok(()) } }
            })
            .await;
        assert_eq!(
            outcome,
            Outcome {
                attempts: 3,
                error: None
            }
        );

        let slow = policy
            .run("test", || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert_eq!(slow.attempts, 4);
        assert!(slow.error.unwrap().contains("no answer within 50 ms"));
    }
}
