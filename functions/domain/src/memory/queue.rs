//! The notification queue in memory: messages wait in order until a test takes
//! them, as the notifier's event source would.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, round_trip};
use crate::error::DomainError;
use crate::response::outbound::{NotificationQueue, Queued};

/// A queue that keeps what is sent to it.
#[derive(Default)]
pub struct MemoryNotificationQueue {
    waiting: Mutex<Vec<Queued>>,
}

impl MemoryNotificationQueue {
    /// Takes every waiting message, oldest first.
    pub fn take(&self) -> Vec<Queued> {
        std::mem::take(&mut *lock(&self.waiting))
    }
}

#[async_trait]
impl NotificationQueue for MemoryNotificationQueue {
    async fn enqueue(&self, queued: &Queued) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.waiting).push(queued.clone());
        Ok(())
    }
}
