//! The rule after a person resolves an intrusion: its frames are sealed, and
//! people seen after the resolution open a new intrusion that follows it,
//! exactly once under duplicates, reordering and concurrency.

use super::*;
use crate::detection::Handling;
use crate::detection::ports::IntrusionChange;

impl World {
    /// Resolves the camera's only unresolved intrusion as a false alarm at `at`.
    async fn resolve_at(&self, at: DateTime<Utc>) -> Intrusion {
        let open = self
            .store
            .intrusions()
            .into_iter()
            .find(|i| i.status != IntrusionStatus::Resolved)
            .expect("an intrusion to resolve");
        let handling = Handling {
            by: "client-user".into(),
            by_email: None,
            at,
            note: Some("the cleaner".into()),
            false_alarm: Some(true),
        };
        self.store
            .set_handling(&open, IntrusionStatus::Resolved, &handling)
            .await
            .unwrap()
    }

    /// Sends person frames `seqs`, each captured half a second after the one
    /// before, the first at `from`; answers the decisions.
    async fn people_from(&self, from: DateTime<Utc>, seqs: &[u64]) -> Vec<&'static str> {
        let first = seqs.iter().copied().min().unwrap_or_default();
        let mut decisions = Vec::new();
        for &seq in seqs {
            let key = self.upload_at(
                seq,
                "person",
                from + TimeDelta::milliseconds(500 * (seq - first) as i64),
            );
            decisions.push(decision(&self.observe(&key).await));
        }
        decisions
    }
}

/// Frames 1-3 captured from the start open an intrusion, which a person resolves 2 s later.
async fn resolved_after_a_burst() -> (World, Intrusion, DateTime<Utc>) {
    let w = world();
    w.three(1, "person").await;
    let resolved_at = start() + TimeDelta::seconds(2);
    let resolved = w.resolve_at(resolved_at).await;
    (w, resolved, resolved_at)
}

#[tokio::test]
async fn a_person_after_a_false_alarm_resolution_opens_a_new_intrusion_that_follows_it() {
    let (w, resolved, resolved_at) = resolved_after_a_burst().await;
    let decisions = w.people_from(resolved_at + TimeDelta::seconds(2), &[4, 5, 6, 7]).await;
    assert_eq!(decisions, ["none", "none", "opened", "extended"]);
    assert_eq!(w.spans(), vec![(1, 3), (4, 7)]);
    let [old, new] = w.store.intrusions().try_into().expect("two intrusions");
    assert_eq!((old.id, old.status), (resolved.id, IntrusionStatus::Resolved));
    assert_eq!(old.last_seq, 3, "a resolved intrusion never grows");
    assert_eq!(old.followed_by, Some(new.id));
    assert_eq!(new.follows, Some(old.id));
    assert_eq!(new.status, IntrusionStatus::Open);
    assert!(new.snapshot_key.is_some(), "the new intrusion keeps its own evidence");
    assert_eq!(w.evidence.kept(new.id).map(|(keys, _)| keys.len()), Some(3));
}

#[tokio::test]
async fn frames_of_the_burst_captured_before_the_resolution_stay_with_it() {
    let (w, resolved, resolved_at) = resolved_after_a_burst().await;
    // Delivered late, captured before the resolution: what the person resolved.
    let late = w
        .people_from(resolved_at - TimeDelta::milliseconds(1600), &[4, 5, 6])
        .await;
    assert_eq!(late, ["unchanged"; 3]);
    for seq in 1..=3 {
        let key = FrameKey {
            camera: w.camera.id,
            seq,
        };
        let report = w.observe(&key.to_string()).await;
        assert!(
            matches!(&report, FrameReport::Analysed { decision: "unchanged", intrusion: Some(id), .. } if *id == resolved.id.to_string()),
            "a repeated notification of frame {seq}: {report:?}"
        );
    }
    assert_eq!(w.spans(), vec![(1, 3)]);
    // A new run needs three frames after the resolution: 4-6 are sealed, 7-8 are two.
    let after = w.people_from(resolved_at + TimeDelta::seconds(1), &[7, 8]).await;
    assert_eq!(after, ["none", "none"]);
    assert_eq!(
        w.people_from(resolved_at + TimeDelta::seconds(2), &[9]).await,
        ["opened"]
    );
    assert_eq!(w.spans(), vec![(1, 3), (7, 9)]);
}

