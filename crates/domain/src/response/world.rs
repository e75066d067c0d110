//! The world the device-facing response tests run in: a client with a site,
//! a camera and two alarms (one with an endpoint, one without), in-memory
//! stores, channels and queue, and a fixed clock.

use std::sync::Arc;

use chrono::TimeDelta;

use super::outbound::Channels;
use super::*;
use crate::clock::FixedClock;
use crate::controls::ControlStore;
use crate::detection::{Intrusion, Intrusions};
use crate::directory::{Device, DeviceBody, DeviceEndpoint, DeviceKind};
use crate::fixtures::{self, staff, start};
use crate::ids::SiteId;
use crate::memory::{
    MemoryChannels, MemoryControls, MemoryDetectionStore, MemoryLinks, MemoryNotificationQueue, MemoryPush,
    MemoryPushService, MemoryResponses,
};

pub(super) const ALARM_URL: &str = "https://siren.example.com/push";
pub(super) const CAMERA_URL: &str = "https://camera.example.com/push";
pub(super) const WEBHOOK_URL: &str = "https://hooks.example.com/seccom";

pub(super) struct World {
    pub(super) directory: Directory,
    pub(super) store: Arc<MemoryResponses>,
    pub(super) channels: Arc<MemoryChannels>,
    pub(super) queue: Arc<MemoryNotificationQueue>,
    pub(super) controls: Arc<MemoryControls>,
    pub(super) detection: Arc<MemoryDetectionStore>,
    pub(super) push: Arc<MemoryPush>,
    pub(super) push_service: Arc<MemoryPushService>,
    pub(super) clock: Arc<FixedClock>,
    pub(super) client: Client,
    pub(super) site: SiteId,
    pub(super) camera: Device,
    /// With an endpoint.
    pub(super) siren: Device,
    /// Without one: its commands wait for its heartbeat.
    pub(super) bell: Device,
}

pub(super) async fn world() -> World {
    let clock = Arc::new(FixedClock::at(start()));
    let (directory, _) = fixtures::directory(clock.clone());
    let staff = staff();
    let (client, site) = fixtures::client_with_site(&directory, "Acme").await;
    let site = site.id;
    let device = |kind, name: &str, url: Option<&'static str>| {
        let (directory, staff) = (directory.clone(), staff.clone());
        let name = name.to_owned();
        async move {
            let device = directory
                .register_device(&staff, site, kind, DeviceBody { name })
                .await
                .unwrap()
                .device;
            match url {
                Some(url) => {
                    let endpoint = DeviceEndpoint::parse(url, Default::default()).unwrap();
                    directory.set_endpoint(&device, &endpoint).await.unwrap()
                }
                None => device,
            }
        }
    };
    World {
        camera: device(DeviceKind::Camera, "Gate", Some(CAMERA_URL)).await,
        siren: device(DeviceKind::Alarm, "Siren", Some(ALARM_URL)).await,
        bell: device(DeviceKind::Alarm, "Bell", None).await,
        directory,
        store: Arc::new(MemoryResponses::default()),
        channels: Arc::new(MemoryChannels::default()),
        queue: Arc::new(MemoryNotificationQueue::default()),
        controls: Arc::new(MemoryControls::default()),
        detection: Arc::new(MemoryDetectionStore::default()),
        push: Arc::new(MemoryPush::default()),
        push_service: Arc::new(MemoryPushService::default()),
        clock,
        client,
        site,
    }
}

impl World {
    pub(super) fn responder(&self) -> Responder {
        Responder {
            directory: self.directory.clone(),
            store: self.store.clone(),
            channels: self.channels.clone() as Arc<dyn Channels>,
            queue: self.queue.clone(),
            uploads: Arc::new(MemoryLinks),
            controls: self.controls.clone(),
            clock: self.clock.clone(),
            window: ClipWindow {
                pre_roll: TimeDelta::minutes(3),
                post_roll: TimeDelta::minutes(3),
                grace: TimeDelta::minutes(10),
            },
        }
    }

    pub(super) fn notifier(&self) -> Notifier {
        Notifier {
            store: self.store.clone(),
            channels: self.channels.clone(),
            clock: self.clock.clone(),
            intrusions: self.detection.clone(),
            controls: self.controls.clone(),
            directory: self.directory.clone(),
            queue: self.queue.clone(),
            push: super::push::WebPush::new(self.push.clone(), Destinations::default(), self.clock.clone()),
            push_sender: self.push_service.clone(),
        }
    }

    /// Delivers every queued message, as the notifier function would; answers
    /// the outcome of each addressed one (pushes and escalation steps have no address).
    pub(super) async fn deliver_queued(&self) -> Vec<(String, Delivered)> {
        let mut delivered = Vec::new();
        for queued in self.queue.take() {
            let outcome = self.notifier().deliver(&queued).await.unwrap();
            if let Some(address) = queued.address() {
                delivered.push((address.to_owned(), outcome));
            }
        }
        delivered
    }

    /// The user-facing use cases, sending confirmation requests to the queue.
    pub(super) fn responses(&self) -> Responses {
        let intrusions = Intrusions::new(self.directory.clone(), self.detection.clone());
        Responses::new(self.directory.clone(), intrusions, self.store.clone()).with_confirmations(ConfirmationSender {
            queue: self.queue.clone(),
            base_url: "https://seccom.example.com".into(),
        })
    }

    pub(super) fn heartbeats(&self) -> Heartbeats {
        Heartbeats {
            directory: self.directory.clone(),
            store: self.store.clone(),
            controls: self.controls.clone() as Arc<dyn ControlStore>,
            clock: self.clock.clone(),
        }
    }

    pub(super) fn health_check(&self) -> HealthCheck {
        HealthCheck {
            directory: self.directory.clone(),
            store: self.store.clone(),
            channels: self.channels.clone(),
            clock: self.clock.clone(),
            offline_after: TimeDelta::seconds(180),
            staff_email: Some("ops@seccom.example".into()),
        }
    }

    pub(super) fn intrusion(&self) -> Intrusion {
        self.intrusion_at(start())
    }

    /// A new intrusion, stored as the detector would store it.
    pub(super) async fn opened(&self) -> Intrusion {
        use crate::clock::Clock;
        use crate::detection::ports::{DetectionStore, IntrusionChange};
        let intrusion = self.intrusion_at(self.clock.now());
        let version = self.detection.camera_state(self.camera.id).await.unwrap().version;
        let change = IntrusionChange::Open(intrusion.clone());
        self.detection.commit(self.camera.id, version, &change).await.unwrap();
        intrusion
    }

    pub(super) fn intrusion_at(&self, at: chrono::DateTime<chrono::Utc>) -> Intrusion {
        fixtures::intrusion(self.client.id, self.site, self.camera.id, at)
    }

    pub(super) fn sent_to(&self, to: &str) -> usize {
        self.channels.sent().iter().filter(|s| s.to == to).count()
    }
}
