//! `seccom`: run SecCom locally and mint local tokens.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use seccom_detector::{PersonDetector, frame};
use seccom_devices::camera::{self, CameraOptions};
use seccom_devices::edge::{self, config::CameraConfig, config::EdgeConfig};
use seccom_devices::{DeviceLink, DeviceOptions, alarm};
use seccom_domain::detection::bundle::MAX_BUNDLE_FRAMES;
use seccom_domain::ids::ClientId;
use seccom_local::faults::FaultOptions;
use seccom_local::idp::{LocalIdp, LocalUser};
use seccom_local::{LAMBDA_ENV_FILE, LocalOptions, LocalStack};

#[derive(Parser)]
#[command(name = "seccom", version, about = "SecCom Serverless developer and operator CLI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    Admin,
    Client,
}

#[derive(Subcommand)]
enum CameraCommand {
    /// Upload frames through the devices API: `--seq N FILE` for one, `--from-seq N FILE...` for several in order.
    Send {
        /// The API's base URL (the ALB), e.g. http://127.0.0.1:8080.
        #[arg(long)]
        api: String,
        #[arg(long)]
        camera_id: String,
        /// The camera's credential, as shown at registration.
        #[arg(long)]
        key: String,
        /// The sequence number of a single frame.
        #[arg(long, conflicts_with = "from_seq", required_unless_present = "from_seq")]
        seq: Option<u64>,
        /// The sequence number of the first of several frames.
        #[arg(long)]
        from_seq: Option<u64>,
        /// The capture time of every frame (RFC 3339); now by default.
        #[arg(long)]
        captured_at: Option<chrono::DateTime<chrono::Utc>>,
        /// Send up to this many frames per upload, as a bundle (1 to 16).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=MAX_BUNDLE_FRAMES))]
        bundle: u64,
        /// JPEG or PNG frames.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Connect one camera: a real one by `--rtsp` or `--snapshot-url` (as `seccom edge` does
    /// for one camera), or a simulated one playing `--frames`; heartbeat and answer clip requests.
    Run {
        #[command(flatten)]
        device: DeviceArgs,
        /// A folder of JPEG frames, played in name order (the simulator).
        #[arg(long, required_unless_present_any = ["rtsp", "snapshot_url"], conflicts_with_all = ["rtsp", "snapshot_url"])]
        frames: Option<PathBuf>,
        /// A real camera's RTSP URL, `rtsp://[user:password@]host[:port]/path`.
        #[arg(long, conflicts_with = "snapshot_url")]
        rtsp: Option<String>,
        /// A real camera's HTTP snapshot URL (one JPEG per request), for cameras without RTSP.
        #[arg(long)]
        snapshot_url: Option<String>,
        /// Frames per second.
        #[arg(long, default_value_t = 2.0)]
        fps: f32,
        /// The ring buffer (default: .seccom/cameras/<camera id>).
        #[arg(long)]
        buffer_dir: Option<PathBuf>,
        /// Seconds of recording the ring buffer keeps (at least the 6-minute clip window).
        #[arg(long, default_value_t = 420)]
        buffer_seconds: u64,
        /// Play the frames once instead of looping.
        #[arg(long)]
        once: bool,
    },
}

#[derive(Subcommand)]
enum AlarmCommand {
    /// Act as an alarm: heartbeat, accept signed activation pushes, record each activation once.
    Run {
        #[command(flatten)]
        device: DeviceArgs,
        /// Where activations are appended as JSON lines (default: .seccom/alarms/<alarm id>.jsonl).
        #[arg(long)]
        activations: Option<PathBuf>,
    },
}

/// What every simulated device needs.
#[derive(clap::Args)]
struct DeviceArgs {
    /// The API's base URL (the ALB), e.g. http://127.0.0.1:8080.
    #[arg(long)]
    api: String,
    /// The device's id (`--camera-id` or `--alarm-id`).
    #[arg(long, alias = "camera-id", alias = "alarm-id")]
    id: String,
    /// The device's credential, as shown at registration.
    #[arg(long)]
    key: String,
    /// Where the command endpoint listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Seconds between heartbeats.
    #[arg(long, default_value_t = 10)]
    heartbeat_seconds: u64,
}

impl DeviceArgs {
    fn options(&self) -> DeviceOptions {
        DeviceOptions {
            api: self.api.clone(),
            id: self.id.clone(),
            credential: self.key.clone(),
            listen: self.listen,
            heartbeat_every: std::time::Duration::from_secs(self.heartbeat_seconds.max(1)),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Connect real cameras (RTSP or HTTP snapshots) to SecCom, as configured in an edge.toml.
    Edge {
        /// The configuration file (see README: connecting cameras).
        #[arg(long, default_value = "edge.toml")]
        config: PathBuf,
    },
    /// Run the whole system locally: DynamoDB, S3 and SQS emulators, identity provider, ALB stand-in.
    Local {
        /// The ALB stand-in's port; DynamoDB, S3, the identity provider and SQS use the next four.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Where data is kept between runs.
        #[arg(long, default_value = ".seccom")]
        data_dir: PathBuf,
        /// The SAM template that declares routes, functions, tables and buckets.
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        /// Also seed a client, site, camera and alarm, and run the camera (on the
        /// pedestrian footage of `scripts/fetch-demo-footage`) and alarm simulators.
        #[arg(long)]
        demo: bool,
        /// A function setting that replaces the template's, as KEY=VALUE (for example
        /// CLIP_POST_ROLL_SECONDS=20 for a quicker demo); repeatable.
        #[arg(long = "setting", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
        /// Fail this share (0 to 1) of DynamoDB and S3 requests with AWS's own
        /// retryable errors, to watch the retries work (first attempts only, unless
        /// --fault-retries-too).
        #[arg(long, default_value_t = 0.0)]
        fault_rate: f64,
        /// Let retried attempts fail too, reaching the event sources' retries.
        #[arg(long)]
        fault_retries_too: bool,
        /// Add this many milliseconds to every DynamoDB and S3 request.
        #[arg(long, default_value_t = 0)]
        fault_latency_ms: u64,
        /// Seeds the choice of failed requests.
        #[arg(long, default_value_t = 1)]
        fault_seed: u64,
    },
    /// Act as an alarm against the devices API.
    Alarm {
        #[command(subcommand)]
        command: AlarmCommand,
    },
    /// Write the detector's model as tract's decluttered NNEF (what the function
    /// loads) from the ONNX file; run it after replacing the ONNX model.
    Model {
        #[arg(long, default_value = "models/person-detector.onnx")]
        onnx: PathBuf,
        #[arg(long, default_value = "models/person-detector.nnef.tar")]
        nnef: PathBuf,
    },
    /// The monthly AWS cost of SecCom for a fleet of cameras (see docs/cost.md).
    Cost {
        #[arg(long, default_value_t = 1)]
        cameras: u32,
        /// Frames per second each camera sends while it sends.
        #[arg(long, default_value_t = 2.0)]
        fps: f64,
        /// The share of frames sent: 1 for continuous, less for motion-gated cameras.
        #[arg(long, default_value_t = 1.0)]
        sent_fraction: f64,
        /// Frames per upload: 1, or bundles of up to 16 (`bundle_frames` of the edge agent).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=MAX_BUNDLE_FRAMES))]
        bundle: u64,
    },
    /// A load run on a local stack of its own: cameras sending footage through the
    /// devices API, S3, the detector and the rule while API users read intrusions;
    /// reports throughput and latencies and checks nothing is lost or doubled (see docs/performance.md).
    Load {
        #[arg(long, default_value_t = 20)]
        cameras: usize,
        /// Frames per second each camera sends.
        #[arg(long, default_value_t = 2.0)]
        fps: f64,
        /// How long the cameras send, in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// API users listing intrusions and reading the newest meanwhile.
        #[arg(long, default_value_t = 10)]
        users: usize,
        /// Frames per upload: 1, or bundles of up to 16.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=MAX_BUNDLE_FRAMES))]
        bundle: u64,
        /// The footage the cameras play (JPEG files), each from its own point.
        #[arg(long, default_value = seccom_tools::demo::DEMO_FRAMES)]
        frames: PathBuf,
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        /// The share of DynamoDB and S3 requests failed with AWS's retryable errors.
        #[arg(long, default_value_t = 0.0)]
        fault_rate: f64,
        #[arg(long, default_value_t = 1)]
        fault_seed: u64,
    },
    /// Sum up the metric records (CloudWatch Embedded Metric Format) the local stack's functions wrote.
    Metrics {
        #[arg(long, default_value = ".seccom")]
        data_dir: PathBuf,
    },
    /// Show the e-mail and SMS the local stack sent, oldest first.
    Outbox {
        #[arg(long, default_value = ".seccom")]
        data_dir: PathBuf,
    },
    /// Act as a camera against the devices API: send frames, or run as a live camera.
    Camera {
        #[command(subcommand)]
        command: CameraCommand,
    },
    /// Run the person detector on image files: one JSON line per file.
    Detect {
        /// JPEG or PNG files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a bearer token the local stack accepts (a Cognito-shaped ID token).
    Token {
        #[arg(long, value_enum)]
        role: Role,
        /// The client a `client` user belongs to.
        #[arg(long, required_if_eq("role", "client"))]
        client_id: Option<ClientId>,
        #[arg(long, default_value = ".seccom")]
        data_dir: PathBuf,
    },
}

fn init_logs() {
    init_logs_at("info");
}

/// JSON logs on stderr at `level` unless `RUST_LOG` says otherwise.
fn init_logs_at(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints what the detector sees in each file; a file it cannot read is reported and counted.
fn detect(files: &[PathBuf]) -> anyhow::Result<()> {
    let detector = PersonDetector::load()?;
    let mut failures = 0;
    for file in files {
        let line = match std::fs::read(file).map_err(|e| e.to_string()).and_then(|bytes| {
            let image = frame::decode(&bytes).map_err(|rejection| rejection.to_string())?;
            detector.detect(&image).map_err(|e| e.to_string())
        }) {
            Ok(detection) => serde_json::json!({
                "file": file,
                "person": detection.has_person(),
                "score": detection.score,
                "boxes": detection.boxes.iter().map(|b| [b.x1, b.y1, b.x2, b.y2, b.score]).collect::<Vec<_>>(),
            }),
            Err(error) => {
                failures += 1;
                serde_json::json!({ "file": file, "error": error })
            }
        };
        println!("{line}");
    }
    anyhow::ensure!(
        failures == 0,
        "{failures} of {} files could not be analysed",
        files.len()
    );
    Ok(())
}

fn parse_setting(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| "a setting is KEY=VALUE".to_owned())
}

/// Runs a simulator until it ends or Ctrl-C.
async fn until_ctrl_c<F, Fut>(simulator: F) -> anyhow::Result<()>
where
    F: FnOnce(tokio::sync::watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = simulator(stopped);
    tokio::pin!(running);
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let terminated = terminate.recv();
    #[cfg(not(unix))]
    let terminated = std::future::pending::<Option<()>>();
    tokio::select! {
        ended = &mut running => ended,
        signal = tokio::signal::ctrl_c() => {
            signal?;
            let _ = stop.send(true);
            running.await
        }
        _ = terminated => {
            let _ = stop.send(true);
            running.await
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Local {
            port,
            data_dir,
            template,
            demo,
            settings,
            fault_rate,
            fault_retries_too,
            fault_latency_ms,
            fault_seed,
        } => {
            init_logs();
            anyhow::ensure!((0.0..=1.0).contains(&fault_rate), "--fault-rate is a share from 0 to 1");
            let stack = LocalStack::start(&LocalOptions {
                port,
                data_dir: data_dir.clone(),
                template,
                settings: settings.into_iter().collect(),
                schedule_every: None,
                faults: FaultOptions {
                    rate: fault_rate,
                    latency: std::time::Duration::from_millis(fault_latency_ms),
                    retries_too: fault_retries_too,
                    seed: fault_seed,
                },
            })
            .await?;
            let endpoints = stack.endpoints().clone();
            println!("SecCom local stack (data in {})", data_dir.display());
            println!("  ALB (API and portals)  http://{}", endpoints.alb);
            println!("  client portal          http://{}/", endpoints.alb);
            println!("  manager portal         http://{}/manage", endpoints.alb);
            println!("  DynamoDB               http://{}", endpoints.dynamodb);
            println!("  S3                     http://{}", endpoints.s3);
            println!("  identity provider      http://{}", endpoints.idp);
            println!("  SQS                    http://{}", endpoints.sqs);
            let env_file = data_dir.join(LAMBDA_ENV_FILE);
            println!(
                "Functions' environment, for `cargo lambda watch --env-file`: {}",
                env_file.display()
            );
            println!(
                "A staff token: cargo run --bin seccom -- token --role admin --data-dir {}",
                data_dir.display()
            );
            println!(
                "E-mail and SMS: cargo run --bin seccom -- outbox --data-dir {}",
                data_dir.display()
            );
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let demo = if demo {
                Some(tokio::spawn(seccom_tools::demo::run(
                    format!("http://{}", endpoints.alb),
                    data_dir.clone(),
                    stopped,
                )))
            } else {
                None
            };
            println!("Ready. Ctrl-C stops; the data stays.");
            tokio::select! {
                signal = tokio::signal::ctrl_c() => signal?,
                Some(ended) = async { match demo { Some(task) => Some(task.await), None => None } } => ended??,
            }
            let _ = stop.send(true);
            stack.stop().await;
        }
        Command::Detect { files } => detect(&files)?,
        Command::Camera {
            command:
                CameraCommand::Send {
                    api,
                    camera_id,
                    key,
                    seq,
                    from_seq,
                    captured_at,
                    bundle,
                    files,
                },
        } => {
            anyhow::ensure!(
                seq.is_none() || files.len() == 1,
                "--seq sends one file; use --from-seq for several"
            );
            let first = seq.or(from_seq).expect("clap requires --seq or --from-seq");
            DeviceLink::new(&api, &camera_id, &key)
                .send_files(first, captured_at, bundle, &files)
                .await?;
        }
        Command::Camera {
            command:
                CameraCommand::Run {
                    device,
                    frames: None,
                    rtsp,
                    snapshot_url,
                    fps,
                    buffer_dir,
                    buffer_seconds,
                    once: _,
                },
        } => {
            init_logs();
            let config = EdgeConfig {
                api: device.api.clone(),
                buffer_dir: buffer_dir.unwrap_or_else(|| PathBuf::from(".seccom/edge")),
                heartbeat_seconds: device.heartbeat_seconds,
                figures_seconds: 60,
                max_frame_age_seconds: 10,
                cameras: vec![CameraConfig {
                    rtsp,
                    snapshot_url,
                    fps,
                    record_seconds: buffer_seconds.max(420),
                    ..CameraConfig::new(&device.id, &device.key)
                }],
            };
            config.check()?;
            until_ctrl_c(|stop| edge::run(config, stop)).await?;
        }
        Command::Edge { config } => {
            init_logs();
            let config = EdgeConfig::load(&config)?;
            until_ctrl_c(|stop| edge::run(config, stop)).await?;
        }
        Command::Camera {
            command:
                CameraCommand::Run {
                    device,
                    frames: Some(frames),
                    fps,
                    buffer_dir,
                    buffer_seconds,
                    once,
                    ..
                },
        } => {
            init_logs();
            let options = CameraOptions {
                buffer_dir: buffer_dir.unwrap_or_else(|| PathBuf::from(".seccom/cameras").join(&device.id)),
                device: device.options(),
                frames: camera::frames_in(&frames)?,
                fps,
                buffer_for: std::time::Duration::from_secs(buffer_seconds.max(420)),
                once,
            };
            until_ctrl_c(|stop| camera::run(options, stop)).await?;
        }
        Command::Alarm {
            command: AlarmCommand::Run { device, activations },
        } => {
            init_logs();
            let activations =
                activations.unwrap_or_else(|| PathBuf::from(".seccom/alarms").join(format!("{}.jsonl", device.id)));
            if let Some(parent) = activations.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let options = device.options();
            until_ctrl_c(|stop| async move { alarm::run(&options, activations, stop).await }).await?;
        }
        Command::Model { onnx, nnef } => {
            use anyhow::Context as _;
            let model = std::fs::read(&onnx).with_context(|| format!("cannot read {}", onnx.display()))?;
            let written = seccom_detector::onnx_to_nnef(&model)?;
            std::fs::write(&nnef, &written).with_context(|| format!("cannot write {}", nnef.display()))?;
            println!("{}: {} bytes from {}", nnef.display(), written.len(), onnx.display());
        }
        Command::Cost {
            cameras,
            fps,
            sent_fraction,
            bundle,
        } => {
            anyhow::ensure!(cameras > 0, "--cameras must be at least 1");
            anyhow::ensure!(fps > 0.0, "--fps must be above 0");
            anyhow::ensure!(
                (0.0..=1.0).contains(&sent_fraction),
                "--sent-fraction is between 0 and 1"
            );
            print!(
                "{}",
                seccom_tools::cost::report(seccom_tools::cost::Scenario {
                    cameras,
                    fps,
                    sent_fraction,
                    bundle,
                })
            );
        }
        Command::Load {
            cameras,
            fps,
            seconds,
            users,
            bundle,
            frames,
            template,
            fault_rate,
            fault_seed,
        } => {
            // Warnings only: logging every frame of 20 cameras would be a load of its own.
            init_logs_at("warn");
            anyhow::ensure!((1..=200).contains(&cameras), "--cameras is from 1 to 200");
            anyhow::ensure!(fps > 0.0 && fps <= 10.0, "--fps is above 0 and at most 10");
            anyhow::ensure!((1..=3600).contains(&seconds), "--seconds is from 1 to 3600");
            anyhow::ensure!((0.0..=1.0).contains(&fault_rate), "--fault-rate is a share from 0 to 1");
            let report = seccom_tools::load::run(&seccom_tools::load::LoadOptions {
                cameras,
                fps,
                seconds,
                users,
                bundle: bundle as usize,
                frames_dir: frames,
                template,
                faults: FaultOptions {
                    rate: fault_rate,
                    seed: fault_seed,
                    ..Default::default()
                },
            })
            .await?;
            println!(
                "{} cameras at {} fps for {} s, {} API users, {:.0} % of DynamoDB and S3 calls failing ({} injected)",
                report.cameras,
                report.fps,
                report.seconds,
                report.users,
                report.fault_rate * 100.0,
                report.faults_injected
            );
            println!(
                "frames: {} captured, {} given up by the cameras, {} with a result, {} lost; {} frames/s",
                report.frames_sent,
                report.frames_failed_to_send,
                report.frames_with_result,
                report.frames_lost,
                report.frames_per_second
            );
            println!(
                "capture to stored p50 {} ms, p99 {} ms; stored to decision p50 {} ms, p99 {} ms",
                report.upload_p50_ms, report.upload_p99_ms, report.decision_p50_ms, report.decision_p99_ms
            );
            println!(
                "API: {} requests, p50 {} ms, p99 {} ms, {} answered 5xx",
                report.api_requests, report.api_p50_ms, report.api_p99_ms, report.responses_5xx
            );
            println!(
                "intrusions: {}, {} doubled; settled {} s after the cameras stopped",
                report.intrusions, report.intrusions_duplicated, report.settle_seconds
            );
            println!("{}", serde_json::to_string(&report)?);
            anyhow::ensure!(
                report.frames_lost == 0 && report.responses_5xx == 0 && report.intrusions_duplicated == 0,
                "the run lost or doubled something, or an API call failed (see above)"
            );
        }
        Command::Metrics { data_dir } => {
            print!("{}", seccom_local::metrics_summary(&data_dir)?);
        }
        Command::Outbox { data_dir } => {
            for message in seccom_local::outbox(&data_dir)? {
                println!("{message}");
            }
        }
        Command::Token {
            role,
            client_id,
            data_dir,
        } => {
            let idp = LocalIdp::open(&data_dir)?;
            let user = match (role, client_id) {
                (Role::Admin, _) => LocalUser::admin(),
                (Role::Client, Some(client)) => LocalUser::client(client),
                (Role::Client, None) => anyhow::bail!("--client-id is required for --role client"),
            };
            println!("{}", idp.id_token(&user));
        }
    }
    Ok(())
}
