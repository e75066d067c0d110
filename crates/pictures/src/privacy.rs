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
    let (width, height) = image.dimensions();
    if regions.is_empty() || width == 0 || height == 0 {
        return image;
    }
    let blurred = image::imageops::blur(&image, SIGMA_SHARE * width.max(height) as f32);
    for y in 0..height {
        for x in 0..width {
            let centre = [(x as f32 + 0.5) / width as f32, (y as f32 + 0.5) / height as f32];
            if regions.iter().any(|region| region.contains(centre)) {
                image.put_pixel(x, y, *blurred.get_pixel(x, y));
            }
        }
    }
    image
}

/// A frame's bytes with `regions` blurred, as a JPEG.
pub fn blurred_jpeg(frame: &DynamicImage, regions: &[Polygon]) -> anyhow::Result<Vec<u8>> {
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
