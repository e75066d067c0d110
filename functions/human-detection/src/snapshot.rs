//! The annotated snapshot of an intrusion: the frame with the camera's
//! detection zones outlined, the people who counted boxed strongly and the
//! others faintly, as a JPEG that a portal can show and a client can forward to
//! the police.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, Rgb, RgbImage};

use seccom_detector::PersonBox;

const COUNTED: Rgb<u8> = Rgb([255, 32, 32]);
const NOT_COUNTED: Rgb<u8> = Rgb([255, 200, 0]);
const ZONE: Rgb<u8> = Rgb([0, 220, 90]);

/// A person found in the frame, and whether the camera's settings counted them.
pub struct Marked {
    pub person: PersonBox,
    pub counted: bool,
}

/// Paints `colour` over a pixel, fully or half-way.
fn paint(image: &mut RgbImage, x: u32, y: u32, colour: Rgb<u8>, strong: bool) {
    let pixel = image.get_pixel_mut(x, y);
    for c in 0..3 {
        pixel[c] = if strong {
            colour[c]
        } else {
            ((u16::from(pixel[c]) + u16::from(colour[c])) / 2) as u8
        };
    }
}

fn draw_box(image: &mut RgbImage, person: &PersonBox, colour: Rgb<u8>, strong: bool) {
    let (width, height) = image.dimensions();
    let thickness = if strong { (width.max(height) / 200).max(2) } else { 1 };
    let clamp = |v: f32, max: u32| (v.max(0.0) as u32).min(max - 1);
    let (x1, y1) = (clamp(person.x1, width), clamp(person.y1, height));
    let (x2, y2) = (clamp(person.x2, width), clamp(person.y2, height));
    for t in 0..thickness {
        for x in x1..=x2 {
            for y in [y1.saturating_add(t).min(y2), y2.saturating_sub(t).max(y1)] {
                paint(image, x, y, colour, strong);
            }
        }
        for y in y1..=y2 {
            for x in [x1.saturating_add(t).min(x2), x2.saturating_sub(t).max(x1)] {
                paint(image, x, y, colour, strong);
            }
        }
    }
}

/// Outlines a polygon given in fractions of the frame.
fn draw_polygon(image: &mut RgbImage, corners: &[[f32; 2]]) {
    let (width, height) = image.dimensions();
    let at = |[x, y]: [f32; 2]| {
        (
            (x * (width - 1) as f32).round() as i64,
            (y * (height - 1) as f32).round() as i64,
        )
    };
    for (i, corner) in corners.iter().enumerate() {
        let ((x0, y0), (x1, y1)) = (at(*corner), at(corners[(i + 1) % corners.len()]));
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        for step in 0..=steps {
            let x = x0 + (x1 - x0) * step / steps;
            let y = y0 + (y1 - y0) * step / steps;
            for (dx, dy) in [(0, 0), (1, 0), (0, 1)] {
                let (px, py) = (
                    (x + dx).clamp(0, i64::from(width) - 1),
                    (y + dy).clamp(0, i64::from(height) - 1),
                );
                paint(image, px as u32, py as u32, ZONE, true);
            }
        }
    }
}

/// The frame with the zones and people drawn, encoded as JPEG.
pub fn annotate(frame: &DynamicImage, people: &[Marked], zones: &[Vec<[f32; 2]>]) -> anyhow::Result<Vec<u8>> {
    let mut image = frame.to_rgb8();
    if image.width() > 0 && image.height() > 0 {
        for zone in zones {
            draw_polygon(&mut image, zone);
        }
        for marked in people.iter().filter(|m| !m.counted) {
            draw_box(&mut image, &marked.person, NOT_COUNTED, false);
        }
        for marked in people.iter().filter(|m| m.counted) {
            draw_box(&mut image, &marked.person, COUNTED, true);
        }
    }
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut bytes), 85).encode_image(&image)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(x1: f32, x2: f32) -> PersonBox {
        PersonBox {
            x1,
            y1: 10.0,
            x2,
            y2: 70.0,
            score: 0.9,
        }
    }

    #[test]
    fn counted_people_are_boxed_strongly_others_faintly_and_zones_outlined() {
        let frame = DynamicImage::new_rgb8(200, 80);
        let people = [
            Marked {
                person: person(10.0, 50.0),
                counted: true,
            },
            Marked {
                person: person(110.0, 150.0),
                counted: false,
            },
        ];
        let zone = vec![[0.0, 0.0], [0.45, 0.0], [0.45, 1.0], [0.0, 1.0]];
        let jpeg = annotate(&frame, &people, &[zone]).unwrap();
        let decoded = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (200, 80));
        assert!(decoded.get_pixel(10, 40)[0] > 200, "the counted box's edge is red");
        assert!(decoded.get_pixel(30, 40)[0] < 50, "its inside is untouched");
        let faint = decoded.get_pixel(110, 40);
        assert!(faint[0] > 60 && faint[0] < 200, "the other box is faint: {faint:?}");
        assert!(decoded.get_pixel(90, 40)[1] > 150, "the zone's right edge is green");
    }
}
