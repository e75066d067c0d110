//! S3: clients that honour the local emulator's addressing; media links as
//! presigned downloads from the frames and clips buckets, frames read for the
//! portals (those that came in bundles), upload URLs as
//! presigned PUTs into them, and the deletion of footage past retention.

use std::time::Duration;

use async_trait::async_trait;
use seccom_domain::config::{CLIPS_BUCKET, Config, FRAMES_BUCKET, MissingSetting, S3_FORCE_PATH_STYLE};
use seccom_domain::detection::CAPTURED_AT_METADATA;
use seccom_domain::error::DomainError;
use seccom_domain::export::ExportWriter;
use seccom_domain::media::{FrameReader, LinkSigner, Store};
use seccom_domain::response::outbound::{SignedUpload, Upload, UploadSigner};
use seccom_domain::retention::ports::Footage;

/// An S3 client honouring [`S3_FORCE_PATH_STYLE`] (set for the local emulator).
pub fn s3_client(sdk: &aws_config::SdkConfig, config: &Config) -> aws_sdk_s3::Client {
    let path_style = config.optional(S3_FORCE_PATH_STYLE) == Some("true");
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .build(),
    )
}

/// Presigns downloads from and uploads to the frames bucket (frames,
/// snapshots) and the clips bucket.
#[derive(Clone)]
pub struct S3Media {
    s3: aws_sdk_s3::Client,
    frames_bucket: Option<String>,
    clips_bucket: Option<String>,
}

impl S3Media {
    /// Uses the buckets of `stores` named in `config` (`FRAMES_BUCKET`,
    /// `CLIPS_BUCKET`), each required; a function is given only the buckets it may use.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &Config, stores: &[Store]) -> Result<Self, MissingSetting> {
        let bucket = |store: Store, name: &str| -> Result<Option<String>, MissingSetting> {
            if stores.contains(&store) {
                Ok(Some(config.required(name)?.to_owned()))
            } else {
                Ok(None)
            }
        };
        Ok(Self {
            s3: s3_client(sdk, config),
            frames_bucket: bucket(Store::Frames, FRAMES_BUCKET)?,
            clips_bucket: bucket(Store::Clips, CLIPS_BUCKET)?,
        })
    }

    fn bucket(&self, store: Store) -> Result<&str, DomainError> {
        let bucket = match store {
            Store::Frames => &self.frames_bucket,
            Store::Clips => &self.clips_bucket,
        };
        bucket
            .as_deref()
            .ok_or_else(|| DomainError::unavailable("cannot sign a URL", format!("no bucket is set for {store:?}")))
    }
}

#[async_trait]
impl LinkSigner for S3Media {
    async fn link(&self, store: Store, key: &str, lifetime: Duration) -> Result<String, DomainError> {
        let bucket = self.bucket(store)?;
        let config = presigning(lifetime)?;
        let request = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| DomainError::unavailable("cannot presign a link", e))?;
        Ok(request.uri().to_owned())
    }
}

#[async_trait]
impl FrameReader for S3Media {
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, DomainError> {
        let object = match self
            .s3
            .get_object()
            .bucket(self.bucket(Store::Frames)?)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(DomainError::unavailable("cannot read a frame", e)),
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| DomainError::unavailable("cannot read a frame", e))?;
        Ok(Some(bytes.to_vec()))
    }
}

#[async_trait]
impl ExportWriter for S3Media {
    async fn write(&self, key: &str, body: Vec<u8>) -> Result<(), DomainError> {
        self.s3
            .put_object()
            .bucket(self.bucket(Store::Frames)?)
            .key(key)
            .content_type("application/json")
            .content_disposition("attachment; filename=\"seccom-records.json\"")
            .body(body.into())
            .send()
            .await
            .map_err(|e| DomainError::unavailable("cannot store an export", e))?;
        Ok(())
    }
}

#[async_trait]
impl Footage for S3Media {
    /// Deletes each key (the buckets are versioned: the data itself goes when
    /// the lifecycle expires the then noncurrent version, a day later).
    async fn delete(&self, store: Store, keys: &[String]) -> Result<(), DomainError> {
        let bucket = self.bucket(store)?;
        for key in keys {
            self.s3
                .delete_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| DomainError::unavailable("cannot delete footage", e))?;
        }
        Ok(())
    }

    /// Lists the keys under `prefix` page by page and deletes each.
    async fn delete_prefix(&self, store: Store, prefix: &str) -> Result<u32, DomainError> {
        let bucket = self.bucket(store)?;
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut deleted = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| DomainError::unavailable("cannot list footage", e))?;
            let keys: Vec<String> = page
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            self.delete(store, &keys).await?;
            deleted += u32::try_from(keys.len()).unwrap_or(u32::MAX);
        }
        Ok(deleted)
    }
}

fn presigning(lifetime: Duration) -> Result<aws_sdk_s3::presigning::PresigningConfig, DomainError> {
    aws_sdk_s3::presigning::PresigningConfig::expires_in(lifetime)
        .map_err(|e| DomainError::unavailable("cannot presign a URL", e))
}

#[async_trait]
impl UploadSigner for S3Media {
    async fn upload(&self, upload: Upload<'_>, lifetime: Duration) -> Result<SignedUpload, DomainError> {
        let request = match upload {
            // A clip is stored once: a second PUT to the same URL is refused.
            Upload::Clip { key } => self
                .s3
                .put_object()
                .bucket(self.bucket(Store::Clips)?)
                .key(key)
                .content_type("video/mp4")
                .if_none_match("*"),
            // So is a frame or bundle: once analysed, it cannot be swapped for
            // another. Its size is signed too: S3 takes that many bytes, no more.
            Upload::Frame {
                key,
                captured_at,
                bytes,
            } => self
                .s3
                .put_object()
                .bucket(self.bucket(Store::Frames)?)
                .key(key)
                .content_length(i64::try_from(bytes).unwrap_or(i64::MAX))
                .metadata(CAPTURED_AT_METADATA, captured_at.to_rfc3339())
                .if_none_match("*"),
        };
        let presigned = request
            .presigned(presigning(lifetime)?)
            .await
            .map_err(|e| DomainError::unavailable("cannot presign an upload", e))?;
        Ok(SignedUpload {
            url: presigned.uri().to_owned(),
            headers: presigned
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        })
    }
}
