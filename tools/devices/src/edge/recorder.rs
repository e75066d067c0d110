//! The recording ring buffer: a camera's encoded H.264 stream kept on disk as
//! it arrived (no re-encoding), in segments that each start at a keyframe, for
//! at least the clip window and within a size budget. A clip of [from, to]
//! starts at the keyframe at or before `from`, so it decodes from its first
//! frame, and is written as an MP4 with `moov` first.
//!
//! A segment file `<start ms>.h264seg` holds records: capture time (u64 ms, big
//! endian), a keyframe flag (u8), the access unit's length (u32) and the access
//! unit in Annex B form (with its parameter sets on keyframes).

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};

use crate::clip::{ParameterSets, timed_sample, write_mp4};

const SUFFIX: &str = "h264seg";
/// The duration given to the last frame of a clip, when nothing follows it.
const LAST_FRAME_MS: u64 = 40;

/// One access unit as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub captured_at_ms: i64,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

/// Writes a camera's stream into segments and prunes the oldest.
pub struct Recorder {
    dir: PathBuf,
    keep_ms: i64,
    budget_bytes: u64,
    current: Option<BufWriter<File>>,
    /// The picture size of the stream, once known (for clips).
    pub dimensions: Option<(u16, u16)>,
}

fn segment_start(path: &Path) -> Option<i64> {
    (path.extension()? == SUFFIX)
        .then(|| path.file_stem()?.to_str()?.parse().ok())
        .flatten()
}

/// The segments of a directory, oldest first, with their start time and size.
fn segments(dir: &Path) -> Vec<(i64, PathBuf, u64)> {
    let mut found: Vec<(i64, PathBuf, u64)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let start = segment_start(&path)?;
            Some((start, path, entry.metadata().ok()?.len()))
        })
        .collect();
    found.sort_by_key(|(start, _, _)| *start);
    found
}

impl Recorder {
    /// Records into `dir`, keeping `keep` of recording within `budget_bytes`.
    pub fn open(dir: &Path, keep: std::time::Duration, budget_bytes: u64) -> anyhow::Result<Self> {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            keep_ms: keep.as_millis() as i64,
            budget_bytes,
            current: None,
            dimensions: None,
        })
    }

    /// Appends an access unit; a keyframe starts a new segment (and prunes old ones).
    pub fn append(&mut self, unit: &Recorded) -> anyhow::Result<()> {
        if unit.keyframe {
            if let Some(mut done) = self.current.take() {
                done.flush()?;
            }
            let path = self.dir.join(format!("{}.{SUFFIX}", unit.captured_at_ms));
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            self.current = Some(BufWriter::new(file));
            self.prune(unit.captured_at_ms)?;
        }
        // Until the first keyframe there is nothing a clip could start from.
        let Some(writer) = self.current.as_mut() else {
            return Ok(());
        };
        writer.write_all(&unit.captured_at_ms.to_be_bytes())?;
        writer.write_all(&[u8::from(unit.keyframe)])?;
        writer.write_all(&(unit.data.len() as u32).to_be_bytes())?;
        writer.write_all(&unit.data)?;
        Ok(())
    }

    /// Makes what was appended readable by [`clip`].
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if let Some(writer) = self.current.as_mut() {
            writer.flush()?;
        }
        Ok(())
    }

    /// Deletes segments that end before the kept span, then the oldest while over budget
    /// (never the one being written).
    fn prune(&self, now_ms: i64) -> anyhow::Result<()> {
        let all = segments(&self.dir);
        let mut total: u64 = all.iter().map(|(_, _, size)| size).sum();
        for (index, (_, path, size)) in all.iter().enumerate() {
            let Some((next_start, _, _)) = all.get(index + 1) else {
                break;
            };
            let ended_long_ago = *next_start < now_ms - self.keep_ms;
            if ended_long_ago || total > self.budget_bytes {
                fs::remove_file(path)?;
                total -= size;
            }
        }
        Ok(())
    }

    /// How many bytes of recording are on disk.
    pub fn bytes(&self) -> u64 {
        segments(&self.dir).iter().map(|(_, _, size)| size).sum()
    }
}

fn read_segment(path: &Path) -> anyhow::Result<Vec<Recorded>> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut units = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 13 {
        let captured_at_ms = i64::from_be_bytes(rest[..8].try_into()?);
        let keyframe = rest[8] == 1;
        let length = u32::from_be_bytes(rest[9..13].try_into()?) as usize;
        let Some(data) = rest.get(13..13 + length) else {
            break; // the unit being written when the file was read
        };
        units.push(Recorded {
            captured_at_ms,
            keyframe,
            data: data.to_vec(),
        });
        rest = &rest[13 + length..];
    }
    Ok(units)
}

