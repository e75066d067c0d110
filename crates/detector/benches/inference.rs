//! The inference half of the detector benchmark (`scripts/bench-detector`
//! runs it first; `scripts/bench-detector --inference` runs only it): model
//! load (cold start: the first load in a fresh process, tract's and
//! onnxruntime's taking turns) and its stages, per-frame inference with tract beside
//! onnxruntime on the same ONNX file, input and thread count (the two taking
//! turns, five runs each), frame decoding and preprocessing, where tract's
//! time goes, and peak memory. It builds
//! tract and image decoding only, so a clean build takes minutes, not the
//! local stack's half hour. Prints its table, then its figures as one JSON
//! object on the last line; with `SECCOM_BENCH_RESULTS` set, also writes its
//! rows, its notes and its figures there for the invocation half (seccom-tools'
//! `invocation` bench).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Instant;

use anyhow::Context;
use seccom_detector::{ModelInput, PersonDetector, frame};

mod stats;
use stats::{median, millis, p90};

const INFERENCE_RUNS: usize = 40;
/// Runs of one runtime before the other takes its turn.
const RUNS_PER_TURN: usize = 5;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/detector is in the repository")
        .to_path_buf()
}

fn image(name: &str) -> anyhow::Result<image::DynamicImage> {
    let bytes = std::fs::read(root().join("target/test-images").join(name)).context("run scripts/fetch-test-images")?;
    frame::decode(&bytes).map_err(|r| anyhow::anyhow!(r.to_string()))
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
    seccom_detector::onnx_model(&std::fs::read(root().join("models/person-detector.onnx"))?)
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
        let read = seccom_detector::nnef().model_for_read(&mut std::io::Cursor::new(&nnef))?;
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

/// onnxruntime on the same ONNX file and input tensor, one thread, in the
/// virtualenv `scripts/bench-detector` installs (`SECCOM_BENCH_PYTHON`): a
/// process that stays loaded and runs inferences a round at a time, so the
/// benchmark can alternate them with tract's.
struct Onnxruntime {
    process: Child,
    replies: BufReader<ChildStdout>,
    /// What it said once loaded: version, load time, max person score.
    loaded: serde_json::Value,
    _input_file: tempfile::NamedTempFile,
}

impl Onnxruntime {
    fn start(input: &ModelInput) -> anyhow::Result<Self> {
        let input_file = tempfile::NamedTempFile::new()?;
        std::fs::write(input_file.path(), input.bytes())?;
        let python = std::env::var("SECCOM_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut process = Command::new(&python)
            .arg(root().join("scripts/bench-onnxruntime.py"))
            .arg(root().join("models/person-detector.onnx"))
            .arg(input_file.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {python}"))?;
        let mut replies = BufReader::new(process.stdout.take().context("no stdout")?);
        let loaded = Self::reply(&mut replies).context("onnxruntime did not load the model")?;
        Ok(Self {
            process,
            replies,
            loaded,
            _input_file: input_file,
        })
    }

    fn reply(replies: &mut BufReader<ChildStdout>) -> anyhow::Result<serde_json::Value> {
        let mut line = String::new();
        anyhow::ensure!(replies.read_line(&mut line)? > 0, "onnxruntime exited");
        Ok(serde_json::from_str(&line)?)
    }

    /// The times of `runs` inferences, in milliseconds.
    fn round(&mut self, runs: usize) -> anyhow::Result<Vec<f64>> {
        let stdin = self.process.stdin.as_mut().context("no stdin")?;
        writeln!(stdin, "{runs}")?;
        Ok(serde_json::from_value(Self::reply(&mut self.replies)?)?)
    }
}

impl Drop for Onnxruntime {
    fn drop(&mut self) {
        drop(self.process.stdin.take());
        let _ = self.process.wait();
    }
}

/// Set in a child of this benchmark that loads the model once and prints how long it took.
const LOAD_ONCE: &str = "SECCOM_BENCH_LOAD_ONCE";
/// Cold starts timed for each runtime, taking turns.
const COLD_LOADS: usize = 5;

/// The first load in a fresh process, as a new Lambda container pays it: this
/// benchmark run again with [`LOAD_ONCE`] set.
fn tract_cold_load() -> anyhow::Result<f64> {
    let output = Command::new(std::env::current_exe()?).env(LOAD_ONCE, "1").output()?;
    anyhow::ensure!(
        output.status.success(),
        "the load in a fresh process failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim().parse()?)
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os(LOAD_ONCE).is_some() {
        let started = Instant::now();
        PersonDetector::load()?;
        println!("{}", millis(started));
        return Ok(());
    }
    let mut warm_loads = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        PersonDetector::load()?;
        warm_loads.push(millis(started));
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
    // The two runtimes take turns, a few runs each, so a change of load on this
    // shared machine falls on both alike.
    let mut onnxruntime = Onnxruntime::start(&input)?;
    let (mut inference, mut ort_inference) = (Vec::new(), Vec::new());
    let mut tract_score = 0.0;
    for _ in 0..INFERENCE_RUNS / RUNS_PER_TURN {
        for _ in 0..RUNS_PER_TURN {
            let started = Instant::now();
            tract_score = detector.detect_input(&input)?.score;
            inference.push(millis(started));
        }
        ort_inference.extend(onnxruntime.round(RUNS_PER_TURN)?);
    }
    let ort = onnxruntime.loaded.clone();
    drop(onnxruntime);
    let ort_median = median(ort_inference.clone());
    // Cold starts, each the first load in a fresh process, the two runtimes taking turns.
    let (mut loads, mut ort_loads) = (Vec::new(), Vec::new());
    for _ in 0..COLD_LOADS {
        loads.push(tract_cold_load()?);
        let fresh = Onnxruntime::start(&input)?;
        ort_loads.push(
            fresh.loaded["load_ms"]
                .as_f64()
                .context("onnxruntime gave no load time")?,
        );
    }

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
    let ort_min = ort_inference.iter().copied().fold(f64::INFINITY, f64::min);
    let summary = serde_json::json!({
        "tractMinMs": tract_min,
        "tractMedianMs": tract_median,
        "onnxruntimeMinMs": ort_min,
        "onnxruntimeMedianMs": ort_median,
        "ratioMin": tract_min / ort_min,
        "tractLoadMs": median(loads.clone()),
        "onnxruntimeLoadMs": median(ort_loads.clone()),
        "frameWorkMedianMs": median(frame_work.clone()),
        "tractLoadFromOnnxMs": median(stages.onnx_parse.clone())
            + median(stages.onnx_analyse.clone())
            + median(stages.onnx_declutter.clone())
            + median(stages.onnx_optimise.clone()),
        "onnxruntimeVersion": ort["version"],
    });
    let rows = format!(
        "| Model load (tract, cold start: the embedded decluttered NNEF read and code generated, the first load in a fresh process, median of {cold_loads}) | {load:.1} ms | |\n\
         | The same load repeated in one process (median of 5; only the first of them is the process's first) | {warm_load:.1} ms | |\n\
         | The same from the ONNX file: read from disk / analyse / declutter / optimise | {onnx_parse:.1} / {onnx_analyse:.1} / {onnx_declutter:.1} / {onnx_optimise:.1} ms | |\n\
         | The NNEF with tract's declutter passes run again: read / optimise | {nnef_read:.1} / {nnef_optimise:.1} ms | |\n\
         | Inference of the plan made from the ONNX file (same input, median of 10) | {onnx_plan_inference:.1} ms | |\n\
         | Inference, tract-onnx (300x300, one thread) | {tract:.1} ms | {tract_p90:.1} ms |\n\
         | Inference, onnxruntime {ort_version} (same model, input, one thread) | {ort_median:.1} ms | {ort_p90:.1} ms |\n\
         | **tract / onnxruntime** | **{ratio:.2}x** (minimum of {runs}: {ratio_min:.2}x) | |\n\
         | Model load, onnxruntime (the first in a fresh process, median of {cold_loads}, taking turns with tract's) | {ort_load:.1} ms | |\n\
         | Preprocessing (512x512 PNG already decoded, resize + normalise) | {pre:.2} ms | |\n\
         | Camera frame (768x576 JPEG): decode | {decode:.2} ms | |\n\
         | Camera frame: resize + normalise | {camera_pre:.2} ms | |\n\
         | Camera frame: decode, resize, inference, boxes | {frame_work:.1} ms | {frame_work_p90:.1} ms |\n\
         | Peak resident memory of the inference benchmark process | {rss:.0} MiB | |\n",
        load = median(loads),
        warm_load = median(warm_loads),
        cold_loads = COLD_LOADS,
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
        tract = tract_median,
        tract_p90 = p90(inference),
        ort_version = ort["version"].as_str().unwrap_or("?"),
        ort_p90 = p90(ort_inference),
        ratio = tract_median / ort_median,
        runs = INFERENCE_RUNS,
        ratio_min = tract_min / ort_min,
        ort_load = median(ort_loads),
        pre = median(preprocessing),
        rss = peak_rss_mib(),
    );
    let notes = format!(
        "Max person score on astronaut.png: tract {tract_score:.5}, onnxruntime {ort_score:.5}.\n{operators}",
        ort_score = ort["score"].as_f64().unwrap_or(f64::NAN),
    );
    print!("| Measure | Median | p90 |\n|---|---|---|\n{rows}\n{notes}");
    if let Ok(results) = std::env::var("SECCOM_BENCH_RESULTS") {
        let results = PathBuf::from(results);
        std::fs::create_dir_all(&results)?;
        std::fs::write(results.join("inference-rows.md"), rows)?;
        std::fs::write(results.join("inference-notes.md"), notes)?;
        std::fs::write(results.join("inference.json"), summary.to_string())?;
    }
    println!("{summary}");
    Ok(())
}
