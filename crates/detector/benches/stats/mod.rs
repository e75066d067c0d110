//! The statistics both halves of the detector benchmark report (this crate's
//! `inference` bench and seccom-tools' `invocation` bench, which includes this
//! file by path): medians, 90th percentiles and elapsed milliseconds.

use std::time::Instant;

pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

pub fn p90(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() * 9 / 10 - 1]
}

pub fn millis(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
