//! The site-arming and camera-detection pages both portals share: a site's
//! arming now (with its next change), arming and disarming by hand, the weekly
//! schedule with its exceptions, and the history; a camera's zones and masks,
//! drawn by clicking on its latest frame (`portal.js`), and its thresholds.
//! Refused input shows the page again with the reasons, losing nothing typed.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{NaiveDateTime, TimeZone};
use maud::{Markup, html};
use seccom_domain::arming::{ArmingBody, ArmingView, ExceptionBody, ManualBody, PeriodBody};
use seccom_domain::auth::Principal;
use seccom_domain::detection::FrameOutcome;
use seccom_domain::detection::bundle;
use seccom_domain::detection::zones::{CameraDetection, DetectionBody, MaskBody, ZoneBody};
use seccom_domain::directory::DeviceKind;
use seccom_domain::error::DomainError;
use seccom_domain::ids::{DeviceId, SiteId};
use seccom_domain::media;
use seccom_domain::page::PageRequest;
use seccom_domain::values::FieldError;
use seccom_pictures::privacy;

use crate::page::{maybe_time, time};
use crate::{CsrfToken, Form, PageError, Portal, PortalState, PortalUser, Signed};

/// Blank schedule and exception rows offered below the ones in use.
const BLANK_ROWS: usize = 2;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A form as its name and value pairs, in order (a field may repeat).
pub type Fields = Vec<(String, String)>;

