//! Clips as a camera delivers them: H.264 in an MP4 file, which every browser
//! plays in a `<video>` element. Each frame keeps its capture time as its
//! presentation time, counted from the start of the requested window.

use std::io::Cursor;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use image::RgbImage;
use mp4::{AvcConfig, FourCC, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType};
use openh264::OpenH264API;
use openh264::encoder::{Encoder, EncoderConfig, FrameRate};
use openh264::formats::{RgbSliceU8, YUVBuffer};

/// Milliseconds per second: the MP4 timescale used, so sample times read as milliseconds.
const TIMESCALE: u32 = 1000;

/// One recorded frame.
pub struct ClipFrame {
    pub captured_at: DateTime<Utc>,
    pub image: RgbImage,
}

/// NAL units of an Annex B stream, without their start codes.
pub fn nal_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut units = Vec::new();
    let mut start = None;
    let mut index = 0;
    while index + 3 <= stream.len() {
        if stream[index..index + 3] == [0, 0, 1] {
            if let Some(from) = start {
                let mut end = index;
                while end > from && stream[end - 1] == 0 {
                    end -= 1;
                }
                units.push(&stream[from..end]);
            }
            index += 3;
            start = Some(index);
        } else {
            index += 1;
        }
    }
    if let Some(from) = start {
        units.push(&stream[from..]);
    }
    units
}

/// The first sequence and picture parameter sets seen.
pub type ParameterSets = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The MP4 sample of one Annex B access unit shown from `start` until `next`
/// (milliseconds; at least 1 ms), its parameter sets going to `parameter_sets`.
pub fn timed_sample(access_unit: &[u8], start: u64, next: u64, parameter_sets: &mut ParameterSets) -> Mp4Sample {
    let (sample, is_sync) = mp4_sample(access_unit, parameter_sets);
    Mp4Sample {
        start_time: start,
        duration: (next.max(start + 1) - start) as u32,
        rendering_offset: 0,
        is_sync,
        bytes: bytes::Bytes::from(sample),
    }
}

/// An MP4 sample (length-prefixed NAL units) from one Annex B access unit, and
/// whether it is a keyframe; its parameter sets go to `parameter_sets` (the
/// first seen are kept), delimiters and supplemental information are dropped.
fn mp4_sample(access_unit: &[u8], parameter_sets: &mut ParameterSets) -> (Vec<u8>, bool) {
    let mut sample = Vec::with_capacity(access_unit.len());
    let mut is_sync = false;
    for nal in nal_units(access_unit) {
        match nal.first().map(|b| b & 0x1f) {
            Some(7) => parameter_sets.0 = parameter_sets.0.take().or_else(|| Some(nal.to_vec())),
            Some(8) => parameter_sets.1 = parameter_sets.1.take().or_else(|| Some(nal.to_vec())),
            Some(6) | Some(9) | None => {}
            Some(kind) => {
                is_sync |= kind == 5;
                sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                sample.extend_from_slice(nal);
            }
        }
    }
    (sample, is_sync)
}

/// Encodes frames (oldest first) captured within `from`..`to` into an MP4 file;
/// the video lasts until `to`, the last frame showing until then.
pub fn encode(frames: &[ClipFrame], from: DateTime<Utc>, to: DateTime<Utc>, fps: f32) -> anyhow::Result<Vec<u8>> {
    let Some(first) = frames.first() else {
        bail!("no recorded frame falls in the requested window");
    };
    // H.264 with 4:2:0 chroma needs even dimensions.
    let (width, height) = (first.image.width() & !1, first.image.height() & !1);
    let config = EncoderConfig::new()
        .max_frame_rate(FrameRate::from_hz(fps))
        .skip_frames(false);
    let mut encoder =
        Encoder::with_api_config(OpenH264API::from_source(), config).context("the H.264 encoder cannot start")?;
    let offset = |at: DateTime<Utc>| (at - from).num_milliseconds().max(0) as u64;
    let end = offset(to).max(offset(frames[frames.len() - 1].captured_at) + 1);
    let mut parameter_sets: ParameterSets = (None, None);
    let mut samples = Vec::with_capacity(frames.len());
    for (index, frame) in frames.iter().enumerate() {
        let image = if frame.image.dimensions() == (width, height) {
            std::borrow::Cow::Borrowed(&frame.image)
        } else {
            std::borrow::Cow::Owned(image::imageops::resize(
                &frame.image,
                width,
                height,
                image::imageops::FilterType::Triangle,
            ))
        };
        let yuv = YUVBuffer::from_rgb_source(RgbSliceU8::new(image.as_raw(), (width as usize, height as usize)));
        let stream = encoder.encode(&yuv).context("the H.264 encoder failed")?.to_vec();
        let start = offset(frame.captured_at);
        let next = frames.get(index + 1).map_or(end, |f| offset(f.captured_at));
        samples.push(timed_sample(&stream, start, next, &mut parameter_sets));
    }
    let (Some(sps), Some(pps)) = parameter_sets else {
        bail!("the encoder produced no sequence or picture parameter set");
    };
    // The first sample starts at the first frame's capture time: an edit list
    // would be needed to show a blank lead-in, so the gap (under one frame
    // interval) is folded into the first sample instead.
    if let Some(first) = samples.first_mut() {
        first.duration += first.start_time as u32;
        first.start_time = 0;
    }
    write_mp4(&samples, sps, pps, (width as u16, height as u16))
}

