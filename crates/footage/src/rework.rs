//! A stored clip reworked picture by picture: every picture of its H.264
//! track decoded, changed (the clip archiver blurs a camera's privacy masks),
//! and encoded again into a new MP4 file with the same timing and keyframes.
//! Nothing the uploader claims is trusted before it is checked: the track's
//! size and sample count are bounded before a picture is decoded.

use std::io::Cursor;

use anyhow::{Context, bail, ensure};
use image::RgbImage;
use mp4::{Mp4Reader, Mp4Sample};
use openh264::OpenH264API;
use openh264::decoder::Decoder;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate};
use openh264::formats::{RgbSliceU8, YUVBuffer, YUVSource};

use crate::clip::{ParameterSets, annex_b_parameter_sets, annex_b_sample, rgb_picture, timed_sample, write_mp4};

/// The widest or tallest picture reworked (8K UHD, as frames).
pub const MAX_SIDE: u16 = 7680;
/// The most pictures a clip may have: 6 minutes at 30 pictures a second, with room.
pub const MAX_PICTURES: u32 = 15_000;
/// The bit rate the new clip aims at, whatever the original's: at least this much.
const MIN_BITS_PER_SECOND: u64 = 500_000;
/// ... and at most this much (a camera's main stream rarely exceeds it).
const MAX_BITS_PER_SECOND: u64 = 8_000_000;

/// What a rework did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reworked {
    /// The new MP4 file.
    pub bytes: Vec<u8>,
    /// Pictures decoded, changed and encoded.
    pub pictures: u32,
    pub width: u16,
    pub height: u16,
}

