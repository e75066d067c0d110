//! Media links and upload URLs, in memory: readable stand-ins for presigned
//! URLs that name the store, the key and how long they last, so tests can see
//! what was linked.

use std::time::Duration;

use async_trait::async_trait;

use crate::detection::CAPTURED_AT_METADATA;
use crate::error::DomainError;
use crate::media::{LinkSigner, Store};
use crate::response::outbound::{SignedUpload, Upload, UploadSigner};

/// Signs links as `memory://<store>/<key>?lifetime=<seconds>`, uploads as
/// `memory://upload/<key>?lifetime=<seconds>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryLinks;

#[async_trait]
impl LinkSigner for MemoryLinks {
    async fn link(&self, store: Store, key: &str, lifetime: Duration) -> Result<String, DomainError> {
        let store = match store {
            Store::Frames => "frames",
            Store::Clips => "clips",
        };
        Ok(format!("memory://{store}/{key}?lifetime={}", lifetime.as_secs()))
    }
}

#[async_trait]
impl UploadSigner for MemoryLinks {
    async fn upload(&self, upload: Upload<'_>, lifetime: Duration) -> Result<SignedUpload, DomainError> {
        let (key, headers) = match upload {
            Upload::Clip { key } => (key, vec![("content-type".to_owned(), "video/mp4".to_owned())]),
            Upload::Frame {
                key,
                captured_at,
                bytes,
            } => (
                key,
                vec![
                    ("content-length".to_owned(), bytes.to_string()),
                    (format!("x-amz-meta-{CAPTURED_AT_METADATA}"), captured_at.to_rfc3339()),
                ],
            ),
        };
        Ok(SignedUpload {
            url: format!("memory://upload/{key}?lifetime={}", lifetime.as_secs()),
            headers: headers.into_iter().collect(),
        })
    }
}
