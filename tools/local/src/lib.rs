//! `seccom local`: the whole system on one machine with no AWS account. One
//! process runs, on 127.0.0.1 only, the DynamoDB and S3 emulators, the local
//! identity provider, the ALB stand-in, the SQS stand-in, and S3 notifications,
//! DynamoDB stream and SQS mappings that invoke the functions in-process, wired
//! together from `template.yaml`. E-mail and SMS land in `outbox/` under the data directory.

pub mod alb;
mod emulators;
pub mod faults;
mod functions;
pub mod iam;
pub mod idp;
pub mod notifications;
pub mod push_service;
mod queue_mappings;
pub mod queues;
pub mod sign_in;
mod streams;
pub mod template;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::idp::LocalIdp;
pub use emulators::{ACCESS_KEY, SECRET_KEY};

/// The region the local stack pretends to be in.
pub const REGION: &str = "us-east-1";
/// The account id in local ARNs.
pub const ACCOUNT: &str = "000000000000";
/// The ARN of the local load balancer, the `signer` of its user claims.
pub const LOAD_BALANCER_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/seccom-local/0123456789abcdef";

/// The file in the data directory where the functions' metric records collect.
pub const METRICS_FILE_NAME: &str = "metrics.jsonl";

/// The file in the data directory holding the functions' environment, for `cargo lambda watch --env-file`.
pub const LAMBDA_ENV_FILE: &str = "lambda.env";

/// Where and how to run the local stack.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// The ALB stand-in's port; DynamoDB, S3, the identity provider and SQS take the next four. 0 picks free ports.
    pub port: u16,
    /// Where the emulators and the identity provider keep their state.
    pub data_dir: PathBuf,
    /// The SAM template to read routes, functions, tables and buckets from.
    pub template: PathBuf,
    /// Function settings that replace the template's (shorter clip windows or retries in tests).
    pub settings: BTreeMap<String, String>,
    /// Runs scheduled functions this often instead of at the template's rate (tests).
    pub schedule_every: Option<std::time::Duration>,
    /// Errors and latency injected into DynamoDB and S3 requests (none by default).
    pub faults: faults::FaultOptions,
}

/// The addresses of a running local stack.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub alb: SocketAddr,
    pub dynamodb: SocketAddr,
    pub s3: SocketAddr,
    pub idp: SocketAddr,
    pub sqs: SocketAddr,
    /// Where e-mail and SMS land instead of SES and SNS.
    pub outbox: PathBuf,
    /// Where the functions' metric records collect.
    pub metrics: PathBuf,
}

impl Endpoints {
    /// The Web Push service stand-in's base URL (served beside the identity provider).
    pub fn push_service(&self) -> String {
        format!("http://{}{}", self.idp, push_service::PREFIX)
    }

    /// The URL of a template queue in the local SQS.
    pub fn queue_url(&self, queue: &str) -> String {
        format!("http://{}/{ACCOUNT}/{queue}", self.sqs)
    }

    /// The environment a function needs to use this stack: the SDK's standard
    /// endpoint variables plus the identity settings, e.g. for `cargo lambda watch`.
    pub fn environment(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("AWS_ENDPOINT_URL_DYNAMODB", format!("http://{}", self.dynamodb)),
            ("AWS_ENDPOINT_URL_S3", format!("http://{}", self.s3)),
            ("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", format!("http://{}", self.dynamodb)),
            ("AWS_ENDPOINT_URL_SQS", format!("http://{}", self.sqs)),
            (seccom_domain::config::PUBLIC_BASE_URL, format!("http://{}", self.alb)),
            (seccom_domain::config::OUTBOX_DIR, self.outbox.display().to_string()),
            (seccom_domain::config::METRICS_FILE, self.metrics.display().to_string()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            (seccom_domain::config::AUTH_ISSUER, idp::ISSUER.to_owned()),
            (seccom_domain::config::AUTH_CLIENT_ID, idp::CLIENT_ID.to_owned()),
            (
                seccom_domain::config::AUTH_JWKS_URL,
                format!("http://{}/.well-known/jwks.json", self.idp),
            ),
            (seccom_domain::config::ALB_ARN, LOAD_BALANCER_ARN.to_owned()),
            (seccom_domain::config::S3_FORCE_PATH_STYLE, "true".to_owned()),
            // The simulators and test endpoints listen on loopback: local only, never in AWS.
            (seccom_domain::destinations::OUTBOUND_ALLOW_PRIVATE, "true".to_owned()),
            (
                seccom_domain::config::AUTH_LOGOUT_URL,
                sign_in::SIGN_OUT_PATH.to_owned(),
            ),
            (
                seccom_domain::config::ALB_PUBLIC_KEYS_URL,
                format!("http://{}/alb-keys", self.idp),
            ),
        ])
    }
}

