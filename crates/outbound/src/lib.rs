//! How SecCom reaches people and devices outside AWS: commands pushed to
//! devices and webhooks (both signed), e-mail and SMS, each tried with the same
//! retry policy, so every sender fails, retries and reports the same way; and
//! Web Push to browsers, tried once.

mod delivery;
mod messaging;
mod push;

use async_trait::async_trait;
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::response::outbound::{Channels, ENDPOINT_REFUSED, MESSAGE_NOT_SENT, Outcome, Outgoing};

pub use delivery::{Outbound, RetryPolicy};
pub use messaging::Messenger;
pub use push::WebPushSender;

/// The core's [`Channels`] over real ones: signed calls by HTTP, e-mail and SMS
/// by SES and SNS (or the local outbox), each retried by the one policy.
#[derive(Clone)]
pub struct OutboundChannels {
    http: Outbound,
    messenger: Messenger,
    policy: RetryPolicy,
}

impl OutboundChannels {
    /// The channels and retry policy `config` describes.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        let policy = RetryPolicy::from_config(config)?;
        Ok(Self {
            http: Outbound::from_config(config, &policy),
            messenger: Messenger::from_config(sdk, config)?,
            policy,
        })
    }
}

impl OutboundChannels {
    async fn send_by(&self, policy: &RetryPolicy, what: &str, outgoing: Outgoing<'_>) -> Outcome {
        match outgoing {
            Outgoing::Signed { url, keys, body } => {
                policy
                    .run(what, ENDPOINT_REFUSED, || self.http.post_signed(url, keys, body))
                    .await
            }
            Outgoing::Message(message) => {
                policy
                    .run(what, MESSAGE_NOT_SENT, || self.messenger.send(&message))
                    .await
            }
        }
    }
}

#[async_trait]
impl Channels for OutboundChannels {
    async fn send(&self, what: &str, outgoing: Outgoing<'_>) -> Outcome {
        self.send_by(&self.policy, what, outgoing).await
    }

    async fn send_now(&self, what: &str, outgoing: Outgoing<'_>, deadline: std::time::Duration) -> Outcome {
        let once = RetryPolicy {
            attempts: 1,
            timeout: deadline.min(self.policy.timeout),
            ..self.policy
        };
        self.send_by(&once, what, outgoing).await
    }
}
