//! How SecCom reaches people and devices outside AWS: commands pushed to
//! devices and webhooks (both signed), e-mail and SMS, each tried with the same
//! retry policy, so every sender fails, retries and reports the same way.

mod delivery;
mod messaging;

pub use delivery::{ENDPOINT_REFUSED, MESSAGE_NOT_SENT, Outbound, Outcome, RetryPolicy};
pub use messaging::{Message, Messenger};
