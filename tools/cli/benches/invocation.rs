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
use human_detection::detector::{self, ModelInput, PersonDetector};
use human_detection::frame;
use seccom_local::idp::{LocalIdp, LocalUser};
use seccom_local::{LocalOptions, LocalStack};

const INFERENCE_RUNS: usize = 40;
const HANDLER_FRAMES: u64 = 48;
/// Added to each DynamoDB and S3 request for a second handler measure: about an
/// in-region round trip to DynamoDB (S3 GETs take longer in AWS).
const IN_REGION_ROUND_TRIP_MS: u64 = 5;
/// Frames per bundle in the bundled measure (`HANDLER_FRAMES` is a multiple).
const BUNDLE_FRAMES: u64 = 8;

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

/// What a cold start spends, stage by stage, on the ONNX file (how the function
/// loaded it until 2026-12-02), and on the decluttered NNEF it embeds now with
/// tract's declutter passes run again (the function skips them: its own load is
/// the cold start row); and the inference of the plan made from the ONNX file.
#[derive(Default)]
struct LoadStages {
    onnx_parse: Vec<f64>,
    onnx_analyse: Vec<f64>,
    onnx_declutter: Vec<f64>,
    onnx_optimise: Vec<f64>,
    nnef_read: Vec<f64>,
    nnef_optimise: Vec<f64>,
    /// The plan made from the ONNX file, on the benchmark's input (median of 10).
    onnx_plan_inference: f64,
}

/// Where tract's inference time goes: the detector's plan's operators by kind,
/// summed over `runs` runs on `input`, as (kind, ms per run, nodes), largest first.
fn operator_profile(
    detector: &PersonDetector,
    input: &ModelInput,
    runs: usize,
) -> anyhow::Result<Vec<(String, f64, usize)>> {
    use tract_onnx::prelude::*;
    let mut by_kind: std::collections::BTreeMap<String, (f64, std::collections::BTreeSet<usize>)> = Default::default();
    for _ in 0..runs {
        let mut state = detector.plan().spawn()?;
        state.run_plan_with_eval(
            tvec!(input.tensor().clone().into()),
            |context, op_state, node, inputs| {
                let started = Instant::now();
                let outputs = tract_onnx::tract_core::plan::eval(context, op_state, node, inputs);
                let entry = by_kind.entry(node.op().name().to_string()).or_default();
                entry.0 += millis(started);
                entry.1.insert(node.id);
                outputs
            },
        )?;
    }
    let mut kinds: Vec<_> = by_kind
        .into_iter()
        .map(|(kind, (total, nodes))| (kind, total / runs as f64, nodes.len()))
        .collect();
    kinds.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(kinds)
}

/// The ONNX file read from disk and parsed for the function's fixed input.
fn onnx_model() -> anyhow::Result<tract_onnx::prelude::InferenceModel> {
    detector::onnx_model(&std::fs::read(root().join("models/person-detector.onnx"))?)
}

fn load_stages(input: &ModelInput) -> anyhow::Result<LoadStages> {
    use tract_onnx::prelude::*;
    let nnef = std::fs::read(root().join("models/person-detector.nnef.tar"))?;
    let mut stages = LoadStages::default();
    for _ in 0..5 {
        let started = Instant::now();
        let parsed = onnx_model()?;
        stages.onnx_parse.push(millis(started));
        let started = Instant::now();
        let typed = parsed.into_typed()?;
        stages.onnx_analyse.push(millis(started));
        let started = Instant::now();
        let decluttered = typed.into_decluttered()?;
        stages.onnx_declutter.push(millis(started));
        let started = Instant::now();
        std::hint::black_box(decluttered.into_optimized()?.into_runnable()?);
        stages.onnx_optimise.push(millis(started));

        let started = Instant::now();
        let read = detector::nnef().model_for_read(&mut std::io::Cursor::new(&nnef))?;
        stages.nnef_read.push(millis(started));
        let started = Instant::now();
        std::hint::black_box(read.into_optimized()?.into_runnable()?);
        stages.nnef_optimise.push(millis(started));
    }
    let onnx_plan = onnx_model()?.into_optimized()?.into_runnable()?;
    let mut samples = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        onnx_plan.run(tvec!(input.tensor().clone().into()))?;
        samples.push(millis(started));
    }
    stages.onnx_plan_inference = median(samples);
    Ok(stages)
}