#[tokio::test]
async fn an_acknowledged_intrusion_keeps_growing() {
    let w = world();
    w.three(1, "person").await;
    let [open] = w.store.intrusions().try_into().unwrap();
    let handling = Handling {
        by: "operator".into(),
        by_email: None,
        at: start() + TimeDelta::seconds(2),
        note: None,
        false_alarm: None,
    };
    w.store
        .set_handling(&open, IntrusionStatus::Acknowledged, &handling)
        .await
        .unwrap();
    let decisions = w.people_from(start() + TimeDelta::seconds(4), &[4, 5]).await;
    assert_eq!(decisions, ["extended", "extended"]);
    assert_eq!(w.spans(), vec![(1, 5)]);
}

#[tokio::test]
async fn frames_after_a_resolution_in_any_order_and_twice_open_one_intrusion() {
    let (w, _, resolved_at) = resolved_after_a_burst().await;
    let from = resolved_at + TimeDelta::seconds(2);
    let keys: Vec<String> = (4..=6)
        .map(|seq| w.upload_at(seq, "person", from + TimeDelta::milliseconds(500 * (seq - 4) as i64)))
        .collect();
    let order = [2, 0, 2, 1, 0, 1];
    let mut decisions = Vec::new();
    for index in order {
        decisions.push(decision(&w.observe(&keys[index]).await));
    }
    assert_eq!(decisions.iter().filter(|d| **d == "opened").count(), 1, "{decisions:?}");
    assert_eq!(w.spans(), vec![(1, 3), (4, 6)]);
}

#[tokio::test]
async fn concurrent_frames_after_a_resolution_open_exactly_one_intrusion() {
    for round in 0..5 {
        let (w, _, resolved_at) = resolved_after_a_burst().await;
        let from = resolved_at + TimeDelta::seconds(2);
        let keys: Vec<String> = (4..=9)
            .map(|seq| w.upload_at(seq, "person", from + TimeDelta::milliseconds(500 * (seq - 4) as i64)))
            .collect();
        let reports = join_all(keys.iter().map(|key| w.observe(key))).await;
        let opened = reports.iter().filter(|r| decision(r) == "opened").count();
        assert_eq!(opened, 1, "round {round}: {reports:?}");
        assert_eq!(w.spans(), vec![(1, 3), (4, 9)], "round {round}");
    }
}

#[tokio::test]
async fn an_extension_read_before_a_resolution_is_decided_again_after_it() {
    let w = world();
    w.three(1, "person").await;
    let state = w.store.camera_state(w.camera.id).await.unwrap();
    let [open] = state.recent.clone().try_into().unwrap();
    w.resolve_at(start() + TimeDelta::seconds(2)).await;
    let merged = crate::detection::rule::Extent {
        last_seq: 6,
        ..open.extent()
    };
    let change = IntrusionChange::Extend { existing: open, merged };
    let commit = w.store.commit(w.camera.id, state.version, &change).await.unwrap();
    assert_eq!(commit, crate::detection::ports::Commit::Contended);
    assert_eq!(w.spans(), vec![(1, 3)]);
}

#[tokio::test]
async fn a_reopened_intrusion_grows_again() {
    let (w, resolved, resolved_at) = resolved_after_a_burst().await;
    let reopening = crate::detection::Reopening {
        handling: Handling {
            by: "staff".into(),
            by_email: None,
            at: resolved_at + TimeDelta::seconds(1),
            note: Some("not the cleaner".into()),
            false_alarm: None,
        },
        undid: resolved.resolved.clone().unwrap(),
    };
    w.store.reopen(&resolved, &reopening).await.unwrap();
    let decisions = w.people_from(resolved_at + TimeDelta::seconds(2), &[4, 5]).await;
    assert_eq!(decisions, ["extended", "extended"]);
    assert_eq!(w.spans(), vec![(1, 5)]);
}
