//! Turning uploaded bytes into an image, refusing what is not a sane camera frame
//! before it can cost memory: empty or oversized uploads, other formats,
//! truncated data and decompression bombs.

use std::fmt;
use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// Frames above this many bytes are refused unread (a 4K JPEG is well under 2 MB).
pub const MAX_FRAME_BYTES: u64 = 10 * 1024 * 1024;
/// The widest or tallest frame accepted (8K UHD wide, for panoramic cameras).
pub const MAX_DIMENSION: u32 = 7680;
/// The most pixels a frame may have (4K UHD, 8.3 megapixels): checked from
/// the header before decoding, as decoding costs by the pixel (a 7680x7680
/// PNG of 172 KB took 628 ms of detector time).
pub const MAX_PIXELS: u64 = 3840 * 2160;
/// Decoding may allocate at most this much, whatever the header claims.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// Why a frame was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The object has no bytes.
    Empty,
    /// The object is larger than [`MAX_FRAME_BYTES`].
    TooManyBytes(u64),
    /// The bytes are no image format at all.
    NotAnImage,
    /// An image, but not JPEG or PNG.
    UnsupportedFormat(String),
    /// The header claims dimensions beyond [`MAX_DIMENSION`] or [`MAX_PIXELS`] (or more than can be decoded).
    TooLarge { width: u32, height: u32 },
    /// The image data is truncated or corrupt.
    Corrupt(String),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "the frame is empty"),
            Self::TooManyBytes(bytes) => write!(f, "the frame has {bytes} bytes, more than {MAX_FRAME_BYTES}"),
            Self::NotAnImage => write!(f, "the frame is not an image"),
            Self::UnsupportedFormat(format) => {
                write!(f, "{format} frames are not supported; send JPEG or PNG")
            }
            Self::TooLarge { width, height } => {
                write!(
                    f,
                    "the frame claims {width}x{height} pixels, more than {MAX_DIMENSION} on a side or {MAX_PIXELS} in all"
                )
            }
            Self::Corrupt(reason) => write!(f, "the frame cannot be decoded: {reason}"),
        }
    }
}

impl Rejection {
    /// A short, stable code for storage and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooManyBytes(_) => "too-many-bytes",
            Self::NotAnImage => "not-an-image",
            Self::UnsupportedFormat(_) => "unsupported-format",
            Self::TooLarge { .. } => "too-large",
            Self::Corrupt(_) => "corrupt",
        }
    }
}

/// Whether a JPEG ends with its end-of-image marker: decoders fill a cut-off
/// frame with grey instead of failing, which would hide a truncated upload.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
    bytes[..end].ends_with(&[0xff, 0xd9])
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, Rejection> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| Rejection::NotAnImage)?;
    match reader.format() {
        Some(ImageFormat::Jpeg) if !jpeg_is_complete(bytes) => Err(Rejection::Corrupt(
            "the JPEG is truncated (it has no end-of-image marker)".into(),
        )),
        Some(ImageFormat::Jpeg | ImageFormat::Png) => Ok(reader),
        Some(other) => Err(Rejection::UnsupportedFormat(format!("{other:?}"))),
        None => Err(Rejection::NotAnImage),
    }
}

/// Decodes a JPEG or PNG frame within the limits above.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    if bytes.len() as u64 > MAX_FRAME_BYTES {
        return Err(Rejection::TooManyBytes(bytes.len() as u64));
    }
    let (width, height) = reader(bytes)?
        .into_dimensions()
        .map_err(|e| Rejection::Corrupt(e.to_string()))?;
    if width > MAX_DIMENSION
        || height > MAX_DIMENSION
        || width == 0
        || height == 0
        || u64::from(width) * u64::from(height) > MAX_PIXELS
    {
        return Err(Rejection::TooLarge { width, height });
    }
    let mut reader = reader(bytes)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Rejection::TooLarge { width, height },
        other => Rejection::Corrupt(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        DynamicImage::new_rgb8(width, height)
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn sane_frames_decode() {
        let image = decode(&png(64, 48)).unwrap();
        assert_eq!((image.width(), image.height()), (64, 48));
    }

    #[test]
    fn bad_frames_are_refused_with_a_reason() {
        assert_eq!(decode(b""), Err(Rejection::Empty));
        assert_eq!(
            decode(b"hello, this is text and not a frame"),
            Err(Rejection::NotAnImage)
        );
        assert_eq!(
            decode(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
            Err(Rejection::UnsupportedFormat("Gif".into()))
        );
        let mut jpeg = Vec::new();
        DynamicImage::new_rgb8(64, 48)
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        assert!(decode(&jpeg).is_ok());
        assert!(matches!(decode(&jpeg[..jpeg.len() - 40]), Err(Rejection::Corrupt(_))));
        let whole = png(64, 48);
        assert!(matches!(decode(&whole[..whole.len() / 2]), Err(Rejection::Corrupt(_))));
    }

    /// The CRC-32 PNG chunks carry, so a doctored header still passes the decoder's check.
    fn crc32(bytes: &[u8]) -> u32 {
        !bytes.iter().fold(!0u32, |crc, &byte| {
            (0..8).fold(crc ^ u32::from(byte), |c, _| {
                if c & 1 == 1 { (c >> 1) ^ 0xedb8_8320 } else { c >> 1 }
            })
        })
    }

    #[test]
    fn a_header_claiming_huge_dimensions_is_refused_before_decoding() {
        let mut bomb = png(1, 1);
        // The IHDR chunk: type at 12..16, width and height at 16..24, its CRC at 29..33.
        bomb[16..20].copy_from_slice(&60000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            decode(&bomb),
            Err(Rejection::TooLarge {
                width: 60000,
                height: 60000
            })
        );
    }

    /// A PNG header claiming `width` x `height`, its CRC right.
    fn claiming(width: u32, height: u32) -> Vec<u8> {
        let mut header = png(1, 1);
        header[16..20].copy_from_slice(&width.to_be_bytes());
        header[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&header[12..29]);
        header[29..33].copy_from_slice(&crc.to_be_bytes());
        header
    }

    #[test]
    fn more_pixels_than_4k_are_refused_before_decoding_whatever_the_sides() {
        // Found from outside: a 7680x7680 PNG of 172 KB cost 628 ms of detector time.
        for (width, height) in [(7680, 7680), (4000, 3000), (3841, 2160)] {
            assert_eq!(
                decode(&claiming(width, height)),
                Err(Rejection::TooLarge { width, height })
            );
        }
        // Within the limits a header passes on to the decoder (which finds the data cut short).
        assert!(matches!(decode(&claiming(3840, 2160)), Err(Rejection::Corrupt(_))));
        assert!(matches!(decode(&claiming(7680, 1080)), Err(Rejection::Corrupt(_))));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Whatever bytes arrive, even behind a JPEG or PNG signature, decoding
        /// answers an image or a rejection, never a panic.
        #[test]
        fn any_bytes_decode_or_are_rejected(
            prefix in prop_oneof![
                Just(Vec::new()),
                Just(vec![0xff, 0xd8, 0xff, 0xe0]),
                Just(b"\x89PNG\r\n\x1a\n".to_vec()),
                Just(b"GIF89a".to_vec()),
            ],
            rest in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            let bytes = [prefix, rest].concat();
            let _ = decode(&bytes);
        }
    }
}
