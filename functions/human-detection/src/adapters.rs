//! The adapters human detection plugs into the core's detection ports: the
//! frames bucket in S3, the tract person detector, and the evidence kept in S3
//! (the opening frames copied out of the expiring `frames/`, or out of the
//! bundles they came in, and the annotated snapshot; all with the camera's
//! privacy masks blurred).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use seccom_domain::detection::bundle::{self, FrameObject, MAX_BUNDLE_BYTES};
use seccom_domain::detection::ports::{EvidenceKeeper, FrameBytes, FrameObjects, PersonFinder, Rejection};
use seccom_domain::detection::zones::{CameraDetection, Sighting};
use seccom_domain::detection::{CAPTURED_AT_METADATA, FrameOutcome, FrameRecord, Intrusion};
use seccom_domain::error::DomainError;
use seccom_runtime::metrics::Metrics;

use seccom_detector::{self as detector, Detection, PersonDetector, frame};
use seccom_pictures::privacy;

use crate::snapshot::{self, Marked};

/// A frame the detector's decoding refused, as the core records it.
fn refused(rejection: frame::Rejection) -> Rejection {
    Rejection {
        code: rejection.code().to_owned(),
        reason: rejection.to_string(),
    }
}

/// The frames bucket.
pub struct S3Frames {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

impl S3Frames {
    async fn read(&self, key: &str) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, DomainError> {
        self.s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot fetch a frame", e))
    }
}

#[async_trait]
impl FrameObjects for S3Frames {
    async fn fetch(&self, key: &str) -> Result<Result<FrameBytes, Rejection>, DomainError> {
        let object = match self.s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(Err(refused(frame::Rejection::Corrupt(
                    "the object no longer exists".into(),
                ))));
            }
            Err(e) => return Err(DomainError::unavailable("cannot fetch a frame", e)),
        };
        let captured_at = object
            .metadata()
            .and_then(|m| m.get(CAPTURED_AT_METADATA))
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&Utc));
        let length = u64::try_from(object.content_length().unwrap_or_default()).unwrap_or_default();
        if matches!(FrameObject::parse(key), Ok(FrameObject::Bundle(_))) {
            if length > MAX_BUNDLE_BYTES {
                return Ok(Err(Rejection {
                    code: "too-many-bytes".into(),
                    reason: format!("the bundle has {length} bytes, more than {MAX_BUNDLE_BYTES}"),
                }));
            }
        } else if length > frame::MAX_FRAME_BYTES {
            return Ok(Err(refused(frame::Rejection::TooManyBytes(length))));
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| DomainError::unavailable("cannot read a frame", e))?;
        Ok(Ok(FrameBytes {
            bytes: bytes.to_vec(),
            captured_at,
        }))
    }

    async fn discard(&self, key: &str) -> Result<(), DomainError> {
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot delete a frame no camera owns", e))?;
        Ok(())
    }
}

// A camera's lowest `minScore` is the lowest score the detector reports a box at.
const _: () = assert!(detector::SCORE_FLOOR == seccom_domain::detection::zones::SCORE_FLOOR);

/// The tract person detector, run off the async threads (it is CPU-bound).
pub struct TractFinder {
    pub detector: Arc<PersonDetector>,
    pub metrics: Metrics,
}

#[async_trait]
impl PersonFinder for TractFinder {
    async fn analyse(&self, frame: FrameBytes) -> Result<Result<Sighting, Rejection>, DomainError> {
        let detector = self.detector.clone();
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || -> Result<(Detection, u32, u32), frame::Rejection> {
            let image = frame::decode(&frame.bytes)?;
            let detection = detector
                .detect(&image)
                .map_err(|e| frame::Rejection::Corrupt(e.to_string()))?;
            Ok((detection, image.width(), image.height()))
        })
        .await
        .map_err(|e| DomainError::unavailable("the detector stopped", e))?;
        self.metrics.emit(&[(
            "InferenceMilliseconds",
            started.elapsed().as_secs_f64() * 1000.0,
            "Milliseconds",
        )]);
        Ok(result
            .map(|(detection, width, height)| Sighting {
                width,
                height,
                score: detection.score,
                boxes: detection
                    .boxes
                    .iter()
                    .map(|b| [b.x1, b.y1, b.x2, b.y2, b.score])
                    .collect(),
            })
            .map_err(refused))
    }
}

