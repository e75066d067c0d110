//! What blurring a camera's privacy masks into a clip costs, as the clip
//! archiver does it: `cargo run --release -p seccom-footage --example mask-clip -- CLIP.mp4`
//! (`scripts/bench-clip-mask` runs it on the pedestrian footage). For a mask
//! over the left third and one over the whole picture it prints the pictures,
//! seconds, pictures a second, the seconds per minute of video, the new size,
//! and the peak memory of the process; the last line is JSON.

use std::time::Instant;

use anyhow::Context;
use seccom_domain::detection::zones::Polygon;
use seccom_footage::clip::summarise;
use seccom_footage::rework::rework;
use seccom_pictures::privacy::PrivacyBlur;

/// The peak resident memory of this process so far, in MiB (`VmHWM`).
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).context("usage: mask-clip CLIP.mp4")?;
    let clip = std::fs::read(&path).with_context(|| format!("cannot read {path}"))?;
    let summary = summarise(&clip)?;
    let minutes = summary.duration_ms as f64 / 60_000.0;
    println!(
        "{path}: {}x{}, {} pictures, {:.1} s, {:.1} MB",
        summary.width,
        summary.height,
        summary.frames,
        summary.duration_ms as f64 / 1000.0,
        clip.len() as f64 / 1e6
    );
    let square = |x2: f64| {
        Polygon::parse(&[vec![0.0, 0.0], vec![x2, 0.0], vec![x2, 1.0], vec![0.0, 1.0]]).map_err(anyhow::Error::msg)
    };
    let mut results = Vec::new();
    for (name, region) in [("left third", square(1.0 / 3.0)?), ("whole picture", square(1.0)?)] {
        let regions = vec![region];
        let mut blur: Option<PrivacyBlur> = None;
        let started = Instant::now();
        let reworked = rework(&clip, |mut picture| {
            blur.get_or_insert_with(|| PrivacyBlur::new(&regions, picture.width(), picture.height()))
                .apply(&mut picture);
            picture
        })?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name}: {} pictures in {seconds:.1} s ({:.0} a second), {:.1} s per minute of video, {:.1} MB, peak {:.0} MiB",
            reworked.pictures,
            f64::from(reworked.pictures) / seconds,
            seconds / minutes,
            reworked.bytes.len() as f64 / 1e6,
            peak_mib()
        );
        results.push(format!(
            "{{\"mask\":\"{name}\",\"pictures\":{},\"seconds\":{seconds:.2},\"secondsPerVideoMinute\":{:.2},\"bytes\":{}}}",
            reworked.pictures,
            seconds / minutes,
            reworked.bytes.len()
        ));
    }
    println!(
        "{{\"clip\":\"{path}\",\"width\":{},\"height\":{},\"videoSeconds\":{:.1},\"inputBytes\":{},\"peakMiB\":{:.0},\"runs\":[{}]}}",
        summary.width,
        summary.height,
        summary.duration_ms as f64 / 1000.0,
        clip.len(),
        peak_mib(),
        results.join(",")
    );
    Ok(())
}
