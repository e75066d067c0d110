//! `seccom`: run SecCom locally and mint local tokens.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use human_detection::detector::PersonDetector;
use human_detection::frame;
use seccom_domain::ids::ClientId;
use seccom_tools::camera::Camera;
use seccom_tools::idp::{LocalIdp, LocalUser};
use seccom_tools::local::{LAMBDA_ENV_FILE, LocalOptions, LocalStack};

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
        /// JPEG or PNG frames.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system locally: DynamoDB and S3 emulators, identity provider, ALB stand-in.
    Local {
        /// The ALB stand-in's port; DynamoDB, S3 and the identity provider use the next three.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Where data is kept between runs.
        #[arg(long, default_value = ".seccom")]
        data_dir: PathBuf,
        /// The SAM template that declares routes, functions, tables and buckets.
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
    },
    /// Act as a camera against the devices API.
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
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Local {
            port,
            data_dir,
            template,
        } => {
            init_logs();
            let stack = LocalStack::start(&LocalOptions {
                port,
                data_dir: data_dir.clone(),
                template,
            })
            .await?;
            let endpoints = stack.endpoints().clone();
            println!("SecCom local stack (data in {})", data_dir.display());
            println!("  ALB (API and portals)  http://{}", endpoints.alb);
            println!("  DynamoDB               http://{}", endpoints.dynamodb);
            println!("  S3                     http://{}", endpoints.s3);
            println!("  identity provider      http://{}", endpoints.idp);
            let env_file = data_dir.join(LAMBDA_ENV_FILE);
            println!(
                "Functions' environment, for `cargo lambda watch --env-file`: {}",
                env_file.display()
            );
            println!(
                "A staff token: cargo run --bin seccom -- token --role admin --data-dir {}",
                data_dir.display()
            );
            println!("Ready. Ctrl-C stops; the data stays.");
            tokio::signal::ctrl_c().await?;
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
                    files,
                },
        } => {
            anyhow::ensure!(
                seq.is_none() || files.len() == 1,
                "--seq sends one file; use --from-seq for several"
            );
            let first = seq.or(from_seq).expect("clap requires --seq or --from-seq");
            Camera::new(&api, &camera_id, &key)
                .send_files(first, captured_at, &files)
                .await?;
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