/// A summary of the metric records in a data directory: each metric's count
/// of records and sum (and mean, for durations), by function, then the
/// detector's time by camera. Every record is
/// checked to be valid Embedded Metric Format first.
pub fn metrics_summary(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join(METRICS_FILE_NAME);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut totals: BTreeMap<(String, String), (usize, f64, String)> = BTreeMap::new();
    let mut by_camera: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let record: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}:{}", path.display(), number + 1))?;
        seccom_runtime::metrics::validate(&record)
            .map_err(|e| anyhow::anyhow!("{}:{}: not valid EMF: {e}", path.display(), number + 1))?;
        let function = record["Function"].as_str().unwrap_or_default().to_owned();
        if let (Some(camera), Some(milliseconds)) =
            (record["CameraId"].as_str(), record["DetectorMilliseconds"].as_f64())
        {
            let entry = by_camera.entry(camera.to_owned()).or_insert((0, 0.0));
            entry.0 += 1;
            entry.1 += milliseconds;
        }
        for metric in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = metric["Name"].as_str().unwrap_or_default().to_owned();
            let unit = metric["Unit"].as_str().unwrap_or_default().to_owned();
            let entry = totals.entry((function.clone(), name.clone())).or_insert((0, 0.0, unit));
            entry.0 += 1;
            entry.1 += record[&name].as_f64().unwrap_or_default();
        }
    }
    let mut out = format!(
        "{:<22} {:<28} {:>8} {:>14}\n",
        "function", "metric", "records", "sum (mean)"
    );
    for ((function, name), (count, sum, unit)) in totals {
        let value = if unit == "Milliseconds" {
            format!("{:.1} ms mean", sum / count as f64)
        } else {
            format!("{sum}")
        };
        out.push_str(&format!("{function:<22} {name:<28} {count:>8} {value:>14}\n"));
    }
    if !by_camera.is_empty() {
        out.push_str(&format!(
            "\n{:<37} {:>13} {:>14}\n",
            "detector time by camera", "uploads", "total"
        ));
        for (camera, (count, sum)) in by_camera {
            out.push_str(&format!("{camera:<37} {count:>13} {:>11.1} ms\n", sum));
        }
    }
    Ok(out)
}

/// The e-mail and SMS in a data directory's outbox, oldest first, one JSON document each.
pub fn outbox(data_dir: &std::path::Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let dir = data_dir.join("outbox");
    let mut messages = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(messages);
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().and_then(|e| e.to_str()) == Some("json") {
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            messages.push(serde_json::from_slice::<serde_json::Value>(&bytes)?);
        }
    }
    messages.sort_by(|a, b| a["writtenAt"].as_str().cmp(&b["writtenAt"].as_str()));
    Ok(messages)
}

/// Answers the SDK's per-service endpoint look-up (`AWS_ENDPOINT_URL_<SERVICE>`)
/// from the stack's addresses, the same keys the SDK reads from the environment in Lambda.
#[derive(Debug)]
struct LocalServiceConfig(BTreeMap<&'static str, String>);

impl LoadServiceConfig for LocalServiceConfig {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let variable = format!("{}_{}", key.env(), key.service_id().to_uppercase().replace(' ', "_"));
        self.0.get(variable.as_str()).cloned()
    }
}

/// A running local stack; dropping it leaves the servers running until [`LocalStack::stop`].
pub struct LocalStack {
    endpoints: Endpoints,
    faults: Arc<faults::Faults>,
    notifier: Arc<notifications::Notifier>,
    streams: Arc<streams::StreamPoller>,
    queues: Arc<queues::Queues>,
    queue_poller: Arc<queue_mappings::QueuePoller>,
    stop: watch::Sender<bool>,
}

async fn bind(port: u16, offset: u16) -> anyhow::Result<TcpListener> {
    let port = if port == 0 { 0 } else { port + offset };
    TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))
}

async fn serve(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %e, "a local server stopped");
    }
}

async fn jwks(State(idp): State<Arc<LocalIdp>>) -> Response {
    axum::Json(idp.jwks()).into_response()
}

async fn alb_key(State(idp): State<Arc<LocalIdp>>, UrlPath(kid): UrlPath<String>) -> Response {
    match idp.alb_public_key(&kid) {
        Some(pem) => pem.into_response(),
        None => http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// Invokes a scheduled function at its rate with the event EventBridge sends, until the stack stops.
async fn run_schedule(
    name: String,
    every: std::time::Duration,
    function: notifications::EventFunction,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let event = serde_json::json!({
            "version": "0",
            "id": uuid::Uuid::new_v4(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "region": REGION,
            "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}")],
            "detail": {},
        });
        if let Err(error) = function(event).await {
            tracing::warn!(
                function = name,
                error = format!("{error:#}"),
                "scheduled invocation failed"
            );
        }
    }
}

/// The AWS SDK configuration of the in-process functions: local credentials, and
/// endpoints resolved through the same per-service keys the SDK reads in Lambda.
pub async fn sdk_config(endpoints: &Endpoints) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "seccom-local"))
        .load()
        .await
        .into_builder()
        .service_config(LocalServiceConfig(endpoints.environment()))
        .build()
}