/// A local stack of the benchmark's own, with `round_trip` added to every
/// DynamoDB and S3 request, as the network between a function and those services would.
struct BenchStack {
    stack: LocalStack,
    api: String,
    admin: String,
    _data: tempfile::TempDir,
}

impl BenchStack {
    async fn start(round_trip: std::time::Duration) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let options = LocalOptions {
            port: 0,
            data_dir: data.path().to_path_buf(),
            template: root().join("template.yaml"),
            settings: Default::default(),
            schedule_every: None,
            faults: seccom_local::faults::FaultOptions {
                latency: round_trip,
                ..Default::default()
            },
        };
        let stack = LocalStack::start(&options).await?;
        let admin = LocalIdp::open(data.path())?.id_token(&LocalUser::admin());
        let api = format!("http://{}", stack.endpoints().alb);
        Ok(Self {
            stack,
            api,
            admin,
            _data: data,
        })
    }

    /// A new camera at a new site of a new client; the site disarmed unless `armed`.
    async fn camera(&self, armed: bool) -> anyhow::Result<seccom_devices::DeviceLink> {
        let http = reqwest::Client::new();
        let post = async |path: String, body: serde_json::Value| -> anyhow::Result<serde_json::Value> {
            Ok(http
                .post(format!("{}{path}", self.api))
                .bearer_auth(&self.admin)
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
        let site = site["id"].as_str().unwrap_or_default();
        let camera = post(format!("/api/sites/{site}/cameras"), serde_json::json!({ "name": "B" })).await?;
        if !armed {
            http.put(format!("{}/api/sites/{site}/arming", self.api))
                .bearer_auth(&self.admin)
                .json(&serde_json::json!({ "mode": "disarmed" }))
                .send()
                .await?
                .error_for_status()?;
        }
        Ok(seccom_devices::DeviceLink::new(
            &self.api,
            camera["id"].as_str().unwrap_or_default(),
            camera["credential"].as_str().unwrap_or_default(),
        ))
    }

    /// Sends frames (alone or as one bundle) and waits until every consequence
    /// settled; answers the time per frame and the detector invocation's
    /// duration (Lambda's `Duration`) per frame.
    async fn send(
        &self,
        camera: &seccom_devices::DeviceLink,
        seqs: std::ops::Range<u64>,
    ) -> anyhow::Result<(f64, f64)> {
        let mut frames = Vec::new();
        for seq in seqs {
            // Consecutive frames of the pedestrian footage, as a camera sends them.
            let frame = std::fs::read(root().join(format!("target/demo-frames/{:04}.jpg", 100 + seq)))?;
            frames.push((seq, chrono::Utc::now(), frame));
        }
        let started = Instant::now();
        camera.send_bundle(&frames).await?;
        self.stack.settled().await;
        let count = frames.len() as f64;
        let invocation = self
            .stack
            .invocation_durations("HumanDetectionFunction")
            .last()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
        Ok((millis(started) / count, invocation / count))
    }
}

/// Single frames through the local stack: S3 upload, notification, fetch,
/// decode, inference, DynamoDB writes. Answers each frame's time from asking
/// for the upload URL until the stack settled, and the detector's invocations.
async fn handler_per_frame(round_trip: std::time::Duration) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let bench = BenchStack::start(round_trip).await?;
    let camera = bench.camera(true).await?;
    let (mut end_to_end, mut invocations) = (Vec::new(), Vec::new());
    for seq in 0..HANDLER_FRAMES {
        let (total, invocation) = bench.send(&camera, seq..seq + 1).await?;
        end_to_end.push(total);
        invocations.push(invocation);
    }
    bench.stack.stop().await;
    Ok((end_to_end, invocations))
}

/// The same frames sent alone by one camera and in bundles of `BUNDLE_FRAMES`
/// by another, round by round in one stack (so both see the same load), at
/// disarmed sites: each frame is fetched, analysed and recorded but decides
/// nothing, the path of most frames (those without a person), which the cost
/// model prices. Answers the detector's invocation time per frame, single and
/// bundled, and the end to end time per frame of the bundles.
async fn single_and_bundled(round_trip: std::time::Duration) -> anyhow::Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let bench = BenchStack::start(round_trip).await?;
    let (alone, bundled) = (bench.camera(false).await?, bench.camera(false).await?);
    let (mut single, mut per_frame, mut end_to_end) = (Vec::new(), Vec::new(), Vec::new());
    for first in (0..HANDLER_FRAMES).step_by(BUNDLE_FRAMES as usize) {
        for seq in first..first + BUNDLE_FRAMES {
            single.push(bench.send(&alone, seq..seq + 1).await?.1);
        }
        let (total, invocation) = bench.send(&bundled, first..first + BUNDLE_FRAMES).await?;
        per_frame.push(invocation);
        end_to_end.push(total);
    }
    bench.stack.stop().await;
    Ok((single, per_frame, end_to_end))
}

