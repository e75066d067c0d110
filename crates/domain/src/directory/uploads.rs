//! A camera's budget of upload URLs: no more than a camera can film, so a
//! leaked or misused credential cannot run up detector and storage bills.
//!
//! The budget is a generic cell rate (GCRA): one number per camera, the
//! *theoretical arrival time* (TAT, milliseconds since the epoch) of its next
//! upload at the steady rate. A request is allowed while the TAT is at most a
//! burst ahead of now; each allowed request moves it on by one interval. The
//! store keeps it on the device's record, moved by one conditional write.

use chrono::{DateTime, Utc};

use super::{Device, Directory};
use crate::error::DomainError;

/// A steady rate with a burst on top, in the store's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadRate {
    /// Milliseconds between uploads at the steady rate.
    pub interval_ms: i64,
    /// How many uploads may come at once after a quiet spell.
    pub burst: i64,
}

/// What a camera may ask for: 4 upload URLs a second (a camera films 2 frames
/// a second; a bundle of up to 16 is one URL), with bursts of 20.
pub const UPLOAD_RATE: UploadRate = UploadRate {
    interval_ms: 250,
    burst: 20,
};

impl UploadRate {
    /// The TAT a camera quiet until `now` gets with this upload.
    pub fn first(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp_millis() + self.interval_ms
    }

    /// The latest TAT that still allows another upload at `now`.
    pub fn latest_allowed(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp_millis() + (self.burst - 1) * self.interval_ms
    }

    /// The TAT after one more upload: `None` when the budget is spent.
    /// `tat` is what the store holds (`None` for a camera never heard from).
    pub fn next(&self, tat: Option<i64>, now: DateTime<Utc>) -> Option<i64> {
        match tat {
            Some(tat) if tat >= now.timestamp_millis() => {
                (tat <= self.latest_allowed(now)).then_some(tat + self.interval_ms)
            }
            _ => Some(self.first(now)),
        }
    }
}

impl Directory {
    /// Takes one upload URL from `camera`'s budget, or refuses with 429 (retry
    /// after a second, when four more are allowed).
    pub async fn take_upload(&self, camera: &Device) -> Result<(), DomainError> {
        if self.store.take_upload(camera.id, UPLOAD_RATE, self.clock.now()).await? {
            return Ok(());
        }
        tracing::warn!(camera = %camera.id, "upload budget spent");
        Err(DomainError::TooMany {
            detail: format!(
                "a camera may ask for {} upload URLs a second ({} at once); bundle frames (up to 16 an upload) \
                 to send more",
                1000 / UPLOAD_RATE.interval_ms,
                UPLOAD_RATE.burst
            ),
            retry_after: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use std::sync::Arc;

    use super::*;
    use crate::clock::{Clock, FixedClock};
    use crate::directory::DeviceKind;
    use crate::fixtures;

    #[test]
    fn a_quiet_camera_gets_a_burst_then_the_steady_rate() {
        let now = fixtures::start();
        let mut tat = None;
        for _ in 0..UPLOAD_RATE.burst {
            tat = Some(UPLOAD_RATE.next(tat, now).expect("within the burst"));
        }
        assert_eq!(UPLOAD_RATE.next(tat, now), None, "the burst is spent");
        let later = now + TimeDelta::milliseconds(UPLOAD_RATE.interval_ms);
        assert!(UPLOAD_RATE.next(tat, later).is_some(), "one more an interval later");
        let idle = now + TimeDelta::minutes(10);
        assert_eq!(
            UPLOAD_RATE.next(tat, idle),
            Some(UPLOAD_RATE.first(idle)),
            "no credit for idling"
        );
    }

    #[tokio::test]
    async fn a_camera_asking_faster_than_it_films_is_refused_with_retry_after() {
        let clock = Arc::new(FixedClock::at(fixtures::start()));
        let (directory, _) = fixtures::directory(clock.clone());
        let (_, site) = fixtures::client_with_site(&directory, "Acme").await;
        let camera = fixtures::register(&directory, site.id, DeviceKind::Camera, "Gate")
            .await
            .device;
        for _ in 0..UPLOAD_RATE.burst {
            directory.take_upload(&camera).await.unwrap();
        }
        let refused = directory.take_upload(&camera).await;
        assert!(
            matches!(refused, Err(DomainError::TooMany { retry_after: 1, .. })),
            "{refused:?}"
        );
        clock.advance(TimeDelta::seconds(1));
        for _ in 0..4 {
            directory.take_upload(&camera).await.unwrap();
        }
        assert!(directory.take_upload(&camera).await.is_err(), "four a second");
        assert_eq!(clock.now(), fixtures::start() + TimeDelta::seconds(1));
    }
}
