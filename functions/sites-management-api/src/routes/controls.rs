//! `/api/sites/{siteId}/arming*`, `/api/cameras/{cameraId}/detection` and
//! `/api/sites/{siteId}/escalation`: when a site's detections count, which
//! people each camera counts, and whom to tell when nobody acknowledges an
//! intrusion. Staff and the site's own client may read them all and change the
//! first two; staff alone change escalation.

use axum::Json;
use axum::extract::State;
use seccom_domain::arming::{ArmingBody, ArmingChange, ArmingView, ManualBody};
use seccom_domain::controls::SiteControls;
use seccom_domain::detection::zones::{CameraDetection, DetectionBody};
use seccom_domain::ids::{DeviceId, SiteId};
use seccom_domain::page::{Page, PageQuery};
use seccom_domain::response::EscalationPolicy;
use seccom_http::{ApiError, Caller, JsonBody, PathId, QueryParams};

/// A site's arming now: its plan, any manual change in force, whether it is armed and when that next changes.
#[utoipa::path(get, path = "/api/sites/{siteId}/arming", tag = "arming",
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 200, description = "The site's arming", body = ArmingView)))]
pub(crate) async fn arming(
    State(controls): State<SiteControls>,
    Caller(who): Caller,
    PathId(site): PathId<SiteId>,
) -> Result<Json<ArmingView>, ApiError> {
    Ok(Json(controls.arming(&who, site).await?))
}

/// Replaces a site's standing plan (armed, disarmed, or a weekly schedule in the site's time zone); a manual change in force ends.
#[utoipa::path(put, path = "/api/sites/{siteId}/arming", tag = "arming", request_body = ArmingBody,
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 200, description = "The site's arming", body = ArmingView)))]
pub(crate) async fn set_plan(
    State(controls): State<SiteControls>,
    Caller(who): Caller,
    PathId(site): PathId<SiteId>,
    JsonBody(body): JsonBody<ArmingBody>,
) -> Result<Json<ArmingView>, ApiError> {
    Ok(Json(controls.set_plan(&who, site, body).await?))
}

/// Arms a site by hand, until `until` or the schedule's next change.
#[utoipa::path(post, path = "/api/sites/{siteId}/arming/arm", tag = "arming", request_body = ManualBody,
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 200, description = "The site's arming", body = ArmingView)))]
pub(crate) async fn arm(
    State(controls): State<SiteControls>,
    Caller(who): Caller,
    PathId(site): PathId<SiteId>,
    JsonBody(body): JsonBody<ManualBody>,
) -> Result<Json<ArmingView>, ApiError> {
    Ok(Json(controls.set_by_hand(&who, site, true, body).await?))
}

/// Disarms a site by hand, until `until` or the schedule's next change.
#[utoipa::path(post, path = "/api/sites/{siteId}/arming/disarm", tag = "arming", request_body = ManualBody,
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 200, description = "The site's arming", body = ArmingView)))]
pub(crate) async fn disarm(
    State(controls): State<SiteControls>,
    Caller(who): Caller,
    PathId(site): PathId<SiteId>,
    JsonBody(body): JsonBody<ManualBody>,
) -> Result<Json<ArmingView>, ApiError> {
    Ok(Json(controls.set_by_hand(&who, site, false, body).await?))
}

/// Every change of a site's arming, newest first: who, when, how.
#[utoipa::path(get, path = "/api/sites/{siteId}/arming/history", tag = "arming",
    params(("siteId" = SiteId, Path, description = "The site's id"), PageQuery),
    responses((status = 200, description = "A page of changes", body = Page<ArmingChange>)))]
pub(crate) async fn history(
    State(controls): State<SiteControls>,
    Caller(who): Caller,
    PathId(site): PathId<SiteId>,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<Json<Page<ArmingChange>>, ApiError> {
    Ok(Json(controls.arming_history(&who, site, page.try_into()?).await?))
}

/// A camera's detection settings: zones, masks, minimum score and box size.
#[utoipa::path(get, path = "/api/cameras/{cameraId}/detection", tag = "detection",
    params(("cameraId" = DeviceId, Path, description = "The camera's id")),
    responses((status = 200, description = "The camera's settings", body = CameraDetection)))]
pub(crate) async fn detection(
    State(controls): State<SiteControls>,
    Caller(who): Caller,
    PathId(camera): PathId<DeviceId>,
) -> Result<Json<CameraDetection>, ApiError> {
    Ok(Json(controls.detection(&who, camera).await?))
}

/// Replaces a camera's detection settings; what is left out takes its default.
#[utoipa::path(put, path = "/api/cameras/{cameraId}/detection", tag = "detection", request_body = DetectionBody,
    params(("cameraId" = DeviceId, Path, description = "The camera's id")),
    responses((status = 200, description = "The camera's settings", body = CameraDetection)))]
pub(crate) async fn set_detection(
    State(controls): State<SiteControls>,
    Caller(who): Caller,
    PathId(camera): PathId<DeviceId>,
    JsonBody(body): JsonBody<DetectionBody>,
) -> Result<Json<CameraDetection>, ApiError> {
    Ok(Json(controls.set_detection(&who, camera, body).await?))
}

/// A site's escalation policy: whom to tell, and after how long, when nobody acknowledges an intrusion there.
#[utoipa::path(get, path = "/api/sites/{siteId}/escalation", tag = "escalation",
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 200, description = "The site's policy (no steps when never set)", body = EscalationPolicy)))]
pub(crate) async fn escalation(
    State(controls): State<SiteControls>,
    Caller(who): Caller,
    PathId(site): PathId<SiteId>,
) -> Result<Json<EscalationPolicy>, ApiError> {
    Ok(Json(controls.escalation(&who, site).await?))
}

/// Replaces a site's escalation policy (SecCom staff only). Each step is taken by the policy in force when it comes due.
#[utoipa::path(put, path = "/api/sites/{siteId}/escalation", tag = "escalation", request_body = EscalationPolicy,
    params(("siteId" = SiteId, Path, description = "The site's id")),
    responses((status = 200, description = "The site's policy, addresses normalised", body = EscalationPolicy)))]
pub(crate) async fn set_escalation(
    State(controls): State<SiteControls>,
    Caller(who): Caller,
    PathId(site): PathId<SiteId>,
    JsonBody(body): JsonBody<EscalationPolicy>,
) -> Result<Json<EscalationPolicy>, ApiError> {
    Ok(Json(controls.set_escalation(&who, site, body).await?))
}
