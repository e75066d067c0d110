//! The directory table as the store of retention: one `RETENTION#<client>`
//! item per client that staff set a period for, and one `HOLD#<intrusion>`
//! item per legal hold, listed newest first through `byParent`
//! (`parentKey` = `HOLDS#<client>`) for one client and `byEntity` for all,
//! both on `sortKey` = `HOLD#<placed at>#<intrusion>`; and one
//! `ERASURE#<job>` item per erasure job, listed newest first through
//! `byParent` (`parentKey` = `ERASURES#<client>`) and `byEntity`, on
//! `sortKey` = `ERASURE#<requested at>#<job>`. None is a counted child.

use async_trait::async_trait;
use chrono::SecondsFormat;

use seccom_domain::error::DomainError;
use seccom_domain::ids::{ClientId, ErasureId, IntrusionId};
use seccom_domain::page::{Page, PageRequest};
use seccom_domain::retention::erasure::ErasureJob;
use seccom_domain::retention::ports::RetentionStore;
use seccom_domain::retention::{ClientRetention, LegalHold};

use crate::directory::{BY_ENTITY, BY_PARENT, DirectoryTable, Placement};

fn retention_key(client: ClientId) -> String {
    format!("RETENTION#{client}")
}

fn hold_key(intrusion: IntrusionId) -> String {
    format!("HOLD#{intrusion}")
}

fn holds_of(client: ClientId) -> String {
    format!("HOLDS#{client}")
}

fn erasure_key(job: ErasureId) -> String {
    format!("ERASURE#{job}")
}

fn erasures_of(client: ClientId) -> String {
    format!("ERASURES#{client}")
}

#[async_trait]
impl RetentionStore for DirectoryTable {
    async fn retention(&self, client: ClientId) -> Result<Option<ClientRetention>, DomainError> {
        self.get(&retention_key(client)).await
    }

    async fn save_retention(&self, retention: &ClientRetention) -> Result<(), DomainError> {
        let placement = Placement {
            pk: retention_key(retention.client_id),
            entity: "RETENTION",
            parent_key: None,
            sort_key: retention.client_id.to_string(),
        };
        self.put_items(vec![Self::encode(placement, retention)?]).await
    }

    async fn hold(&self, intrusion: IntrusionId) -> Result<Option<LegalHold>, DomainError> {
        self.get(&hold_key(intrusion)).await
    }

    async fn place_hold(&self, hold: &LegalHold) -> Result<(), DomainError> {
        let placement = Placement {
            pk: hold_key(hold.intrusion_id),
            entity: "HOLD",
            parent_key: Some(holds_of(hold.client_id)),
            sort_key: format!(
                "HOLD#{}#{}",
                hold.placed_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                hold.intrusion_id
            ),
        };
        self.put_items(vec![Self::encode(placement, hold)?]).await
    }

    async fn release_hold(&self, hold: &LegalHold) -> Result<bool, DomainError> {
        self.delete_uncounted(&hold_key(hold.intrusion_id)).await
    }

    async fn holds(&self, client: Option<ClientId>, page: &PageRequest) -> Result<Page<LegalHold>, DomainError> {
        match client {
            Some(client) => {
                self.query_in_order(BY_PARENT, ("parentKey", holds_of(client)), "HOLD#", page, false)
                    .await
            }
            None => {
                self.query_in_order(BY_ENTITY, ("entity", "HOLD".to_owned()), "HOLD#", page, false)
                    .await
            }
        }
    }

    async fn erase_client(&self, client: ClientId) -> Result<u32, DomainError> {
        Ok(u32::from(self.delete_uncounted(&retention_key(client)).await?))
    }

    async fn save_erasure(&self, job: &ErasureJob) -> Result<(), DomainError> {
        let placement = Placement {
            pk: erasure_key(job.id),
            entity: "ERASURE",
            parent_key: Some(erasures_of(job.client_id)),
            sort_key: format!(
                "ERASURE#{}#{}",
                job.requested_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                job.id
            ),
        };
        self.put_items(vec![Self::encode(placement, job)?]).await
    }

    async fn erasure(&self, id: ErasureId) -> Result<Option<ErasureJob>, DomainError> {
        self.get(&erasure_key(id)).await
    }

    async fn erasures(&self, client: Option<ClientId>, page: &PageRequest) -> Result<Page<ErasureJob>, DomainError> {
        match client {
            Some(client) => {
                self.query_in_order(BY_PARENT, ("parentKey", erasures_of(client)), "ERASURE#", page, false)
                    .await
            }
            None => {
                self.query_in_order(BY_ENTITY, ("entity", "ERASURE".to_owned()), "ERASURE#", page, false)
                    .await
            }
        }
    }
}
