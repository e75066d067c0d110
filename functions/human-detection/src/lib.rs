//! Human detection: the S3-triggered Lambda that runs the person detector on
//! each uploaded camera frame, stores the result, and applies the intrusion
//! rule (three consecutive person frames of one camera) with DynamoDB
//! conditional writes, so late, duplicated, reordered and concurrent S3
//! notifications still give exactly one intrusion per burst.

pub mod detector;
pub mod frame;
mod snapshot;

use std::sync::Arc;

use anyhow::Context;
use aws_config::SdkConfig;
use aws_lambda_events::s3::{S3Event, S3EventRecord};
use chrono::{DateTime, TimeDelta, Utc};
use seccom_domain::config::{
    Config, DIRECTORY_TABLE, FRAME_RETENTION_HOURS, FRAMES_TABLE, INTRUSIONS_TABLE, QUIET_GAP_SECONDS,
};
use seccom_domain::detection::{Decision, DetectionTables, FrameKey, FrameOutcome, FrameRecord};
use seccom_domain::directory::{DeviceKind, Directory, DirectoryTable};
use seccom_domain::error::DomainError;
use seccom_domain::metrics::Metrics;
use serde::Serialize;

use detector::{Detection, PersonDetector};

/// The object metadata a camera sends with each frame (`x-amz-meta-captured-at`).
pub const CAPTURED_AT_METADATA: &str = "captured-at";

/// What happened to one notified object, as logged and returned.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum FrameReport {
    /// The key is outside the frames layout; recorded as unroutable.
    Unroutable { key: String, reason: String },
    /// The frame was refused.
    Rejected { key: String, code: String, reason: String },
    /// The detector ran (now or on an earlier delivery of the same frame).
    Analysed {
        key: String,
        person: bool,
        score: f32,
        intrusion: Option<String>,
        decision: &'static str,
    },
}

/// The function, built once per Lambda container.
pub struct HumanDetection {
    s3: aws_sdk_s3::Client,
    tables: DetectionTables,
    directory: Directory,
    detector: Arc<PersonDetector>,
    quiet_gap: TimeDelta,
    retention: TimeDelta,
    metrics: Metrics,
}