pub(crate) fn value<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn values<'a>(fields: &'a Fields, name: &'a str) -> impl Iterator<Item = &'a str> {
    fields.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub(crate) fn site_id(raw: &str) -> Result<SiteId, PageError> {
    raw.parse().map_err(|_| DomainError::NotFound("site").into())
}

fn camera_id(raw: &str) -> Result<DeviceId, PageError> {
    raw.parse().map_err(|_| DomainError::NotFound("camera").into())
}

/// The arming page of a site: `errors` (and what was sent) when a form was refused.
async fn site_page(
    state: &PortalState,
    who: &Principal,
    portal: Portal,
    csrf: &CsrfToken,
    raw_site: &str,
    errors: &[FieldError],
) -> Result<Markup, PageError> {
    let id = site_id(raw_site)?;
    let site = state.directory.get_site(who, id).await?;
    let arming = state.controls.arming(who, id).await?;
    let history = state
        .controls
        .arming_history(who, id, PageRequest { limit: 20, token: None })
        .await?;
    let cameras: Vec<_> = state
        .site_devices(who, id)
        .await?
        .into_iter()
        .filter(|d| d.kind == DeviceKind::Camera)
        .collect();
    let base = format!("{}/sites/{id}", portal.prefix());
    Ok(html! {
        h1 { "Arming of " (site.name.as_str()) }
        (arming_state(&arming, who))
        p.muted { a href=(format!("{base}/escalation")) { "Escalation" } " when nobody acknowledges an intrusion here" }
        @if !errors.is_empty() {
            div.errors role="alert" {
                p { "Nothing was changed. Please check:" }
                ul { @for error in errors { li { code { (error.name) } ": " (error.reason) } } }
            }
        }
        form.stack method="post" action=(format!("{base}/arm")) {
            (csrf.field())
            h2 { "Arm or disarm now" }
            label { "Until (site time, " (arming.time_zone) "; empty: until the schedule next changes)"
                input type="datetime-local" name="until"; }
            label { "Note (optional)" input type="text" name="note" maxlength="500"; }
            div.buttons {
                button type="submit" { "Arm now" }
                button type="submit" formaction=(format!("{base}/disarm")) { "Disarm now" }
            }
        }
        form.stack method="post" action=(format!("{base}/arming")) {
            (csrf.field())
            h2 { "Standing plan" }
            label { "Mode"
                select name="mode" {
                    @for (mode, label) in [("armed", "Always armed"), ("disarmed", "Never armed"), ("scheduled", "Armed on a schedule")] {
                        option value=(mode) selected[arming.mode == mode] { (label) }
                    }
                }
            }
            label { "Time zone of the site (IANA, e.g. Europe/Lisbon)"
                input type="text" name="timeZone" value=(arming.time_zone) required; }
            fieldset {
                legend { "Armed periods (a period ending at or before its start ends the next day)" }
                @for (index, period) in arming.schedule.iter().map(Some).chain(std::iter::repeat_n(None, BLANK_ROWS)).enumerate() {
                    (period_row(index, period))
                }
            }
            fieldset {
                legend { "Exceptions (whole local days)" }
                @for (index, exception) in arming.exceptions.iter().map(Some).chain(std::iter::repeat_n(None, BLANK_ROWS)).enumerate() {
                    div.row {
                        label { "Date" input type="date" name=(format!("exceptionDate{index}")) value=[exception.map(|e| e.date.as_str())]; }
                        label { "That day"
                            select name=(format!("exceptionArmed{index}")) {
                                option value="true" selected[exception.is_some_and(|e| e.armed)] { "armed" }
                                option value="false" selected[exception.is_some_and(|e| !e.armed)] { "disarmed" }
                            }
                        }
                    }
                }
            }
            @if let Some(manual) = &arming.manual {
                label { span { input type="checkbox" name="endManual" value="true";
                    " Also end the manual " (if manual.armed { "arm" } else { "disarm" })
                    @if let Some(until) = manual.until { " (in force until " (time(until)) ")" }
                    "; otherwise it stays in force and the plan applies after it" } }
            }
            button type="submit" { "Save the plan" }
        }
        h2 { "Cameras" }
        @if cameras.is_empty() { p.muted { "No camera at this site." } }
        ul { @for camera in &cameras {
            li { a href=(format!("{}/cameras/{}", portal.prefix(), camera.id)) { (camera.name.as_str()) } " — zones and masks" }
        } }
        h2 { "History" }
        @if history.items.is_empty() { p.muted { "No change yet: the site has always been armed." } }
        @else {
            table.list {
                thead { tr { th { "When" } th { "What" } th { "Until" } th { "Who" } th { "Note" } } }
                tbody { @for change in &history.items {
                    tr {
                        td data-label="When" { (time(change.at)) }
                        td data-label="What" { (match change.action {
                            seccom_domain::arming::ArmingAction::Plan => "plan changed",
                            seccom_domain::arming::ArmingAction::Arm => "armed by hand",
                            seccom_domain::arming::ArmingAction::Disarm => "disarmed by hand",
                        }) }
                        td data-label="Until" { (maybe_time(change.until)) }
                        td data-label="Who" { (if change.by == who.subject { "you" } else { change.by.as_str() }) }
                        td data-label="Note" { (change.note.as_deref().unwrap_or("")) }
                    }
                } }
            }
        }
    })
}

fn arming_state(arming: &ArmingView, who: &Principal) -> Markup {
    html! {
        p.arming {
            @if arming.armed_now { span.state-armed { "Armed now" } } @else { span.state-disarmed { "Disarmed now" } }
            @if let Some(next) = arming.next_change_at { ", until " (time(next)) }
            "."
        }
        @if let Some(manual) = &arming.manual {
            p.muted { (if manual.armed { "Armed" } else { "Disarmed" }) " by hand by "
                (if manual.by == who.subject { "you" } else { manual.by.as_str() }) " on " (time(manual.at))
                @if let Some(until) = manual.until { " until " (time(until)) }
                @if let Some(note) = &manual.note { ": " q { (note) } } "."
                " Saving the plan keeps it in force unless you also end it." }
        }
    }
}

fn period_row(index: usize, period: Option<&PeriodBody>) -> Markup {
    html! {
        div.row {
            span.days {
                @for day in DAYS {
                    label.day { input type="checkbox" name=(format!("day{index}")) value=(day)
                        checked[period.is_some_and(|p| p.days.iter().any(|d| d == day))]; (day) }
                }
            }
            label { "From" input type="time" name=(format!("from{index}")) value=[period.map(|p| p.from.as_str())]; }
            label { "To" input type="text" inputmode="numeric" pattern="[0-2][0-9]:[0-5][0-9]" placeholder="HH:MM"
                name=(format!("to{index}")) value=[period.map(|p| p.to.as_str())]; }
        }
    }
}

/// The plan the schedule form describes; blank rows are left out.
fn plan_of(fields: &Fields) -> ArmingBody {
    let rows = |prefix: &str| {
        fields
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(prefix)?.parse::<usize>().ok())
            .max()
            .map_or(0, |last| last + 1)
    };
    let schedule = (0..rows("from").max(rows("day")).max(rows("to")))
        .filter_map(|i| {
            let day_field = format!("day{i}");
            let days: Vec<String> = values(fields, &day_field).map(str::to_owned).collect();
            let from = value(fields, &format!("from{i}")).unwrap_or_default().to_owned();
            let to = value(fields, &format!("to{i}")).unwrap_or_default().to_owned();
            (!days.is_empty() || !from.is_empty() || !to.is_empty()).then_some(PeriodBody { days, from, to })
        })
        .collect();
    let exceptions = (0..rows("exceptionDate"))
        .filter_map(|i| {
            let date = value(fields, &format!("exceptionDate{i}")).unwrap_or_default();
            (!date.is_empty()).then(|| ExceptionBody {
                date: date.to_owned(),
                armed: value(fields, &format!("exceptionArmed{i}")) == Some("true"),
            })
        })
        .collect();
    ArmingBody {
        mode: value(fields, "mode").unwrap_or_default().to_owned(),
        time_zone: value(fields, "timeZone").map(str::to_owned),
        schedule,
        exceptions,
        end_manual: value(fields, "endManual") == Some("true"),
    }
}

