//! What the use-case tests (and, with the `testing` feature, the function
//! crates' unit tests) share: who acts (staff, a client's user), a first
//! page, a directory with one client and one site over the in-memory store,
//! and an open intrusion.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::auth::Principal;
use crate::clock::FixedClock;
use crate::detection::{Intrusion, IntrusionStatus};
use crate::directory::{Client, ClientBody, DeviceBody, DeviceKind, Directory, RegisteredDevice, Site, SiteBody};
use crate::ids::{ClientId, DeviceId, IntrusionId, SiteId};
use crate::memory::MemoryDirectory;
use crate::page::PageRequest;

/// When every fixed clock of the tests starts: a Sunday evening in March.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 22, 0, 0).unwrap()
}

/// A SecCom staff member.
pub fn staff() -> Principal {
    Principal::from_claims("staff-1".into(), &["admin".into()], None).unwrap()
}

/// A user of `client`.
pub fn user_of(client: ClientId) -> Principal {
    Principal::from_claims("user-1".into(), &["client".into()], Some(&client.to_string())).unwrap()
}

/// The first page of 50.
pub fn page() -> PageRequest {
    PageRequest { limit: 50, token: None }
}

/// A directory over a fresh in-memory store, on `clock`.
pub fn directory(clock: Arc<FixedClock>) -> (Directory, Arc<MemoryDirectory>) {
    let store = Arc::new(MemoryDirectory::default());
    (Directory::with_clock(store.clone(), clock), store)
}

/// A client named `name` (with an e-mail and a phone) and its site "Depot".
pub async fn client_with_site(directory: &Directory, name: &str) -> (Client, Site) {
    let body = ClientBody {
        name: name.into(),
        email: "owner@example.com".into(),
        phone: Some("+351912345678".into()),
    };
    let client = directory.create_client(&staff(), body).await.unwrap();
    let body = SiteBody {
        client_id: client.id.to_string(),
        name: "Depot".into(),
        address: "1 High Street".into(),
    };
    let site = directory.create_site(&staff(), body).await.unwrap();
    (client, site)
}

/// A camera or alarm named `name` registered by staff at `site`, with its credential.
pub async fn register(directory: &Directory, site: SiteId, kind: DeviceKind, name: &str) -> RegisteredDevice {
    let body = DeviceBody { name: name.into() };
    directory.register_device(&staff(), site, kind, body).await.unwrap()
}

/// An open intrusion of `camera` at a client's site, seen for frames 1 to 3 from `at`.
pub fn intrusion(client: ClientId, site: SiteId, camera: DeviceId, at: DateTime<Utc>) -> Intrusion {
    Intrusion {
        id: IntrusionId::generate(),
        client_id: client,
        site_id: site,
        camera_id: camera,
        started_at: at,
        last_seen_at: at + chrono::TimeDelta::seconds(1),
        first_seq: 1,
        last_seq: 3,
        frame_keys: vec![],
        zones: vec![],
        peak_score: 0.9,
        status: IntrusionStatus::Open,
        snapshot_key: None,
        acknowledged: None,
        resolved: None,
        reopened: None,
        follows: None,
        followed_by: None,
    }
}
