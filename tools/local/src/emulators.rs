//! The embedded AWS emulators: dynoxide for DynamoDB and s3s-fs for S3, both
//! speaking the real wire protocols over loopback and keeping their data under
//! the data directory. Resources are created from the template's definitions.

use crate::faults::Faults;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::iam::{self, Iam};
use super::notifications::Notifier;
use super::template::{Table, Template, local_bucket_name};
use super::{ACCOUNT, REGION};

/// The access key the local S3 accepts; requests must be signed with it.
pub const ACCESS_KEY: &str = "seccom-local";
/// The secret key paired with [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "seccom-local-secret";

/// Serves DynamoDB from `data_dir/dynamodb.sqlite` until `stop` fires: dynoxide
/// on a private port, behind a front door on `listener` that checks each request
/// against the signing function's policy.
pub async fn serve_dynamodb(
    listener: TcpListener,
    data_dir: &Path,
    iam: Arc<Iam>,
    faults: Arc<Faults>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let path = data_dir.join("dynamodb.sqlite");
    let database = dynoxide::Database::new(path.to_str().context("the data directory path is not UTF-8")?)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let private = TcpListener::bind("127.0.0.1:0").await?;
    let backend = private.local_addr()?;
    let mut backend_stop = stop.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = backend_stop.wait_for(|stopped| *stopped).await;
        };
        if let Err(e) = dynoxide::server::serve_with_shutdown(private, database, shutdown).await {
            tracing::error!(error = %e, "the DynamoDB emulator stopped");
        }
    });
    let door = DynamoDoor {
        iam,
        faults,
        backend: format!("http://{backend}"),
        http: reqwest::Client::new(),
    };
    let router = axum::Router::new().fallback(dynamodb_door).with_state(Arc::new(door));
    tokio::spawn(super::serve(listener, router, stop));
    Ok(())
}

/// DynamoDB's front door: injected faults, IAM, then the emulator.
struct DynamoDoor {
    iam: Arc<Iam>,
    faults: Arc<Faults>,
    backend: String,
    http: reqwest::Client,
}

/// The IAM actions and resources one DynamoDB request needs: a transaction or
/// batch needs each of its items' actions on each of their tables.
fn dynamodb_checks(operation: &str, body: &serde_json::Value) -> Vec<(String, String)> {
    let table = |name: &str| format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}");
    let items = |field: &str| body[field].as_array().cloned().unwrap_or_default();
    match operation {
        "TransactWriteItems" => items("TransactItems")
            .iter()
            .flat_map(|item| {
                [
                    ("Put", "PutItem"),
                    ("Update", "UpdateItem"),
                    ("Delete", "DeleteItem"),
                    ("ConditionCheck", "ConditionCheckItem"),
                ]
                .into_iter()
                .filter_map(|(kind, action)| {
                    Some((format!("dynamodb:{action}"), table(item[kind]["TableName"].as_str()?)))
                })
                .collect::<Vec<_>>()
            })
            .collect(),
        "TransactGetItems" => items("TransactItems")
            .iter()
            .filter_map(|item| Some(("dynamodb:GetItem".to_owned(), table(item["Get"]["TableName"].as_str()?))))
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| (format!("dynamodb:{operation}"), table(name)))
            .collect(),
        _ => {
            let resource = match (body["TableName"].as_str(), body["IndexName"].as_str()) {
                (Some(name), Some(index)) => format!("{}/index/{index}", table(name)),
                (Some(name), None) => table(name),
                (None, _) => "*".to_owned(),
            };
            vec![(format!("dynamodb:{operation}"), resource)]
        }
    }
}

