//! The 1917 SSD anchors of the TensorFlow Object Detection API's multiple-grid
//! generator as this model was trained with them: six feature maps, scales from
//! 0.2 to 0.95, aspect ratios {1, 2, 1/2, 3, 1/3} plus an interpolated scale at
//! ratio 1, and a reduced set of three boxes on the lowest layer.

/// One anchor in normalised image coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Anchor {
    pub(crate) center_y: f32,
    pub(crate) center_x: f32,
    pub(crate) height: f32,
    pub(crate) width: f32,
}

const FEATURE_MAPS: [usize; 6] = [19, 10, 5, 3, 2, 1];
const MIN_SCALE: f32 = 0.2;
const MAX_SCALE: f32 = 0.95;
const ASPECT_RATIOS: [f32; 5] = [1.0, 2.0, 0.5, 3.0, 1.0 / 3.0];

/// The anchors in the order the model's outputs use: layer, row, column, box.
pub(crate) fn anchors() -> Vec<Anchor> {
    let layers = FEATURE_MAPS.len();
    let scale = |layer: usize| {
        if layer == layers {
            1.0
        } else {
            MIN_SCALE + (MAX_SCALE - MIN_SCALE) * layer as f32 / (layers - 1) as f32
        }
    };
    let mut anchors = Vec::with_capacity(1917);
    for (layer, &size) in FEATURE_MAPS.iter().enumerate() {
        let boxes: Vec<(f32, f32)> = if layer == 0 {
            vec![(0.1, 1.0), (scale(0), 2.0), (scale(0), 0.5)]
        } else {
            let mut boxes: Vec<(f32, f32)> = ASPECT_RATIOS.iter().map(|&ratio| (scale(layer), ratio)).collect();
            boxes.push(((scale(layer) * scale(layer + 1)).sqrt(), 1.0));
            boxes
        };
        for row in 0..size {
            for column in 0..size {
                for &(box_scale, ratio) in &boxes {
                    anchors.push(Anchor {
                        center_y: (row as f32 + 0.5) / size as f32,
                        center_x: (column as f32 + 0.5) / size as f32,
                        height: box_scale / ratio.sqrt(),
                        width: box_scale * ratio.sqrt(),
                    });
                }
            }
        }
    }
    anchors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_has_the_models_1917_anchors() {
        let anchors = anchors();
        assert_eq!(anchors.len(), 1917);
        let first = anchors[0];
        assert!((first.center_y - 0.5 / 19.0).abs() < 1e-6 && (first.height - 0.1).abs() < 1e-6);
        let last = anchors[1916];
        assert!((last.center_x - 0.5).abs() < 1e-6);
        assert!((last.height - (0.95f32 * 1.0).sqrt()).abs() < 1e-6);
    }
}