/// The recorded access units of [from, to], from the keyframe at or before `from`.
pub fn between(dir: &Path, from: DateTime<Utc>, to: DateTime<Utc>) -> anyhow::Result<Vec<Recorded>> {
    let (from, to) = (from.timestamp_millis(), to.timestamp_millis());
    let all = segments(dir);
    let first = all.iter().rposition(|(start, _, _)| *start <= from).unwrap_or(0);
    let mut units = Vec::new();
    for (start, path, _) in &all[first.min(all.len())..] {
        if *start > to {
            break;
        }
        units.extend(read_segment(path)?.into_iter().filter(|u| u.captured_at_ms <= to));
    }
    // Start at the last keyframe at or before `from` (or the first one there is).
    let start = units
        .iter()
        .rposition(|u| u.keyframe && u.captured_at_ms <= from)
        .or_else(|| units.iter().position(|u| u.keyframe))
        .context("no keyframe was recorded in the requested window")?;
    Ok(units.split_off(start))
}

/// An MP4 file of recorded access units, times counted from the first one.
pub fn to_mp4(units: &[Recorded], dimensions: (u16, u16)) -> anyhow::Result<Vec<u8>> {
    let Some(first) = units.first() else {
        bail!("nothing was recorded in the requested window");
    };
    let mut parameter_sets: ParameterSets = (None, None);
    let mut samples = Vec::with_capacity(units.len());
    for (index, unit) in units.iter().enumerate() {
        let start = (unit.captured_at_ms - first.captured_at_ms).max(0) as u64;
        let next = units.get(index + 1).map_or(start + LAST_FRAME_MS, |n| {
            (n.captured_at_ms - first.captured_at_ms).max(0) as u64
        });
        samples.push(timed_sample(&unit.data, start, next, &mut parameter_sets));
    }
    let (Some(sps), Some(pps)) = parameter_sets else {
        bail!("the recording carries no sequence or picture parameter set");
    };
    write_mp4(&samples, sps, pps, dimensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(ms: i64, keyframe: bool) -> Recorded {
        let mut data = Vec::new();
        if keyframe {
            data.extend_from_slice(&[0, 0, 0, 1, 0x67, 0x42, 0, 0x1e, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
        }
        data.extend_from_slice(&[0, 0, 0, 1, if keyframe { 0x65 } else { 0x41 }, 0x88, 0x84]);
        Recorded {
            captured_at_ms: ms,
            keyframe,
            data,
        }
    }

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    fn record(dir: &Path, keep_ms: u64, budget: u64, count: i64) -> Recorder {
        let mut recorder = Recorder::open(dir, std::time::Duration::from_millis(keep_ms), budget).unwrap();
        for i in 0..count {
            // 10 frames a second, a keyframe every 2 s.
            recorder.append(&unit(1_000_000 + i * 100, i % 20 == 0)).unwrap();
        }
        recorder.flush().unwrap();
        recorder
    }

    #[test]
    fn a_clip_starts_at_the_keyframe_at_or_before_its_start() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), 600_000, u64::MAX, 100);
        let units = between(dir.path(), at(1_002_500), at(1_005_000)).unwrap();
        assert_eq!(units[0].captured_at_ms, 1_002_000);
        assert!(units[0].keyframe);
        assert_eq!(units.last().unwrap().captured_at_ms, 1_005_000);
        assert_eq!(units.len(), 31);
    }

    #[test]
    fn old_segments_go_by_age_and_by_size() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), 3_000, u64::MAX, 100);
        let starts: Vec<i64> = segments(dir.path()).iter().map(|(s, _, _)| *s).collect();
        assert_eq!(
            starts,
            [1_004_000, 1_006_000, 1_008_000],
            "a segment stays while it holds kept time"
        );
        let dir = tempfile::tempdir().unwrap();
        let recorder = record(dir.path(), 600_000, 200, 100);
        assert!(segments(dir.path()).len() <= 2, "the budget keeps the newest");
        assert!(recorder.bytes() > 0);
    }

    #[test]
    fn a_recording_becomes_an_mp4_with_moov_first() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), 600_000, u64::MAX, 40);
        let units = between(dir.path(), at(1_000_500), at(1_003_000)).unwrap();
        let mp4 = to_mp4(&units, (320, 240)).unwrap();
        let moov = mp4.windows(4).position(|w| w == b"moov").unwrap();
        let mdat = mp4.windows(4).position(|w| w == b"mdat").unwrap();
        assert!(moov < mdat, "moov comes first");
        let mut reader = mp4::Mp4Reader::read_header(std::io::Cursor::new(&mp4), mp4.len() as u64).unwrap();
        let (id, count, width) = reader
            .tracks()
            .iter()
            .next()
            .map(|(id, t)| (*id, t.sample_count(), t.width()))
            .unwrap();
        assert_eq!((count, width), (units.len() as u32, 320));
        let first = reader.read_sample(id, 1).unwrap().unwrap();
        assert!(first.is_sync);
        assert_eq!(
            &first.bytes[..],
            &[0, 0, 0, 3, 0x65, 0x88, 0x84],
            "the shifted offsets point at the samples"
        );
    }
}