async fn dynamodb_door(
    axum::extract::State(door): axum::extract::State<Arc<DynamoDoor>>,
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: bytes::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(fault) = door.faults.strike(&headers).await {
        let (status, kind, body) = fault.dynamodb();
        return (
            status,
            [
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amzn-errortype", kind),
            ],
            body,
        )
            .into_response();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let key = iam::signing_key(header("authorization")).unwrap_or_default().to_owned();
    if let Some(operation) = header("x-amz-target").strip_prefix("DynamoDB_20120810.") {
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        for (action, resource) in dynamodb_checks(operation, &request) {
            if let Err(denial) = door.iam.authorize(&key, &action, &resource, None) {
                let answer = serde_json::json!({
                    "__type": "com.amazon.coral.service#AccessDeniedException",
                    "Message": denial.to_string(),
                });
                return (
                    http::StatusCode::BAD_REQUEST,
                    [
                        ("content-type", "application/x-amz-json-1.0"),
                        ("x-amzn-errortype", "AccessDeniedException"),
                    ],
                    answer.to_string(),
                )
                    .into_response();
            }
        }
    }
    let mut forwarded = door.http.request(method, format!("{}{uri}", door.backend)).body(body);
    for (name, value) in &headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            forwarded = forwarded.header(name, value);
        }
    }
    match forwarded.send().await {
        Ok(answer) => {
            let status = answer.status();
            let answer_headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = (status, bytes).into_response();
            for (name, value) in &answer_headers {
                if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(error) => (
            http::StatusCode::BAD_GATEWAY,
            format!("the DynamoDB emulator did not answer: {error}"),
        )
            .into_response(),
    }
}

/// S3's IAM check: each request against the signing function's policy.
struct S3Policies(Arc<Iam>);

#[async_trait::async_trait]
impl s3s::access::S3Access for S3Policies {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> s3s::S3Result<()> {
        let Some(key) = cx.credentials().map(|c| c.access_key.clone()) else {
            return Err(s3s::s3_error!(AccessDenied, "Signature is required"));
        };
        let operation = cx.s3_op().name().to_owned();
        let action = match operation.as_str() {
            "GetObject" | "HeadObject" => "s3:GetObject".to_owned(),
            "PutObject"
            | "CopyObject"
            | "CreateMultipartUpload"
            | "UploadPart"
            | "CompleteMultipartUpload"
            | "AbortMultipartUpload" => "s3:PutObject".to_owned(),
            "DeleteObject" | "DeleteObjects" => "s3:DeleteObject".to_owned(),
            "ListObjects" | "ListObjectsV2" | "HeadBucket" | "ListMultipartUploads" => "s3:ListBucket".to_owned(),
            other => format!("s3:{other}"),
        };
        let resource = match cx.s3_path() {
            s3s::path::S3Path::Root => "*".to_owned(),
            s3s::path::S3Path::Bucket { bucket } => format!("arn:aws:s3:::{bucket}"),
            s3s::path::S3Path::Object { bucket, key } => format!("arn:aws:s3:::{bucket}/{key}"),
        };
        let prefix = cx.uri().query().unwrap_or_default().split('&').find_map(|pair| {
            let value = pair.strip_prefix("prefix=")?;
            percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .ok()
                .map(|v| v.into_owned())
        });
        let refuse =
            |denial: iam::Denial| s3s::S3Error::with_message(s3s::S3ErrorCode::AccessDenied, denial.to_string());
        self.0
            .authorize(&key, &action, &resource, prefix.as_deref())
            .map_err(refuse)?;
        if operation == "CopyObject" {
            let source = cx
                .headers()
                .get("x-amz-copy-source")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| percent_encoding::percent_decode_str(v).decode_utf8().ok())
                .map(|v| {
                    v.trim_start_matches('/')
                        .split('?')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                })
                .unwrap_or_default();
            self.0
                .authorize(&key, "s3:GetObject", &format!("arn:aws:s3:::{source}"), None)
                .map_err(refuse)?;
        }
        Ok(())
    }
}

/// What an S3 request creates, if anything: (bucket, key, size, event name suffix).
fn created_object(request: &http::Request<hyper::body::Incoming>) -> Option<(String, String, u64, &'static str)> {
    let query = request.uri().query().unwrap_or_default();
    let has = |name: &str| query.split('&').any(|pair| pair.split('=').next() == Some(name));
    let how = match *request.method() {
        http::Method::PUT
            if ["partNumber", "uploadId", "acl", "tagging", "retention", "legal-hold"]
                .iter()
                .any(|q| has(q)) =>
        {
            None
        }
        http::Method::PUT if request.headers().contains_key("x-amz-copy-source") => Some("Copy"),
        http::Method::PUT => Some("Put"),
        http::Method::POST if has("uploadId") => Some("CompleteMultipartUpload"),
        _ => None,
    }?;
    let path = percent_encoding::percent_decode_str(request.uri().path().trim_start_matches('/'))
        .decode_utf8()
        .ok()?;
    let (bucket, key) = path.split_once('/').filter(|(_, key)| !key.is_empty())?;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    };
    let size = header("x-amz-decoded-content-length")
        .or_else(|| header("content-length"))
        .unwrap_or(0);
    Some((bucket.to_owned(), key.to_owned(), size, how))
}

