//! The use cases the APIs and the portals serve, built in one place from the
//! ports they run over: the DynamoDB and S3 adapters in Lambda
//! (`seccom_aws::Stores::ports`), the in-memory twins in tests.

use std::sync::Arc;

use crate::clock::SystemClock;
use crate::controls::{ControlStore, SiteControls};
use crate::destinations::Destinations;
use crate::detection::{DetectionStore, Intrusions};
use crate::directory::Directory;
use crate::export::{ExportWriter, Exports};
use crate::media::{LinkSigner, MediaLinks};
use crate::response::push::WebPush;
use crate::response::{ConfirmationSender, ResponseStore, Responses};
use crate::retention::ports::RetentionStore;
use crate::retention::{LegalHolds, RetentionBounds, RetentionPeriods};

/// What the user-facing use cases run over.
pub struct Ports {
    pub directory: Directory,
    pub detection: Arc<dyn DetectionStore>,
    pub responses: Arc<dyn ResponseStore>,
    pub controls: Arc<dyn ControlStore>,
    pub retention: Arc<dyn RetentionStore>,
    /// Signs links to footage.
    pub links: Arc<dyn LinkSigner>,
    /// Where exports are written.
    pub writer: Arc<dyn ExportWriter>,
    pub push: WebPush,
    /// Where new recipients' confirmation requests go; `None` where preferences are not saved.
    pub confirmations: Option<ConfirmationSender>,
    /// Where webhook URLs may point.
    pub destinations: Destinations,
    pub bounds: RetentionBounds,
}

/// Every user-facing use case, over one set of ports.
#[derive(Clone)]
pub struct UseCases {
    pub directory: Directory,
    pub intrusions: Intrusions,
    pub responses: Responses,
    pub controls: SiteControls,
    pub periods: RetentionPeriods,
    pub holds: LegalHolds,
    pub links: MediaLinks,
    pub exports: Exports,
    pub push: WebPush,
}

impl UseCases {
    /// The use cases over `ports`, on the system clock.
    pub fn new(ports: Ports) -> Self {
        let Ports {
            directory,
            detection,
            responses,
            controls,
            retention,
            links,
            writer,
            push,
            confirmations,
            destinations,
            bounds,
        } = ports;
        let clock = Arc::new(SystemClock);
        let intrusions = Intrusions::new(directory.clone(), detection);
        let mut responses =
            Responses::new(directory.clone(), intrusions.clone(), responses).with_destinations(destinations);
        if let Some(sender) = confirmations {
            responses = responses.with_confirmations(sender);
        }
        let links = MediaLinks::new(links);
        let periods = RetentionPeriods::new(directory.clone(), retention.clone(), bounds);
        let holds = LegalHolds::new(intrusions.clone(), retention, clock.clone());
        Self {
            exports: Exports {
                directory: directory.clone(),
                intrusions: intrusions.clone(),
                responses: responses.clone(),
                periods: periods.clone(),
                holds: holds.clone(),
                links: links.clone(),
                writer,
            },
            controls: SiteControls::new(directory.clone(), controls, clock),
            directory,
            intrusions,
            responses,
            periods,
            holds,
            links,
            push,
        }
    }
}