/// The clip `mp4_bytes` with every picture passed through `change` (which
/// keeps its size), as a new MP4 file: each picture shown for as long as it
/// was, a keyframe wherever the original had one, at a bit rate near the
/// original's. The clip must hold one H.264 track in decoding order without
/// reordering (cameras' baseline and most main-profile streams).
pub fn rework(mp4_bytes: &[u8], mut change: impl FnMut(RgbImage) -> RgbImage) -> anyhow::Result<Reworked> {
    let mut reader = Mp4Reader::read_header(Cursor::new(mp4_bytes), mp4_bytes.len() as u64)
        .context("the clip is not a readable MP4 file")?;
    let (&track_id, track) = reader
        .tracks()
        .iter()
        .find(|(_, track)| track.trak.mdia.minf.stbl.stsd.avc1.is_some())
        .context("the clip has no H.264 track")?;
    let (width, height) = (track.width(), track.height());
    ensure!(
        (2..=MAX_SIDE).contains(&width) && (2..=MAX_SIDE).contains(&height),
        "the clip claims {width}x{height} pictures, beyond {MAX_SIDE} on a side"
    );
    let pictures = track.sample_count();
    ensure!(
        (1..=MAX_PICTURES).contains(&pictures),
        "the clip claims {pictures} pictures, more than {MAX_PICTURES}"
    );
    let timescale = u64::from(track.timescale().max(1));
    let milliseconds = |ticks: u64| ticks.saturating_mul(1000) / timescale;
    let duration_ms = (track.duration().as_millis() as u64).max(1);
    let parameter_sets = annex_b_parameter_sets(track)?;
    let bits_per_second =
        (mp4_bytes.len() as u64 * 8 * 1000 / duration_ms).clamp(MIN_BITS_PER_SECOND, MAX_BITS_PER_SECOND);
    let rate = f64::from(pictures) * 1000.0 / duration_ms as f64;
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(bits_per_second as u32))
        .max_frame_rate(FrameRate::from_hz(rate.clamp(1.0, 60.0) as f32))
        .skip_frames(false);
    let mut encoder =
        Encoder::with_api_config(OpenH264API::from_source(), config).context("the H.264 encoder cannot start")?;
    let mut decoder = Decoder::new().context("the H.264 decoder cannot start")?;
    let (even_width, even_height) = (u32::from(width) & !1, u32::from(height) & !1);
    let mut sets: ParameterSets = (None, None);
    let mut samples: Vec<Mp4Sample> = Vec::with_capacity(pictures as usize);
    for id in 1..=pictures {
        let sample = reader
            .read_sample(track_id, id)?
            .with_context(|| format!("picture {id} is missing"))?;
        if sample.rendering_offset != 0 {
            bail!("the clip reorders its pictures (B-frames), which this rework does not handle");
        }
        let start = milliseconds(sample.start_time);
        let next = milliseconds(sample.start_time + u64::from(sample.duration));
        let mut packet = if id == 1 { parameter_sets.clone() } else { Vec::new() };
        annex_b_sample(&sample.bytes, &mut packet)?;
        let Some(picture) = decoder
            .decode(&packet)
            .with_context(|| format!("picture {id} cannot be decoded"))?
        else {
            // Nothing to show for this sample: the picture before it shows on.
            if let Some(previous) = samples.last_mut() {
                previous.duration += (next - start) as u32;
            }
            continue;
        };
        let (w, h) = picture.dimensions();
        ensure!(
            (w, h) == (usize::from(width), usize::from(height)),
            "picture {id} is {w}x{h}, not the track's {width}x{height}"
        );
        let mut changed = change(rgb_picture(&picture)?);
        ensure!(
            changed.dimensions() == (u32::from(width), u32::from(height)),
            "the change resized a picture"
        );
        if (even_width, even_height) != changed.dimensions() {
            changed = image::imageops::crop_imm(&changed, 0, 0, even_width, even_height).to_image();
        }
        if sample.is_sync {
            encoder.force_intra_frame();
        }
        let yuv = YUVBuffer::from_rgb_source(RgbSliceU8::new(
            changed.as_raw(),
            (even_width as usize, even_height as usize),
        ));
        let stream = encoder.encode(&yuv).context("the H.264 encoder failed")?.to_vec();
        samples.push(timed_sample(&stream, start, next, &mut sets));
    }
    let (Some(sps), Some(pps)) = sets else {
        bail!("no picture of the clip could be decoded");
    };
    let size = (even_width as u16, even_height as u16);
    Ok(Reworked {
        bytes: write_mp4(&samples, sps, pps, size)?,
        pictures: samples.len() as u32,
        width: size.0,
        height: size.1,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::*;
    use crate::clip::{ClipFrame, difference, encode, summarise};

    fn stripes(phase: u32) -> RgbImage {
        RgbImage::from_fn(96, 64, |x, y| {
            let v = if ((x + phase) / 4 + y / 4).is_multiple_of(2) {
                230
            } else {
                20
            };
            image::Rgb([v, v, 255 - v])
        })
    }

    fn clip(frames: u32) -> Vec<u8> {
        let from = Utc::now();
        let frames: Vec<ClipFrame> = (0..frames)
            .map(|i| ClipFrame {
                captured_at: from + TimeDelta::milliseconds(250 + 500 * i64::from(i)),
                image: stripes(i),
            })
            .collect();
        encode(&frames, from, from + TimeDelta::seconds(5), 2.0).unwrap()
    }

    #[test]
    fn every_picture_is_changed_and_the_timing_kept() {
        let original = clip(10);
        let grey = |image: RgbImage| RgbImage::from_pixel(image.width(), image.height(), image::Rgb([128, 128, 128]));
        let reworked = rework(&original, grey).unwrap();
        assert_eq!((reworked.pictures, reworked.width, reworked.height), (10, 96, 64));
        let (before, after) = (summarise(&original).unwrap(), summarise(&reworked.bytes).unwrap());
        assert_eq!(after.frames, before.frames);
        assert!(
            after.duration_ms.abs_diff(before.duration_ms) <= 1,
            "{} {}",
            after.duration_ms,
            before.duration_ms
        );
        let flat = RgbImage::from_pixel(96, 64, image::Rgb([128, 128, 128]));
        assert!(difference(&after.first, &flat) < 4.0);
        assert!(difference(&after.last, &flat) < 4.0);
    }

    #[test]
    fn an_unchanged_clip_comes_back_alike() {
        let original = clip(6);
        let reworked = rework(&original, |image| image).unwrap();
        let (before, after) = (summarise(&original).unwrap(), summarise(&reworked.bytes).unwrap());
        assert!(difference(&after.first, &before.first) < 8.0);
        assert!(difference(&after.last, &before.last) < 8.0);
    }

    #[test]
    fn what_is_no_clip_is_refused_with_a_reason() {
        let error = rework(b"not an mp4 file", |image| image).unwrap_err();
        assert!(error.to_string().contains("MP4"), "{error:#}");
        assert!(rework(&[], |image| image).is_err());
    }
}
