//! The devices API: what cameras and alarms call, authenticated by the device
//! credential issued at registration (never a user token). Cameras ask for a
//! short-lived presigned S3 upload per frame or per bundle of up to 16 frames,
//! so frames never pass through the ALB's 1 MB body limit; every device sends
//! heartbeats, which answer with the commands (alarm activations, clip
//! requests) not yet received by push, and registers the endpoint commands are
//! pushed to.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use seccom_domain::clock::SystemClock;
use seccom_domain::config::{Config, MissingSetting};
use seccom_domain::destinations::Destinations;
use seccom_domain::detection::FrameKey;
use seccom_domain::detection::bundle::{BundleKey, MAX_BUNDLE_BYTES, MAX_BUNDLE_FRAMES, MAX_FIRST_SEQ};
use seccom_domain::directory::{Device, DeviceAuth, DeviceEndpoint, DeviceKind, DeviceState, Directory};
use seccom_domain::error::DomainError;
use seccom_domain::ids::DeviceId;
use seccom_domain::response::outbound::{Upload, UploadSigner};
use seccom_domain::response::{Command, Heartbeats};
use seccom_domain::values::FieldError;
use seccom_http::openapi::{self, Callers};
use seccom_http::{ApiError, JsonBody, PathId};
use seccom_pictures::frame::MAX_FRAME_BYTES;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long a frame upload URL stays valid.
const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(300);

/// What the handlers share; built once per Lambda container.
#[derive(Clone, FromRef)]
pub struct AppState {
    directory: Directory,
    heartbeats: Arc<Heartbeats>,
    uploads: Arc<dyn UploadSigner>,
    destinations: Destinations,
}

/// The device calling, authenticated by its credential.
pub struct DeviceCaller(pub Device);

impl FromRequestParts<AppState> for DeviceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "send the device credential as a bearer token"))?;
        // The ALB appends the caller's address to X-Forwarded-For: the last entry is the one it saw.
        let source = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        match state.directory.authenticate_device(presented.trim(), source).await? {
            DeviceAuth::Accepted(device) => Ok(Self(device)),
            DeviceAuth::Refused => {
                tracing::info!(?source, "a device credential was refused");
                Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "the device credential is not valid",
                ))
            }
            DeviceAuth::Throttled { retry_after } => {
                tracing::warn!(
                    ?source,
                    retry_after,
                    "device authentication throttled after repeated failures"
                );
                Err(ApiError::too_many_requests(
                    "too many failed attempts; try again later",
                    retry_after,
                ))
            }
        }
    }
}

/// Body of a frame upload request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FrameUploadBody {
    /// The camera's own frame counter: consecutive frames have consecutive numbers
    /// (0 to 2^53 - 16, so that every frame of a bundle of up to 16 from it stays
    /// among the whole numbers every JSON reader keeps exactly).
    #[serde(deserialize_with = "seccom_http::whole_number")]
    #[schema(minimum = 0, maximum = 9007199254740976_u64)]
    pub seq: u64,
    /// When the camera captured the frame (RFC 3339); of a bundle, its first frame.
    pub captured_at: DateTime<Utc>,
    /// How many consecutive frames from `seq` the upload carries: 1 (the default)
    /// for one JPEG or PNG, 2 to 16 for a bundle: a tar archive with one member per
    /// frame, named by its sequence number (`00000000000000000042.jpg` or `42.jpg`),
    /// whose modification time is the frame's capture time (`tar --format=posix`
    /// keeps fractions of a second). A bundle may leave frames of its range out.
    /// One upload instead of many is what makes a continuously streaming camera
    /// cheap; it delays the first frame's decision by the bundle's length.
    #[serde(default = "one_frame", deserialize_with = "seccom_http::whole_number")]
    #[schema(minimum = 1, maximum = 16, default = 1)]
    pub frames: u64,
    /// The exact size of the upload in bytes: at most 10 MiB for a frame, 32 MiB
    /// for a bundle. The URL is signed for this size; S3 refuses any other.
    #[serde(deserialize_with = "seccom_http::whole_number")]
    #[schema(minimum = 1, maximum = 33554432)]
    pub bytes: u64,
}

fn one_frame() -> u64 {
    1
}

/// Where and how to upload one frame or a bundle of frames.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FrameUpload {
    /// The object key the frame (or bundle) will have.
    pub key: String,
    /// Always `PUT`.
    pub method: &'static str,
    /// The presigned URL; send the frame (JPEG or PNG), or the bundle (tar), as the body.
    pub upload_url: String,
    /// Headers the upload must carry exactly, as they are part of the signature.
    pub headers: std::collections::BTreeMap<String, String>,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// The longest fault reason a heartbeat may give.