/// Shows the page again with the reasons a form was refused (422), or the error page.
pub(crate) async fn refused_or<F>(error: DomainError, page: F) -> Result<Response, PageError>
where
    F: AsyncFnOnce(&[FieldError]) -> Result<Markup, PageError>,
{
    match error {
        DomainError::Invalid(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&errors).await?).into_response()),
        other => Err(other.into()),
    }
}

/// Saves the standing plan from the schedule form.
#[allow(clippy::too_many_arguments)]
async fn save_plan(
    state: &PortalState,
    who: &Principal,
    portal: Portal,
    csrf: &CsrfToken,
    raw_site: &str,
    fields: &Fields,
    wrap: impl Fn(Markup) -> Markup,
) -> Result<Response, PageError> {
    let id = site_id(raw_site)?;
    match state.controls.set_plan(who, id, plan_of(fields)).await {
        Ok(_) => Ok(Redirect::to(&format!("{}/sites/{id}/arming", portal.prefix())).into_response()),
        Err(error) => {
            refused_or(error, async |errors| {
                Ok(wrap(site_page(state, who, portal, csrf, raw_site, errors).await?))
            })
            .await
        }
    }
}

/// Arms (`armed`) or disarms a site from the arm-or-disarm form; `until` is read in the site's time zone.
#[allow(clippy::too_many_arguments)]
async fn set_by_hand(
    state: &PortalState,
    who: &Principal,
    portal: Portal,
    csrf: &CsrfToken,
    raw_site: &str,
    fields: &Fields,
    armed: bool,
    wrap: impl Fn(Markup) -> Markup,
) -> Result<Response, PageError> {
    let id = site_id(raw_site)?;
    let zone = state.controls.arming(who, id).await?.time_zone;
    let until = value(fields, "until").filter(|u| !u.is_empty()).map(|raw| {
        NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|local| {
                zone.parse::<chrono_tz::Tz>()
                    .ok()?
                    .from_local_datetime(&local)
                    .earliest()
            })
            .map_or_else(|| raw.to_owned(), |at| at.to_rfc3339())
    });
    let body = ManualBody {
        until,
        note: value(fields, "note").map(str::to_owned),
    };
    match state.controls.set_by_hand(who, id, armed, body).await {
        Ok(_) => Ok(Redirect::to(&format!("{}/sites/{id}/arming", portal.prefix())).into_response()),
        Err(error) => {
            refused_or(error, async |errors| {
                Ok(wrap(site_page(state, who, portal, csrf, raw_site, errors).await?))
            })
            .await
        }
    }
}

