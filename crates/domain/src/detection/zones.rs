//! Which people count, per camera: detection zones and masks drawn on the
//! frame, a minimum score and a minimum box size (as in Frigate's zones, masks,
//! `min_score` and `min_area`). A person counts when the point they stand on
//! (the bottom centre of their box) lies in some zone (no zones: anywhere) and
//! in no mask. Coordinates are fractions of the frame, x to the right, y down.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::DomainError;
use crate::values::{FieldErrors, Name};

/// The fewest and most corners a zone or mask may have.
const CORNERS: std::ops::RangeInclusive<usize> = 3..=32;
/// The most zones, and the most masks, a camera may have.
const MAX_AREAS: usize = 16;
/// The lowest `minScore`: the detector reports no box below it.
pub const SCORE_FLOOR: f32 = 0.3;

/// A closed polygon on the frame, its corners as `[x, y]` fractions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Vec<Vec<f64>>, example = json!([[0.1, 0.5], [0.9, 0.5], [0.9, 1.0], [0.1, 1.0]]))]
pub struct Polygon(Vec<[f32; 2]>);

fn cross(o: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

fn on_segment(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> bool {
    p[0] >= a[0].min(b[0]) && p[0] <= a[0].max(b[0]) && p[1] >= a[1].min(b[1]) && p[1] <= a[1].max(b[1])
}

/// Whether segments `ab` and `cd` share any point.
fn segments_meet(a: [f32; 2], b: [f32; 2], c: [f32; 2], d: [f32; 2]) -> bool {
    let (d1, d2, d3, d4) = (cross(c, d, a), cross(c, d, b), cross(a, b, c), cross(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0)) && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0)) {
        return true;
    }
    (d1 == 0.0 && on_segment(a, c, d))
        || (d2 == 0.0 && on_segment(b, c, d))
        || (d3 == 0.0 && on_segment(c, a, b))
        || (d4 == 0.0 && on_segment(d, a, b))
}

impl Polygon {
    /// Accepts 3 to 32 corners, each `[x, y]` within the frame, of a simple polygon with an area.
    pub fn parse(corners: &[Vec<f64>]) -> Result<Self, String> {
        if !CORNERS.contains(&corners.len()) {
            return Err(format!(
                "a polygon has {} to {} corners, not {}",
                CORNERS.start(),
                CORNERS.end(),
                corners.len()
            ));
        }
        let mut points = Vec::with_capacity(corners.len());
        for (index, corner) in corners.iter().enumerate() {
            match corner.as_slice() {
                [x, y] if (0.0..=1.0).contains(x) && (0.0..=1.0).contains(y) => points.push([*x as f32, *y as f32]),
                [_, _] => return Err(format!("corner {index} lies outside the frame (0 to 1)")),
                _ => return Err(format!("corner {index} is not an [x, y] pair")),
            }
        }
        let n = points.len();
        if (0..n).any(|i| points[i] == points[(i + 1) % n]) {
            return Err("two neighbouring corners are the same point".into());
        }
        let edge = |i: usize| (points[i], points[(i + 1) % n]);
        for i in 0..n {
            for j in i + 1..n {
                let adjacent = j == i + 1 || (i == 0 && j == n - 1);
                let ((a, b), (c, d)) = (edge(i), edge(j));
                if adjacent {
                    // Neighbouring edges share a corner; they must not fold back along each other.
                    let (shared, far_i, far_j) = if j == i + 1 { (b, a, d) } else { (a, b, c) };
                    let along = (far_i[0] - shared[0]) * (far_j[0] - shared[0])
                        + (far_i[1] - shared[1]) * (far_j[1] - shared[1]);
                    if cross(shared, far_i, far_j) == 0.0 && along > 0.0 {
                        return Err(format!("edges {i} and {j} overlap"));
                    }
                } else if segments_meet(a, b, c, d) {
                    return Err(format!("the polygon crosses itself (edges {i} and {j})"));
                }
            }
        }
        let twice_area: f32 = (0..n).map(|i| cross([0.0, 0.0], points[i], points[(i + 1) % n])).sum();
        if twice_area.abs() < 1e-6 {
            return Err("the polygon has no area".into());
        }
        Ok(Self(points))
    }