const MAX_REASON: usize = 500;

/// Body of a heartbeat (optional; no body means all is well).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBody {
    /// `ok` (the default) or `faulty`.
    #[serde(default)]
    pub status: Option<HeartbeatStatus>,
    /// What is wrong, when faulty (at most 500 characters; logged for the operators).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// A device's own view of its health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HeartbeatStatus {
    Ok,
    Faulty,
}

/// The answer to a heartbeat.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatAnswer {
    pub state: DeviceState,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Commands not yet received by push (alarm activations, clip requests), oldest first.
    /// A command may also arrive by push: act on each command id once.
    pub commands: Vec<Command>,
    /// Whether the device's site is armed now: a camera may send no frames while
    /// it is not (SecCom checks arming itself whatever a camera sends).
    pub armed: bool,
    /// Until when `armed` holds, if it changes within 35 days.
    pub armed_until: Option<DateTime<Utc>>,
}

/// Body of `PUT /api/devices/{deviceId}/endpoint`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    /// Where the device accepts signed command pushes (`POST`, JSON): an
    /// absolute `http` or `https` URL of a public host, without credentials.
    #[schema(
        format = "uri",
        max_length = 2048,
        example = "https://camera-17.example.com/seccom/commands"
    )]
    pub url: String,
}

fn require_self(device: &Device, id: DeviceId) -> Result<(), ApiError> {
    if device.id == id {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "a device may only act for itself"))
    }
}

/// Issues a presigned upload for one frame, or a bundle of consecutive frames, of the calling camera.
#[utoipa::path(post, path = "/api/devices/cameras/{cameraId}/frames", tag = "devices", request_body = FrameUploadBody,
    params(("cameraId" = DeviceId, Path, description = "The calling camera's id")),
    responses((status = 201, description = "Where to upload the frame or bundle", body = FrameUpload)))]
async fn request_frame_upload(
    State(uploads): State<Arc<dyn UploadSigner>>,
    State(directory): State<Directory>,
    DeviceCaller(device): DeviceCaller,
    PathId(camera): PathId<DeviceId>,
    JsonBody(body): JsonBody<FrameUploadBody>,
) -> Result<(StatusCode, Json<FrameUpload>), ApiError> {
    require_self(&device, camera)?;
    if device.kind != DeviceKind::Camera {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "only cameras upload frames"));
    }
    if body.seq > MAX_FIRST_SEQ {
        return Err(DomainError::Invalid(vec![FieldError {
            name: "seq".into(),
            reason: format!("seq is 0 to {MAX_FIRST_SEQ} (2^53 - {MAX_BUNDLE_FRAMES})"),
        }])
        .into());
    }
    let key = match body.frames {
        1 => FrameKey { camera, seq: body.seq }.to_string(),
        frames => BundleKey::new(camera, body.seq, frames)
            .ok_or_else(|| {
                DomainError::Invalid(vec![FieldError {
                    name: "frames".into(),
                    reason: format!("frames is 1 to {MAX_BUNDLE_FRAMES}"),
                }])
            })?
            .to_string(),
    };
    let most = if body.frames == 1 {
        MAX_FRAME_BYTES
    } else {
        MAX_BUNDLE_BYTES
    };
    if !(1..=most).contains(&body.bytes) {
        return Err(DomainError::Invalid(vec![FieldError {
            name: "bytes".into(),
            reason: format!("bytes is 1 to {most} for {} frame(s)", body.frames),
        }])
        .into());
    }
    directory.take_upload(&device).await?;
    let upload = Upload::Frame {
        key: &key,
        captured_at: body.captured_at,
        bytes: body.bytes,
    };
    let signed = uploads.upload(upload, UPLOAD_URL_LIFETIME).await?;
    let upload = FrameUpload {
        method: "PUT",
        upload_url: signed.url,
        headers: signed.headers,
        expires_at: directory.now() + UPLOAD_URL_LIFETIME,
        key,
    };
    Ok((StatusCode::CREATED, Json(upload)))
}

/// Records that the calling device is alive (or faulty) and hands over the commands waiting for it.
#[utoipa::path(post, path = "/api/devices/{deviceId}/heartbeat", tag = "devices", request_body = Option<HeartbeatBody>,
    params(("deviceId" = DeviceId, Path, description = "The calling device's id")),
    responses((status = 200, description = "The device's recorded state and any commands", body = HeartbeatAnswer)))]
