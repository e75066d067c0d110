//! The notification queue in memory: messages wait in order until a test takes
//! them, as the notifier's event source would.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{lock, round_trip};
use crate::error::DomainError;
use crate::response::outbound::{NotificationQueue, Queued};

/// A queue that keeps what is sent to it, with how long each is held back.
#[derive(Default)]
pub struct MemoryNotificationQueue {
    waiting: Mutex<Vec<(Queued, Duration)>>,
}

impl MemoryNotificationQueue {
    /// Takes every waiting message, oldest first, as if every delay had passed.
    pub fn take(&self) -> Vec<Queued> {
        self.take_delayed().into_iter().map(|(queued, _)| queued).collect()
    }

    /// Takes every waiting message with the delay it was sent with, oldest first.
    pub fn take_delayed(&self) -> Vec<(Queued, Duration)> {
        std::mem::take(&mut *lock(&self.waiting))
    }
}

#[async_trait]
impl NotificationQueue for MemoryNotificationQueue {
    async fn enqueue(&self, queued: &Queued) -> Result<(), DomainError> {
        self.enqueue_after(queued, Duration::ZERO).await
    }

    async fn enqueue_after(&self, queued: &Queued, delay: Duration) -> Result<(), DomainError> {
        round_trip().await;
        lock(&self.waiting).push((queued.clone(), delay));
        Ok(())
    }
}