/// An MP4 file of H.264 samples (length-prefixed NAL units, times in
/// milliseconds) with its parameter sets, `moov` before `mdat` so a browser
/// can start playing before the whole file has arrived.
pub fn write_mp4(
    samples: &[Mp4Sample],
    sps: Vec<u8>,
    pps: Vec<u8>,
    (width, height): (u16, u16),
) -> anyhow::Result<Vec<u8>> {
    let brand = |code: &[u8; 4]| FourCC { value: *code };
    let mut writer = Mp4Writer::write_start(
        Cursor::new(Vec::new()),
        &Mp4Config {
            major_brand: brand(b"isom"),
            minor_version: 512,
            compatible_brands: vec![brand(b"isom"), brand(b"iso2"), brand(b"avc1"), brand(b"mp41")],
            timescale: TIMESCALE,
        },
    )?;
    writer.add_track(&TrackConfig {
        track_type: TrackType::Video,
        timescale: TIMESCALE,
        language: "und".into(),
        media_conf: MediaConfig::AvcConfig(AvcConfig {
            width,
            height,
            seq_param_set: sps,
            pic_param_set: pps,
        }),
    })?;
    for sample in samples {
        writer.write_sample(1, sample)?;
    }
    writer.write_end()?;
    moov_first(writer.into_writer().into_inner())
}

/// Top-level boxes of an MP4 file: (type, start, length).
fn boxes(file: &[u8], from: usize, to: usize) -> anyhow::Result<Vec<([u8; 4], usize, usize)>> {
    let mut found = Vec::new();
    let mut at = from;
    while at + 8 <= to {
        let size = u32::from_be_bytes(file[at..at + 4].try_into()?) as usize;
        let kind: [u8; 4] = file[at + 4..at + 8].try_into()?;
        let size = match size {
            1 => usize::try_from(u64::from_be_bytes(file[at + 8..at + 16].try_into()?))?,
            0 => to - at,
            size => size,
        };
        if size < 8 || at + size > to {
            bail!("a damaged MP4 box at byte {at}");
        }
        found.push((kind, at, size));
        at += size;
    }
    Ok(found)
}

/// Moves `moov` ahead of `mdat`, shifting every chunk offset (`stco`, `co64`) by its size.
fn moov_first(mut file: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let top = boxes(&file, 0, file.len())?;
    let find = |kind: &[u8; 4]| top.iter().find(|(k, _, _)| k == kind).copied();
    let (Some((_, mdat_at, _)), Some((_, moov_at, moov_len))) = (find(b"mdat"), find(b"moov")) else {
        bail!("the MP4 writer produced no mdat or moov");
    };
    if moov_at < mdat_at {
        return Ok(file);
    }
    // Walk moov's containers down to the chunk offset tables and shift them.
    let mut pending = vec![(moov_at + 8, moov_at + moov_len)];
    while let Some((from, to)) = pending.pop() {
        for (kind, at, size) in boxes(&file, from, to)? {
            match &kind {
                b"trak" | b"mdia" | b"minf" | b"stbl" => pending.push((at + 8, at + size)),
                b"stco" => {
                    let count = u32::from_be_bytes(file[at + 12..at + 16].try_into()?) as usize;
                    for entry in 0..count {
                        let place = at + 16 + entry * 4;
                        let offset = u32::from_be_bytes(file[place..place + 4].try_into()?);
                        let shifted = u32::try_from(offset as usize + moov_len)?;
                        file[place..place + 4].copy_from_slice(&shifted.to_be_bytes());
                    }
                }
                b"co64" => {
                    let count = u32::from_be_bytes(file[at + 12..at + 16].try_into()?) as usize;
                    for entry in 0..count {
                        let place = at + 16 + entry * 8;
                        let offset = u64::from_be_bytes(file[place..place + 8].try_into()?);
                        file[place..place + 8].copy_from_slice(&(offset + moov_len as u64).to_be_bytes());
                    }
                }
                _ => {}
            }
        }
    }
    let moov: Vec<u8> = file[moov_at..moov_at + moov_len].to_vec();
    file.drain(moov_at..moov_at + moov_len);
    file.splice(mdat_at..mdat_at, moov);
    Ok(file)
}

