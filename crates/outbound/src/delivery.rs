//! Sending with retries: commands pushed to devices and webhooks, both signed,
//! and the retry policy every channel shares.

use std::future::Future;
use std::time::Duration;

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use seccom_domain::config::{Config, DELIVERY_ATTEMPTS, DELIVERY_BACKOFF_MS, DELIVERY_TIMEOUT_MS, MissingSetting};
use seccom_domain::destinations::Destinations;
use seccom_domain::response::outbound::Outcome;
use seccom_domain::response::signing::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// How many times, how patiently and how long each: one policy for every channel.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub timeout: Duration,
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

    /// Tries `attempt` until it succeeds or the attempts are spent, each bounded
    /// by the timeout. Each failure's details are logged; the outcome carries
    /// only `public`, which users see (it must not tell an endpoint that
    /// refused from one that does not exist).
    pub async fn run<F, Fut>(&self, what: &str, public: &str, mut attempt: F) -> Outcome
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
                    error = Some(public.to_owned());
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

/// Refuses names that resolve only to addresses SecCom may not call, and drops
/// the refused ones from the rest: checked when the call is made, so a name
/// that changes its address after it was saved cannot turn a call inward.
struct GuardedResolver(Destinations);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let destinations = self.0;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| destinations.refuses(address.ip()).is_none())
                .collect();
            if allowed.is_empty() {
                return Err(format!("{} resolves to no address SecCom may call ({found:?})", name.as_str()).into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The one HTTP client for webhooks and device pushes: public addresses only
/// (checked at connect time), no redirects, bounded in time; answers' bodies are never read.
#[derive(Clone)]
pub struct Outbound {
    http: reqwest::Client,
    destinations: Destinations,
}

impl Outbound {
    /// A client allowed to reach `destinations`, each call at most `timeout`.
    pub fn new(destinations: Destinations, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .dns_resolver(Arc::new(GuardedResolver(destinations)))
            .build()
            .expect("the outbound HTTP client builds");
        Self { http, destinations }
    }

    /// The client `config` describes ([`Config::destinations`], the delivery timeout).
    pub fn from_config(config: &Config, policy: &RetryPolicy) -> Self {
        Self::new(config.destinations(), policy.timeout)
    }

    /// Refuses a URL whose host is an address literal SecCom may not call
    /// (names are checked when they are resolved).
    fn check(&self, url: &str) -> Result<(), String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        match literal.and_then(|ip| self.destinations.refuses(ip)) {
            Some(why) => Err(format!("{url} is {why}: not called")),
            None => Ok(()),
        }
    }

    /// POSTs a JSON body signed with each of `keys`; any answer but 2xx (a redirect included) is a failure.
    pub async fn post_signed(&self, url: &str, keys: &[&[u8]], body: &[u8]) -> Result<(), String> {
        self.check(url)?;
        post_signed(&self.http, url, keys, body).await
    }

    /// Sends a request built elsewhere (a Web Push) and answers its status.
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> Result<u16, String> {
        let url = request.uri().to_string();
        self.check(&url)?;
        let request = reqwest::Request::try_from(request).map_err(|e| format!("cannot send to {url}: {e}"))?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        Ok(response.status().as_u16())
    }
}

/// POSTs a JSON body signed with each of `keys`; any answer but 2xx is a failure.
async fn post_signed(http: &reqwest::Client, url: &str, keys: &[&[u8]], body: &[u8]) -> Result<(), String> {
    let now = Utc::now();
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, now.timestamp().to_string())
        .header(SIGNATURE_HEADER, signing::sign_with_each(keys, now, body))
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
            .run("test", "failed", || {
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
            .run("test", "the test endpoint did not answer", || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert_eq!(slow.attempts, 4);
        assert_eq!(
            slow.error.as_deref(),
            Some("the test endpoint did not answer"),
            "details stay in the logs"
        );
    }
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    /// A listener on loopback that counts the connections it gets.
    async fn listener() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((_stream, _)) = socket.accept().await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        (format!("{port}"), count)
    }

    #[tokio::test]
    async fn inward_calls_are_refused_before_any_connection() {
        let (port, connections) = listener().await;
        let outbound = Outbound::new(Destinations::default(), Duration::from_secs(2));
        for url in [
            format!("http://127.0.0.1:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            format!("http://localhost:{port}/"),
            format!("http://2130706433:{port}/"),
        ] {
            let refused = outbound.post_signed(&url, &[b"key".as_slice()], b"{}").await;
            assert!(refused.is_err(), "{url} was called");
        }
        assert_eq!(
            connections.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "nothing reached the listener"
        );
        let local = Outbound::new(Destinations { allow_private: true }, Duration::from_millis(500));
        let _ = local
            .post_signed(&format!("http://127.0.0.1:{port}/"), &[b"key".as_slice()], b"{}")
            .await;
        assert_eq!(
            connections.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the local stack may call loopback"
        );
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = socket.accept().await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let answer = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{port}/again\r\nContent-Length: 0\r\n\r\n"
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        let outbound = Outbound::new(Destinations { allow_private: true }, Duration::from_secs(2));
        let failed = outbound
            .post_signed(&format!("http://127.0.0.1:{port}/"), &[b"key".as_slice()], b"{}")
            .await;
        assert!(failed.unwrap_err().contains("307"));
        assert_eq!(
            hits.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the redirect was not followed"
        );
    }
}