impl HumanDetection {
    /// Loads the model and connects to the tables named in `config`.
    pub fn new(sdk: &SdkConfig, config: &Config) -> anyhow::Result<Self> {
        let db = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            s3: config.s3_client(sdk),
            tables: DetectionTables::new(
                db.clone(),
                config.required(FRAMES_TABLE)?,
                config.required(INTRUSIONS_TABLE)?,
            ),
            directory: Directory::new(DirectoryTable::new(db, config.required(DIRECTORY_TABLE)?)),
            detector: Arc::new(PersonDetector::load().context("cannot load the person detector")?),
            quiet_gap: TimeDelta::seconds(config.number(QUIET_GAP_SECONDS, 30)?),
            retention: TimeDelta::hours(config.number(FRAME_RETENTION_HOURS, 24)?),
            metrics: Metrics::from_config(config, "human-detection"),
        })
    }

    /// Processes every record of an S3 notification. Bad frames are recorded and
    /// reported, never retried; only a failing dependency fails the invocation,
    /// so Lambda retries it.
    pub async fn handle(&self, event: S3Event) -> Result<Vec<FrameReport>, DomainError> {
        let mut reports = Vec::with_capacity(event.records.len());
        for record in &event.records {
            let report = self.process(record).await?;
            tracing::info!(report = ?report, "frame processed");
            reports.push(report);
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

    fn expires_at(&self) -> i64 {
        (Utc::now() + self.retention).timestamp()
    }

    async fn process(&self, record: &S3EventRecord) -> Result<FrameReport, DomainError> {
        let bucket = record.s3.bucket.name.clone().unwrap_or_default();
        let key = seccom_domain::s3_key::from_notification(record.s3.object.key.as_deref().unwrap_or_default());
        let frame_key = match FrameKey::parse(&key) {
            Ok(frame_key) => frame_key,
            Err(reason) => {
                tracing::warn!(key, reason, "unroutable frame");
                self.tables.record_unroutable(&key, &reason, self.expires_at()).await?;
                return Ok(FrameReport::Unroutable { key, reason });
            }
        };
        let stored = match self.tables.frame(&frame_key).await? {
            Some(stored) => stored,
            None => self.analyse(&bucket, &key, frame_key, record.event_time).await?,
        };
        match &stored.outcome {
            FrameOutcome::Rejected { code, reason } => Ok(FrameReport::Rejected {
                key,
                code: code.clone(),
                reason: reason.clone(),
            }),
            FrameOutcome::Analysed { person, score, .. } => {
                let decision = if *person {
                    self.decide(&bucket, &stored).await?
                } else {
                    Decision::NoRun
                };
                let (name, intrusion) = match &decision {
                    Decision::NoRun => ("none", None),
                    Decision::Opened(i) => ("opened", Some(i.id.to_string())),
                    Decision::Extended(i) => ("extended", Some(i.id.to_string())),
                    Decision::Unchanged(i) => ("unchanged", Some(i.id.to_string())),
                };
                Ok(FrameReport::Analysed {
                    key,
                    person: *person,
                    score: *score,
                    intrusion,
                    decision: name,
                })
            }
        }
    }

    /// Fetches, checks and analyses a frame not seen before, and stores the result.
    async fn analyse(
        &self,
        bucket: &str,
        key: &str,
        frame_key: FrameKey,
        notified_at: DateTime<Utc>,
    ) -> Result<FrameRecord, DomainError> {
        let mut record = FrameRecord {
            camera_id: frame_key.camera,
            seq: frame_key.seq,
            captured_at: notified_at,
            object_key: key.to_owned(),
            outcome: FrameOutcome::Rejected {
                code: String::new(),
                reason: String::new(),
            },
            analysed_at: Utc::now(),
            expires_at: self.expires_at(),
        };
        let camera = self.directory.find_device(frame_key.camera).await?;
        record.outcome = match camera {
            Some(device) if device.kind == DeviceKind::Camera => match self.fetch(bucket, key, &mut record).await? {
                Ok(bytes) => self.detect(bytes).await?,
                Err(rejection) => rejected(&rejection),
            },
            _ => FrameOutcome::Rejected {
                code: "unknown-camera".into(),
                reason: "no camera has this id".into(),
            },
        };
        self.tables.put_frame(&record).await?;
        Ok(record)
    }

    /// The frame's bytes and capture time, or why they are unusable.
    async fn fetch(
        &self,
        bucket: &str,
        key: &str,
        record: &mut FrameRecord,
    ) -> Result<Result<Vec<u8>, frame::Rejection>, DomainError> {
        let object = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(Err(frame::Rejection::Corrupt("the object no longer exists".into())));
            }
            Err(e) => return Err(DomainError::unavailable("cannot fetch a frame", e)),
        };
        let captured_at = object.metadata().and_then(|m| m.get(CAPTURED_AT_METADATA));
        if let Some(Ok(at)) = captured_at.map(|at| DateTime::parse_from_rfc3339(at)) {
            record.captured_at = at.with_timezone(&Utc);
        }
        let length = u64::try_from(object.content_length().unwrap_or_default()).unwrap_or_default();
        if length > frame::MAX_FRAME_BYTES {
            return Ok(Err(frame::Rejection::TooManyBytes(length)));
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| DomainError::unavailable("cannot read a frame", e))?;
        Ok(Ok(bytes.to_vec()))
    }

    /// Decodes and runs the detector off the async threads (it is CPU-bound).
    async fn detect(&self, bytes: Vec<u8>) -> Result<FrameOutcome, DomainError> {
        let detector = self.detector.clone();
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || -> Result<Detection, frame::Rejection> {
            let image = frame::decode(&bytes)?;
            detector
                .detect(&image)
                .map_err(|e| frame::Rejection::Corrupt(e.to_string()))
        })
        .await
        .map_err(|e| DomainError::unavailable("the detector stopped", e))?;
        self.metrics.emit(&[(
            "InferenceMilliseconds",
            started.elapsed().as_secs_f64() * 1000.0,
            "Milliseconds",
        )]);
        Ok(match result {
            Ok(detection) => FrameOutcome::Analysed {
                person: detection.has_person(),
                score: detection.score,
                boxes: detection
                    .boxes
                    .iter()
                    .map(|b| [b.x1, b.y1, b.x2, b.y2, b.score])
                    .collect(),
            },
            Err(rejection) => rejected(&rejection),
        })
    }

    async fn decide(&self, bucket: &str, frame: &FrameRecord) -> Result<Decision, DomainError> {
        let Some(camera) = self.directory.find_device(frame.camera_id).await? else {
            return Ok(Decision::NoRun);
        };
        let decision = self.tables.decide(frame, &camera, self.quiet_gap).await?;
        if let Decision::Opened(intrusion) = &decision {
            self.keep_evidence(bucket, intrusion).await?;
            self.store_snapshot(bucket, frame, intrusion).await?;
        }
        Ok(decision)
    }

    /// Saves the frame with its people boxed next to the frames, where the portals find it.
    /// Copies the frames that opened an intrusion out of `frames/` (which expires
    /// after a week) to `evidence/<intrusion id>/`, which is kept.
    async fn keep_evidence(
        &self,
        bucket: &str,
        intrusion: &seccom_domain::detection::Intrusion,
    ) -> Result<(), DomainError> {
        for key in intrusion.frame_keys.iter().filter(|k| !k.is_empty()) {
            let name = key.rsplit('/').next().unwrap_or(key);
            self.s3
                .copy_object()
                .bucket(bucket)
                .copy_source(format!("{bucket}/{key}"))
                .key(format!("evidence/{}/{name}", intrusion.id))
                .send()
                .await
                .map_err(|e| DomainError::unavailable("cannot keep an intrusion's frame", e))?;
        }
        Ok(())
    }

    async fn store_snapshot(
        &self,
        bucket: &str,
        frame: &FrameRecord,
        intrusion: &seccom_domain::detection::Intrusion,
    ) -> Result<(), DomainError> {
        let FrameOutcome::Analysed { boxes, .. } = &frame.outcome else {
            return Ok(());
        };
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(&frame.object_key)
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot fetch the frame to annotate", e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| DomainError::unavailable("cannot read a frame", e))?;
        let people: Vec<detector::PersonBox> = boxes
            .iter()
            .map(|b| detector::PersonBox {
                x1: b[0],
                y1: b[1],
                x2: b[2],
                y2: b[3],
                score: b[4],
            })
            .collect();
        let jpeg = tokio::task::spawn_blocking(move || {
            let image = frame::decode(&bytes.to_vec()).map_err(|r| anyhow::anyhow!(r.to_string()))?;
            snapshot::annotate(&image, &people)
        })
        .await
        .map_err(|e| DomainError::unavailable("the annotator stopped", e))?
        .map_err(|e| DomainError::unavailable("cannot annotate the snapshot", e.into_boxed_dyn_error()))?;
        let snapshot_key = format!("snapshots/{}.jpg", intrusion.id);
        self.s3
            .put_object()
            .bucket(bucket)
            .key(&snapshot_key)
            .content_type("image/jpeg")
            .body(jpeg.into())
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot store the snapshot", e))?;
        self.tables.set_snapshot(intrusion, &snapshot_key).await
    }
}

fn rejected(rejection: &frame::Rejection) -> FrameOutcome {
    tracing::warn!(code = rejection.code(), reason = %rejection, "frame rejected");
    FrameOutcome::Rejected {
        code: rejection.code().to_owned(),
        reason: rejection.to_string(),
    }
}
