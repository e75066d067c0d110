//! Data protection over the in-memory adapters: the triggers read as their
//! sources send them, an erasure job run to its end, and jobs handed back
//! when unreadable or out of time.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use seccom_domain::clock::FixedClock;
use seccom_domain::directory::Directory;
use seccom_domain::fixtures;
use seccom_domain::ids::ErasureId;
use seccom_domain::memory::{
    MemoryControls, MemoryDetectionStore, MemoryDirectory, MemoryErasureQueue, MemoryFootage, MemoryPush,
    MemoryResponses, MemoryRetention,
};
use seccom_domain::retention::RetentionBounds;
use seccom_domain::retention::erasure::{ErasureRequests, ErasureStatus, ErasureTarget};
use seccom_domain::retention::ports::RetentionStore;

use super::*;

struct World {
    directory: Directory,
    retention: Arc<MemoryRetention>,
    queue: Arc<MemoryErasureQueue>,
    metrics: tempfile::TempDir,
}

fn world() -> World {
    let clock = Arc::new(FixedClock::at(Utc.with_ymd_and_hms(2026, 12, 8, 3, 0, 0).unwrap()));
    World {
        directory: Directory::with_clock(Arc::new(MemoryDirectory::default()), clock),
        retention: Arc::default(),
        queue: Arc::default(),
        metrics: tempfile::tempdir().unwrap(),
    }
}

impl World {
    /// The function, giving an erasure job `budget` an invocation.
    fn function(&self, budget: Duration) -> FootageRetention {
        let detection = Arc::new(MemoryDetectionStore::default());
        let responses = Arc::new(MemoryResponses::default());
        let footage = Arc::new(MemoryFootage::default());
        let metrics_file = self.metrics.path().join("metrics.jsonl").display().to_string();
        let config = Config::from_pairs([(seccom_domain::config::METRICS_FILE.to_owned(), metrics_file)]);
        FootageRetention::with(
            Purge {
                directory: self.directory.clone(),
                retention: self.retention.clone(),
                detection: detection.clone(),
                responses: responses.clone(),
                footage: footage.clone(),
                clock: Arc::new(SystemClock),
                bounds: RetentionBounds::default(),
                limit: 500,
            },
            Erasure {
                directory: self.directory.clone(),
                retention: self.retention.clone(),
                detection,
                controls: Arc::new(MemoryControls::default()),
                responses,
                footage,
                push: Arc::new(MemoryPush::default()),
                limit: 100,
            },
            budget,
            Metrics::from_config(&config, "footage-retention"),
        )
    }

    /// A site erasure requested by staff: the queue message SQS would deliver.
    async fn site_erasure(&self) -> (ErasureId, SqsEvent) {
        let (_, site) = fixtures::client_with_site(&self.directory, "Acme").await;
        let requests = ErasureRequests::new(self.directory.clone(), self.retention.clone(), self.queue.clone());
        let job = requests
            .request(&fixtures::staff(), ErasureTarget::Site(site.id))
            .await
            .unwrap();
        assert_eq!(self.queue.take(), [job.id]);
        let sample = include_str!("../../../events/footage-retention/erasure-requested.json")
            .replace("0b7e2f4c-5d1a-4c3e-9f8b-6a2d1e0c4b9f", &job.id.to_string());
        let Trigger::Erasures(event) = serde_json::from_str(&sample).unwrap() else {
            panic!("the sample erasure message was read as a schedule");
        };
        (job.id, event)
    }
}

#[tokio::test]
async fn the_hourly_schedule_is_read_as_a_purge_at_its_time() {
    let w = world();
    let sample = include_str!("../../../events/footage-retention/scheduled.json");
    let trigger: Trigger = serde_json::from_str(sample).unwrap();
    assert!(matches!(trigger, Trigger::Schedule(_)), "{trigger:?}");
    let outcome = w.function(Duration::from_secs(60)).handle(trigger).await.unwrap();
    let Outcome::Purged(report) = outcome else {
        panic!("not a purge: {outcome:?}");
    };
    assert_eq!((report.intrusions_deleted, report.objects_deleted), (0, 0));
}

#[tokio::test]
async fn an_erasure_job_is_run_to_its_end_and_its_message_deleted() {
    let w = world();
    let (job, event) = w.site_erasure().await;
    let outcome = w
        .function(Duration::from_secs(60))
        .handle(Trigger::Erasures(event))
        .await
        .unwrap();
    let Outcome::Erasures(response) = outcome else {
        panic!("not an erasure answer: {outcome:?}");
    };
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let done = w.retention.erasure(job).await.unwrap().unwrap();
    assert_eq!(done.status, ErasureStatus::Done);
}

#[tokio::test]
async fn jobs_unreadable_or_out_of_time_are_handed_back() {
    let w = world();
    let (_, mut event) = w.site_erasure().await;
    let mut unreadable = event.records[0].clone();
    unreadable.message_id = Some("unreadable".into());
    unreadable.body = Some("{\"erasure\": \"not an id\"}".into());
    event.records.push(unreadable);
    let outcome = w
        .function(Duration::ZERO)
        .handle(Trigger::Erasures(event))
        .await
        .unwrap();
    let Outcome::Erasures(response) = outcome else {
        panic!("not an erasure answer: {outcome:?}");
    };
    let handed_back: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(handed_back, ["7d1c5e0a-3b2f-4e8d-9a61-2c4b8f0e5d17", "unreadable"]);
}