/// An H.264 track's parameter sets (`avcC`) as an Annex B stream, for a decoder's first packet.
pub fn annex_b_parameter_sets(track: &mp4::Mp4Track) -> anyhow::Result<Vec<u8>> {
    let avc = &track
        .trak
        .mdia
        .minf
        .stbl
        .stsd
        .avc1
        .as_ref()
        .context("the track is not H.264")?
        .avcc;
    let mut annex_b = Vec::new();
    for set in avc.sequence_parameter_sets.iter().chain(&avc.picture_parameter_sets) {
        annex_b.extend_from_slice(&[0, 0, 0, 1]);
        annex_b.extend_from_slice(&set.bytes);
    }
    Ok(annex_b)
}

/// Appends an MP4 sample's length-prefixed NAL units to `packet` as Annex B.
pub fn annex_b_sample(sample: &[u8], packet: &mut Vec<u8>) -> anyhow::Result<()> {
    let mut rest = sample;
    while rest.len() >= 4 {
        let length = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let unit = rest.get(4..4 + length).context("a NAL unit is cut short")?;
        packet.extend_from_slice(&[0, 0, 0, 1]);
        packet.extend_from_slice(unit);
        rest = &rest[4 + length..];
    }
    Ok(())
}

/// A decoded picture as RGB.
pub fn rgb_picture(picture: &openh264::decoder::DecodedYUV<'_>) -> anyhow::Result<RgbImage> {
    use openh264::formats::YUVSource;
    let (w, h) = picture.dimensions();
    let mut rgb = vec![0; w * h * 3];
    picture.write_rgb8(&mut rgb);
    RgbImage::from_raw(w as u32, h as u32, rgb).context("a decoded picture has the wrong size")
}

/// What a clip holds, read back from its MP4 file.
pub struct ClipSummary {
    pub width: u16,
    pub height: u16,
    pub frames: u32,
    /// Milliseconds.
    pub duration_ms: u64,
    /// The first and last frames, decoded.
    pub first: RgbImage,
    pub last: RgbImage,
}

/// Reads a clip: its track, length, and its first and last pictures.
pub fn summarise(mp4_bytes: &[u8]) -> anyhow::Result<ClipSummary> {
    let mut reader = mp4::Mp4Reader::read_header(Cursor::new(mp4_bytes), mp4_bytes.len() as u64)?;
    let (&track_id, track) = reader.tracks().iter().next().context("the clip has no track")?;
    let (width, height) = (track.width(), track.height());
    let frames = track.sample_count();
    let duration_ms = track.duration().as_millis() as u64;
    let parameter_sets = annex_b_parameter_sets(track)?;
    let mut decoder = openh264::decoder::Decoder::new()?;
    let mut first = None;
    let mut last = None;
    for id in 1..=frames {
        let sample = reader.read_sample(track_id, id)?.context("a sample is missing")?;
        let mut packet = if id == 1 { parameter_sets.clone() } else { Vec::new() };
        annex_b_sample(&sample.bytes, &mut packet)?;
        if let Some(picture) = decoder.decode(&packet)? {
            let image = rgb_picture(&picture)?;
            if first.is_none() {
                first = Some(image.clone());
            }
            last = Some(image);
        }
    }
    Ok(ClipSummary {
        width,
        height,
        frames,
        duration_ms,
        first: first.context("no picture could be decoded")?,
        last: last.context("no picture could be decoded")?,
    })
}

/// How different two pictures of the same size are: mean absolute difference per channel, 0 to 255.
pub fn difference(a: &RgbImage, b: &RgbImage) -> f64 {
    let b = if a.dimensions() == b.dimensions() {
        std::borrow::Cow::Borrowed(b)
    } else {
        std::borrow::Cow::Owned(image::imageops::resize(
            b,
            a.width(),
            a.height(),
            image::imageops::FilterType::Triangle,
        ))
    };
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(shade: u8, at: DateTime<Utc>) -> ClipFrame {
        ClipFrame {
            captured_at: at,
            image: RgbImage::from_fn(96, 64, |x, _| image::Rgb([shade, (x * 2) as u8, 255 - shade])),
        }
    }

    #[test]
    fn a_clip_plays_from_the_window_start_to_its_end_with_its_frames() {
        let from = Utc::now();
        let frames: Vec<ClipFrame> = (0..10)
            .map(|i| frame(20 * i as u8, from + chrono::TimeDelta::milliseconds(250 + 500 * i)))
            .collect();
        let to = from + chrono::TimeDelta::seconds(5);
        let bytes = encode(&frames, from, to, 2.0).unwrap();
        let summary = summarise(&bytes).unwrap();
        assert_eq!((summary.width, summary.height, summary.frames), (96, 64, 10));
        assert!((4900..=5100).contains(&summary.duration_ms), "{}", summary.duration_ms);
        assert!(difference(&summary.first, &frames[0].image) < 8.0);
        assert!(difference(&summary.last, &frames[9].image) < 8.0);
        assert!(difference(&summary.last, &frames[0].image) > 50.0);
    }

    #[test]
    fn start_codes_of_both_lengths_split_the_stream() {
        let stream = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5];
        assert_eq!(nal_units(&stream), vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4, 5]]);
    }
}
