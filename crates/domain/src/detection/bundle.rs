//! Frame bundles: up to [`MAX_BUNDLE_FRAMES`] consecutive frames of one camera
//! sent as one tar object, so one presigned PUT, one object, one notification
//! and one detector invocation carry them all (S3 and Lambda requests are most
//! of what a continuously streaming camera costs; see `docs/cost.md`).
//!
//! The key names the range, `frames/<camera id>/<first seq>-<last seq>` (20
//! digits each). Each member is one frame, named by its sequence number (any
//! extension: `00000000000000000007.jpg` or `7.jpg`), with its capture time as
//! its modification time (a PAX `mtime` for sub-second times, as `tar
//! --format=posix` writes). A camera may leave out frames of the range; a
//! member outside it, or twice in it, makes the whole bundle unusable.

use std::fmt;
use std::io::Read;

use chrono::{DateTime, Utc};

use super::FrameKey;
use super::ports::{FrameBytes, Rejection};
use crate::ids::DeviceId;

/// The most frames one bundle may carry (8 seconds at 2 frames per second).
pub const MAX_BUNDLE_FRAMES: u64 = 16;

/// The highest sequence number an upload may start at: a bundle of the most
/// frames from it still ends below 2^53 (the whole numbers JSON keeps exactly).
pub const MAX_FIRST_SEQ: u64 = (1 << 53) - MAX_BUNDLE_FRAMES;

/// The most bytes one bundle may have.
pub const MAX_BUNDLE_BYTES: u64 = 32 * 1024 * 1024;

/// The most bytes one frame of a bundle may have (as a frame uploaded alone).
pub const MAX_MEMBER_BYTES: u64 = 10 * 1024 * 1024;

/// The most members (of any kind: frames, directories, links) a bundle may have.
const MAX_MEMBERS: usize = 2 * MAX_BUNDLE_FRAMES as usize;

/// A bundle's place in the frames bucket: `frames/<camera id>/<first>-<last>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleKey {
    pub camera: DeviceId,
    pub first: u64,
    pub last: u64,
}

impl BundleKey {
    /// The bundle of `frames` frames from `first`; `None` unless 2 to
    /// [`MAX_BUNDLE_FRAMES`] frames whose numbers stay below 2^53.
    pub fn new(camera: DeviceId, first: u64, frames: u64) -> Option<Self> {
        let last = first.checked_add(frames.checked_sub(1)?)?;
        ((2..=MAX_BUNDLE_FRAMES).contains(&frames) && last < 1 << 53).then_some(Self { camera, first, last })
    }

    /// Where frame `seq` of the bundle is, for the frame's record and the
    /// evidence kept from it: the bundle's key, a slash and the sequence number.
    pub fn member(&self, seq: u64) -> String {
        format!("{self}/{seq:020}")
    }
}

impl fmt::Display for BundleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{:020}",
            FrameKey {
                camera: self.camera,
                seq: self.first
            },
            self.last
        )
    }
}

/// What a notified object of the frames bucket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameObject {
    Frame(FrameKey),
    Bundle(BundleKey),
}

impl FrameObject {
    /// Reads an object key (already URL-decoded); anything outside the layout is refused.
    pub fn parse(key: &str) -> Result<Self, String> {
        let Some((frame, last)) = key.rsplit_once('-').filter(|(_, last)| !last.contains('/')) else {
            return FrameKey::parse(key).map(Self::Frame);
        };
        let first = FrameKey::parse(frame)?;
        if last.len() != 20 || !last.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{key} does not end in a 20-digit last sequence number"));
        }
        let last: u64 = last
            .parse()
            .map_err(|_| format!("{key} has an out-of-range sequence number"))?;
        let frames = last.checked_sub(first.seq).map_or(0, |span| span.saturating_add(1));
        BundleKey::new(first.camera, first.seq, frames)
            .map(Self::Bundle)
            .ok_or_else(|| format!("{key} does not name 2 to {MAX_BUNDLE_FRAMES} frames in order"))
    }
}