    /// Whether `point` lies inside the polygon (even-odd rule).
    pub fn contains(&self, point: [f32; 2]) -> bool {
        let [x, y] = point;
        let mut inside = false;
        let n = self.0.len();
        for i in 0..n {
            let ([xi, yi], [xj, yj]) = (self.0[i], self.0[(i + n - 1) % n]);
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
        }
        inside
    }

    /// The corners.
    pub fn corners(&self) -> &[[f32; 2]] {
        &self.0
    }
}

/// A named area of the frame where people count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Zone {
    /// Shown on the intrusion: where it happened ("yard", "loading bay").
    pub name: Name,
    pub polygon: Polygon,
}

/// An area of the frame where people never count (a pavement, a poster).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Mask {
    pub polygon: Polygon,
}

/// A camera's detection settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CameraDetection {
    /// Where people count; none means the whole frame.
    pub zones: Vec<Zone>,
    /// Where people never count.
    pub masks: Vec<Mask>,
    /// Where the pictures SecCom keeps (snapshot, evidence) are blurred for
    /// privacy; the detector still sees the whole frame.
    #[serde(default)]
    pub privacy: Vec<Mask>,
    /// The lowest detector score that counts, 0.3 to 1.
    pub min_score: f32,
    /// The smallest box that counts, as a fraction of the frame's area, 0 to 1.
    pub min_box_area: f32,
}

impl Default for CameraDetection {
    /// Everyone the detector is sure of, anywhere: the behaviour before settings existed.
    fn default() -> Self {
        Self {
            zones: Vec::new(),
            masks: Vec::new(),
            privacy: Vec::new(),
            min_score: 0.5,
            min_box_area: 0.0,
        }
    }
}

/// A zone as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneBody {
    pub name: String,
    pub polygon: Vec<Vec<f64>>,
}

/// A mask as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaskBody {
    pub polygon: Vec<Vec<f64>>,
}

/// Body of `PUT /api/cameras/{cameraId}/detection`; what is left out takes its default.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DetectionBody {
    #[serde(default)]
    pub zones: Vec<ZoneBody>,
    #[serde(default)]
    pub masks: Vec<MaskBody>,
    /// Regions blurred in the stored snapshot and evidence.
    #[serde(default)]
    pub privacy: Vec<MaskBody>,
    pub min_score: Option<f64>,
    pub min_box_area: Option<f64>,
}

