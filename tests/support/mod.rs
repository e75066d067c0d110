//! Test support: a fresh local stack per test, and an HTTP client that speaks to
//! it the way a SecCom user or operator would.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use seccom_domain::config::{Config, S3_FORCE_PATH_STYLE};
use seccom_domain::detection::{DetectionStore, FrameKey, FrameRecord, Intrusion};
use seccom_domain::ids::{ClientId, DeviceId};
use seccom_local::idp::{LocalIdp, LocalUser};
use seccom_local::{LocalOptions, LocalStack};
use serde_json::{Value, json};

/// The repository root, where `template.yaml` and `events/` live.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// A public test image fetched by `scripts/fetch-test-images`.
pub fn test_image(name: &str) -> Vec<u8> {
    let path = repository_root().join("target/test-images").join(name);
    std::fs::read(&path).unwrap_or_else(|_| panic!("{} is missing: run scripts/fetch-test-images", path.display()))
}

/// The local name of the frames bucket.
pub fn frames_bucket() -> String {
    seccom_local::template::local_bucket_name("FramesBucket")
}

/// A local stack on free ports with its own data directory.
pub struct TestStack {
    pub stack: LocalStack,
    pub idp: LocalIdp,
    pub data_dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// An answer: status, headers and body parsed as JSON (or `Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `content-type` header.
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a problem-details answer with this status.
    pub fn assert_problem(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {:?}", self.body);
        assert_eq!(self.content_type(), "application/problem+json", "{:?}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        self
    }

    /// Asserts this status and returns the body.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {:?}", self.body);
        self.body
    }
}

impl TestStack {
    /// Starts a stack in a new temporary data directory.
    pub async fn start() -> Self {
        Self::start_in(tempfile::tempdir().expect("a temporary directory")).await
    }

    /// Starts a stack on an existing data directory, as after a restart.
    pub async fn start_in(data_dir: tempfile::TempDir) -> Self {
        Self::start_with(data_dir, &[]).await
    }

    /// Starts a stack whose functions get these settings instead of the template's.
    pub async fn start_with(data_dir: tempfile::TempDir, settings: &[(&str, &str)]) -> Self {
        Self::start_from(&repository_root().join("template.yaml"), data_dir, settings).await
    }

    /// Starts a stack from another template (a changed copy of the repository's).
    pub async fn start_from(
        template: &std::path::Path,
        data_dir: tempfile::TempDir,
        settings: &[(&str, &str)],
    ) -> Self {
        Self::start_with_faults(template, data_dir, settings, Default::default()).await
    }

    /// Starts a stack whose DynamoDB and S3 fail requests as `faults` say.
    pub async fn start_with_faults(
        template: &std::path::Path,
        data_dir: tempfile::TempDir,
        settings: &[(&str, &str)],
        faults: seccom_local::faults::FaultOptions,
    ) -> Self {
        // Tests replay frames captured at fixed past times: the hourly purge
        // (run every half second here) keeps them, as a ten-year retention would.
        let mut all: std::collections::BTreeMap<String, String> = [
            (seccom_domain::config::RETENTION_DEFAULT_DAYS, "3650"),
            (seccom_domain::config::RETENTION_MAX_DAYS, "3650"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        all.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let options = LocalOptions {
            port: 0,
            data_dir: data_dir.path().to_path_buf(),
            template: template.to_path_buf(),
            settings: all,
            schedule_every: Some(std::time::Duration::from_millis(500)),
            faults,
        };
        let stack = LocalStack::start(&options).await.expect("the local stack starts");
        let idp = LocalIdp::open(data_dir.path()).expect("the local identity provider opens");
        Self {
            stack,
            idp,
            data_dir,
            http: reqwest::Client::new(),
        }
    }

    /// How many DynamoDB and S3 requests the stack failed on purpose.
    pub fn faults_injected(&self) -> u64 {
        self.stack.faults_injected()
    }

    /// Stops the stack and hands back its data directory.
    pub async fn stop(self) -> tempfile::TempDir {
        self.stack.stop().await;
        self.data_dir
    }

    /// The URL of a path on the ALB stand-in.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.stack.endpoints().alb)
    }

    /// A staff bearer token.
    pub fn admin(&self) -> String {
        self.idp.id_token(&LocalUser::admin())
    }

    /// A bearer token of a user of `client`.
    pub fn client_user(&self, client: &str) -> String {
        self.idp
            .id_token(&LocalUser::client(client.parse::<ClientId>().expect("a client id")))
    }

    /// Sends a request with optional bearer token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Sends a prepared request through the ALB stand-in.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the ALB stand-in answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer { status, headers, body }
    }

    /// A raw request builder, for headers and bodies the helpers do not cover.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// Creates a client as staff and returns its id.
    pub async fn create_client(&self, name: &str) -> String {
        let body = json!({ "name": name, "email": format!("{}@example.com", name.to_lowercase().replace(' ', "")) });
        let created = self
            .call(Method::POST, "/api/clients", Some(&self.admin()), Some(body))
            .await
            .expect(201);
        created["id"].as_str().expect("an id").to_owned()
    }

