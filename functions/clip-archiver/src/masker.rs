//! The clip masker over the clips bucket: the upload read, every picture
//! decoded, its privacy regions blurred and encoded again
//! ([`seccom_footage::rework::rework`] with [`seccom_pictures::privacy::PrivacyBlur`]),
//! the rendition stored and the upload deleted (its version too, in the
//! versioned bucket), so the unmasked recording is not kept.

use std::time::Instant;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use seccom_domain::detection::zones::Polygon;
use seccom_domain::error::DomainError;
use seccom_domain::response::{ArrivedClip, ClipBucket, MAX_CLIP_BYTES};
use seccom_footage::rework::rework;
use seccom_pictures::privacy::PrivacyBlur;
use seccom_runtime::metrics::Metrics;

/// The clips bucket a notification named.
pub struct S3ClipMasker {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub metrics: Metrics,
}

impl S3ClipMasker {
    /// The upload's bytes, or why there are none to mask.
    async fn read(&self, key: &str) -> Result<Result<Vec<u8>, String>, DomainError> {
        let object = match self.s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(Err("the upload no longer exists".into()));
            }
            Err(e) => return Err(DomainError::unavailable("cannot read a clip", e)),
        };
        let length = u64::try_from(object.content_length().unwrap_or_default()).unwrap_or_default();
        if length > MAX_CLIP_BYTES {
            return Ok(Err(format!("the clip has {length} bytes, more than {MAX_CLIP_BYTES}")));
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| DomainError::unavailable("cannot read a clip", e))?;
        Ok(Ok(bytes.to_vec()))
    }

    /// Deletes an object, that version of it where the bucket keeps versions.
    async fn delete(&self, uploaded: &ArrivedClip) -> Result<(), DomainError> {
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(&uploaded.key)
            .set_version_id(uploaded.version.clone())
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot delete a clip nobody keeps", e))?;
        Ok(())
    }
}

#[async_trait]
impl ClipBucket for S3ClipMasker {
    async fn discard(&self, arrived: &ArrivedClip) -> Result<(), DomainError> {
        self.delete(arrived).await
    }

    #[tracing::instrument(skip(self, privacy), fields(key = uploaded.key))]
    async fn mask(
        &self,
        uploaded: &ArrivedClip,
        masked_key: &str,
        privacy: &[Polygon],
    ) -> Result<Result<u64, String>, DomainError> {
        let bytes = match self.read(&uploaded.key).await? {
            Ok(bytes) => bytes,
            Err(reason) => return Ok(Err(reason)),
        };
        let regions = privacy.to_vec();
        let started = Instant::now();
        let reworked = tokio::task::spawn_blocking(move || {
            let mut blur: Option<PrivacyBlur> = None;
            rework(&bytes, |mut picture| {
                let prepared =
                    blur.get_or_insert_with(|| PrivacyBlur::new(&regions, picture.width(), picture.height()));
                prepared.apply(&mut picture);
                picture
            })
        })
        .await
        .map_err(|e| DomainError::unavailable("the clip masking stopped", e))?;
        let reworked = match reworked {
            Ok(reworked) => reworked,
            Err(e) => {
                self.delete(uploaded).await?;
                return Ok(Err(format!("{e:#}")));
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            pictures = reworked.pictures,
            width = reworked.width,
            height = reworked.height,
            seconds,
            "clip masked"
        );
        self.metrics.emit(&[
            ("ClipMaskSeconds", seconds, "Seconds"),
            ("ClipMaskPictures", f64::from(reworked.pictures), "Count"),
        ]);
        let size = reworked.bytes.len() as u64;
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(masked_key)
            .content_type("video/mp4")
            .body(ByteStream::from(reworked.bytes))
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot store a masked clip", e))?;
        self.delete(uploaded).await?;
        Ok(Ok(size))
    }
}
