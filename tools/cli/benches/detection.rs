//! Detection benchmarks, rerun with `scripts/bench-detector`: model load (cold
//! start), per-frame inference with tract beside onnxruntime on the same ONNX
//! file, input and thread count, preprocessing, the whole handler per frame
//! against the local emulators, and peak memory. Writes
//! docs/benchmarks/detection.md and prints, as its last line, the figures as
//! one JSON object.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use human_detection::detector::{ModelInput, PersonDetector};
use human_detection::frame;
use seccom_local::idp::{LocalIdp, LocalUser};
use seccom_local::{LocalOptions, LocalStack};

const INFERENCE_RUNS: usize = 40;
const HANDLER_FRAMES: u64 = 24;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tools/cli is in the repository")
        .to_path_buf()
}

fn image(name: &str) -> anyhow::Result<image::DynamicImage> {
    let bytes = std::fs::read(root().join("target/test-images").join(name)).context("run scripts/fetch-test-images")?;
    frame::decode(&bytes).map_err(|r| anyhow::anyhow!(r.to_string()))
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn p90(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() * 9 / 10 - 1]
}

fn millis(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Frames through the local stack: S3 upload, notification, fetch, decode, inference, DynamoDB writes.
async fn handler_per_frame() -> anyhow::Result<Vec<f64>> {
    let data = tempfile::tempdir()?;
    let options = LocalOptions {
        port: 0,
        data_dir: data.path().to_path_buf(),
        template: root().join("template.yaml"),
        settings: Default::default(),
        schedule_every: None,
        faults: Default::default(),
    };
    let stack = LocalStack::start(&options).await?;
    let admin = LocalIdp::open(data.path())?.id_token(&LocalUser::admin());
    let api = format!("http://{}", stack.endpoints().alb);
    let http = reqwest::Client::new();
    let post = async |path: String, body: serde_json::Value| -> anyhow::Result<serde_json::Value> {
        Ok(http
            .post(format!("{api}{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await?
            .json()
            .await?)
    };
    let client = post(
        "/api/clients".into(),
        serde_json::json!({ "name": "Bench", "email": "b@bench.example" }),
    )
    .await?;
    let site = post(
        "/api/sites".into(),
        serde_json::json!({ "clientId": client["id"], "name": "B", "address": "B" }),
    )
    .await?;
    let camera = post(
        format!("/api/sites/{}/cameras", site["id"].as_str().unwrap_or_default()),
        serde_json::json!({ "name": "B" }),
    )
    .await?;
    let camera = seccom_devices::DeviceLink::new(
        &api,
        camera["id"].as_str().unwrap_or_default(),
        camera["credential"].as_str().unwrap_or_default(),
    );
    let frames = [
        std::fs::read(root().join("target/test-images/astronaut.png"))?,
        std::fs::read(root().join("target/test-images/coffee.png"))?,
    ];
    let mut samples = Vec::new();
    for seq in 0..HANDLER_FRAMES {
        let started = Instant::now();
        camera
            .send_frame(seq, chrono::Utc::now(), frames[(seq % 2) as usize].clone())
            .await?;
        stack.settled().await;
        samples.push(millis(started));
    }
    stack.stop().await;
    Ok(samples)
}

fn main() -> anyhow::Result<()> {
    let mut loads = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        PersonDetector::load()?;
        loads.push(millis(started));
    }
    let detector = PersonDetector::load()?;

    let astronaut = image("astronaut.png")?;
    let mut preprocessing = Vec::new();
    for _ in 0..INFERENCE_RUNS {
        let started = Instant::now();
        std::hint::black_box(ModelInput::from_image(&astronaut));
        preprocessing.push(millis(started));
    }
    let input = ModelInput::from_image(&astronaut);
    for _ in 0..3 {
        detector.detect_input(&input)?;
    }
    let mut inference = Vec::new();
    let mut tract_score = 0.0;
    for _ in 0..INFERENCE_RUNS {
        let started = Instant::now();
        tract_score = detector.detect_input(&input)?.score;
        inference.push(millis(started));
    }

    let input_file = tempfile::NamedTempFile::new()?;
    std::fs::write(input_file.path(), input.bytes())?;
    let python = std::env::var("SECCOM_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg(root().join("scripts/bench-onnxruntime.py"))
        .arg(root().join("models/person-detector.onnx"))
        .arg(input_file.path())
        .arg(INFERENCE_RUNS.to_string())
        .output()
        .with_context(|| format!("cannot run {python}"))?;
    anyhow::ensure!(
        output.status.success(),
        "onnxruntime failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ort: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let ort_median = ort["median_ms"].as_f64().unwrap_or(f64::NAN);

    let handler = tokio::runtime::Runtime::new()?.block_on(handler_per_frame())?;

    let tract_median = median(inference.clone());
    let tract_min = inference.iter().copied().fold(f64::INFINITY, f64::min);
    let ort_min = ort["min_ms"].as_f64().unwrap_or(f64::NAN);
    let summary = serde_json::json!({
        "tractMinMs": tract_min,
        "tractMedianMs": tract_median,
        "onnxruntimeMinMs": ort_min,
        "onnxruntimeMedianMs": ort_median,
        "ratioMin": tract_min / ort_min,
        "tractLoadMs": median(loads.clone()),
        "onnxruntimeLoadMs": ort["load_ms"].as_f64().unwrap_or(f64::NAN),
        "handlerMedianMs": median(handler.clone()),
        "onnxruntimeVersion": ort["version"],
    });
    let report = format!(
        "# Detection benchmark results\n\n\
         Generated by `scripts/bench-detector` on {date} ({cpus} CPUs visible; tract and onnxruntime each on one thread).\n\n\
         | Measure | Median | p90 |\n|---|---|---|\n\
         | Model load and optimise (tract, cold start) | {load:.1} ms | |\n\
         | Inference, tract-onnx (300x300, one thread) | {tract:.1} ms | {tract_p90:.1} ms |\n\
         | Inference, onnxruntime {ort_version} (same model, input, one thread) | {ort_median:.1} ms | {ort_p90:.1} ms |\n\
         | **tract / onnxruntime** | **{ratio:.2}x** (minimum of {runs}: {ratio_min:.2}x) | |\n\
         | Model load, onnxruntime | {ort_load:.1} ms | |\n\
         | Preprocessing (512x512 PNG already decoded, resize + normalise) | {pre:.2} ms | |\n\
         | Whole handler per frame, local stack (presign, S3 PUT, notification, GetObject, decode, inference, DynamoDB) | {handler:.1} ms | {handler_p90:.1} ms |\n\
         | Peak resident memory of the benchmark process | {rss:.0} MiB | |\n\n\
         Max person score on astronaut.png: tract {tract_score:.5}, onnxruntime {ort_score:.5}.\n",
        date = chrono::Utc::now().format("%Y-%m-%d"),
        cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        load = median(loads),
        tract = tract_median,
        tract_p90 = p90(inference),
        ort_version = ort["version"].as_str().unwrap_or("?"),
        ort_p90 = ort["p90_ms"].as_f64().unwrap_or(f64::NAN),
        ratio = tract_median / ort_median,
        runs = INFERENCE_RUNS,
        ratio_min = tract_min / ort_min,
        ort_load = ort["load_ms"].as_f64().unwrap_or(f64::NAN),
        pre = median(preprocessing),
        handler = median(handler.clone()),
        handler_p90 = p90(handler),
        rss = peak_rss_mib(),
        ort_score = ort["score"].as_f64().unwrap_or(f64::NAN),
    );
    print!("{report}");
    std::fs::write(root().join("docs/benchmarks/detection.md"), report)?;
    println!("{summary}");
    Ok(())
}