impl DetectionBody {
    /// Validates every field, naming each one refused.
    pub fn parse(self) -> Result<CameraDetection, DomainError> {
        let mut errors = FieldErrors::default();
        let defaults = CameraDetection::default();
        if self.zones.len() > MAX_AREAS {
            errors.push("zones", format!("at most {MAX_AREAS} zones"));
        }
        if self.masks.len() > MAX_AREAS {
            errors.push("masks", format!("at most {MAX_AREAS} masks"));
        }
        if self.privacy.len() > MAX_AREAS {
            errors.push("privacy", format!("at most {MAX_AREAS} privacy masks"));
        }
        let mut zones = Vec::new();
        for (index, zone) in self.zones.iter().enumerate() {
            let name = errors.check(&format!("zones[{index}].name"), Name::parse(&zone.name));
            if name
                .as_ref()
                .is_some_and(|name| zones.iter().any(|z: &Zone| z.name.as_str() == name.as_str()))
            {
                errors.push(&format!("zones[{index}].name"), "zone names must differ");
            }
            let polygon = errors.check(&format!("zones[{index}].polygon"), Polygon::parse(&zone.polygon));
            if let (Some(name), Some(polygon)) = (name, polygon) {
                zones.push(Zone { name, polygon });
            }
        }
        let masks = self
            .masks
            .iter()
            .enumerate()
            .filter_map(|(index, mask)| {
                errors
                    .check(&format!("masks[{index}].polygon"), Polygon::parse(&mask.polygon))
                    .map(|polygon| Mask { polygon })
            })
            .collect();
        let privacy = self
            .privacy
            .iter()
            .enumerate()
            .filter_map(|(index, mask)| {
                errors
                    .check(&format!("privacy[{index}].polygon"), Polygon::parse(&mask.polygon))
                    .map(|polygon| Mask { polygon })
            })
            .collect();
        let min_score = errors.check(
            "minScore",
            match self.min_score {
                None => Ok(defaults.min_score),
                Some(score) if (f64::from(SCORE_FLOOR)..=1.0).contains(&score) => Ok(score as f32),
                Some(_) => Err(format!("minScore must be between {SCORE_FLOOR} and 1")),
            },
        );
        let min_box_area = errors.check(
            "minBoxArea",
            match self.min_box_area {
                None => Ok(defaults.min_box_area),
                Some(area) if (0.0..=1.0).contains(&area) => Ok(area as f32),
                Some(_) => Err("minBoxArea must be between 0 and 1".to_owned()),
            },
        );
        errors.finish().map_err(DomainError::Invalid)?;
        Ok(CameraDetection {
            zones,
            masks,
            privacy,
            min_score: min_score.unwrap_or(defaults.min_score),
            min_box_area: min_box_area.unwrap_or(defaults.min_box_area),
        })
    }
}

/// What the detector found in a frame, before any setting is applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Sighting {
    pub width: u32,
    pub height: u32,
    /// The highest person score anywhere in the frame.
    pub score: f32,
    /// `[x1, y1, x2, y2, score]` in the frame's pixels, most confident first.
    pub boxes: Vec<[f32; 5]>,
}

/// Which boxes of a sighting count, and the zones they stand in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    /// Indexes into the sighting's boxes.
    pub counted: Vec<usize>,
    /// The names of the zones counted people stand in, each once, in the settings' order.
    pub zones: Vec<String>,
}

impl CameraDetection {
    /// The regions marked private, blurred in every picture and video shown.
    pub fn private_regions(&self) -> Vec<Polygon> {
        self.privacy.iter().map(|mask| mask.polygon.clone()).collect()
    }

    /// Applies the settings to a sighting.
    pub fn judge(&self, sighting: &Sighting) -> Judgement {
        let (width, height) = (sighting.width.max(1) as f32, sighting.height.max(1) as f32);
        let mut judgement = Judgement::default();
        for (index, [x1, y1, x2, y2, score]) in sighting.boxes.iter().copied().enumerate() {
            let area = ((x2 - x1) / width) * ((y2 - y1) / height);
            if score < self.min_score || area < self.min_box_area {
                continue;
            }
            // Kept just inside the frame, so feet at its very edge fall in a zone drawn to the edge.
            let inside_frame = |v: f32| v.clamp(1e-4, 1.0 - 1e-4);
            let foot = [inside_frame((x1 + x2) / 2.0 / width), inside_frame(y2 / height)];
            if self.masks.iter().any(|mask| mask.polygon.contains(foot)) {
                continue;
            }
            let inside: Vec<&Zone> = self.zones.iter().filter(|z| z.polygon.contains(foot)).collect();
            if !self.zones.is_empty() && inside.is_empty() {
                continue;
            }
            judgement.counted.push(index);
            for zone in inside {
                if !judgement.zones.iter().any(|z| z == zone.name.as_str()) {
                    judgement.zones.push(zone.name.as_str().to_owned());
                }
            }
        }
        judgement
            .zones
            .sort_by_key(|name| self.zones.iter().position(|z| z.name.as_str() == name));
        judgement
    }
}

#[cfg(test)]
#[path = "zones_tests.rs"]
mod tests;