/// The detection page of a camera: its latest frame to draw zones and masks on, and its thresholds.
async fn camera_page(
    state: &PortalState,
    who: &Principal,
    portal: Portal,
    csrf: &CsrfToken,
    raw_camera: &str,
    errors: &[FieldError],
    sent: Option<&CameraDetection>,
) -> Result<Markup, PageError> {
    let id = camera_id(raw_camera)?;
    let camera = state.directory.get_device(who, id, DeviceKind::Camera).await?;
    let saved = state.controls.detection(who, id).await?;
    let settings = sent.unwrap_or(&saved);
    let latest = state.intrusions.latest_frame(who, id).await?;
    // A frame uploaded alone and with nothing to blur is linked straight from
    // the bucket; any other is sent by the picture route, masked.
    let frame_url = match &latest {
        Some(frame) if saved.privacy.is_empty() && bundle::frame_location(&frame.object_key).1.is_none() => {
            Some(state.links.frame_link(&frame.object_key).await?)
        }
        Some(_) => Some(format!("{}/cameras/{id}/picture", portal.prefix())),
        None => None,
    };
    let (width, height) = match latest.as_ref().map(|f| &f.outcome) {
        Some(FrameOutcome::Analysed { width, height, .. }) if *width > 0 && *height > 0 => (*width, *height),
        _ => (4, 3),
    };
    let zones = serde_json::to_string(&settings.zones).unwrap_or_else(|_| "[]".into());
    let masks = serde_json::to_string(&settings.masks).unwrap_or_else(|_| "[]".into());
    let privacy = serde_json::to_string(&settings.privacy).unwrap_or_else(|_| "[]".into());
    Ok(html! {
        h1 { "Detection at camera " (camera.name.as_str()) }
        p { a href=(format!("{}/sites/{}/arming", portal.prefix(), camera.site_id)) { "The site's arming" } }
        p.muted { "A person counts when the point they stand on lies in a zone (no zones: anywhere in view) and in no mask, "
            "with at least the minimum score and box size. Privacy masks are blurred in the pictures SecCom keeps "
            "(a neighbour's window, the street). Click on the picture to place the corners of a shape, then finish it." }
        @if !errors.is_empty() {
            div.errors role="alert" {
                p { "Nothing was changed. Please check:" }
                ul { @for error in errors { li { code { (error.name) } ": " (error.reason) } } }
            }
        }
        div id="zone-editor" data-width=(width) data-height=(height) {
            div.frame {
                @if let Some(url) = &frame_url {
                    img src=(url) alt="The camera's latest frame";
                } @else {
                    p.muted { "No frame from this camera in the last day; shapes can still be drawn on the blank frame." }
                }
                svg viewBox="0 0 1 1" preserveAspectRatio="none" aria-label="Zones and masks on the frame" {}
            }
            div.toolbar {
                label { "Shape"
                    select name="shapeKind" { option value="zone" { "zone (people count here)" } option value="mask" { "mask (people never count here)" }
                    option value="privacy" { "privacy mask (blurred in stored pictures)" } } }
                label { "Zone name" input type="text" name="shapeName" maxlength="120" placeholder="yard"; }
                button type="button" data-action="finish" { "Finish shape" }
                button type="button" data-action="undo" { "Undo corner" }
                button type="button" data-action="clear" { "Start again" }
            }
            p.muted data-role="status" aria-live="polite" {}
            ul data-role="shapes" {}
        }
        form.stack id="detection-form" method="post" action=(format!("{}/cameras/{id}/detection", portal.prefix())) {
            (csrf.field())
            input type="hidden" name="zones" value=(zones);
            input type="hidden" name="masks" value=(masks);
            input type="hidden" name="privacy" value=(privacy);
            label { "Minimum score (0.3 to 1)"
                input type="number" name="minScore" step="0.01" min="0.3" max="1" value=(settings.min_score); }
            label { "Minimum box size (fraction of the frame, 0 to 1)"
                input type="number" name="minBoxArea" step="0.001" min="0" max="1" value=(settings.min_box_area); }
            button type="submit" { "Save" }
        }
    })
}

fn shapes<T: serde::de::DeserializeOwned>(fields: &Fields, name: &str, errors: &mut Vec<FieldError>) -> Vec<T> {
    let raw = value(fields, name).unwrap_or("[]");
    serde_json::from_str(if raw.trim().is_empty() { "[]" } else { raw }).unwrap_or_else(|e| {
        errors.push(FieldError {
            name: name.to_owned(),
            reason: format!("the drawn shapes could not be read: {e}"),
        });
        Vec::new()
    })
}

fn number(fields: &Fields, name: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    let raw = value(fields, name).unwrap_or_default().trim();
    if raw.is_empty() {
        return None;
    }
    raw.parse()
        .map_err(|_| {
            errors.push(FieldError {
                name: name.to_owned(),
                reason: format!("{raw:?} is not a number"),
            })
        })
        .ok()
}

/// Saves a camera's settings from the detection form.
#[allow(clippy::too_many_arguments)]
async fn save_detection(
    state: &PortalState,
    who: &Principal,
    portal: Portal,
    csrf: &CsrfToken,
    raw_camera: &str,
    fields: &Fields,
    wrap: impl Fn(Markup) -> Markup,
) -> Result<Response, PageError> {
    let id = camera_id(raw_camera)?;
    let mut errors = Vec::new();
    let body = DetectionBody {
        zones: shapes::<ZoneBody>(fields, "zones", &mut errors),
        masks: shapes::<MaskBody>(fields, "masks", &mut errors),
        privacy: shapes::<MaskBody>(fields, "privacy", &mut errors),
        min_score: number(fields, "minScore", &mut errors),
        min_box_area: number(fields, "minBoxArea", &mut errors),
    };
    let outcome = if errors.is_empty() {
        state.controls.set_detection(who, id, body).await
    } else {
        state.directory.get_device(who, id, DeviceKind::Camera).await?;
        Err(DomainError::Invalid(errors))
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("{}/cameras/{id}", portal.prefix())).into_response()),
        Err(error) => {
            refused_or(error, async |errors| {
                Ok(wrap(
                    camera_page(state, who, portal, csrf, raw_camera, errors, None).await?,
                ))
            })
            .await
        }
    }
}

