//! The scheduled purge: for each client, every intrusion that started before
//! its retention period is deleted with its footage (snapshot, evidence
//! frames, clip) and its response records (commands, clip, notifications,
//! escalation steps), unless a legal hold keeps it. Objects go first and the
//! intrusion last, so a purge cut off half way finds the intrusion again and
//! finishes it next time. Routine frames and their results keep their own
//! short expiry (bucket lifecycle, table TTL).

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::RetentionBounds;
use super::ports::{Footage, RetentionStore};
use crate::clock::Clock;
use crate::detection::ports::DetectionStore;
use crate::detection::{Intrusion, IntrusionScope};
use crate::directory::{Client, Directory};
use crate::error::DomainError;
use crate::media::Store;
use crate::page::PageRequest;
use crate::response::ResponseStore;

/// What one purge did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeReport {
    pub clients: u32,
    /// Intrusions deleted with their footage and records.
    pub intrusions_deleted: u32,
    /// Objects deleted from the buckets.
    pub objects_deleted: u32,
    /// Intrusions past retention kept by a legal hold.
    pub held: u32,
    /// The run stopped at its limit; the next one carries on.
    pub unfinished: bool,
}

/// Deletes what is past each client's retention.
#[derive(Clone)]
pub struct Purge {
    pub directory: Directory,
    pub retention: Arc<dyn RetentionStore>,
    pub detection: Arc<dyn DetectionStore>,
    pub responses: Arc<dyn ResponseStore>,
    pub footage: Arc<dyn Footage>,
    pub clock: Arc<dyn Clock>,
    pub bounds: RetentionBounds,
    /// The most intrusions one run deletes, so it ends within its timeout.
    pub limit: u32,
}

impl Purge {
    /// One pass over every client.
    #[tracing::instrument(skip_all)]
    pub async fn run(&self) -> Result<PurgeReport, DomainError> {
        let now = self.clock.now();
        let mut report = PurgeReport::default();
        for client in self.directory.every_client().await? {
            report.clients += 1;
            self.purge_client(&client, now, &mut report).await?;
            if report.unfinished {
                break;
            }
        }
        tracing::info!(?report, "purge done");
        Ok(report)
    }

    async fn purge_client(
        &self,
        client: &Client,
        now: DateTime<Utc>,
        report: &mut PurgeReport,
    ) -> Result<(), DomainError> {
        let days = match self.retention.retention(client.id).await? {
            Some(saved) => saved.days,
            None => self.bounds.default_days,
        };
        let cutoff = now - TimeDelta::days(i64::from(days));
        let mut token = None;
        loop {
            let page = PageRequest { limit: 100, token };
            let found = self
                .detection
                .list_intrusions(IntrusionScope::Client(client.id), None, Some(cutoff), None, &page)
                .await?;
            for intrusion in found.items.iter().filter(|i| i.last_seen_at < cutoff) {
                if self.retention.hold(intrusion.id).await?.is_some() {
                    report.held += 1;
                    continue;
                }
                if report.intrusions_deleted >= self.limit {
                    report.unfinished = true;
                    return Ok(());
                }
                report.objects_deleted += forget(&self.detection, &self.responses, &self.footage, intrusion).await?;
                report.intrusions_deleted += 1;
            }
            match found.next_token {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// Deletes an intrusion's footage, records and the intrusion itself (objects
/// first, so a run cut off half way finds the intrusion again); answers how
/// many objects were deleted. The purge and erasure share it.
#[tracing::instrument(skip_all, fields(intrusion = %intrusion.id, client = %intrusion.client_id))]
pub(super) async fn forget(
    detection: &Arc<dyn DetectionStore>,
    responses: &Arc<dyn ResponseStore>,
    footage: &Arc<dyn Footage>,
    intrusion: &Intrusion,
) -> Result<u32, DomainError> {
    let mut frames: Vec<String> = intrusion.evidence_keys().into_iter().map(|(_, kept)| kept).collect();
    frames.extend(intrusion.snapshot_key.clone());
    let records = responses.records(intrusion.id).await?;
    let clips: Vec<String> = records.clip.map(|c| c.key).into_iter().collect();
    footage.delete(Store::Frames, &frames).await?;
    footage.delete(Store::Clips, &clips).await?;
    responses.delete_records(intrusion.id).await?;
    detection.delete_intrusion(intrusion).await?;
    tracing::info!(started_at = %intrusion.started_at, "intrusion deleted");
    Ok(u32::try_from(frames.len() + clips.len()).unwrap_or(u32::MAX))
}