/// Evidence in the frames bucket: `evidence/<intrusion id>/` and `snapshots/<intrusion id>.jpg`.
pub struct S3Evidence(pub Arc<S3Frames>);

#[async_trait]
impl EvidenceKeeper for S3Evidence {
    async fn keep(
        &self,
        intrusion: &Intrusion,
        frame: &FrameRecord,
        settings: &CameraDetection,
    ) -> Result<String, DomainError> {
        let S3Frames { s3, bucket } = self.0.as_ref();
        let private = settings.private_regions();
        for (key, evidence) in intrusion.evidence_keys() {
            let (_, member) = bundle::frame_location(key);
            if private.is_empty() && member.is_none() {
                s3.copy_object()
                    .bucket(bucket)
                    .copy_source(format!("{bucket}/{key}"))
                    .key(evidence)
                    .send()
                    .await
                    .map_err(|e| DomainError::unavailable("cannot keep an intrusion's frame", e))?;
            } else if private.is_empty() {
                let bytes = self.bytes_of(key).await?;
                self.put_once(&evidence, bytes, "cannot keep an intrusion's frame")
                    .await?;
            } else {
                let bytes = self.bytes_of(key).await?;
                let regions = private.clone();
                let jpeg = tokio::task::spawn_blocking(move || privacy::shown(&bytes, &regions))
                    .await
                    .map_err(|e| DomainError::unavailable("the blurring stopped", e))?
                    .map_err(|e| DomainError::unavailable("cannot blur a frame", e.into_boxed_dyn_error()))?;
                self.put_once(&evidence, jpeg, "cannot keep an intrusion's frame")
                    .await?;
            }
        }
        let FrameOutcome::Analysed { boxes, counted, .. } = &frame.outcome else {
            return Err(DomainError::unavailable(
                "cannot annotate the snapshot",
                "the frame was not analysed",
            ));
        };
        let bytes = self.bytes_of(&frame.object_key).await?;
        let people: Vec<Marked> = boxes
            .iter()
            .enumerate()
            .map(|(index, b)| Marked {
                person: detector::PersonBox {
                    x1: b[0],
                    y1: b[1],
                    x2: b[2],
                    y2: b[3],
                    score: b[4],
                },
                counted: counted.contains(&index),
            })
            .collect();
        let outlines: Vec<Vec<[f32; 2]>> = settings.zones.iter().map(|z| z.polygon.corners().to_vec()).collect();
        let jpeg = tokio::task::spawn_blocking(move || {
            let image = frame::decode(&bytes).map_err(|r| anyhow::anyhow!(r.to_string()))?;
            let image = image::DynamicImage::ImageRgb8(privacy::blur(&image, &private));
            snapshot::annotate(&image, &people, &outlines)
        })
        .await
        .map_err(|e| DomainError::unavailable("the annotator stopped", e))?
        .map_err(|e| DomainError::unavailable("cannot annotate the snapshot", e.into_boxed_dyn_error()))?;
        let snapshot_key = format!("snapshots/{}.jpg", intrusion.id);
        self.put_once(&snapshot_key, jpeg, "cannot store the snapshot").await?;
        Ok(snapshot_key)
    }
}

impl S3Evidence {
    /// A frame's bytes: its object's, or its member's in a bundle.
    async fn bytes_of(&self, address: &str) -> Result<Vec<u8>, DomainError> {
        let (key, member) = bundle::frame_location(address);
        let object = self
            .0
            .read(key)
            .await?
            .body
            .collect()
            .await
            .map_err(|e| DomainError::unavailable("cannot read a frame", e))?
            .to_vec();
        bundle::frame_bytes(member, object)
            .ok_or_else(|| DomainError::unavailable("cannot read a frame", format!("{address} is not in its bundle")))
    }

    /// Stores a picture once: a retry finding it there is done, and nothing replaces it.
    async fn put_once(&self, key: &str, picture: Vec<u8>, what: &'static str) -> Result<(), DomainError> {
        let S3Frames { s3, bucket } = self.0.as_ref();
        let stored = s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(seccom_domain::media::picture_type(&picture))
            .if_none_match("*")
            .body(picture.into())
            .send()
            .await;
        match stored {
            Ok(_) => Ok(()),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => Ok(()),
            Err(e) => Err(DomainError::unavailable(what, e)),
        }
    }
}