/// Where a frame's bytes are: the object to read, and, when that object is a
/// bundle, which of its members.
pub fn frame_location(address: &str) -> (&str, Option<(BundleKey, u64)>) {
    if let Some((object, seq)) = address.rsplit_once('/')
        && let Ok(FrameObject::Bundle(bundle)) = FrameObject::parse(object)
        && let Ok(seq) = seq.parse()
    {
        return (object, Some((bundle, seq)));
    }
    (address, None)
}

/// A frame's bytes out of the bytes of the object [`frame_location`] named:
/// the object's own, or `member`'s (none when the bundle lacks it).
pub fn frame_bytes(member: Option<(BundleKey, u64)>, object: Vec<u8>) -> Option<Vec<u8>> {
    let Some((bundle, seq)) = member else {
        return Some(object);
    };
    unpack(&bundle, &object)
        .ok()?
        .into_iter()
        .find(|f| f.seq == seq)
        .map(|f| f.frame.bytes)
}

/// One frame out of a bundle.
#[derive(Clone, Debug, PartialEq)]
pub struct BundledFrame {
    pub seq: u64,
    pub frame: FrameBytes,
}

/// The frames of a bundle in sequence order, or why the bundle is unusable.
pub fn unpack(bundle: &BundleKey, bytes: &[u8]) -> Result<Vec<BundledFrame>, Rejection> {
    let refuse = |reason: String| Rejection {
        code: "bad-bundle".into(),
        reason,
    };
    let mut frames: Vec<BundledFrame> = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    let entries = archive
        .entries()
        .map_err(|e| refuse(format!("the bundle is not a tar archive: {e}")))?;
    for (index, entry) in entries.enumerate() {
        if index >= MAX_MEMBERS {
            return Err(refuse(format!("the bundle has more than {MAX_MEMBERS} members")));
        }
        let mut entry = entry.map_err(|e| refuse(format!("the bundle is not a whole tar archive: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| refuse(format!("a member has no usable name: {e}")))?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let seq = Some(name.as_str())
            .filter(|n| (1..=20).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| refuse(format!("member {} is not named by a sequence number", path.display())))?;
        if !(bundle.first..=bundle.last).contains(&seq) {
            return Err(refuse(format!(
                "frame {seq} is outside the bundle's frames {}-{}",
                bundle.first, bundle.last
            )));
        }
        if frames.iter().any(|f| f.seq == seq) {
            return Err(refuse(format!("frame {seq} is in the bundle twice")));
        }
        // The size a header (or a PAX `size`) claims is the uploader's word:
        // checked against the limit and the bytes there are before anything is kept.
        let size = entry.size();
        if size > MAX_MEMBER_BYTES || size > bytes.len() as u64 {
            return Err(refuse(format!(
                "frame {seq} claims {size} bytes, more than the {} a frame or this bundle can have",
                MAX_MEMBER_BYTES.min(bytes.len() as u64)
            )));
        }
        let captured_at = captured_at(&mut entry);
        let mut kept = Vec::with_capacity(size as usize);
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut kept)
            .map_err(|e| refuse(format!("frame {seq} is cut short: {e}")))?;
        if kept.len() as u64 != size {
            return Err(refuse(format!(
                "frame {seq} is cut short: {} of {size} bytes",
                kept.len()
            )));
        }
        frames.push(BundledFrame {
            seq,
            frame: FrameBytes {
                bytes: kept,
                captured_at,
            },
        });
    }
    if frames.is_empty() {
        return Err(refuse("the bundle holds no frames".into()));
    }
    frames.sort_by_key(|f| f.seq);
    Ok(frames)
}

/// A member's modification time: its PAX `mtime` (seconds with a fraction, to
/// the nanosecond), else the header's whole seconds; none when it is zero (a
/// camera without a clock).
fn captured_at<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<DateTime<Utc>> {
    let precise = entry.pax_extensions().ok().flatten().and_then(|mut extensions| {
        extensions
            .find_map(|e| e.ok().filter(|e| e.key() == Ok("mtime")))
            .and_then(|e| e.value().ok().and_then(decimal_time))
    });
    let at = precise.or_else(|| {
        let seconds = i64::try_from(entry.header().mtime().ok()?).ok()?;
        DateTime::from_timestamp(seconds, 0)
    })?;
    (at.timestamp() > 0).then_some(at)
}

/// `1796000000.25` as a time (up to nine decimals are kept).
fn decimal_time(value: &str) -> Option<DateTime<Utc>> {
    let (seconds, fraction) = value.split_once('.').unwrap_or((value, ""));
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = fraction.chars().chain(std::iter::repeat('0')).take(9).collect();
    DateTime::from_timestamp(seconds.parse().ok()?, digits.parse().ok()?)
}

/// Packs frames (sequence number, capture time, bytes) into a bundle as
/// [`unpack`] reads it: what a camera or the edge agent uploads.
pub fn pack(frames: &[(u64, DateTime<Utc>, &[u8])]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (seq, captured_at, bytes) in frames {
        let mtime = format!(
            "{}.{:09}",
            captured_at.timestamp(),
            captured_at.timestamp_subsec_nanos()
        );
        builder.append_pax_extensions([("mtime", mtime.as_bytes())])?;
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(u64::try_from(captured_at.timestamp()).unwrap_or_default());
        builder.append_data(&mut header, format!("{seq:020}.jpg"), *bytes)?;
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_796_000_000_000 + ms).unwrap()
    }

    fn bundle(first: u64, frames: u64) -> BundleKey {
        BundleKey::new(DeviceId::generate(), first, frames).unwrap()
    }

    #[test]
    fn bundle_keys_round_trip_and_name_their_members() {
        let key = bundle(7, 4);
        let object = key.to_string();
        assert!(
            object.ends_with("/00000000000000000007-00000000000000000010"),
            "{object}"
        );
        assert_eq!(FrameObject::parse(&object), Ok(FrameObject::Bundle(key)));
        let member = key.member(9);
        assert_eq!(frame_location(&member), (object.as_str(), Some((key, 9))));
        let packed = pack(&[(8, at(0), b"eight"), (9, at(0), b"nine")]).unwrap();
        assert_eq!(frame_bytes(Some((key, 9)), packed.clone()), Some(b"nine".to_vec()));
        assert_eq!(frame_bytes(frame_location(&key.member(10)).1, packed), None);
        let single = FrameKey {
            camera: key.camera,
            seq: 3,
        }
        .to_string();
        assert_eq!(frame_location(&single), (single.as_str(), None));
        assert_eq!(frame_bytes(None, b"jpeg".to_vec()), Some(b"jpeg".to_vec()));
        assert_eq!(
            FrameObject::parse(&single),
            Ok(FrameObject::Frame(FrameKey {
                camera: key.camera,
                seq: 3
            }))
        );
    }

    #[test]
    fn bundles_of_one_too_many_or_reversed_frames_are_refused() {
        let camera = DeviceId::generate();
        assert_eq!(BundleKey::new(camera, 1, 1), None);
        assert_eq!(BundleKey::new(camera, 1, MAX_BUNDLE_FRAMES + 1), None);
        assert_eq!(BundleKey::new(camera, u64::MAX, 2), None);
        assert_eq!(BundleKey::new(camera, (1 << 53) - 1, 2), None);
        for last in [
            "00000000000000000004",
            "00000000000000000100",
            "5",
            "0000000000000000000x",
        ] {
            let key = format!("frames/{camera}/00000000000000000005-{last}");
            assert!(FrameObject::parse(&key).is_err(), "{key}");
        }
    }

    #[test]
    fn frames_come_out_in_order_with_their_capture_times() {
        let key = bundle(10, 4);
        let precise = at(0) + chrono::TimeDelta::nanoseconds(123_456_789);
        let packed = pack(&[(10, precise, b"a")]).unwrap();
        assert_eq!(unpack(&key, &packed).unwrap()[0].frame.captured_at, Some(precise));
        assert_eq!(decimal_time("1796000000.5"), Some(at(500)));
        assert_eq!(decimal_time("1796000000.5x"), None);
        let packed = pack(&[(12, at(1_500), b"c"), (10, at(500), b"a"), (11, at(1_000), b"b")]).unwrap();
        let frames = unpack(&key, &packed).unwrap();
        let seqs: Vec<u64> = frames.iter().map(|f| f.seq).collect();
        assert_eq!(seqs, [10, 11, 12]);
        assert_eq!(frames[1].frame.bytes, b"b");
        assert_eq!(frames[2].frame.captured_at, Some(at(1_500)));
    }

    #[test]
    fn bundles_out_of_range_repeated_empty_or_cut_short_are_refused() {
        let key = bundle(10, 2);
        let cases = [
            pack(&[(12, at(0), b"x")]).unwrap(),
            pack(&[(10, at(0), b"x"), (10, at(1), b"y")]).unwrap(),
            pack(&[]).unwrap(),
            pack(&[(10, at(0), &[7; 2_000])]).unwrap()[..1_500].to_vec(),
            b"not a tar".to_vec(),
        ];
        for (n, bytes) in cases.iter().enumerate() {
            let refused = unpack(&key, bytes).expect_err(&format!("case {n}"));
            assert_eq!(refused.code, "bad-bundle", "case {n}");
        }
    }

    #[test]
    fn a_member_without_a_precise_time_keeps_its_whole_seconds_and_zero_means_none() {
        let key = bundle(1, 2);
        let mut builder = tar::Builder::new(Vec::new());
        for (seq, mtime) in [(1, 1_796_000_000), (2, 0)] {
            let mut header = tar::Header::new_ustar();
            header.set_size(1);
            header.set_mtime(mtime);
            builder
                .append_data(&mut header, format!("{seq}.jpg"), &b"x"[..])
                .unwrap();
        }
        let frames = unpack(&key, &builder.into_inner().unwrap()).unwrap();
        assert_eq!(frames[0].frame.captured_at, Some(at(0)));
        assert_eq!(frames[1].frame.captured_at, None);
    }

    /// A bundle of two small frames whose second member's PAX header claims `claimed` bytes.
    fn claiming(claimed: &str) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_size(4);
        header.set_mode(0o644);
        builder.append_data(&mut header, "1.jpg", &b"jpeg"[..]).unwrap();
        builder.append_pax_extensions([("size", claimed.as_bytes())]).unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_size(4);
        header.set_mode(0o644);
        builder.append_data(&mut header, "2.jpg", &b"jpeg"[..]).unwrap();
        builder.into_inner().unwrap()
    }

    #[test]
    fn a_member_claiming_more_bytes_than_a_frame_or_the_bundle_is_refused_before_anything_is_kept() {
        // Found from outside: a PAX size of 2^40 made the detector allocate a
        // terabyte and abort, with every client's traffic.
        for claimed in ["1099511627776", "10485761", "5000"] {
            let refused = unpack(&bundle(1, 2), &claiming(claimed)).unwrap_err();
            assert_eq!(refused.code, "bad-bundle");
            assert!(refused.reason.contains("claims"), "{claimed}: {}", refused.reason);
        }
        assert_eq!(unpack(&bundle(1, 2), &claiming("4")).unwrap().len(), 2);
    }

    #[test]
    fn a_bundle_of_countless_members_is_refused() {
        let mut builder = tar::Builder::new(Vec::new());
        for index in 0..100 {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            builder
                .append_data(&mut header, format!("d{index}/"), std::io::empty())
                .unwrap();
        }
        let refused = unpack(&bundle(1, 2), &builder.into_inner().unwrap()).unwrap_err();
        assert!(refused.reason.contains("members"), "{}", refused.reason);
    }
}