async fn heartbeat(
    State(heartbeats): State<Arc<Heartbeats>>,
    DeviceCaller(device): DeviceCaller,
    PathId(id): PathId<DeviceId>,
    body: axum::body::Bytes,
) -> Result<Json<HeartbeatAnswer>, ApiError> {
    require_self(&device, id)?;
    // No body, or `null`, means all is well.
    let body: HeartbeatBody = if body.is_empty() {
        HeartbeatBody::default()
    } else {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Null) => HeartbeatBody::default(),
            Ok(value) => seccom_http::object_body(value)?,
            Err(e) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("the heartbeat body is not understood: {e}"),
                ));
            }
        }
    };
    let faulty = body.status == Some(HeartbeatStatus::Faulty);
    if let Some(reason) = &body.reason
        && reason.chars().count() > MAX_REASON
    {
        let errors = vec![FieldError {
            name: "reason".into(),
            reason: format!("reason is at most {MAX_REASON} characters"),
        }];
        return Err(DomainError::Invalid(errors).into());
    }
    if faulty {
        let reason = body.reason.as_deref().unwrap_or("no reason given");
        tracing::warn!(device = %device.id, reason, "the device reports a fault");
    }
    let beat = heartbeats.beat(&device, faulty).await?;
    Ok(Json(HeartbeatAnswer {
        state: beat.device.state,
        last_seen_at: beat.device.last_seen_at,
        commands: beat.commands,
        armed: beat.armed,
        armed_until: beat.armed_until,
    }))
}

/// Registers where the calling device accepts pushed commands; each push is
/// signed (`X-SecCom-Signature`) with the SHA-256 of the device credential.
#[utoipa::path(put, path = "/api/devices/{deviceId}/endpoint", tag = "devices", request_body = EndpointBody,
    params(("deviceId" = DeviceId, Path, description = "The calling device's id")),
    responses((status = 200, description = "The device with its endpoint", body = Device)))]
async fn register_endpoint(
    State(directory): State<Directory>,
    State(destinations): State<Destinations>,
    DeviceCaller(device): DeviceCaller,
    PathId(id): PathId<DeviceId>,
    JsonBody(body): JsonBody<EndpointBody>,
) -> Result<Json<Device>, ApiError> {
    require_self(&device, id)?;
    let endpoint = DeviceEndpoint::parse(&body.url, destinations)?;
    Ok(Json(directory.set_endpoint(&device, &endpoint).await?))
}

#[derive(OpenApi)]
#[openapi(info(
    title = "SecCom Devices API",
    description = "Called by cameras and alarms, authenticated with the device credential issued at registration \
                   (`Authorization: Bearer sck_...`). Reached through the ALB on `/api/devices/*`. Every error is an \
                   RFC 9457 problem document.",
    version = "1.0.0"
))]
struct ApiDoc;

fn router_with_doc() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(request_frame_upload))
        .routes(routes!(heartbeat))
        .routes(routes!(register_endpoint))
}

/// The API's OpenAPI description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = router_with_doc().split_for_parts().1;
    openapi::complete(&mut document, Callers::Devices);
    document
}

impl AppState {
    /// The handlers' state over these ports.
    pub fn new(
        directory: Directory,
        heartbeats: Heartbeats,
        uploads: Arc<dyn UploadSigner>,
        destinations: Destinations,
    ) -> Self {
        Self {
            directory,
            heartbeats: Arc::new(heartbeats),
            uploads,
            destinations,
        }
    }
}

/// The API over `state`, with the health check, fallbacks and limits every API has.
pub fn router(state: AppState) -> Router {
    let (routes, _) = router_with_doc().with_state(state).split_for_parts();
    seccom_http::service(routes)
}

/// The function's router, wired to the AWS services and settings given.
pub fn app(sdk: &SdkConfig, config: &Config) -> Result<Router, MissingSetting> {
    let stores = seccom_aws::Stores::new(sdk, config);
    let directory = stores.directory()?;
    let heartbeats = Heartbeats {
        directory: directory.clone(),
        store: stores.responses()?,
        controls: stores.controls()?,
        clock: Arc::new(SystemClock),
    };
    let uploads = Arc::new(seccom_aws::S3Media::from_config(
        sdk,
        config,
        &[seccom_domain::media::Store::Frames],
    )?);
    Ok(router(AppState::new(
        directory,
        heartbeats,
        uploads,
        config.destinations(),
    )))
}

#[cfg(test)]
mod tests;
