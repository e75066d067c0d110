//! The annotated snapshot of an intrusion: the frame with every person boxed,
//! as a JPEG that a portal can show and a client can forward to the police.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, Rgb, RgbImage};

use crate::detector::PersonBox;

const BOX_COLOUR: Rgb<u8> = Rgb([255, 32, 32]);

fn draw_box(image: &mut RgbImage, person: &PersonBox) {
    let (width, height) = image.dimensions();
    if width == 0 || height == 0 {
        return;
    }
    let thickness = (width.max(height) / 200).max(2);
    let clamp = |v: f32, max: u32| (v.max(0.0) as u32).min(max - 1);
    let (x1, y1) = (clamp(person.x1, width), clamp(person.y1, height));
    let (x2, y2) = (clamp(person.x2, width), clamp(person.y2, height));
    for t in 0..thickness {
        for x in x1..=x2 {
            for y in [y1.saturating_add(t).min(y2), y2.saturating_sub(t).max(y1)] {
                image.put_pixel(x, y, BOX_COLOUR);
            }
        }
        for y in y1..=y2 {
            for x in [x1.saturating_add(t).min(x2), x2.saturating_sub(t).max(x1)] {
                image.put_pixel(x, y, BOX_COLOUR);
            }
        }
    }
}

/// The frame with the people outlined, encoded as JPEG.
pub fn annotate(frame: &DynamicImage, people: &[PersonBox]) -> anyhow::Result<Vec<u8>> {
    let mut image = frame.to_rgb8();
    for person in people {
        draw_box(&mut image, person);
    }
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut bytes), 85).encode_image(&image)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_are_drawn_on_the_frame() {
        let frame = DynamicImage::new_rgb8(100, 80);
        let person = PersonBox {
            x1: 10.0,
            y1: 10.0,
            x2: 50.0,
            y2: 70.0,
            score: 0.9,
        };
        let jpeg = annotate(&frame, &[person]).unwrap();
        let decoded = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (100, 80));
        assert!(decoded.get_pixel(10, 40)[0] > 200, "the left edge is red");
        assert!(decoded.get_pixel(30, 40)[0] < 50, "the inside is untouched");
    }
}
