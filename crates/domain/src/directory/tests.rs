//! The directory's use cases against the in-memory store and a fixed clock:
//! who may do what, the parent-child conditions, name order, device
//! credentials and their throttling, and the health sweep.

use std::sync::Arc;

use chrono::TimeDelta;

use super::*;
use crate::clock::FixedClock;
use crate::fixtures::{self, page, staff, start, user_of};
use crate::memory::MemoryDirectory;

struct World {
    directory: Directory,
    store: Arc<MemoryDirectory>,
    clock: Arc<FixedClock>,
    staff: Principal,
}

fn world() -> World {
    let clock = Arc::new(FixedClock::at(start()));
    let (directory, store) = fixtures::directory(clock.clone());
    World {
        directory,
        store,
        clock,
        staff: staff(),
    }
}

impl World {
    async fn client(&self, name: &str) -> Client {
        let body = ClientBody {
            name: name.into(),
            email: "owner@example.com".into(),
            phone: Some("+351912345678".into()),
        };
        self.directory.create_client(&self.staff, body).await.unwrap()
    }

    async fn site(&self, client: ClientId, name: &str) -> Site {
        let body = SiteBody {
            client_id: client.to_string(),
            name: name.into(),
            address: "1 High Street".into(),
        };
        self.directory.create_site(&self.staff, body).await.unwrap()
    }

