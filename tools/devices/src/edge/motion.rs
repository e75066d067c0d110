//! Motion gating: a cheap detector on a small grayscale copy of each sampled
//! picture (the difference against a running background, cell by cell), and
//! the gate that sends frames while there is motion and for a hold time after.
//! A frame that is not sent costs nothing in the cloud.

use std::time::{Duration, Instant};

/// The grid the picture is averaged down to.
const GRID: (usize, usize) = (64, 48);
/// How fast the background follows the picture (share of each new picture).
const LEARNING_RATE: f32 = 0.05;

/// The motion detector's settings.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct MotionSettings {
    /// Whether frames are gated at all (off: every sampled frame is sent).
    pub enabled: bool,
    /// How much a cell's brightness (0 to 255) must differ from the background to count as changed.
    pub threshold: f32,
    /// The share of the picture (0 to 1) that must change to be motion.
    pub min_area: f32,
    /// How long frames keep being sent after the last motion, in seconds.
    pub hold_seconds: f32,
    /// Regions never watched (trees in the wind, a road), polygons of `[x, y]` fractions.
    pub ignore: Vec<Vec<[f32; 2]>>,
}

impl Default for MotionSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 25.0,
            min_area: 0.002,
            hold_seconds: 10.0,
            ignore: Vec::new(),
        }
    }
}

fn inside(polygon: &[[f32; 2]], [x, y]: [f32; 2]) -> bool {
    let mut inside = false;
    for i in 0..polygon.len() {
        let ([xi, yi], [xj, yj]) = (polygon[i], polygon[(i + polygon.len() - 1) % polygon.len()]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
    }
    inside
}

/// Compares each picture with a running background.
pub struct MotionDetector {
    settings: MotionSettings,
    background: Option<Vec<f32>>,
    watched: Vec<bool>,
}

impl MotionDetector {
    /// A detector that has seen nothing yet.
    pub fn new(settings: MotionSettings) -> Self {
        let (w, h) = GRID;
        let watched = (0..w * h)
            .map(|i| {
                let centre = [((i % w) as f32 + 0.5) / w as f32, ((i / w) as f32 + 0.5) / h as f32];
                !settings.ignore.iter().any(|p| inside(p, centre))
            })
            .collect();
        Self {
            settings,
            background: None,
            watched,
        }
    }

    /// The share of the watched picture that changed, from a luma plane of
    /// `width`×`height` with rows `stride` bytes apart. The first picture only
    /// sets the background.
    pub fn changed(&mut self, luma: &[u8], width: usize, height: usize, stride: usize) -> f32 {
        let (w, h) = GRID;
        let mut grid = vec![0f32; w * h];
        let mut counts = vec![0u32; w * h];
        for y in 0..height {
            let row = &luma[y * stride..y * stride + width];
            let cell_row = y * h / height;
            for (x, &value) in row.iter().enumerate().step_by(2) {
                let cell = cell_row * w + x * w / width;
                grid[cell] += f32::from(value);
                counts[cell] += 1;
            }
        }
        for (value, count) in grid.iter_mut().zip(&counts) {
            *value /= (*count).max(1) as f32;
        }
        let Some(background) = self.background.as_mut() else {
            self.background = Some(grid);
            return 0.0;
        };
        let watched = self.watched.iter().filter(|w| **w).count().max(1);
        let mut changed = 0;
        for ((old, new), watched) in background.iter_mut().zip(&grid).zip(&self.watched) {
            if *watched && (new - *old).abs() > self.settings.threshold {
                changed += 1;
            }
            *old += (new - *old) * LEARNING_RATE;
        }
        changed as f32 / watched as f32
    }

    /// Whether a picture shows motion.
    pub fn moving(&mut self, luma: &[u8], width: usize, height: usize, stride: usize) -> bool {
        let changed = self.changed(luma, width, height, stride);
        !self.settings.enabled || changed >= self.settings.min_area.max(f32::MIN_POSITIVE)
    }
}

/// Lets frames through while there is motion and for a hold time after.
pub struct MotionGate {
    hold: Duration,
    last_motion: Option<Instant>,
}

impl MotionGate {
    /// A gate holding for `hold` after the last motion.
    pub fn new(hold: Duration) -> Self {
        Self {
            hold,
            last_motion: None,
        }
    }

    /// Whether a frame seen `now` (with or without motion) is sent.
    pub fn admit(&mut self, now: Instant, moving: bool) -> bool {
        if moving {
            self.last_motion = Some(now);
        }
        self.last_motion.is_some_and(|at| now.duration_since(at) <= self.hold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: usize = 160;
    const H: usize = 120;

    fn picture(person_at: Option<(usize, usize)>) -> Vec<u8> {
        let mut luma = vec![90u8; W * H];
        if let Some((px, py)) = person_at {
            for y in py..(py + 30).min(H) {
                for x in px..(px + 12).min(W) {
                    luma[y * W + x] = 220;
                }
            }
        }
        luma
    }

    #[test]
    fn a_still_scene_is_no_motion_and_a_walker_is() {
        let mut detector = MotionDetector::new(MotionSettings::default());
        assert!(
            !detector.moving(&picture(None), W, H, W),
            "the first picture sets the background"
        );
        for _ in 0..20 {
            assert!(!detector.moving(&picture(None), W, H, W));
        }
        assert!(detector.moving(&picture(Some((40, 40))), W, H, W));
        assert!(detector.moving(&picture(Some((80, 40))), W, H, W));
    }

    #[test]
    fn sensor_noise_below_the_threshold_is_no_motion() {
        let mut detector = MotionDetector::new(MotionSettings::default());
        detector.moving(&picture(None), W, H, W);
        let noisy: Vec<u8> = picture(None)
            .iter()
            .enumerate()
            .map(|(i, v)| v.wrapping_add((i % 7) as u8))
            .collect();
        assert!(!detector.moving(&noisy, W, H, W));
    }

    #[test]
    fn ignored_regions_are_not_watched() {
        let settings = MotionSettings {
            ignore: vec![vec![[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]],
            ..MotionSettings::default()
        };
        let mut detector = MotionDetector::new(settings);
        detector.moving(&picture(None), W, H, W);
        assert!(
            !detector.moving(&picture(Some((20, 40))), W, H, W),
            "in the ignored left half"
        );
        assert!(detector.moving(&picture(Some((120, 40))), W, H, W));
    }

    #[test]
    fn the_gate_holds_after_motion_then_closes() {
        let start = Instant::now();
        let mut gate = MotionGate::new(Duration::from_secs(10));
        assert!(!gate.admit(start, false), "nothing before any motion");
        assert!(gate.admit(start + Duration::from_secs(1), true));
        assert!(gate.admit(start + Duration::from_secs(8), false));
        assert!(gate.admit(start + Duration::from_secs(11), false));
        assert!(!gate.admit(start + Duration::from_secs(12), false));
    }

    #[test]
    fn with_gating_off_every_frame_is_motion() {
        let mut detector = MotionDetector::new(MotionSettings {
            enabled: false,
            ..MotionSettings::default()
        });
        assert!(detector.moving(&picture(None), W, H, W));
    }
}