/// Serves S3 from `data_dir/s3` (one folder per bucket) until `stop` fires,
/// telling `notifier` about every object created.
pub fn serve_s3(
    listener: TcpListener,
    data_dir: &Path,
    notifier: Arc<Notifier>,
    iam: Arc<Iam>,
    faults: Arc<Faults>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let root = data_dir.join("s3");
    std::fs::create_dir_all(&root)?;
    let filesystem =
        s3s_fs::FileSystem::new(&root).map_err(|e| anyhow::anyhow!("cannot serve {}: {e:?}", root.display()))?;
    let mut builder = s3s::service::S3ServiceBuilder::new(filesystem);
    let mut auth = s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY);
    for (key, secret) in iam.keys() {
        auth.register(key, secret.into());
    }
    builder.set_auth(auth);
    builder.set_access(S3Policies(iam));
    let s3 = builder.build();
    let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
        let (s3, notifier, faults) = (s3.clone(), notifier.clone(), faults.clone());
        async move {
            if let Some(fault) = faults.strike(request.headers()).await {
                let (status, body) = fault.s3();
                let mut answer = http::Response::new(s3s::Body::from(body));
                *answer.status_mut() = status;
                answer.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/xml"),
                );
                return Ok(answer);
            }
            let created = created_object(&request).filter(|(bucket, ..)| notifier.watches(bucket));
            let response = hyper::service::Service::call(&s3, request).await?;
            if let (true, Some((bucket, key, size, how))) = (response.status().is_success(), created) {
                let etag = response
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                notifier.object_created(&bucket, &key, size, etag, how);
            }
            Ok::<_, s3s::HttpError>(response)
        }
    });
    tokio::spawn(async move {
        let connections = ConnectionBuilder::new(TokioExecutor::new());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => {
                        let connection = connections.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
                        let connection = graceful.watch(connection);
                        tokio::spawn(async move { let _ = connection.await; });
                    }
                    Err(e) => tracing::warn!(error = %e, "the S3 emulator could not accept a connection"),
                },
                _ = stop.wait_for(|stopped| *stopped) => break,
            }
        }
        graceful.shutdown().await;
    });
    Ok(())
}

fn key_elements(key: &[(String, String)]) -> anyhow::Result<Vec<KeySchemaElement>> {
    key.iter()
        .map(|(name, kind)| {
            Ok(KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()?)
        })
        .collect()
}

async fn create_table(db: &aws_sdk_dynamodb::Client, name: &str, table: &Table) -> anyhow::Result<()> {
    let mut request = db
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, kind) in &table.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()?,
        );
    }
    request = request.set_key_schema(Some(key_elements(&table.key)?));
    for index in &table.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_elements(&index.key)?))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()?,
        );
    }
    let stream = match table.stream_view_type.as_deref() {
        Some(view) => Some(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()?,
        ),
        None => None,
    };
    match request.set_stream_specification(stream.clone()).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            add_missing_indexes(db, name, table).await;
            return enable_missing_stream(db, name, stream).await;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create table {name}")),
    }
    if let Some(attribute) = &table.ttl_attribute {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()?;
        db.update_time_to_live()
            .table_name(name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .with_context(|| format!("cannot enable TTL on {name}"))?;
    }
    Ok(())
}

/// Adds the indexes the template gained since the table was created (a data
/// directory kept from an earlier version); one that cannot be added is
/// reported, and only the features reading it fail.
async fn add_missing_indexes(db: &aws_sdk_dynamodb::Client, name: &str, table: &Table) {
    let Ok(described) = db.describe_table().table_name(name).send().await else {
        return;
    };
    let existing: Vec<String> = described
        .table()
        .map(|t| {
            t.global_secondary_indexes()
                .iter()
                .filter_map(|i| i.index_name().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for index in table.indexes.iter().filter(|i| !existing.contains(&i.name)) {
        let added = async {
            let mut request = db.update_table().table_name(name);
            for (attribute, kind) in table
                .attributes
                .iter()
                .filter(|(a, _)| index.key.iter().any(|(k, _)| k == a))
            {
                request = request.attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(attribute)
                        .attribute_type(ScalarAttributeType::from(kind.as_str()))
                        .build()?,
                );
            }
            let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_elements(&index.key)?))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()?;
            request
                .global_secondary_index_updates(
                    aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                        .create(create)
                        .build(),
                )
                .send()
                .await?;
            anyhow::Ok(())
        };
        match added.await {
            Ok(()) => tracing::info!(table = name, index = index.name, "index added to an existing table"),
            Err(error) => tracing::warn!(
                table = name,
                index = index.name,
                error = format!("{error:#}"),
                "cannot add an index to an existing table; start with a fresh data directory to use it"
            ),
        }
    }
}

/// Turns on the stream of a table created before the template asked for one.
async fn enable_missing_stream(
    db: &aws_sdk_dynamodb::Client,
    name: &str,
    stream: Option<StreamSpecification>,
) -> anyhow::Result<()> {
    let Some(stream) = stream else {
        return Ok(());
    };
    let described = db.describe_table().table_name(name).send().await?;
    let enabled = described
        .table()
        .and_then(|t| t.stream_specification())
        .is_some_and(|s| s.stream_enabled());
    if !enabled {
        db.update_table()
            .table_name(name)
            .stream_specification(stream)
            .send()
            .await
            .with_context(|| format!("cannot enable the stream of {name}"))?;
    }
    Ok(())
}

/// Creates the template's tables and buckets that do not exist yet.
pub async fn provision(sdk: &SdkConfig, template: &Template) -> anyhow::Result<()> {
    let db = aws_sdk_dynamodb::Client::new(sdk);
    for (name, table) in &template.tables {
        create_table(&db, name, table).await?;
    }
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    for logical_id in &template.buckets {
        let bucket = local_bucket_name(logical_id);
        match s3.create_bucket().bucket(&bucket).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()) => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create bucket {bucket}")),
        }
    }
    Ok(())
}