fn main() -> anyhow::Result<()> {
    let mut loads = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        PersonDetector::load()?;
        loads.push(millis(started));
    }
    let detector = PersonDetector::load()?;

    // A camera's frame as the detector receives it: a 768x576 JPEG of the pedestrian footage.
    let jpeg = std::fs::read(root().join("target/demo-frames/0100.jpg")).context("run scripts/fetch-demo-footage")?;
    let (mut decoding, mut frame_work) = (Vec::new(), Vec::new());
    for _ in 0..INFERENCE_RUNS {
        let started = Instant::now();
        let decoded = frame::decode(&jpeg).map_err(|r| anyhow::anyhow!(r.to_string()))?;
        decoding.push(millis(started));
        std::hint::black_box(detector.detect(&decoded)?);
        frame_work.push(millis(started));
    }
    let camera_frame = frame::decode(&jpeg).map_err(|r| anyhow::anyhow!(r.to_string()))?;
    let mut camera_preprocessing = Vec::new();
    for _ in 0..INFERENCE_RUNS {
        let started = Instant::now();
        std::hint::black_box(ModelInput::from_image(&camera_frame)?);
        camera_preprocessing.push(millis(started));
    }

    let astronaut = image("astronaut.png")?;
    let mut preprocessing = Vec::new();
    for _ in 0..INFERENCE_RUNS {
        let started = Instant::now();
        std::hint::black_box(ModelInput::from_image(&astronaut)?);
        preprocessing.push(millis(started));
    }
    let input = ModelInput::from_image(&astronaut)?;
    let stages = load_stages(&input)?;
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

    let runtime = tokio::runtime::Runtime::new()?;
    let in_region = std::time::Duration::from_millis(IN_REGION_ROUND_TRIP_MS);
    let (end_to_end, handler) = runtime.block_on(handler_per_frame(std::time::Duration::ZERO))?;
    let (_, handler_in_region) = runtime.block_on(handler_per_frame(in_region))?;
    let (unarmed_single, bundled_in_region, bundled_end_to_end) = runtime.block_on(single_and_bundled(in_region))?;
    let profile = operator_profile(&detector, &input, 10)?;
    let profiled: f64 = profile.iter().map(|(_, ms, _)| ms).sum();
    let mut operators = String::from(
        "\n## Where tract's inference time goes\n\n\
         The optimised plan's operators by kind, timed one by one (10 runs; timing each operator adds a little).\n\n\
         | Operator | Nodes | ms per run | Share |\n|---|---|---|---|\n",
    );
    for (kind, ms, nodes) in &profile {
        operators.push_str(&format!(
            "| {kind} | {nodes} | {ms:.2} | {:.1} % |\n",
            ms / profiled * 100.0
        ));
    }

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
        "handlerToInference": median(handler.clone()) / tract_median,
        "handlerWithRoundTripsMedianMs": median(handler_in_region.clone()),
        "unarmedSingleMedianMs": median(unarmed_single.clone()),
        "bundledHandlerPerFrameMedianMs": median(bundled_in_region.clone()),
        "bundledToSingle": median(bundled_in_region.clone()) / median(unarmed_single.clone()),
        "frameWorkMedianMs": median(frame_work.clone()),
        "endToEndMedianMs": median(end_to_end.clone()),
        "tractLoadFromOnnxMs": median(stages.onnx_parse.clone())
            + median(stages.onnx_analyse.clone())
            + median(stages.onnx_declutter.clone())
            + median(stages.onnx_optimise.clone()),
        "onnxruntimeVersion": ort["version"],
    });
    let report = format!(
        "# Detection benchmark results\n\n\
         Generated by `scripts/bench-detector` on {date} ({cpus} CPUs visible; tract and onnxruntime each on one thread).\n\n\
         | Measure | Median | p90 |\n|---|---|---|\n\
         | Model load (tract, cold start: the embedded decluttered NNEF read, code generated) | {load:.1} ms | |\n\
         | The same from the ONNX file: read from disk / analyse / declutter / optimise | {onnx_parse:.1} / {onnx_analyse:.1} / {onnx_declutter:.1} / {onnx_optimise:.1} ms | |\n\
         | The NNEF with tract's declutter passes run again: read / optimise | {nnef_read:.1} / {nnef_optimise:.1} ms | |\n\
         | Inference of the plan made from the ONNX file (same input, median of 10) | {onnx_plan_inference:.1} ms | |\n\
         | Inference, tract-onnx (300x300, one thread) | {tract:.1} ms | {tract_p90:.1} ms |\n\
         | Inference, onnxruntime {ort_version} (same model, input, one thread) | {ort_median:.1} ms | {ort_p90:.1} ms |\n\
         | **tract / onnxruntime** | **{ratio:.2}x** (minimum of {runs}: {ratio_min:.2}x) | |\n\
         | Model load, onnxruntime | {ort_load:.1} ms | |\n\
         | Preprocessing (512x512 PNG already decoded, resize + normalise) | {pre:.2} ms | |\n\
         | Camera frame (768x576 JPEG): decode | {decode:.2} ms | |\n\
         | Camera frame: resize + normalise | {camera_pre:.2} ms | |\n\
         | Camera frame: decode, resize, inference, boxes | {frame_work:.1} ms | {frame_work_p90:.1} ms |\n\
         | Detector invocation per frame, local stack (GetObject, decode, inference, DynamoDB reads and writes) | {handler:.1} ms | {handler_p90:.1} ms |\n\
         | **Detector invocation / inference** | **{handler_ratio:.2}x** | |\n\
         | Detector invocation with {round_trip} ms added to every DynamoDB and S3 request | {handler_in_region:.1} ms | {handler_in_region_p90:.1} ms |\n\
         | The same at a disarmed site (each frame analysed and recorded, no rule: the path of a frame without a person) | {unarmed_single:.1} ms | {unarmed_single_p90:.1} ms |\n\
         | The same frames sent in bundles of {bundle} by a second camera of that site, round by round in the same stack, per frame | {bundled:.1} ms | {bundled_p90:.1} ms |\n\
         | **Bundled / single, per frame** | **{bundled_ratio:.2}x** | |\n\
         | End to end per frame in bundles of {bundle} (the bundle's time shared among its frames) | {bundled_end_to_end:.1} ms | |\n\
         | End to end per frame, local stack (presign, S3 PUT, notification, invocation, until every consequence settled) | {end_to_end:.1} ms | {end_to_end_p90:.1} ms |\n\
         | Peak resident memory of the benchmark process | {rss:.0} MiB | |\n\n\
         Max person score on astronaut.png: tract {tract_score:.5}, onnxruntime {ort_score:.5}.\n",
        date = chrono::Utc::now().format("%Y-%m-%d"),
        cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        load = median(loads),
        nnef_read = median(stages.nnef_read),
        nnef_optimise = median(stages.nnef_optimise),
        onnx_parse = median(stages.onnx_parse),
        onnx_analyse = median(stages.onnx_analyse),
        onnx_declutter = median(stages.onnx_declutter),
        onnx_plan_inference = stages.onnx_plan_inference,
        onnx_optimise = median(stages.onnx_optimise),
        decode = median(decoding),
        camera_pre = median(camera_preprocessing),
        frame_work = median(frame_work.clone()),
        frame_work_p90 = p90(frame_work),
        handler_ratio = median(handler.clone()) / tract_median,
        round_trip = IN_REGION_ROUND_TRIP_MS,
        bundle = BUNDLE_FRAMES,
        bundled = median(bundled_in_region.clone()),
        bundled_ratio = median(bundled_in_region.clone()) / median(unarmed_single.clone()),
        unarmed_single = median(unarmed_single.clone()),
        unarmed_single_p90 = p90(unarmed_single),
        bundled_p90 = p90(bundled_in_region),
        bundled_end_to_end = median(bundled_end_to_end),
        handler_in_region = median(handler_in_region.clone()),
        handler_in_region_p90 = p90(handler_in_region),
        end_to_end = median(end_to_end.clone()),
        end_to_end_p90 = p90(end_to_end),
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
    let report = report + &operators;
    print!("{report}");
    std::fs::write(root().join("docs/benchmarks/detection.md"), report)?;
    println!("{summary}");
    Ok(())
}
