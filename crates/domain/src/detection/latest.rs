//! Each camera's latest analysed frame, the picture its zones and masks are
//! drawn on, kept as its own record: the latest *analysed* (by SecCom's clock),
//! so a frame sent with a far-ahead sequence number, or the old numbers of a
//! camera that restarted its count, never stays "latest" by number.
//!
//! Keeping it costs a write; a container keeps one per camera every
//! [`LATEST_FRAME_EVERY`] at most (about 2,880 a day for a streaming camera,
//! against 172,800 frames), so the picture is at most that much older than the
//! camera's newest frame.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use crate::ids::DeviceId;

/// How often one container keeps a camera's latest frame.
pub const LATEST_FRAME_EVERY: TimeDelta = TimeDelta::seconds(30);
/// The most cameras a container remembers; past it, it starts again.
const REMEMBERED_CAMERAS: usize = 10_000;

/// When this container last kept each camera's latest frame.
#[derive(Debug, Default)]
pub struct LatestFrames(Mutex<HashMap<DeviceId, DateTime<Utc>>>);

impl LatestFrames {
    /// Whether `camera`'s latest frame is due to be kept at `now`; if so, it
    /// counts as kept now.
    pub fn due(&self, camera: DeviceId, now: DateTime<Utc>) -> bool {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.get(&camera).is_some_and(|at| now - *at < LATEST_FRAME_EVERY) {
            return false;
        }
        if kept.len() >= REMEMBERED_CAMERAS {
            kept.clear();
        }
        kept.insert(camera, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::start;

    #[test]
    fn a_camera_is_due_once_in_each_interval() {
        let latest = LatestFrames::default();
        let (camera, other) = (DeviceId::generate(), DeviceId::generate());
        assert!(latest.due(camera, start()));
        assert!(!latest.due(camera, start() + TimeDelta::seconds(29)));
        assert!(latest.due(other, start() + TimeDelta::seconds(29)));
        assert!(latest.due(camera, start() + LATEST_FRAME_EVERY));
    }
}
