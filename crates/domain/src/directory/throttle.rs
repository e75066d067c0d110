//! Device credentials under attack: failed attempts are counted per device and
//! per source address, and once either passes its limit further attempts are
//! refused (429) without being evaluated.
//!
//! - **A throttled address** is refused everything, the right credential too,
//!   until its window ends. A container that counted the failure that crossed
//!   the limit remembers it and refuses without reading anything; a container
//!   that did not learns it from its first failed attempt.
//! - **A throttled device** refuses wrong credentials after one read (the
//!   device's record carries its count) and writes nothing. Its right
//!   credential still works: refusing it would let anyone who knows a camera's
//!   id, which its frame keys carry, silence it with ten wrong guesses a
//!   quarter of an hour. A guess has 256 bits to find, so the device limit is
//!   about cost, not about the odds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Device, Directory, FailureSubject};
use crate::credential;
use crate::error::DomainError;

/// How long failed device authentications are remembered.
const AUTH_FAILURE_WINDOW_SECONDS: i64 = 900;
/// Failed authentications of one device within the window before further failures get 429.
const DEVICE_FAILURE_LIMIT: u32 = 10;
/// Failed authentications from one address within the window before every attempt from it gets 429.
const SOURCE_FAILURE_LIMIT: u32 = 30;
/// The most throttled addresses a container remembers; past it, those whose window ended are forgotten.
const REMEMBERED_SOURCES: usize = 10_000;

/// What a device credential came to.
#[derive(Clone, Debug)]
pub enum DeviceAuth {
    /// The credential is this device's.
    Accepted(Device),
    /// Not a valid credential.
    Refused,
    /// Too many failures for this device or from this address: try again
    /// after `retry_after` seconds.
    Throttled { retry_after: u64 },
}

/// The addresses this container knows to be throttled, with the end of each one's window.
#[derive(Debug, Default)]
pub struct ThrottledSources(Mutex<HashMap<IpAddr, DateTime<Utc>>>);

impl ThrottledSources {
    fn until(&self, source: IpAddr, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        known.get(&source).copied().filter(|until| *until > now)
    }

    fn remember(&self, source: IpAddr, until: DateTime<Utc>, now: DateTime<Utc>) {
        let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= REMEMBERED_SOURCES {
            known.retain(|_, until| *until > now);
        }
        if known.len() < REMEMBERED_SOURCES {
            known.insert(source, until);
        }
    }
}

fn throttled(now: DateTime<Utc>, until: DateTime<Utc>) -> DeviceAuth {
    DeviceAuth::Throttled {
        retry_after: u64::try_from((until - now).num_seconds()).unwrap_or(0).max(1),
    }
}

impl Directory {
    /// The device a credential belongs to; refused for any credential that is
    /// not exactly a live device's (malformed, unknown device, wrong secret),
    /// throttled as the module says.
    pub async fn authenticate_device(
        &self,
        presented: &str,
        source: Option<IpAddr>,
    ) -> Result<DeviceAuth, DomainError> {
        let now = self.clock.now();
        if let Some(until) = source.and_then(|s| self.throttled.until(s, now)) {
            return Ok(throttled(now, until));
        }
        let until = now + TimeDelta::seconds(AUTH_FAILURE_WINDOW_SECONDS);
        let Some(id) = credential::claimed_device(presented) else {
            return self.refused(source, now, until).await;
        };
        let Some(stored) = self.store.device_credential(id).await? else {
            return self.refused(source, now, until).await;
        };
        if credential::matches(presented, &stored.hash) {
            return Ok(DeviceAuth::Accepted(stored.device));
        }
        if let Some(window_end) = stored.failures_until.filter(|end| *end > now)
            && stored.failures >= DEVICE_FAILURE_LIMIT
        {
            return Ok(throttled(now, window_end));
        }
        let failures = self.store.count_failure(FailureSubject::Device(id), now, until).await?;
        if failures > DEVICE_FAILURE_LIMIT {
            return Ok(throttled(now, until));
        }
        self.refused(source, now, until).await
    }

