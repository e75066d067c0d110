//! The intrusion rule, as pure functions: a person in three consecutive frames
//! of one camera (by the camera's sequence numbers) is an intrusion, and one
//! burst of such frames is one intrusion.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

/// What the detector concluded about one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    pub captured_at: DateTime<Utc>,
    pub person: bool,
    pub score: f32,
}

/// A stretch of frames covered by windows of three consecutive person frames.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonRun {
    pub first_seq: u64,
    pub last_seq: u64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub peak_score: f32,
    /// The earliest window's three frames: the evidence that opened it.
    pub opening: [u64; 3],
}

/// The union of every window of three consecutive person frames that includes
/// `seq`, given the frames known around it; `None` when there is no such window.
/// Every frame writes its result before asking, so whichever frame of a window
/// is stored last sees the whole window, in whatever order they arrive.
pub fn run_around(seq: u64, frames: &BTreeMap<u64, Observation>) -> Option<PersonRun> {
    let is_person = |s: u64| frames.get(&s).is_some_and(|o| o.person);
    // A window must fit below u64::MAX: a camera's sequence numbers are its own to choose.
    let starts: Vec<u64> = (seq.saturating_sub(2)..=seq)
        .filter(|&start| start.checked_add(2).is_some_and(|end| (start..=end).all(is_person)))
        .collect();
    let (&first_seq, &last_start) = (starts.first()?, starts.last()?);
    let last_seq = last_start + 2;
    let span = || (first_seq..=last_seq).map(|s| frames[&s]);
    Some(PersonRun {
        first_seq,
        last_seq,
        first_at: span().map(|o| o.captured_at).min()?,
        last_at: span().map(|o| o.captured_at).max()?,
        peak_score: span().map(|o| o.score).fold(0.0, f32::max),
        opening: [first_seq, first_seq + 1, first_seq + 2],
    })
}

/// The extent of an existing intrusion, as the rule needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Extent {
    pub first_seq: u64,
    pub last_seq: u64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub peak_score: f32,
}

impl Extent {
    /// Whether `run` belongs to this intrusion's burst: its frames touch or overlap
    /// the intrusion's, or fewer than `quiet_gap` passed between them.
    pub fn same_burst(&self, run: &PersonRun, quiet_gap: TimeDelta) -> bool {
        let touches =
            run.first_seq <= self.last_seq.saturating_add(1) && run.last_seq.saturating_add(1) >= self.first_seq;
        let close = run.first_at < self.last_at + quiet_gap && run.last_at + quiet_gap > self.first_at;
        touches || close
    }

    /// The extent after adding `run`. The start time stays the one the intrusion
    /// was opened with, even when late frames of the same burst come before it.
    pub fn merged(&self, run: &PersonRun) -> Self {
        Self {
            first_seq: self.first_seq.min(run.first_seq),
            last_seq: self.last_seq.max(run.last_seq),
            first_at: self.first_at,
            last_at: self.last_at.max(run.last_at),
            peak_score: self.peak_score.max(run.peak_score),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(pattern: &[(u64, bool)]) -> BTreeMap<u64, Observation> {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        pattern
            .iter()
            .map(|&(seq, person)| {
                let at = start + TimeDelta::milliseconds(500 * seq as i64);
                (
                    seq,
                    Observation {
                        captured_at: at,
                        person,
                        score: if person { 0.9 } else { 0.1 },
                    },
                )
            })
            .collect()
    }

    #[test]
    fn three_consecutive_person_frames_make_a_run_in_any_order() {
        let known = frames(&[(1, true), (2, true), (3, true)]);
        for seq in 1..=3 {
            let run = run_around(seq, &known).unwrap();
            assert_eq!((run.first_seq, run.last_seq, run.opening), (1, 3, [1, 2, 3]));
        }
    }

    #[test]
    fn gaps_missing_frames_and_empty_frames_break_a_run() {
        assert!(run_around(4, &frames(&[(1, true), (2, false), (3, true), (4, true)])).is_none());
        assert!(run_around(3, &frames(&[(1, true), (3, true)])).is_none());
        let third = frames(&[(1, true), (2, false), (3, true), (4, true), (5, true)]);
        assert_eq!(run_around(5, &third).unwrap().opening, [3, 4, 5]);
        assert!(run_around(2, &third).is_none());
    }

    #[test]
    fn a_frame_in_the_middle_of_a_long_run_covers_all_its_windows() {
        let known = frames(&(1..=6).map(|s| (s, true)).collect::<Vec<_>>());
        let run = run_around(4, &known).unwrap();
        assert_eq!((run.first_seq, run.last_seq), (2, 6));
    }

    #[test]
    fn bursts_are_told_apart_by_the_quiet_gap() {
        let known = frames(&(1..=200).map(|s| (s, true)).collect::<Vec<_>>());
        let first = run_around(3, &known).unwrap();
        let extent = Extent {
            first_seq: first.first_seq,
            last_seq: first.last_seq,
            first_at: first.first_at,
            last_at: first.last_at,
            peak_score: first.peak_score,
        };
        let gap = TimeDelta::seconds(30);
        assert!(
            extent.same_burst(&run_around(5, &known).unwrap(), gap),
            "touching frames"
        );
        assert!(extent.same_burst(&run_around(40, &known).unwrap(), gap), "18 s later");
        assert!(!extent.same_burst(&run_around(100, &known).unwrap(), gap), "48 s later");
        let merged = extent.merged(&run_around(5, &known).unwrap());
        assert_eq!((merged.first_seq, merged.last_seq), (1, 7));
    }

    #[test]
    fn sequence_numbers_at_the_top_of_the_range_neither_overflow_nor_panic() {
        let top = u64::MAX;
        let known = frames(&[(top - 2, true), (top - 1, true), (top, true)]);
        let run = run_around(top, &known).expect("the last three numbers make a window");
        assert_eq!((run.first_seq, run.last_seq), (top - 2, top));
        let two = frames(&[(top - 1, true), (top, true)]);
        assert!(run_around(top, &two).is_none());
        assert!(run_around(top - 1, &two).is_none());
    }
}
