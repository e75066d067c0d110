//! The person detector: an SSDLite-MobileNetV2 person model (see
//! `models/README.md`) run by tract, with the anchor decoding and
//! non-maximum suppression the ONNX graph leaves to us, and the decoding of a
//! camera's frame it runs on ([`frame`]). A crate of its own, free of AWS, so
//! the Lambda, `seccom detect` and the inference benchmark share it and the
//! benchmark builds tract and image decoding only.
//!
//! The function carries the model as tract's NNEF, parsed, typed and
//! decluttered from the ONNX file beforehand ([`onnx_to_nnef`], written by
//! `seccom model`), so a cold start only reads it, restores the channel-last
//! layouts NNEF cannot carry ([`layout`]) and generates code for the CPU it
//! runs on (docs/performance.md has the figures).

mod anchors;
pub use seccom_pictures::frame;
mod layout;

use std::io::Cursor;

use anyhow::Context;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, Rgb32FImage};
use tract_onnx::prelude::*;

use anchors::{Anchor, anchors};

/// The model as decluttered NNEF (a tar), compiled into the function so a cold start reads no file.
static MODEL: &[u8] = include_bytes!("../../../models/person-detector.nnef.tar");

/// The model's square input size.
const INPUT_SIZE: u32 = 300;
/// Scores from this up count as a person (no test image is wrong at 0.5; see docs/performance.md).
pub const PERSON_THRESHOLD: f32 = 0.5;
/// Boxes are reported down to this score, so a camera's `minScore` may go below
/// the default (the core's lowest `minScore` is the same; human detection checks
/// they agree).
pub const SCORE_FLOOR: f32 = 0.3;
/// Overlapping boxes above this intersection-over-union are one person.
const NMS_IOU: f32 = 0.45;
/// At most this many boxes are reported per frame.
const MAX_BOXES: usize = 20;

type Plan = std::sync::Arc<TypedSimplePlan>;

/// A person found in a frame, in the frame's own pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PersonBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
}

/// What the detector saw in one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// The highest person score of any anchor, 0 to 1.
    pub score: f32,
    /// Possible people (scores from [`SCORE_FLOOR`]), most confident first.
    pub boxes: Vec<PersonBox>,
}

impl Detection {
    /// Whether the frame shows a person.
    pub fn has_person(&self) -> bool {
        self.score >= PERSON_THRESHOLD
    }
}

/// A frame prepared for the model: stretched to 300x300 RGB, scaled to -1..1, NHWC.
pub struct ModelInput {
    tensor: Tensor,
    width: u32,
    height: u32,
}

impl ModelInput {
    /// Prepares a frame of any size: a bilinear (triangle) resize with SIMD
    /// (`fast_image_resize`; `image`'s own resize took most of the handler's
    /// time outside inference), then one pass scaling bytes to -1..1.
    pub fn from_image(image: &DynamicImage) -> anyhow::Result<Self> {
        let rgb = image.to_rgb32f();
        let mut resized = Rgb32FImage::new(INPUT_SIZE, INPUT_SIZE);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        Resizer::new()
            .resize(&rgb, &mut resized, &options)
            .context("the frame cannot be resized")?;
        let side = INPUT_SIZE as usize;
        let values: Vec<f32> = resized.as_raw().iter().map(|&v| v * 2.0 - 1.0).collect();
        let tensor = tract_ndarray::Array4::from_shape_vec((1, side, side, 3), values)?.into();
        Ok(Self {
            tensor,
            width: image.width(),
            height: image.height(),
        })
    }

    /// The input tensor, to feed another tract plan the same input.
    pub fn tensor(&self) -> &Tensor {
        &self.tensor
    }

    /// The input as raw f32 values in the host's byte order, to feed another runtime the same input.
    pub fn bytes(&self) -> &[u8] {
        self.tensor.as_bytes()
    }
}

/// The loaded, optimised model; build once per Lambda container.
pub struct PersonDetector {
    plan: Plan,
    anchors: Vec<Anchor>,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn iou(a: &PersonBox, b: &PersonBox) -> f32 {
    let width = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let height = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let intersection = width * height;
    let area = |r: &PersonBox| (r.x2 - r.x1) * (r.y2 - r.y1);
    let union = area(a) + area(b) - intersection;
    if union <= 0.0 { 0.0 } else { intersection / union }
}

/// tract's NNEF framework with the operators an ONNX model may bring.
pub fn nnef() -> tract_nnef::framework::Nnef {
    tract_nnef::nnef().with_onnx()
}

/// Parses an ONNX person model for the fixed 1x300x300x3 input.
pub fn onnx_model(onnx: &[u8]) -> anyhow::Result<InferenceModel> {
    tract_onnx::onnx()
        .model_for_read(&mut Cursor::new(onnx))
        .context("the model is not valid ONNX")?
        .with_input_fact(0, f32::fact([1, INPUT_SIZE as usize, INPUT_SIZE as usize, 3]).into())
}

/// Parses an ONNX person model for the fixed input, declutters it (tract's
/// platform-independent simplifications) and writes it as tract's NNEF: a tar
/// whose bytes depend only on the ONNX file.
pub fn onnx_to_nnef(onnx: &[u8]) -> anyhow::Result<Vec<u8>> {
    let model = onnx_model(onnx)?
        .into_typed()?
        .into_decluttered()
        .context("tract cannot simplify the model")?;
    nnef()
        .write_to_tar_with_config(&model, Vec::new(), false, true)
        .context("tract cannot write the model as NNEF")
}

impl PersonDetector {
    /// Loads the embedded model and generates code for this CPU.
    pub fn load() -> anyhow::Result<Self> {
        Self::from_nnef(MODEL)
    }

