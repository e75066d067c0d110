//! Channels in memory: every signed call, e-mail and SMS is kept in a sent
//! list instead of leaving the process; addresses told to fail answer as an
//! unreachable endpoint would, after the same number of attempts each time.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, round_trip};
use crate::response::Channel;
use crate::response::outbound::{Channels, ENDPOINT_REFUSED, Outcome, Outgoing};

/// One thing sent (or tried).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// `push` for signed calls, else the message's channel.
    pub channel: Option<Channel>,
    pub to: String,
    /// The signed body, or the message's text.
    pub body: String,
    /// Whether it got through.
    pub delivered: bool,
}

/// Channels that record instead of sending.
#[derive(Default)]
pub struct MemoryChannels {
    sent: Mutex<Vec<Sent>>,
    failing: Mutex<HashSet<String>>,
}

/// Attempts a failing address takes before it is given up, as the default policy has.
pub const FAILING_ATTEMPTS: u32 = 4;

impl MemoryChannels {
    /// From now on, everything sent to `to` fails.
    pub fn fail(&self, to: &str) {
        lock(&self.failing).insert(to.to_owned());
    }

    /// From now on, what is sent to `to` gets through again.
    pub fn recover(&self, to: &str) {
        lock(&self.failing).remove(to);
    }

    /// Everything sent or tried so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        lock(&self.sent).clone()
    }
}

#[async_trait]
impl Channels for MemoryChannels {
    async fn send_now(&self, what: &str, outgoing: Outgoing<'_>, _deadline: std::time::Duration) -> Outcome {
        let outcome = self.send(what, outgoing).await;
        Outcome { attempts: 1, ..outcome }
    }

    async fn send(&self, _what: &str, outgoing: Outgoing<'_>) -> Outcome {
        round_trip().await;
        let (channel, to, body) = match outgoing {
            Outgoing::Signed { url, body, .. } => (None, url, String::from_utf8_lossy(body).into_owned()),
            Outgoing::Message(message) => (Some(message.channel), message.to, message.text.to_owned()),
        };
        let delivered = !lock(&self.failing).contains(to);
        lock(&self.sent).push(Sent {
            channel,
            to: to.to_owned(),
            body,
            delivered,
        });
        if delivered {
            Outcome {
                attempts: 1,
                error: None,
            }
        } else {
            Outcome {
                attempts: FAILING_ATTEMPTS,
                error: Some(ENDPOINT_REFUSED.into()),
            }
        }
    }
}
