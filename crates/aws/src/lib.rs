//! The AWS adapters of the core's ports. Each DynamoDB table has one adapter
//! here, holding its key layout (see docs/data-model.md) and its conditions;
//! the use cases that drive them are in `seccom-domain`, which knows nothing
//! of DynamoDB or S3. [`Stores`] builds every adapter a function needs from its
//! settings, the one place table names are read.

mod audit;
mod controls;
mod detection;
mod directory;
mod dynamo;
mod push;
mod queue;
mod responses;
mod retention;
mod s3;

use std::sync::Arc;

use seccom_domain::config::{
    AUDIT_RETENTION_DAYS, AUDIT_TABLE, Config, DIRECTORY_TABLE, FRAMES_TABLE, INTRUSIONS_TABLE, MissingSetting,
    RESPONSES_TABLE,
};
use seccom_domain::controls::ControlStore;
use seccom_domain::detection::DetectionStore;
use seccom_domain::directory::{Directory, DirectoryStore};
use seccom_domain::response::ResponseStore;

pub use audit::AuditTable;
pub use detection::{DetectionTables, StoredIntrusion};
pub use directory::DirectoryTable;
pub use queue::{ErasureMessage, SqsErasureQueue, SqsNotificationQueue, confirmation_sender};
pub use responses::ResponseTable;
pub use s3::{S3Media, s3_client};

/// The DynamoDB adapters of a function, each on the table its settings name.
#[derive(Clone)]
pub struct Stores {
    db: aws_sdk_dynamodb::Client,
    config: Config,
}

impl Stores {
    /// Adapters on `sdk`'s DynamoDB, with table names from `config`.
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        Self {
            db: aws_sdk_dynamodb::Client::new(sdk),
            config: config.clone(),
        }
    }

    fn directory_table(&self) -> Result<DirectoryTable, MissingSetting> {
        Ok(DirectoryTable::new(
            self.db.clone(),
            self.config.required(DIRECTORY_TABLE)?,
        ))
    }

    /// The directory store (`DIRECTORY_TABLE`).
    pub fn directory_store(&self) -> Result<Arc<dyn DirectoryStore>, MissingSetting> {
        Ok(Arc::new(self.directory_table()?))
    }

    /// The directory's use cases on the directory store, recording audited
    /// actions in `AUDIT_TABLE` when the function has one.
    pub fn directory(&self) -> Result<Directory, MissingSetting> {
        let directory = Directory::new(self.directory_store()?);
        Ok(match self.config.optional(AUDIT_TABLE) {
            Some(table) => {
                let days = self.config.number(AUDIT_RETENTION_DAYS, 400)?;
                directory.with_audit(Arc::new(AuditTable::new(self.db.clone(), table, days)))
            }
            None => directory,
        })
    }

    /// Site arming and camera detection settings (kept in `DIRECTORY_TABLE`).
    pub fn controls(&self) -> Result<Arc<dyn ControlStore>, MissingSetting> {
        Ok(Arc::new(self.directory_table()?))
    }

    /// Retention periods and legal holds (kept in `DIRECTORY_TABLE`).
    pub fn retention(&self) -> Result<Arc<dyn seccom_domain::retention::ports::RetentionStore>, MissingSetting> {
        Ok(Arc::new(self.directory_table()?))
    }

    /// Web Push subscriptions and the VAPID key (kept in `DIRECTORY_TABLE`).
    pub fn push(&self) -> Result<Arc<dyn seccom_domain::response::push::PushStore>, MissingSetting> {
        Ok(Arc::new(self.directory_table()?))
    }

    /// The Web Push use cases on that store, on the system clock, calling
    /// only the endpoints `config` allows.
    pub fn web_push(&self) -> Result<seccom_domain::response::push::WebPush, MissingSetting> {
        Ok(seccom_domain::response::push::WebPush::new(
            self.push()?,
            self.config.destinations(),
            Arc::new(seccom_domain::clock::SystemClock),
        ))
    }

    /// The user-facing use cases' ports on these tables, footage in the
    /// buckets `config` names; new recipients asked to confirm through the
    /// notification queue when `confirmations`.
    pub fn ports(
        &self,
        sdk: &aws_config::SdkConfig,
        confirmations: bool,
    ) -> Result<seccom_domain::wiring::Ports, MissingSetting> {
        let media = Arc::new(crate::S3Media::from_config(
            sdk,
            &self.config,
            &[seccom_domain::media::Store::Frames, seccom_domain::media::Store::Clips],
        )?);
        Ok(seccom_domain::wiring::Ports {
            directory: self.directory()?,
            detection: self.detection()?,
            responses: self.responses()?,
            controls: self.controls()?,
            retention: self.retention()?,
            links: media.clone(),
            writer: media,
            push: self.web_push()?,
            confirmations: if confirmations {
                Some(crate::confirmation_sender(sdk, &self.config)?)
            } else {
                None
            },
            destinations: self.config.destinations(),
            bounds: self.config.retention_bounds()?,
        })
    }

    /// Frames and intrusions (`FRAMES_TABLE`, `INTRUSIONS_TABLE`).
    pub fn detection(&self) -> Result<Arc<dyn DetectionStore>, MissingSetting> {
        Ok(Arc::new(DetectionTables::new(
            self.db.clone(),
            self.config.required(FRAMES_TABLE)?,
            self.config.required(INTRUSIONS_TABLE)?,
        )))
    }

    /// Responses, command queues, preferences and health events (`RESPONSES_TABLE`).
    pub fn responses(&self) -> Result<Arc<dyn ResponseStore>, MissingSetting> {
        Ok(Arc::new(ResponseTable::new(
            self.db.clone(),
            self.config.required(RESPONSES_TABLE)?,
        )))
    }
}
