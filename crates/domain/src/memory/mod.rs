//! In-memory adapters of the core's ports, with the semantics of the real ones
//! (conditional writes, all-or-nothing commits, consistent reads), so every use
//! case can be unit-tested without an emulator. Each store call yields to the
//! scheduler first, as a network call would, so concurrent use cases interleave.

mod audit;
mod channels;
mod clips;
mod controls;
mod detection;
mod directory;
mod exports;
mod links;
mod push;
mod queue;
mod responses;
mod retention;

pub use audit::MemoryAudit;
pub use channels::{FAILING_ATTEMPTS, MemoryChannels, Sent};
pub use clips::{MemoryClips, UNREADABLE_CLIP};
pub use controls::MemoryControls;
pub use detection::{LABELLED_SIZE, LabelledFrames, MemoryCameras, MemoryDetectionStore, MemoryEvidence, MemoryFrames};
pub use directory::MemoryDirectory;
pub use exports::MemoryExports;
pub use links::MemoryLinks;
pub use push::{MemoryPush, MemoryPushService};
pub use queue::MemoryNotificationQueue;
pub use responses::MemoryResponses;
pub use retention::{MemoryErasureQueue, MemoryFootage, MemoryRetention};

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, carrying on past a panic in another test thread.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One page of `items` (already in list order); tokens are `memory:<offset>`.
fn page_of<T: Clone>(
    items: &[T],
    page: &crate::page::PageRequest,
) -> Result<crate::page::Page<T>, crate::error::DomainError> {
    let skip = match page.token.as_deref() {
        None => 0,
        Some(token) => token
            .strip_prefix("memory:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or(crate::error::DomainError::BadPageToken)?,
    };
    let limit = usize::from(page.limit);
    Ok(crate::page::Page {
        items: items.iter().skip(skip).take(limit).cloned().collect(),
        next_token: (skip + limit < items.len()).then(|| format!("memory:{}", skip + limit)),
    })
}

/// Lets other tasks run, as a real adapter's network round trip would.
async fn round_trip() {
    tokio::task::yield_now().await;
}
