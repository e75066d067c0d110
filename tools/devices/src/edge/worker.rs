//! A camera's worker thread: every access unit is recorded as it arrived and
//! decoded (H.264 needs every frame to decode the next), and at each sampling
//! instant the picture is judged for motion; a sampled picture that moves (or
//! follows motion within the hold time) while the site is armed is encoded as
//! JPEG and handed to the uploader. Frame numbers count sampling instants from
//! the epoch, so a picture not sent is a gap the intrusion rule sees, and
//! numbers never repeat across restarts.

use std::io::Cursor;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::DateTime;
use image::codecs::jpeg::JpegEncoder;
use openh264::OpenH264API;
use openh264::decoder::{Decoder, DecoderConfig};
use openh264::formats::YUVSource;
use tokio::sync::{mpsc, watch};

use super::motion::{MotionDetector, MotionGate, MotionSettings};
use super::recorder::Recorder;
use super::{Figures, Input, Sample};

/// What a worker needs.
pub struct Worker {
    pub camera: String,
    pub fps: f32,
    pub motion: MotionSettings,
    pub recorder: Option<Recorder>,
    pub dimensions: Arc<Mutex<Option<(u16, u16)>>>,
    pub armed: watch::Receiver<bool>,
    pub samples: mpsc::Sender<Sample>,
    pub figures: Arc<Figures>,
}

fn new_decoder() -> anyhow::Result<Decoder> {
    Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new()).context("the H.264 decoder cannot start")
}

impl Worker {
    /// The sampling instant a capture time falls in.
    fn sample_number(&self, captured_at_ms: i64) -> u64 {
        (captured_at_ms.max(0) as f64 * f64::from(self.fps) / 1000.0) as u64
    }

    /// Runs until every sender of `inputs` is gone.
    pub fn run(mut self, inputs: Receiver<Input>) {
        let mut decoder = match new_decoder() {
            Ok(decoder) => decoder,
            Err(error) => {
                tracing::error!(camera = self.camera, error = format!("{error:#}"), "no decoder");
                return;
            }
        };
        let mut detector = MotionDetector::new(self.motion.clone());
        let mut gate = MotionGate::new(Duration::from_secs_f32(self.motion.hold_seconds.max(0.0)));
        let mut last_sample = 0u64;
        while let Ok(input) = inputs.recv() {
            match input {
                Input::NewStream => match new_decoder() {
                    Ok(fresh) => decoder = fresh,
                    Err(error) => tracing::error!(camera = self.camera, error = format!("{error:#}"), "no decoder"),
                },
                Input::Unit(unit) => {
                    if let Some(recorder) = self.recorder.as_mut()
                        && let Err(error) = recorder.append(&unit)
                    {
                        tracing::error!(camera = self.camera, error = format!("{error:#}"), "cannot record");
                    }
                    let started = Instant::now();
                    let decoded = decoder.decode(&unit.data);
                    self.figures.decoded.fetch_add(1, Ordering::Relaxed);
                    self.figures
                        .decode_micros
                        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    let picture = match decoded {
                        Ok(Some(picture)) => picture,
                        Ok(None) => continue,
                        Err(error) => {
                            tracing::debug!(camera = self.camera, %error, "an access unit did not decode");
                            continue;
                        }
                    };
                    let number = self.sample_number(unit.captured_at_ms);
                    if number <= last_sample {
                        continue;
                    }
                    last_sample = number;
                    let (width, height) = picture.dimensions();
                    *self.dimensions.lock().unwrap_or_else(|p| p.into_inner()) = Some((width as u16, height as u16));
                    if let Some(recorder) = self.recorder.as_mut() {
                        let _ = recorder.flush();
                    }
                    let (stride, _, _) = picture.strides();
                    let moving = detector.moving(picture.y(), width, height, stride);
                    if !self.admit(&mut gate, moving) {
                        continue;
                    }
                    let mut rgb = vec![0; width * height * 3];
                    picture.write_rgb8(&mut rgb);
                    self.send(number, unit.captured_at_ms, &rgb, (width, height));
                }
                Input::Picture { captured_at_ms, jpeg } => {
                    let Ok(image) = image::load_from_memory(&jpeg) else {
                        tracing::warn!(camera = self.camera, "the snapshot is not a picture");
                        continue;
                    };
                    let number = self.sample_number(captured_at_ms).max(last_sample + 1);
                    last_sample = number;
                    let gray = image.to_luma8();
                    let (width, height) = (gray.width() as usize, gray.height() as usize);
                    let moving = detector.moving(gray.as_raw(), width, height, width);
                    if self.admit(&mut gate, moving) {
                        self.queue(number, captured_at_ms, jpeg);
                    }
                }
            }
        }
    }

    /// Counts the sample and says whether it is sent.
    fn admit(&self, gate: &mut MotionGate, moving: bool) -> bool {
        self.figures.sampled.fetch_add(1, Ordering::Relaxed);
        let admitted = gate.admit(Instant::now(), moving);
        if !*self.armed.borrow() {
            self.figures.skipped_disarmed.fetch_add(1, Ordering::Relaxed);
            false
        } else if !admitted {
            self.figures.skipped_no_motion.fetch_add(1, Ordering::Relaxed);
            false
        } else {
            true
        }
    }

    fn send(&self, number: u64, captured_at_ms: i64, rgb: &[u8], (width, height): (usize, usize)) {
        let mut jpeg = Vec::new();
        let encoded = JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), 85).encode(
            rgb,
            width as u32,
            height as u32,
            image::ExtendedColorType::Rgb8,
        );
        match encoded {
            Ok(()) => self.queue(number, captured_at_ms, jpeg),
            Err(error) => tracing::error!(camera = self.camera, %error, "cannot encode a frame"),
        }
    }

    fn queue(&self, number: u64, captured_at_ms: i64, jpeg: Vec<u8>) {
        let Some(captured_at) = DateTime::from_timestamp_millis(captured_at_ms) else {
            return;
        };
        if self
            .samples
            .try_send(Sample {
                seq: number,
                captured_at,
                jpeg,
            })
            .is_err()
        {
            self.figures.dropped_stale.fetch_add(1, Ordering::Relaxed);
        }
    }
}
