//! The invocation half of the detector benchmark, run by
//! `scripts/bench-detector` after the inference half (seccom-detector's
//! `inference` bench, whose figures it reads from `SECCOM_BENCH_RESULTS`): the
//! detector's whole invocation per frame in the local stack, alone and in
//! bundles, with and without an in-region round trip added to every DynamoDB
//! and S3 request, and each frame's time end to end. Writes
//! docs/benchmarks/detection.md from both halves and prints, as its last line,
//! all the figures as one JSON object.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use seccom_local::idp::{LocalIdp, LocalUser};
use seccom_local::{LocalOptions, LocalStack};

#[path = "../../../crates/detector/benches/stats/mod.rs"]
mod stats;
use stats::{median, millis, p90};

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

/// Inference alone, in this process between the frames sent, so that the
/// invocation / inference ratio is measured side by side (the inference half
/// ran minutes earlier, and this machine's speed swings from minute to minute).
struct Inference {
    detector: seccom_detector::PersonDetector,
    input: seccom_detector::ModelInput,
}

impl Inference {
    fn load() -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(root().join("target/test-images/astronaut.png")).context("run scripts/fetch-test-images")?;
        let image = seccom_detector::frame::decode(&bytes).map_err(|r| anyhow::anyhow!(r.to_string()))?;
        let inference = Self {
            input: seccom_detector::ModelInput::from_image(&image)?,
            detector: seccom_detector::PersonDetector::load()?,
        };
        for _ in 0..3 {
            inference.time()?;
        }
        Ok(inference)
    }

    /// One inference's time, in milliseconds.
    fn time(&self) -> anyhow::Result<f64> {
        let started = Instant::now();
        self.detector.detect_input(&self.input)?;
        Ok(millis(started))
    }
}

/// Single frames through the local stack: S3 upload, notification, fetch,
/// decode, inference, DynamoDB writes. Answers each frame's time from asking
/// for the upload URL until the stack settled, the detector's invocations, and
/// (given `inference`) an inference alone timed before each frame is sent.
async fn handler_per_frame(
    round_trip: std::time::Duration,
    inference: Option<&Inference>,
) -> anyhow::Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let bench = BenchStack::start(round_trip).await?;
    let camera = bench.camera(true).await?;
    let (mut end_to_end, mut invocations, mut inferences) = (Vec::new(), Vec::new(), Vec::new());
    for seq in 0..HANDLER_FRAMES {
        if let Some(inference) = inference {
            inferences.push(inference.time()?);
        }
        let (total, invocation) = bench.send(&camera, seq..seq + 1).await?;
        end_to_end.push(total);
        invocations.push(invocation);
    }
    bench.stack.stop().await;
    Ok((end_to_end, invocations, inferences))
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

/// What the inference half wrote: its JSON figures and its table rows and notes.
fn inference_results() -> anyhow::Result<(serde_json::Map<String, serde_json::Value>, String, String)> {
    let results = PathBuf::from(
        std::env::var("SECCOM_BENCH_RESULTS").context("SECCOM_BENCH_RESULTS is not set: run scripts/bench-detector")?,
    );
    let read = |name: &str| {
        std::fs::read_to_string(results.join(name))
            .with_context(|| format!("no {name} in {}: run scripts/bench-detector", results.display()))
    };
    let figures = serde_json::from_str(&read("inference.json")?)?;
    Ok((figures, read("inference-rows.md")?, read("inference-notes.md")?))
}

fn main() -> anyhow::Result<()> {
    let (mut summary, inference_rows, inference_notes) = inference_results()?;
    let inference = Inference::load()?;

    let runtime = tokio::runtime::Runtime::new()?;
    let in_region = std::time::Duration::from_millis(IN_REGION_ROUND_TRIP_MS);
    let (end_to_end, handler, inferences) =
        runtime.block_on(handler_per_frame(std::time::Duration::ZERO, Some(&inference)))?;
    let tract_median = median(inferences);
    let (_, handler_in_region, _) = runtime.block_on(handler_per_frame(in_region, None))?;
    let (unarmed_single, bundled_in_region, bundled_end_to_end) = runtime.block_on(single_and_bundled(in_region))?;

    let figures = serde_json::json!({
        "handlerMedianMs": median(handler.clone()),
        "handlerToInference": median(handler.clone()) / tract_median,
        "inferenceBesideHandlerMedianMs": tract_median,
        "handlerWithRoundTripsMedianMs": median(handler_in_region.clone()),
        "unarmedSingleMedianMs": median(unarmed_single.clone()),
        "bundledHandlerPerFrameMedianMs": median(bundled_in_region.clone()),
        "bundledToSingle": median(bundled_in_region.clone()) / median(unarmed_single.clone()),
        "endToEndMedianMs": median(end_to_end.clone()),
    });
    if let serde_json::Value::Object(figures) = figures {
        summary.extend(figures);
    }
    let report = format!(
        "# Detection benchmark results\n\n\
         Generated by `scripts/bench-detector` on {date} ({cpus} CPUs visible; tract and onnxruntime each on one thread). \
         The inference rows come from seccom-detector's `inference` bench, the invocation rows from seccom-tools' \
         `invocation` bench, run one after the other on the same build profile.\n\n\
         | Measure | Median | p90 |\n|---|---|---|\n\
         {inference_rows}\
         | Detector invocation per frame, local stack (GetObject, decode, inference, DynamoDB reads and writes) | {handler:.1} ms | {handler_p90:.1} ms |\n\
         | Inference alone, in the invocation half's process, one before each frame sent (the ratio's denominator) | {tract_median:.1} ms | |\n\
         | **Detector invocation / inference** | **{handler_ratio:.2}x** | |\n\
         | Detector invocation with {round_trip} ms added to every DynamoDB and S3 request | {handler_in_region:.1} ms | {handler_in_region_p90:.1} ms |\n\
         | The same at a disarmed site (each frame analysed and recorded, no rule: the path of a frame without a person) | {unarmed_single:.1} ms | {unarmed_single_p90:.1} ms |\n\
         | The same frames sent in bundles of {bundle} by a second camera of that site, round by round in the same stack, per frame | {bundled:.1} ms | {bundled_p90:.1} ms |\n\
         | **Bundled / single, per frame** | **{bundled_ratio:.2}x** | |\n\
         | End to end per frame in bundles of {bundle} (the bundle's time shared among its frames) | {bundled_end_to_end:.1} ms | |\n\
         | End to end per frame, local stack (presign, S3 PUT, notification, invocation, until every consequence settled) | {end_to_end:.1} ms | {end_to_end_p90:.1} ms |\n\n\
         {inference_notes}",
        date = chrono::Utc::now().format("%Y-%m-%d"),
        cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
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
        handler = median(handler.clone()),
        handler_p90 = p90(handler),
    );
    print!("{report}");
    std::fs::write(root().join("docs/benchmarks/detection.md"), report)?;
    println!("{}", serde_json::Value::Object(summary));
    Ok(())
}