    /// Counts a failure from `source` (an item of its own, expiring with its
    /// window): refused, or throttled past the limit, which this container
    /// then remembers.
    async fn refused(
        &self,
        source: Option<IpAddr>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<DeviceAuth, DomainError> {
        let Some(source) = source else {
            return Ok(DeviceAuth::Refused);
        };
        let count = self
            .store
            .count_failure(FailureSubject::Source(source), now, until)
            .await?;
        if count < SOURCE_FAILURE_LIMIT {
            return Ok(DeviceAuth::Refused);
        }
        self.throttled.remember(source, until, now);
        Ok(if count == SOURCE_FAILURE_LIMIT {
            DeviceAuth::Refused
        } else {
            throttled(now, until)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::FixedClock;
    use crate::directory::{DeviceKind, DirectoryStore, RegisteredDevice};
    use crate::fixtures;
    use crate::memory::MemoryDirectory;

    struct World {
        directory: Directory,
        store: Arc<MemoryDirectory>,
        clock: Arc<FixedClock>,
        camera: RegisteredDevice,
        wrong: String,
    }

    async fn world() -> World {
        let clock = Arc::new(FixedClock::at(fixtures::start()));
        let (directory, store) = fixtures::directory(clock.clone());
        let (_, site) = fixtures::client_with_site(&directory, "Acme").await;
        let camera = fixtures::register(&directory, site.id, DeviceKind::Camera, "Gate").await;
        let mut wrong = camera.credential.clone();
        wrong.pop();
        wrong.push(if camera.credential.ends_with('A') { 'B' } else { 'A' });
        World {
            directory,
            store,
            clock,
            camera,
            wrong,
        }
    }

    impl World {
        async fn auth(&self, presented: &str, source: Option<IpAddr>) -> DeviceAuth {
            self.directory.authenticate_device(presented, source).await.unwrap()
        }

        async fn failures(&self) -> u32 {
            let stored = self.store.device_credential(self.camera.device.id).await.unwrap();
            stored.unwrap().failures
        }
    }

    #[tokio::test]
    async fn wrong_credentials_are_throttled_per_device_without_more_writes_and_the_right_one_works() {
        let w = world().await;
        for _ in 0..DEVICE_FAILURE_LIMIT {
            assert!(matches!(w.auth(&w.wrong, None).await, DeviceAuth::Refused));
        }
        for _ in 0..5 {
            let auth = w.auth(&w.wrong, None).await;
            assert!(matches!(auth, DeviceAuth::Throttled { retry_after: 900 }), "{auth:?}");
        }
        assert_eq!(
            w.failures().await,
            DEVICE_FAILURE_LIMIT,
            "throttled attempts write nothing"
        );
        let auth = w.auth(&w.camera.credential, None).await;
        assert!(
            matches!(auth, DeviceAuth::Accepted(_)),
            "nobody locks a camera out: {auth:?}"
        );
        w.clock.advance(TimeDelta::seconds(AUTH_FAILURE_WINDOW_SECONDS + 1));
        assert!(
            matches!(w.auth(&w.wrong, None).await, DeviceAuth::Refused),
            "a new window"
        );
    }

    #[tokio::test]
    async fn a_throttled_address_is_refused_everything_in_every_container_that_meets_it() {
        let w = world().await;
        let source: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..SOURCE_FAILURE_LIMIT {
            assert!(matches!(w.auth("sck_garbage", Some(source)).await, DeviceAuth::Refused));
        }
        let auth = w.auth(&w.camera.credential, Some(source)).await;
        assert!(
            matches!(auth, DeviceAuth::Throttled { .. }),
            "the right credential too: {auth:?}"
        );
        let other: IpAddr = "203.0.113.8".parse().unwrap();
        let auth = w.auth(&w.camera.credential, Some(other)).await;
        assert!(
            matches!(auth, DeviceAuth::Accepted(_)),
            "another address is not held up"
        );

        // Another container over the same table learns it from its first failure.
        let fresh = Directory::with_clock(w.store.clone(), w.clock.clone());
        let auth = fresh.authenticate_device("sck_garbage", Some(source)).await.unwrap();
        assert!(matches!(auth, DeviceAuth::Throttled { .. }), "{auth:?}");
        let auth = fresh
            .authenticate_device(&w.camera.credential, Some(source))
            .await
            .unwrap();
        assert!(matches!(auth, DeviceAuth::Throttled { .. }), "{auth:?}");

        w.clock.advance(TimeDelta::seconds(AUTH_FAILURE_WINDOW_SECONDS + 1));
        let auth = w.auth(&w.camera.credential, Some(source)).await;
        assert!(matches!(auth, DeviceAuth::Accepted(_)), "the window ended: {auth:?}");
    }
}