async fn site<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let body = site_page(&state, user.principal(), U::PORTAL, &csrf, &id, &[]).await?;
    Ok(user.page("Arming", body))
}

async fn plan<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    csrf: CsrfToken,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    let wrap = |body| user.page("Arming", body);
    save_plan(&state, user.principal(), U::PORTAL, &csrf, &id, &fields, wrap).await
}

async fn by_hand<U: PortalUser, const ARMED: bool>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    csrf: CsrfToken,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    let wrap = |body| user.page("Arming", body);
    set_by_hand(&state, user.principal(), U::PORTAL, &csrf, &id, &fields, ARMED, wrap).await
}

async fn camera<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let body = camera_page(&state, user.principal(), U::PORTAL, &csrf, &id, &[], None).await?;
    Ok(user.page("Camera", body))
}

/// The camera's latest frame with its privacy masks blurred (as saved now),
/// or read out of its bundle: sent as long as it fits in a load balancer
/// response. A frame uploaded alone with nothing to blur is linked straight
/// from the bucket.
async fn picture<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    Path(raw_camera): Path<String>,
) -> Result<Response, PageError> {
    /// A Lambda response through the ALB is at most 1 MB, base64 included.
    const MOST_PICTURE_BYTES: usize = 700 * 1024;
    let id = camera_id(&raw_camera)?;
    let latest = state.intrusions.latest_frame(user.principal(), id).await?;
    let Some(frame) = latest else {
        return Err(DomainError::NotFound("frame").into());
    };
    let private = state.controls.detection(user.principal(), id).await?.private_regions();
    if private.is_empty() && bundle::frame_location(&frame.object_key).1.is_none() {
        return Ok(Redirect::to(&state.links.frame_link(&frame.object_key).await?).into_response());
    }
    let mut bytes = media::bundled_frame(state.frames.as_ref(), &frame.object_key)
        .await?
        .ok_or(DomainError::NotFound("frame"))?;
    if !private.is_empty() {
        bytes = tokio::task::spawn_blocking(move || privacy::shown(&bytes, &private))
            .await
            .map_err(|e| DomainError::unavailable("the blurring stopped", e))?
            .map_err(|e| DomainError::unavailable("cannot blur the camera's latest frame", e.into_boxed_dyn_error()))?;
    }
    if bytes.len() > MOST_PICTURE_BYTES {
        return Err(DomainError::unavailable(
            "the camera's latest frame is too large to show here",
            format!("{} bytes", bytes.len()),
        )
        .into());
    }
    Ok((
        [
            (header::CONTENT_TYPE, media::picture_type(&bytes)),
            (header::CACHE_CONTROL, "private, max-age=60"),
        ],
        bytes,
    )
        .into_response())
}

async fn detection<U: PortalUser>(
    State(state): State<PortalState>,
    Signed(user): Signed<U>,
    csrf: CsrfToken,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    let wrap = |body| user.page("Camera", body);
    save_detection(&state, user.principal(), U::PORTAL, &csrf, &id, &fields, wrap).await
}

/// The arming and detection pages under the portal's prefix: `/sites/{id}/arming`
/// (and its `arm` and `disarm` forms) and `/cameras/{id}` (and its `detection`
/// form and `picture`).
pub fn routes<U: PortalUser>() -> Router<PortalState> {
    let prefix = U::PORTAL.prefix();
    Router::new()
        .route(&format!("{prefix}/sites/{{id}}/arming"), get(site::<U>).post(plan::<U>))
        .route(&format!("{prefix}/sites/{{id}}/arm"), post(by_hand::<U, true>))
        .route(&format!("{prefix}/sites/{{id}}/disarm"), post(by_hand::<U, false>))
        .route(&format!("{prefix}/cameras/{{id}}"), get(camera::<U>))
        .route(&format!("{prefix}/cameras/{{id}}/picture"), get(picture::<U>))
        .route(&format!("{prefix}/cameras/{{id}}/detection"), post(detection::<U>))
}