    async fn device(&self, site: SiteId, kind: DeviceKind, name: &str) -> RegisteredDevice {
        let body = DeviceBody { name: name.into() };
        self.directory
            .register_device(&self.staff, site, kind, body)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn staff_list_every_client_by_name_and_a_client_user_only_its_own() {
    let w = world();
    let zeta = w.client("zeta Storage").await;
    let acme = w.client("Acme").await;
    let all = w.directory.list_clients(&w.staff, page()).await.unwrap();
    assert_eq!(all.items, vec![acme.clone(), zeta.clone()], "name order, case folded");
    let own = w.directory.list_clients(&user_of(zeta.id), page()).await.unwrap();
    assert_eq!(own.items, vec![zeta.clone()]);
    assert_eq!(zeta.created_at, start(), "stamped by the clock");
}

#[tokio::test]
async fn client_users_change_nothing_in_the_directory() {
    let w = world();
    let acme = w.client("Acme").await;
    let user = user_of(acme.id);
    let body = ClientBody {
        name: "Mine".into(),
        email: "a@example.com".into(),
        phone: None,
    };
    assert!(matches!(
        w.directory.create_client(&user, body).await,
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        w.directory.delete_client(&user, acme.id).await,
        Err(DomainError::Forbidden(_))
    ));
    let site = w.site(acme.id, "Depot").await;
    assert!(matches!(
        w.directory.delete_site(&user, site.id).await,
        Err(DomainError::Forbidden(_))
    ));
}

#[tokio::test]
async fn another_tenants_records_are_not_found() {
    let w = world();
    let (acme, other) = (w.client("Acme").await, w.client("Other").await);
    let site = w.site(other.id, "Their depot").await;
    let camera = w.device(site.id, DeviceKind::Camera, "Gate").await.device;
    let user = user_of(acme.id);
    assert!(matches!(
        w.directory.get_client(&user, other.id).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.directory.get_site(&user, site.id).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.directory.get_device(&user, camera.id, DeviceKind::Camera).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.directory.list_sites(&user, Some(other.id), page()).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(
        w.directory
            .list_sites(&user, None, page())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn a_parent_goes_only_once_its_children_have_gone() {
    let w = world();
    let acme = w.client("Acme").await;
    let site = w.site(acme.id, "Depot").await;
    let alarm = w.device(site.id, DeviceKind::Alarm, "Siren").await.device;
    assert!(matches!(
        w.directory.delete_client(&w.staff, acme.id).await,
        Err(DomainError::Conflict(_))
    ));
    assert!(matches!(
        w.directory.delete_site(&w.staff, site.id).await,
        Err(DomainError::Conflict(_))
    ));
    w.directory
        .remove_device(&w.staff, alarm.id, DeviceKind::Alarm)
        .await
        .unwrap();
    w.directory.delete_site(&w.staff, site.id).await.unwrap();
    w.directory.delete_client(&w.staff, acme.id).await.unwrap();
    assert!(matches!(
        w.directory.delete_client(&w.staff, acme.id).await,
        Err(DomainError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_site_needs_an_existing_client_and_a_device_an_existing_site() {
    let w = world();
    let body = SiteBody {
        client_id: ClientId::generate().to_string(),
        name: "Nowhere".into(),
        address: "1 High Street".into(),
    };
    match w.directory.create_site(&w.staff, body).await {
        Err(DomainError::Invalid(errors)) => assert_eq!(errors[0].name, "clientId"),
        other => panic!("expected a 422, got {other:?}"),
    }
    let registered = w
        .directory
        .register_device(
            &w.staff,
            SiteId::generate(),
            DeviceKind::Camera,
            DeviceBody { name: "Gate".into() },
        )
        .await;
    assert!(matches!(registered, Err(DomainError::NotFound("site"))));
}

#[tokio::test]
async fn a_site_created_while_its_client_is_deleted_never_outlives_it() {
    let w = world();
    let acme = w.client("Acme").await;
    let body = SiteBody {
        client_id: acme.id.to_string(),
        name: "Depot".into(),
        address: "1 High Street".into(),
    };
    let (created, deleted) = tokio::join!(
        w.directory.create_site(&w.staff, body),
        w.directory.delete_client(&w.staff, acme.id)
    );
    match (created, deleted) {
        (Ok(site), Err(DomainError::Conflict(_))) => {
            assert_eq!(
                w.store.client(acme.id).await.unwrap().map(|c| c.id),
                Some(site.client_id)
            );
        }
        (Err(DomainError::Invalid(_)), Ok(())) => assert!(w.store.client(acme.id).await.unwrap().is_none()),
        other => panic!("a site and its client's deletion both went through: {other:?}"),
    }
}

#[tokio::test]
async fn renaming_moves_a_record_in_name_order_and_a_cleared_phone_is_gone() {
    let w = world();
    let (b, c) = (w.client("Bravo").await, w.client("Charlie").await);
    w.clock.advance(TimeDelta::minutes(5));
    let patch = ClientPatchBody {
        name: Some("Alpha".into()),
        phone: Some(None),
        ..Default::default()
    };
    let renamed = w.directory.update_client(&w.staff, c.id, patch).await.unwrap();
    assert_eq!(renamed.phone, None);
    assert_eq!(renamed.updated_at, start() + TimeDelta::minutes(5));
    let names: Vec<String> = w
        .directory
        .list_clients(&w.staff, page())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    assert_eq!(names, ["Alpha", "Bravo"]);
    let missing = w
        .directory
        .update_client(&w.staff, ClientId::generate(), ClientPatchBody::default())
        .await;
    assert!(matches!(missing, Err(DomainError::NotFound(_))), "{b:?}");
}

#[tokio::test]
async fn a_device_signs_in_with_its_credential_and_client_users_never_see_its_endpoint() {
    let w = world();
    let acme = w.client("Acme").await;
    let site = w.site(acme.id, "Depot").await;
    let registered = w.device(site.id, DeviceKind::Camera, "Gate").await;
    let device = match w
        .directory
        .authenticate_device(&registered.credential, None)
        .await
        .unwrap()
    {
        DeviceAuth::Accepted(device) => device,
        other => panic!("refused its own credential: {other:?}"),
    };
    let endpoint = DeviceEndpoint::parse("https://camera.example.com/push", Default::default()).unwrap();
    w.directory.set_endpoint(&device, &endpoint).await.unwrap();
    let staff_view = w
        .directory
        .get_device(&w.staff, device.id, DeviceKind::Camera)
        .await
        .unwrap();
    assert_eq!(staff_view.endpoint.as_deref(), Some("https://camera.example.com/push"));
    let client_view = w
        .directory
        .get_device(&user_of(acme.id), device.id, DeviceKind::Camera)
        .await
        .unwrap();
    assert_eq!(client_view.endpoint, None);
    assert!(matches!(
        w.directory.get_device(&w.staff, device.id, DeviceKind::Alarm).await,
        Err(DomainError::NotFound("alarm"))
    ));
}

#[tokio::test]
async fn command_targets_are_every_alarm_of_the_site_across_pages() {
    let w = world();
    let acme = w.client("Acme").await;
    let (site, other) = (w.site(acme.id, "Depot").await, w.site(acme.id, "Shop").await);
    for n in 0..(crate::page::MAX_LIMIT + 5) {
        w.device(site.id, DeviceKind::Alarm, &format!("Siren {n:03}")).await;
    }
    w.device(site.id, DeviceKind::Camera, "Gate").await;
    w.device(other.id, DeviceKind::Alarm, "Elsewhere").await;
    let targets = w.directory.command_targets(site.id, DeviceKind::Alarm).await.unwrap();
    assert_eq!(targets.len(), usize::from(crate::page::MAX_LIMIT) + 5);
    assert!(
        targets
            .iter()
            .all(|t| t.device.site_id == site.id && t.device.kind == DeviceKind::Alarm && !t.signing_key.is_empty())
    );
}

#[tokio::test]
async fn a_silent_device_goes_offline_once_and_recovers_once() {
    let w = world();
    let acme = w.client("Acme").await;
    let site = w.site(acme.id, "Depot").await;
    let camera = w.device(site.id, DeviceKind::Camera, "Gate").await.device;
    w.directory.record_heartbeat(&camera, false).await.unwrap();
    let timeout = TimeDelta::seconds(180);
    w.clock.advance(TimeDelta::seconds(200));
    let now = w.clock.now();
    let first = w.directory.sweep_health(now, timeout).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].change, HealthChange::WentOffline);
    assert_eq!(first[0].device.state, DeviceState::Offline);
    assert!(
        w.directory.sweep_health(now, timeout).await.unwrap().is_empty(),
        "reported once"
    );
    w.directory.record_heartbeat(&camera, false).await.unwrap();
    let back = w.directory.sweep_health(w.clock.now(), timeout).await.unwrap();
    assert_eq!(
        back.iter().map(|t| t.change).collect::<Vec<_>>(),
        [HealthChange::Recovered]
    );
    assert_eq!(back[0].device.health_alarm, None);
}

#[tokio::test]
async fn staff_see_the_devices_offline_now_and_client_users_may_not() {
    let w = world();
    let acme = w.client("Acme").await;
    let site = w.site(acme.id, "Depot").await;
    let silent = w.device(site.id, DeviceKind::Camera, "Gate").await.device;
    let alive = w.device(site.id, DeviceKind::Alarm, "Siren").await.device;
    w.directory.record_heartbeat(&silent, false).await.unwrap();
    w.clock.advance(TimeDelta::seconds(200));
    w.directory.record_heartbeat(&alive, false).await.unwrap();
    w.directory
        .sweep_health(w.clock.now(), TimeDelta::seconds(180))
        .await
        .unwrap();
    let unhealthy = w.directory.unhealthy_devices(&staff()).await.unwrap();
    assert_eq!(unhealthy.iter().map(|d| d.id).collect::<Vec<_>>(), [silent.id]);
    assert!(matches!(
        w.directory.unhealthy_devices(&user_of(acme.id)).await,
        Err(DomainError::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_heartbeat_between_the_read_and_the_write_wins_over_the_sweep() {
    let w = world();
    let acme = w.client("Acme").await;
    let site = w.site(acme.id, "Depot").await;
    let camera = w.device(site.id, DeviceKind::Camera, "Gate").await.device;
    let heard = w.directory.record_heartbeat(&camera, false).await.unwrap();
    w.clock.advance(TimeDelta::seconds(200));
    let going_offline = HealthUpdate {
        alarm: Some(HealthProblem::Offline),
        state: Some(DeviceState::Offline),
    };
    w.directory.record_heartbeat(&camera, false).await.unwrap();
    assert!(w.store.update_health(&heard, &going_offline).await.unwrap().is_none());
    let now = w.store.device(camera.id).await.unwrap().unwrap();
    assert_eq!(now.state, DeviceState::Online);
}

#[tokio::test]
async fn a_sign_out_is_remembered_per_user() {
    let w = world();
    assert_eq!(w.directory.signed_out_at("user-1").await.unwrap(), None);
    w.directory.record_sign_out("user-1", start()).await.unwrap();
    assert_eq!(w.directory.signed_out_at("user-1").await.unwrap(), Some(start()));
    assert_eq!(w.directory.signed_out_at("user-2").await.unwrap(), None);
}