    /// Loads a model written by [`onnx_to_nnef`] and generates code for this
    /// CPU. The declutter passes are not run again: they were run before the
    /// model was written, and repeating them was half of the cold start. Only
    /// the channel-last layouts NNEF cannot carry are restored ([`layout`]).
    pub fn from_nnef(nnef_tar: &[u8]) -> anyhow::Result<Self> {
        let mut model = nnef()
            .model_for_read(&mut Cursor::new(nnef_tar))
            .context("the model is not valid NNEF")?;
        layout::restore_layouts(&mut model).context("tract cannot restore the model's layouts")?;
        model.optimize().context("tract cannot optimise the model")?;
        Ok(Self {
            plan: model.into_runnable()?,
            anchors: anchors(),
        })
    }

    /// tract's plan, for benchmarks that time it operator by operator.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Finds people in an image of any size (it is stretched to the model's square input).
    pub fn detect(&self, image: &DynamicImage) -> anyhow::Result<Detection> {
        self.detect_input(&ModelInput::from_image(image)?)
    }

    /// Runs the model on an already prepared input (benchmarks time this part alone).
    pub fn detect_input(&self, input: &ModelInput) -> anyhow::Result<Detection> {
        let outputs = self.plan.run(tvec!(input.tensor.clone().into()))?;
        let encodings = outputs[0].to_plain_array_view::<f32>()?;
        let logits = outputs[1].to_plain_array_view::<f32>()?;
        let (width, height) = (input.width as f32, input.height as f32);

        let mut score = 0.0f32;
        let mut candidates = Vec::new();
        for (index, anchor) in self.anchors.iter().enumerate() {
            let person = sigmoid(logits[[0, index, 1]]);
            score = score.max(person);
            if person < SCORE_FLOOR {
                continue;
            }
            let [ty, tx, th, tw] = [0, 1, 2, 3].map(|k| encodings[[0, index, 0, k]]);
            let center_y = ty / 10.0 * anchor.height + anchor.center_y;
            let center_x = tx / 10.0 * anchor.width + anchor.center_x;
            let box_height = (th / 5.0).exp() * anchor.height;
            let box_width = (tw / 5.0).exp() * anchor.width;
            candidates.push(PersonBox {
                x1: ((center_x - box_width / 2.0) * width).clamp(0.0, width),
                y1: ((center_y - box_height / 2.0) * height).clamp(0.0, height),
                x2: ((center_x + box_width / 2.0) * width).clamp(0.0, width),
                y2: ((center_y + box_height / 2.0) * height).clamp(0.0, height),
                score: person,
            });
        }
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut boxes: Vec<PersonBox> = Vec::new();
        for candidate in candidates {
            if boxes.len() == MAX_BOXES {
                break;
            }
            if boxes.iter().all(|kept| iou(kept, &candidate) <= NMS_IOU) {
                boxes.push(candidate);
            }
        }
        Ok(Detection { score, boxes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_model_is_the_onnx_file_decluttered_and_finds_the_same() {
        let onnx = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/person-detector.onnx"
        ))
        .unwrap();
        assert!(
            onnx_to_nnef(&onnx).unwrap() == MODEL,
            "models/person-detector.nnef.tar is not what models/person-detector.onnx gives: \
             run `cargo run --bin seccom -- model`"
        );
        let from_onnx = PersonDetector {
            plan: onnx_model(&onnx)
                .unwrap()
                .into_optimized()
                .unwrap()
                .into_runnable()
                .unwrap(),
            anchors: anchors(),
        };
        let embedded = PersonDetector::load().unwrap();
        if tract_onnx::tract_core::tract_linalg::routines::depthwise_c_f32().is_some() {
            let kinds: Vec<String> = embedded
                .plan
                .model()
                .nodes()
                .iter()
                .map(|node| node.op().name().to_string())
                .collect();
            assert!(
                !kinds.iter().any(|kind| kind == "MoveAxis"),
                "the loaded plan still moves axes between layers: {kinds:?}"
            );
        }
        let scene = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let input = ModelInput::from_image(&DynamicImage::ImageRgb8(scene)).unwrap();
        let (a, b) = (
            embedded.detect_input(&input).unwrap(),
            from_onnx.detect_input(&input).unwrap(),
        );
        assert!((a.score - b.score).abs() < 1e-4, "{} against {}", a.score, b.score);
        assert_eq!(a.boxes.len(), b.boxes.len());
        for (a, b) in a.boxes.iter().zip(&b.boxes) {
            let (a, b) = ([a.x1, a.y1, a.x2, a.y2, a.score], [b.x1, b.y1, b.x2, b.y2, b.score]);
            assert!(
                a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-2),
                "{a:?} against {b:?}"
            );
        }
    }

    #[test]
    fn overlapping_boxes_measure_their_overlap() {
        let a = PersonBox {
            x1: 0.0,
            y1: 0.0,
            x2: 10.0,
            y2: 10.0,
            score: 0.9,
        };
        let b = PersonBox {
            x1: 5.0,
            y1: 0.0,
            x2: 15.0,
            y2: 10.0,
            score: 0.8,
        };
        assert!((iou(&a, &b) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(
            iou(
                &a,
                &PersonBox {
                    x1: 20.0,
                    y1: 20.0,
                    x2: 30.0,
                    y2: 30.0,
                    score: 0.5
                }
            ),
            0.0
        );
    }
}
