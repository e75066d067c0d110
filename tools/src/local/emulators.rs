//! The embedded AWS emulators: dynoxide for DynamoDB and s3s-fs for S3, both
//! speaking the real wire protocols over loopback and keeping their data under
//! the data directory. Resources are created from the template's definitions.

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

use super::notifications::Notifier;
use super::template::{Table, Template, local_bucket_name};

/// The access key the local S3 accepts; requests must be signed with it.
pub const ACCESS_KEY: &str = "seccom-local";
/// The secret key paired with [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "seccom-local-secret";

/// Serves DynamoDB from `data_dir/dynamodb.sqlite` until `stop` fires.
pub async fn serve_dynamodb(
    listener: TcpListener,
    data_dir: &Path,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let path = data_dir.join("dynamodb.sqlite");
    let database = dynoxide::Database::new(path.to_str().context("the data directory path is not UTF-8")?)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        if let Err(e) = dynoxide::server::serve_with_shutdown(listener, database, shutdown).await {
            tracing::error!(error = %e, "the DynamoDB emulator stopped");
        }
    });
    Ok(())
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
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let root = data_dir.join("s3");
    std::fs::create_dir_all(&root)?;
    let filesystem =
        s3s_fs::FileSystem::new(&root).map_err(|e| anyhow::anyhow!("cannot serve {}: {e:?}", root.display()))?;
    let mut builder = s3s::service::S3ServiceBuilder::new(filesystem);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let s3 = builder.build();
    let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
        let (s3, notifier) = (s3.clone(), notifier.clone());
        async move {
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
