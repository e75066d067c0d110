//! S3: clients that honour the local emulator's addressing, and media links as
//! presigned downloads from the frames and clips buckets.

use std::time::Duration;

use async_trait::async_trait;
use seccom_domain::config::{CLIPS_BUCKET, Config, FRAMES_BUCKET, MissingSetting, S3_FORCE_PATH_STYLE};
use seccom_domain::error::DomainError;
use seccom_domain::media::{LinkSigner, Store};

/// An S3 client honouring [`S3_FORCE_PATH_STYLE`] (set for the local emulator).
pub fn s3_client(sdk: &aws_config::SdkConfig, config: &Config) -> aws_sdk_s3::Client {
    let path_style = config.optional(S3_FORCE_PATH_STYLE) == Some("true");
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .build(),
    )
}

/// Presigns downloads from the frames bucket (snapshots) and the clips bucket.
#[derive(Clone)]
pub struct S3Links {
    s3: aws_sdk_s3::Client,
    frames_bucket: String,
    clips_bucket: String,
}

impl S3Links {
    /// Uses the buckets named in `config`.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &Config) -> Result<Self, MissingSetting> {
        Ok(Self {
            s3: s3_client(sdk, config),
            frames_bucket: config.required(FRAMES_BUCKET)?.to_owned(),
            clips_bucket: config.required(CLIPS_BUCKET)?.to_owned(),
        })
    }
}

#[async_trait]
impl LinkSigner for S3Links {
    async fn link(&self, store: Store, key: &str, lifetime: Duration) -> Result<String, DomainError> {
        let bucket = match store {
            Store::Frames => &self.frames_bucket,
            Store::Clips => &self.clips_bucket,
        };
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(lifetime)
            .map_err(|e| DomainError::unavailable("cannot presign a link", e))?;
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
