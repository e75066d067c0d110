//! Human detection: the S3-triggered Lambda that runs the person detector on
//! each uploaded camera frame (alone, or in a bundle of frames). It adapts S3
//! notifications to the core's frame-observed use case ([`FrameObserver`]),
//! which stores the result and applies the intrusion rule; the S3, DynamoDB and
//! tract adapters it plugs in are in [`adapters`].

pub mod adapters;
mod snapshot;

use std::sync::Arc;

use anyhow::Context;
use aws_config::SdkConfig;
use aws_lambda_events::s3::S3Event;
use chrono::TimeDelta;
use seccom_domain::clock::SystemClock;
use seccom_domain::config::{Config, FRAME_RETENTION_HOURS, QUIET_GAP_SECONDS};
use seccom_domain::controls::CachedControls;
use seccom_domain::detection::bundle::FrameObject;
use seccom_domain::detection::ports::{Cameras, PersonFinder};
use seccom_domain::detection::{
    DetectionPorts, DetectionSettings, DetectionStore, FrameObserver, FrameReport, LatestFrames,
};
use seccom_domain::error::DomainError;
use seccom_runtime::metrics::Metrics;
use seccom_runtime::runner::EventFunction;
use seccom_runtime::s3::NotifiedObject;

use adapters::{S3Evidence, S3Frames, TractFinder};
use seccom_detector::PersonDetector;

/// How long the detector keeps a site's arming and a camera's settings for frames
/// in which nobody was found (default 30); frames with someone in them are
/// judged on the settings as stored.
pub const SETTINGS_CACHE_SECONDS: &str = "SETTINGS_CACHE_SECONDS";

/// The function, built once per Lambda container.
pub struct HumanDetection {
    s3: aws_sdk_s3::Client,
    store: Arc<dyn DetectionStore>,
    cameras: Arc<dyn Cameras>,
    finder: Arc<dyn PersonFinder>,
    controls: Arc<CachedControls>,
    latest: Arc<LatestFrames>,
    settings: DetectionSettings,
    metrics: Metrics,
}

impl HumanDetection {
    /// Loads the model and connects to the tables named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> anyhow::Result<Self> {
        let stores = seccom_aws::Stores::new(sdk, config);
        let metrics = Metrics::from_config(config, "human-detection");
        Ok(Self {
            s3: seccom_aws::s3_client(sdk, config),
            store: stores.detection()?,
            cameras: Arc::new(stores.directory()?),
            controls: Arc::new(CachedControls::new(
                stores.controls()?,
                Arc::new(SystemClock),
                TimeDelta::seconds(config.number(SETTINGS_CACHE_SECONDS, 30)?),
            )),
            latest: Arc::default(),
            finder: Arc::new(TractFinder {
                detector: Arc::new(PersonDetector::load().context("cannot load the person detector")?),
                metrics: metrics.clone(),
            }),
            settings: DetectionSettings {
                quiet_gap: TimeDelta::seconds(config.number(QUIET_GAP_SECONDS, 30)?),
                retention: TimeDelta::hours(config.number(FRAME_RETENTION_HOURS, 24)?),
            },
            metrics,
        })
    }

    /// The use case over the bucket a notification names (the frames bucket,
    /// whose name the function cannot be given: the bucket's notification refers to it).
    fn observer(&self, bucket: &str) -> FrameObserver {
        let frames = Arc::new(S3Frames {
            s3: self.s3.clone(),
            bucket: bucket.to_owned(),
        });
        let ports = DetectionPorts {
            store: self.store.clone(),
            cameras: self.cameras.clone(),
            objects: frames.clone(),
            finder: self.finder.clone(),
            evidence: Arc::new(S3Evidence(frames)),
            controls: self.controls.clone(),
            latest: self.latest.clone(),
            clock: Arc::new(SystemClock),
        };
        FrameObserver::new(ports, self.settings)
    }
}

/// The camera an object of the frames layout came from (a frame or a bundle).
fn camera_of(key: &str) -> Option<seccom_domain::ids::DeviceId> {
    match FrameObject::parse(key).ok()? {
        FrameObject::Frame(frame) => Some(frame.camera),
        FrameObject::Bundle(bundle) => Some(bundle.camera),
    }
}

impl EventFunction for HumanDetection {
    type Event = S3Event;
    type Output = Vec<FrameReport>;
    type Error = DomainError;

    /// Processes every record of an S3 notification, each a frame or a bundle of
    /// them (one report per frame). Bad frames are recorded and reported, never
    /// retried; only a failing dependency fails the invocation, so Lambda
    /// retries it.
    async fn handle(&self, event: S3Event) -> Result<Vec<FrameReport>, DomainError> {
        let mut reports = Vec::with_capacity(event.records.len());
        for object in NotifiedObject::all(&event) {
            let started = std::time::Instant::now();
            let observed = self
                .observer(&object.bucket)
                .observe(&object.key, object.event_time)
                .await?;
            if let Some(camera) = camera_of(&object.key) {
                // Detector time per camera: what one camera's uploads cost, in Logs Insights
                // (`stats sum(DetectorMilliseconds) by CameraId`).
                let milliseconds = started.elapsed().as_secs_f64() * 1000.0;
                self.metrics.emit_about(
                    &[("DetectorMilliseconds", milliseconds, "Milliseconds")],
                    &[("CameraId", &camera.to_string())],
                );
            }
            for report in observed {
                tracing::info!(report = ?report, "frame processed");
                reports.push(report);
            }
        }
        let count = |wanted: fn(&FrameReport) -> bool| reports.iter().filter(|r| wanted(r)).count() as f64;
        self.metrics.emit(&[
            ("FramesProcessed", reports.len() as f64, "Count"),
            (
                "FramesRejected",
                count(|r| matches!(r, FrameReport::Rejected { .. } | FrameReport::Unroutable { .. })),
                "Count",
            ),
            (
                "IntrusionsOpened",
                count(|r| matches!(r, FrameReport::Analysed { decision: "opened", .. })),
                "Count",
            ),
        ]);
        Ok(reports)
    }
}
