//! Privacy masks: the regions of a camera's view marked private (a
//! neighbour's window, a public pavement) are blurred in every picture a
//! person can see of it: the snapshot and the evidence frames SecCom keeps,
//! and the camera's latest frame in the portals. The detector has seen the raw
//! frame already; only what is shown is blurred.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, RgbImage};
use seccom_domain::detection::zones::Polygon;

/// How strongly a region is blurred: the Gaussian's sigma as a share of the
/// frame's longer side (about 19 pixels at 384 wide): faces and number
/// plates become unreadable.
const SIGMA_SHARE: f32 = 0.05;

/// `frame` with every pixel whose centre lies in one of `regions` blurred;
/// every other pixel unchanged.
pub fn blur(frame: &DynamicImage, regions: &[Polygon]) -> RgbImage {
    let mut image = frame.to_rgb8();
    PrivacyBlur::new(regions, image.width(), image.height()).apply(&mut image);
    image
}

/// The blur of a camera's privacy regions, prepared once for pictures of one
/// size (a clip's thousands of pictures share it): which pixels are private,
/// and the rectangle around them that blurring reads (the regions' bounds and
/// three sigmas around them, so a pixel near a region's edge is blurred as it
/// would be in the whole picture). An almost-Gaussian blur of three box passes
/// (Kovesi's) costs the same whatever the sigma.
pub struct PrivacyBlur {
    size: (u32, u32),
    sigma: f32,
    /// `(x, y, width, height)` of the rectangle read; `None` when nothing is private.
    area: Option<(u32, u32, u32, u32)>,
    /// Row by row within `area`: whether the pixel is private.
    private: Vec<bool>,
}

impl PrivacyBlur {
    /// The blur of `regions` (fractions of the picture) in pictures of `width` x `height`.
    pub fn new(regions: &[Polygon], width: u32, height: u32) -> Self {
        let sigma = SIGMA_SHARE * width.max(height) as f32;
        let none = Self {
            size: (width, height),
            sigma,
            area: None,
            private: Vec::new(),
        };
        if regions.is_empty() || width == 0 || height == 0 {
            return none;
        }
        let margin = (3.0 * sigma).ceil() as u32;
        let (mut x1, mut y1, mut x2, mut y2) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for corner in regions.iter().flat_map(|region| region.corners()) {
            x1 = x1.min(corner[0]);
            y1 = y1.min(corner[1]);
            x2 = x2.max(corner[0]);
            y2 = y2.max(corner[1]);
        }
        let pixel = |fraction: f32, size: u32| ((fraction.clamp(0.0, 1.0) * size as f32) as u32).min(size);
        let (left, top) = (
            pixel(x1, width).saturating_sub(margin + 1),
            pixel(y1, height).saturating_sub(margin + 1),
        );
        let (right, bottom) = (
            (pixel(x2, width) + margin + 1).min(width),
            (pixel(y2, height) + margin + 1).min(height),
        );
        if right <= left || bottom <= top {
            return none;
        }
        let (w, h) = (right - left, bottom - top);
        let mut private = Vec::with_capacity((w * h) as usize);
        for y in top..bottom {
            for x in left..right {
                let centre = [(x as f32 + 0.5) / width as f32, (y as f32 + 0.5) / height as f32];
                private.push(regions.iter().any(|region| region.contains(centre)));
            }
        }
        Self {
            size: (width, height),
            sigma,
            area: Some((left, top, w, h)),
            private,
        }
    }

    /// Blurs the private pixels of `image`.
    ///
    /// # Panics
    /// When `image` is not of the size the blur was prepared for: a private
    /// pixel must never be left as it was.
    pub fn apply(&self, image: &mut RgbImage) {
        assert_eq!(
            image.dimensions(),
            self.size,
            "a privacy blur applies to pictures of the size it was prepared for"
        );
        let Some((left, top, w, h)) = self.area else {
            return;
        };
        let part = image::imageops::crop_imm(image, left, top, w, h).to_image();
        let blurred = image::imageops::fast_blur(&part, self.sigma);
        for (index, private) in self.private.iter().enumerate() {
            if *private {
                let (x, y) = (index as u32 % w, index as u32 / w);
                image.put_pixel(left + x, top + y, *blurred.get_pixel(x, y));
            }
        }
    }
}

/// A frame's bytes with `regions` blurred, as a JPEG.
fn blurred_jpeg(frame: &DynamicImage, regions: &[Polygon]) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut bytes), 90).encode_image(&blur(frame, regions))?;
    Ok(bytes)
}

/// An uploaded frame as a person may see it: decoded within the limits of
/// [`crate::frame::decode`] and given back as a JPEG with `regions` blurred.
pub fn shown(uploaded: &[u8], regions: &[Polygon]) -> anyhow::Result<Vec<u8>> {
    let frame = crate::frame::decode(uploaded).map_err(|rejection| anyhow::anyhow!(rejection.to_string()))?;
    blurred_jpeg(&frame, regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture full of detail: a fine checkerboard.
    fn checkerboard(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            if (x / 2 + y / 2) % 2 == 0 {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([0, 0, 0])
            }
        }))
    }

    /// How much neighbouring pixels differ in a rectangle: detail left.
    fn detail(image: &RgbImage, xs: std::ops::Range<u32>, ys: std::ops::Range<u32>) -> f64 {
        let mut total = 0.0;
        let mut count = 0.0;
        for y in ys {
            for x in xs.clone() {
                let (a, b) = (image.get_pixel(x, y)[0], image.get_pixel(x + 1, y)[0]);
                total += f64::from(a.abs_diff(b));
                count += 1.0;
            }
        }
        total / count
    }

    #[test]
    fn a_private_region_is_blurred_and_nothing_else_changes() {
        let frame = checkerboard(200, 100);
        let left_half = Polygon::parse(&[vec![0.0, 0.0], vec![0.5, 0.0], vec![0.5, 1.0], vec![0.0, 1.0]]).unwrap();
        let blurred = blur(&frame, &[left_half]);
        let original = frame.to_rgb8();
        assert!(detail(&original, 10..80, 10..90) > 100.0, "the test picture has detail");
        assert!(
            detail(&blurred, 10..80, 10..90) < 10.0,
            "none is left in the private region"
        );
        for y in 0..100 {
            for x in 100..200 {
                assert_eq!(
                    blurred.get_pixel(x, y),
                    original.get_pixel(x, y),
                    "({x}, {y}) is outside it"
                );
            }
        }
        assert_eq!(blur(&frame, &[]), original, "no region: the picture as it was");
    }
}