impl LocalStack {
    /// Starts every server, creates missing tables and buckets, and wires the functions to them.
    pub async fn start(options: &LocalOptions) -> anyhow::Result<Self> {
        let template = template::Template::load(&options.template)?;
        std::fs::create_dir_all(&options.data_dir)
            .with_context(|| format!("cannot create {}", options.data_dir.display()))?;
        let idp = Arc::new(LocalIdp::open(&options.data_dir)?);
        let (alb, dynamodb, s3, identity, sqs) = (
            bind(options.port, 0).await?,
            bind(options.port, 1).await?,
            bind(options.port, 2).await?,
            bind(options.port, 3).await?,
            bind(options.port, 4).await?,
        );
        let endpoints = Endpoints {
            alb: alb.local_addr()?,
            dynamodb: dynamodb.local_addr()?,
            s3: s3.local_addr()?,
            idp: identity.local_addr()?,
            sqs: sqs.local_addr()?,
            outbox: options.data_dir.join("outbox"),
            metrics: options.data_dir.join(METRICS_FILE_NAME),
        };
        let (stop, stopped) = watch::channel(false);
        let iam = Arc::new(iam::Iam::from_template(&template));
        let faults = Arc::new(faults::Faults::new(options.faults));
        emulators::serve_dynamodb(
            dynamodb,
            &options.data_dir,
            iam.clone(),
            faults.clone(),
            stopped.clone(),
        )
        .await?;
        let sdk = sdk_config(&endpoints).await;
        let sign_in = sign_in::LocalSignIn::new(
            LocalIdp::open(&options.data_dir)?,
            seccom_domain::directory::Directory::new(Arc::new(seccom_aws::DirectoryTable::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                "DirectoryTable",
            ))),
        );
        let wiring = functions::wire(&template, &sdk, &endpoints, &options.settings, sign_in)?;
        let notifier = Arc::new(wiring.notifier);
        let queues = queues::Queues::new(&template.queues, iam.clone());
        tokio::spawn(serve(
            sqs,
            Router::new().fallback(queues::serve_sqs).with_state(queues.clone()),
            stopped.clone(),
        ));
        emulators::serve_s3(
            s3,
            &options.data_dir,
            notifier.clone(),
            iam,
            faults.clone(),
            stopped.clone(),
        )?;
        let identity_routes = Router::new()
            .route("/.well-known/jwks.json", get(jwks))
            .route("/alb-keys/{kid}", get(alb_key))
            .with_state(idp)
            .merge(push_service::routes());
        tokio::spawn(serve(identity, identity_routes, stopped.clone()));

        emulators::provision(&sdk, &template).await?;
        let env_file: String = wiring
            .variables
            .iter()
            .map(|(key, value)| format!("{key}={value}\n"))
            .collect();
        std::fs::write(options.data_dir.join(LAMBDA_ENV_FILE), env_file)
            .context("cannot write the functions' env file")?;
        for (name, every, function) in wiring.schedules {
            tokio::spawn(run_schedule(
                name,
                options.schedule_every.unwrap_or(every),
                function,
                stopped.clone(),
            ));
        }
        let streams = streams::StreamPoller::new(&sdk, wiring.streams, &options.data_dir);
        tokio::spawn(streams.clone().run(stopped.clone()));
        let queue_poller = queue_mappings::QueuePoller::new(wiring.queues, queues.clone());
        queue_poller.start(&stopped);
        tokio::spawn(serve(alb, wiring.listener.into_router(), stopped));
        Ok(Self {
            endpoints,
            faults,
            notifier,
            streams,
            queues,
            queue_poller,
            stop,
        })
    }

    /// Waits until every S3 notification, stream record and queued message
    /// written so far has been handled by its function, including what those
    /// functions wrote (messages waiting for a retry excepted).
    pub async fn settled(&self) {
        loop {
            self.notifier.settled().await;
            self.streams.caught_up().await;
            self.queue_poller.settled().await;
            if self.notifier.is_idle() && self.queue_poller.is_idle() {
                return;
            }
        }
    }

    /// How long the latest invocations of `function` by an S3 notification ran
    /// (what Lambda reports as an invocation's `Duration`), oldest first.
    pub fn invocation_durations(&self, function: &str) -> Vec<std::time::Duration> {
        self.notifier.durations(function)
    }

    /// A template queue's messages: visible now, and hidden (in flight or waiting for a retry).
    pub fn queue_depth(&self, queue: &str) -> (usize, usize) {
        self.queues.depth(queue)
    }

    /// Where everything listens.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// How many DynamoDB and S3 requests were failed on purpose ([`LocalOptions::faults`]).
    pub fn faults_injected(&self) -> u64 {
        self.faults.injected()
    }

    /// Stops every server; data stays in the data directory.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.stop.closed().await;
    }
}