    /// Creates a site of `client` as staff and returns its id.
    pub async fn create_site(&self, client: &str, name: &str) -> String {
        let body = json!({ "clientId": client, "name": name, "address": "1 High Street, Springfield" });
        let created = self
            .call(Method::POST, "/api/sites", Some(&self.admin()), Some(body))
            .await
            .expect(201);
        created["id"].as_str().expect("an id").to_owned()
    }

    /// An S3 client of the local emulator, as the functions have.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let sdk = seccom_local::sdk_config(self.stack.endpoints()).await;
        seccom_aws::s3_client(
            &sdk,
            &Config::from_pairs([(S3_FORCE_PATH_STYLE.to_owned(), "true".to_owned())]),
        )
    }

    /// The detection tables of the local stack, to look at what the detector stored.
    pub async fn detection_tables(&self) -> seccom_aws::DetectionTables {
        let sdk = seccom_local::sdk_config(self.stack.endpoints()).await;
        seccom_aws::DetectionTables::new(aws_sdk_dynamodb::Client::new(&sdk), "FramesTable", "IntrusionsTable")
    }

    /// Uploads a frame into the frames bucket as a camera does, with its capture time.
    pub async fn upload_frame(&self, camera: &str, seq: u64, bytes: Vec<u8>, captured_at: DateTime<Utc>) {
        let key = FrameKey {
            camera: camera.parse().expect("a camera id"),
            seq,
        };
        self.put_object(&key.to_string(), bytes, Some(captured_at)).await;
    }

    /// Puts any object into the frames bucket.
    pub async fn put_object(&self, key: &str, bytes: Vec<u8>, captured_at: Option<DateTime<Utc>>) {
        let mut request = self
            .s3()
            .await
            .put_object()
            .bucket(frames_bucket())
            .key(key)
            .body(bytes.into());
        if let Some(at) = captured_at {
            request = request.metadata(seccom_domain::detection::CAPTURED_AT_METADATA, at.to_rfc3339());
        }
        request.send().await.expect("the local S3 stores the frame");
    }

    /// Waits until every S3 notification has been handled.
    pub async fn settled(&self) {
        self.stack.settled().await;
    }

    /// The stored result of a frame.
    pub async fn frame(&self, camera: &str, seq: u64) -> Option<FrameRecord> {
        let key = FrameKey {
            camera: camera.parse::<DeviceId>().expect("a camera id"),
            seq,
        };
        self.detection_tables()
            .await
            .frame(&key)
            .await
            .expect("the frames table answers")
    }

    /// The status of a client's recipient at `address`, as its preferences show it.
    pub async fn recipient_status(&self, client: &str, address: &str) -> Option<String> {
        let preferences = self
            .call(
                Method::GET,
                &format!("/api/clients/{client}/notification-preferences"),
                Some(&self.admin()),
                None,
            )
            .await
            .expect(200);
        preferences["recipients"]
            .as_array()?
            .iter()
            .find(|r| r["address"] == address)
            .and_then(|r| r["status"].as_str().map(str::to_owned))
    }

    /// A camera's intrusions, newest first.
    pub async fn intrusions(&self, camera: &str) -> Vec<Intrusion> {
        let tables = self.detection_tables().await;
        tables
            .recent_intrusions(camera.parse().expect("a camera id"))
            .await
            .expect("the intrusions table answers")
    }

    /// Shows `camera` a person in three frames captured a minute ago, waits
    /// until they are handled, and answers the intrusion they opened.
    pub async fn person_seen(&self, camera: &str) -> Intrusion {
        let person = test_image("astronaut.png");
        let at = Utc::now() - chrono::TimeDelta::minutes(1);
        for seq in 1..=3 {
            self.upload_frame(camera, seq, person.clone(), at + chrono::TimeDelta::seconds(seq as i64))
                .await;
        }
        self.settled().await;
        self.intrusions(camera).await.remove(0)
    }

    /// The settings the local stack gave its functions (its `lambda.env`), to
    /// run one in-process as Lambda would.
    pub fn function_settings(&self) -> Config {
        let env = std::fs::read_to_string(self.data_dir.path().join(seccom_local::LAMBDA_ENV_FILE)).unwrap();
        Config::from_pairs(
            env.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
    }

    /// A client, a site and a camera, for detection tests; returns the camera id.
    pub async fn camera(&self) -> String {
        let client = self.create_client("Watched Ltd").await;
        let site = self.create_site(&client, "Depot").await;
        self.create_device(&site, "cameras", "Yard").await
    }

    /// Registers a camera or alarm (`collection` = `cameras` or `alarms`) and returns its id.
    pub async fn create_device(&self, site: &str, collection: &str, name: &str) -> String {
        self.register_device(site, collection, name).await.0
    }

    /// Registers a camera or alarm and returns its id and credential.
    pub async fn register_device(&self, site: &str, collection: &str, name: &str) -> (String, String) {
        let path = format!("/api/sites/{site}/{collection}");
        let created = self
            .call(Method::POST, &path, Some(&self.admin()), Some(json!({ "name": name })))
            .await
            .expect(201);
        (
            created["id"].as_str().expect("an id").to_owned(),
            created["credential"].as_str().expect("a credential").to_owned(),
        )
    }

    /// A browser's push subscription, minted by the local push-service stand-in
    /// (`id`, `endpoint`, `keys`), as a browser vendor's service would give one.
    pub async fn push_subscription(&self) -> Value {
        self.push_service(Method::POST, "/subscriptions").await
    }

    /// What the push-service stand-in received for `subscription`: each push decrypted, with its VAPID key.
    pub async fn pushes_received(&self, subscription: &Value) -> Vec<Value> {
        let path = format!("/subscriptions/{}", subscription["id"].as_str().expect("an id"));
        serde_json::from_value(self.push_service(Method::GET, &path).await).expect("a list")
    }

    async fn push_service(&self, method: Method, path: &str) -> Value {
        let url = format!("{}{path}", self.stack.endpoints().push_service());
        self.http
            .request(method, url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Runs the alarm simulator as the site's alarm `(id, credential)` (heartbeats
    /// every 500 ms, pushes on a port of its own); its activations land in
    /// `activations`, one JSON line each. Stop it with the sender.
    pub fn run_alarm(
        &self,
        (id, credential): &(String, String),
        activations: &Path,
    ) -> (
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    ) {
        let options = seccom_devices::DeviceOptions {
            api: self.url(""),
            id: id.clone(),
            credential: credential.clone(),
            listen: "127.0.0.1:0".parse().expect("a loopback address"),
            heartbeat_every: std::time::Duration::from_millis(500),
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let activations = activations.to_path_buf();
        let task = tokio::spawn(async move { seccom_devices::alarm::run(&options, activations, stopped).await });
        (stop, task)
    }

    /// The bytes of an object of the frames bucket (a frame, evidence, a snapshot).
    pub async fn frame_object(&self, key: &str) -> Vec<u8> {
        self.s3()
            .await
            .get_object()
            .bucket(frames_bucket())
            .key(key)
            .send()
            .await
            .expect("the object is stored")
            .body
            .collect()
            .await
            .expect("the object reads")
            .to_vec()
    }

    /// The id of a camera's newest intrusion, as staff list it; `None` before one opens.
    pub async fn newest_intrusion_id(&self, camera: &str) -> Option<String> {
        let list = self
            .call(
                Method::GET,
                &format!("/api/intrusions?cameraId={camera}"),
                Some(&self.admin()),
                None,
            )
            .await
            .expect(200);
        list["items"][0]["id"].as_str().map(str::to_owned)
    }

    /// A client's records as `token`'s holder downloads them: the export
    /// asked for, then the document its link points to.
    pub async fn export(&self, client: &str, token: &str) -> Value {
        let link = self
            .call(
                Method::POST,
                &format!("/api/clients/{client}/export"),
                Some(token),
                None,
            )
            .await
            .expect(200);
        self.http
            .get(link["url"].as_str().expect("a download link"))
            .send()
            .await
            .expect("the link answers")
            .error_for_status()
            .expect("the link works")
            .json()
            .await
            .expect("the export is JSON")
    }

    /// An intrusion with its response and links, as staff read it.
    pub async fn intrusion_detail(&self, id: &str) -> Value {
        self.call(Method::GET, &format!("/api/intrusions/{id}"), Some(&self.admin()), None)
            .await
            .expect(200)
    }

    /// Signs in at the local stand-in for the ALB's Cognito sign-in as
    /// `account` (`admin`, or `client:<client id>`) and answers the portal
    /// session's cookie (`name=value`).
    pub async fn portal_session(&self, account: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = http.get(self.url("/oauth2/sign-in")).send().await.unwrap();
        let first_cookie = |response: &reqwest::Response| {
            response.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        };
        let csrf_cookie = first_cookie(&page);
        let body = page.text().await.unwrap();
        let token = body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the sign-in form has a CSRF token")
            .to_owned();
        let fields = [("account", account), ("redirect", "/"), ("csrf", token.as_str())];
        let signed_in = http
            .post(self.url("/oauth2/sign-in"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", csrf_cookie)
            .body(serde_urlencoded::to_string(fields).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 303, "signed in as {account}");
        first_cookie(&signed_in)
    }

    /// Waits (up to `seconds`) until `check` gives a value, calling it every 200 ms.
    pub async fn eventually<T, F, Fut>(&self, seconds: u64, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(tokio::time::Instant::now() < deadline, "gave up waiting: {what}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
