//! In-memory adapters of the core's ports, with the semantics of the real ones
//! (conditional writes, all-or-nothing commits, consistent reads), so every use
//! case can be unit-tested without an emulator. Each store call yields to the
//! scheduler first, as a network call would, so concurrent use cases interleave.

mod detection;

pub use detection::{LabelledFrames, MemoryCameras, MemoryDetectionStore, MemoryEvidence, MemoryFrames};

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, carrying on past a panic in another test thread.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Lets other tasks run, as a real adapter's network round trip would.
async fn round_trip() {
    tokio::task::yield_now().await;
}
