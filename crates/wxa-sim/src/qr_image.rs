//! Renders simulator code images: a standard QR code as JPEG, or PNG with transparency.
//!
//! WeChat returns `image/jpeg`, and PNG when `is_hyaline` is set (docs/wechat.md#codes).
//! The simulator draws a plain QR code instead of a round mini-program code, so that tests
//! can decode it back.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use qrcode::types::{Color, QrError};
use qrcode::{EcLevel, QrCode};

/// Quiet zone of a standard (non-micro) QR code, in modules.
const QUIET_ZONE: u32 = 4;
/// Guard against huge allocations; real callers clamp to 280..=1280.
pub const MAX_WIDTH: u32 = 4096;
const JPEG_QUALITY: u8 = 85;

pub const CONTENT_TYPE_JPEG: &str = "image/jpeg";
pub const CONTENT_TYPE_PNG: &str = "image/png";

/// An encoded image and its MIME type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeImage {
    pub bytes: Vec<u8>,
    /// `"image/jpeg"` or `"image/png"`.
    pub content_type: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const BLACK: Rgb = Rgb { r: 0, g: 0, b: 0 };
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The text does not fit in a version-40 QR code at level M.
    #[error("cannot encode text as a QR code: {0}")]
    Qr(QrError),
    #[error("width {width} px is too small: the code needs at least {needed} px")]
    TooSmall { width: u32, needed: u32 },
    #[error("width {width} px exceeds the maximum of {max} px")]
    TooLarge { width: u32, max: u32 },
    #[error("image encoding failed: {0}")]
    Image(#[from] image::ImageError),
    #[error("JPEG encoding failed: {0}")]
    Jpeg(#[from] jpeg_encoder::EncodingError),
}

/// Where the symbol sits in the square image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    /// Side of one module in pixels.
    module_px: u32,
    /// Pixel offset (x and y) of the symbol's first module, quiet zone excluded.
    origin: u32,
}

fn layout(width: u32, modules: u32) -> Result<Layout, RenderError> {
    let total = modules + 2 * QUIET_ZONE;
    // Integer module size keeps edges crisp; the leftover becomes margin.
    let module_px = width / total;
    if module_px == 0 {
        return Err(RenderError::TooSmall {
            width,
            needed: total,
        });
    }
    let margin = (width - module_px * total) / 2;
    Ok(Layout {
        module_px,
        origin: margin + QUIET_ZONE * module_px,
    })
}

/// Renders `text` as a `width` x `width` QR code (level M, 4-module quiet zone).
///
/// Dark modules are `line_color`; the background is white, or fully
/// transparent with `hyaline` (then the output is RGBA PNG instead of RGB JPEG).
pub fn render(
    text: &str,
    width: u32,
    line_color: Rgb,
    hyaline: bool,
) -> Result<CodeImage, RenderError> {
    if width > MAX_WIDTH {
        return Err(RenderError::TooLarge {
            width,
            max: MAX_WIDTH,
        });
    }
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(RenderError::Qr)?;
    let modules = code.width();
    // A QR code is at most 177 modules wide, so this cannot truncate.
    let lay = layout(width, u32::try_from(modules).unwrap_or(u32::MAX))?;
    let colors = code.into_colors();

    let Rgb { r, g, b } = line_color;
    let (fg, bg): (&[u8], &[u8]) = if hyaline {
        // Transparent white rather than transparent black, so viewers that
        // ignore alpha still show a white background.
        (&[r, g, b, 255], &[255, 255, 255, 0])
    } else {
        (&[r, g, b], &[255, 255, 255])
    };
    let channels = fg.len();
    let w = width as usize;
    let module_px = lay.module_px as usize;
    let origin = lay.origin as usize;
    let row_bytes = w * channels;

    let bg_row = bg.repeat(w);
    let mut pixels = Vec::with_capacity(row_bytes * w);
    for _ in 0..origin {
        pixels.extend_from_slice(&bg_row);
    }
    // Build each module row once, then copy it module_px times.
    let mut row = bg_row.clone();
    for module_row in colors.chunks_exact(modules) {
        row.copy_from_slice(&bg_row);
        for (x, _) in module_row
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == Color::Dark)
        {
            let start = (origin + x * module_px) * channels;
            let span = &mut row[start..start + module_px * channels];
            for px in span.chunks_exact_mut(channels) {
                px.copy_from_slice(fg);
            }
        }
        for _ in 0..module_px {
            pixels.extend_from_slice(&row);
        }
    }
    while pixels.len() < row_bytes * w {
        pixels.extend_from_slice(&bg_row);
    }

    let mut bytes = Vec::new();
    if hyaline {
        // Fast deflate: these images are mostly flat colour and compress well anyway.
        PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Adaptive)
            .write_image(&pixels, width, width, ExtendedColorType::Rgba8)?;
        Ok(CodeImage {
            bytes,
            content_type: CONTENT_TYPE_PNG,
        })
    } else {
        // jpeg-encoder (AVX2 when the CPU has it) rather than image's encoder, which took
        // 4.9 ms of the 5 ms a 430 px code cost and made the simulator the bottleneck of
        // the uncached benchmark. `width` <= MAX_WIDTH fits in u16.
        let side = u16::try_from(width).unwrap_or(u16::MAX);
        jpeg_encoder::Encoder::new(&mut bytes, JPEG_QUALITY).encode(
            &pixels,
            side,
            side,
            jpeg_encoder::ColorType::Rgb,
        )?;
        Ok(CodeImage {
            bytes,
            content_type: CONTENT_TYPE_JPEG,
        })
    }
}

/// A JPEG made longer by `pad` bytes (less at most 3) of comment segments (COM, right after the start
/// marker), which decoders skip; a PNG is returned as it is.
pub fn pad(image: &[u8], content_type: &str, pad: usize) -> bytes::Bytes {
    /// A segment's length field counts itself and holds at most 65535.
    const MAX_PAYLOAD: usize = 65_533;
    if content_type != CONTENT_TYPE_JPEG || image.len() < 2 || pad < 4 {
        return bytes::Bytes::copy_from_slice(image);
    }
    let mut out = Vec::with_capacity(image.len() + pad);
    out.extend_from_slice(&image[..2]);
    let mut left = pad;
    while left >= 4 {
        let payload = (left - 4).min(MAX_PAYLOAD);
        // `payload + 2` <= 65535 by MAX_PAYLOAD.
        let len = u16::try_from(payload + 2).unwrap_or(u16::MAX);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&len.to_be_bytes());
        out.resize(out.len() + payload, b' ');
        left -= payload + 4;
    }
    out.extend_from_slice(&image[2..]);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLUE: Rgb = Rgb {
        r: 20,
        g: 60,
        b: 200,
    };
    const RED: Rgb = Rgb {
        r: 200,
        g: 30,
        b: 30,
    };
    const GREEN: Rgb = Rgb {
        r: 7,
        g: 193,
        b: 96,
    };

    /// Decodes the image after compositing it onto white, as a scanner sees it.
    fn decode(img: &CodeImage) -> String {
        let rgba = image::load_from_memory(&img.bytes).unwrap().to_rgba8();
        let (w, h) = rgba.dimensions();
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
                let p = rgba.get_pixel(x as u32, y as u32).0;
                let a = u32::from(p[3]);
                let on_white = |c: u8| (u32::from(c) * a + 255 * (255 - a)) / 255;
                let luma =
                    (299 * on_white(p[0]) + 587 * on_white(p[1]) + 114 * on_white(p[2])) / 1000;
                luma as u8
            });
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "expected exactly one QR code");
        grids[0].decode().unwrap().1
    }

    fn modules_for(text: &str) -> u32 {
        QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .unwrap()
            .width() as u32
    }

    /// Centre pixel of the top-left finder pattern's 3x3 dark core (module 3,3).
    fn finder_centre(text: &str, width: u32) -> (u32, u32) {
        let lay = layout(width, modules_for(text)).unwrap();
        let c = lay.origin + 3 * lay.module_px + lay.module_px / 2;
        (c, c)
    }

    #[test]
    fn decodes_back_to_the_text() {
        let long = "pages/detail/detail?id=".to_owned() + &"0123456789abcdef".repeat(15);
        let cases: [(&str, u32, Rgb, bool); 8] = [
            ("hello", 280, Rgb::BLACK, false),
            (
                "page=pages/index/index&scene=a=1,b=2",
                430,
                Rgb::BLACK,
                false,
            ),
            ("page=pages/index/index&scene=a=1,b=2", 430, BLUE, true),
            ("!#$&'()*+,/:;=?@-._~ \"%<>[]\\^`{|}", 280, RED, false),
            ("https://example.com/p?x=1&y=2#frag", 1280, GREEN, true),
            ("12345678901234567890", 280, Rgb::BLACK, true),
            ("HELLO WORLD $%*+-./:", 500, BLUE, false),
            (long.as_str(), 1280, Rgb::BLACK, false),
        ];
        for (text, width, color, hyaline) in cases {
            let img = render(text, width, color, hyaline).unwrap();
            assert_eq!(
                decode(&img),
                text,
                "width {width} colour {color:?} hyaline {hyaline}"
            );
        }
    }

    #[test]
    fn output_is_exactly_width_square() {
        for width in [280, 430, 1280, 281, 333] {
            for hyaline in [false, true] {
                let img = render(
                    "page=pages/index/index&scene=a=1,b=2",
                    width,
                    Rgb::BLACK,
                    hyaline,
                )
                .unwrap();
                let decoded = image::load_from_memory(&img.bytes).unwrap();
                assert_eq!((decoded.width(), decoded.height()), (width, width));
            }
        }
    }

    #[test]
    fn opaque_output_is_rgb_jpeg() {
        let img = render("hello", 430, Rgb::BLACK, false).unwrap();
        assert_eq!(img.content_type, "image/jpeg");
        assert_eq!(&img.bytes[..3], &[0xFF, 0xD8, 0xFF]);
        let decoded = image::load_from_memory(&img.bytes).unwrap();
        assert_eq!(decoded.color(), image::ColorType::Rgb8);
        // Corners are background: white.
        let rgb = decoded.to_rgb8();
        for (x, y) in [(0, 0), (429, 0), (0, 429), (429, 429)] {
            assert!(rgb.get_pixel(x, y).0.iter().all(|&c| c >= 245), "({x},{y})");
        }
    }

    #[test]
    fn padding_makes_a_jpeg_longer_and_leaves_its_picture() {
        let img = render("hello", 430, Rgb::BLACK, false).unwrap();
        let padded = pad(&img.bytes, img.content_type, 70_000);
        assert_eq!(padded.len(), img.bytes.len() + 70_000);
        let (a, b) = (
            image::load_from_memory(&img.bytes).unwrap().to_rgb8(),
            image::load_from_memory(&padded).unwrap().to_rgb8(),
        );
        assert_eq!(a, b);
        let png = render("hello", 430, BLUE, true).unwrap();
        assert_eq!(pad(&png.bytes, png.content_type, 1000), png.bytes);
    }

    #[test]
    fn hyaline_output_is_rgba_png_with_transparent_background() {
        let img = render("hello", 430, BLUE, true).unwrap();
        assert_eq!(img.content_type, "image/png");
        assert_eq!(&img.bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoded = image::load_from_memory(&img.bytes).unwrap();
        assert_eq!(decoded.color(), image::ColorType::Rgba8);
        let rgba = decoded.to_rgba8();
        for (x, y) in [(0, 0), (429, 0), (0, 429), (429, 429)] {
            assert_eq!(rgba.get_pixel(x, y).0[3], 0, "({x},{y})");
        }
        let (cx, cy) = finder_centre("hello", 430);
        assert_eq!(rgba.get_pixel(cx, cy).0, [BLUE.r, BLUE.g, BLUE.b, 255]);
    }

    #[test]
    fn png_pixels_are_crisp() {
        // Lossless output: only the two colours, no anti-aliasing.
        let img = render("page=pages/index/index&scene=a=1,b=2", 1280, RED, true).unwrap();
        let rgba = image::load_from_memory(&img.bytes).unwrap().to_rgba8();
        let fg = [RED.r, RED.g, RED.b, 255];
        let bg = [255, 255, 255, 0];
        assert!(rgba.pixels().all(|p| p.0 == fg || p.0 == bg));
        assert!(rgba.pixels().any(|p| p.0 == fg));
    }

    #[test]
    fn dark_modules_are_close_to_line_colour() {
        let text = "page=pages/index/index&scene=a=1,b=2";
        for color in [Rgb::BLACK, BLUE, RED, GREEN] {
            for width in [280, 430, 1280] {
                let img = render(text, width, color, false).unwrap();
                let rgb = image::load_from_memory(&img.bytes).unwrap().to_rgb8();
                let (cx, cy) = finder_centre(text, width);
                let p = rgb.get_pixel(cx, cy).0;
                let want = [color.r, color.g, color.b];
                for (got, want) in p.iter().zip(want) {
                    assert!(got.abs_diff(want) <= 24, "{color:?} at {width}: got {p:?}");
                }
            }
        }
    }

    #[test]
    fn code_is_centred_with_quiet_zone() {
        for width in [280, 430, 1280] {
            let modules = modules_for("hello");
            let lay = layout(width, modules).unwrap();
            let total = modules + 2 * QUIET_ZONE;
            assert_eq!(lay.module_px, width / total);
            let left = lay.origin - QUIET_ZONE * lay.module_px;
            let right = width - (lay.origin + (modules + QUIET_ZONE) * lay.module_px);
            assert!(left == right || left + 1 == right, "{left} vs {right}");

            // The quiet zone around the symbol is background.
            let img = render("hello", width, Rgb::BLACK, true).unwrap();
            let rgba = image::load_from_memory(&img.bytes).unwrap().to_rgba8();
            let inner = lay.origin;
            let outer = inner + modules * lay.module_px;
            for (x, y) in rgba
                .enumerate_pixels()
                .filter(|(_, _, p)| p.0[3] != 0)
                .map(|(x, y, _)| (x, y))
            {
                assert!(
                    (inner..outer).contains(&x) && (inner..outer).contains(&y),
                    "({x},{y})"
                );
            }
            // The first module of the symbol is dark (finder corner).
            assert_eq!(rgba.get_pixel(inner, inner).0[3], 255);
        }
    }

    #[test]
    fn rejects_bad_widths_and_oversized_text() {
        assert!(matches!(
            render("hello", 0, Rgb::BLACK, false),
            Err(RenderError::TooSmall {
                width: 0,
                needed: 29
            })
        ));
        assert!(matches!(
            render("hello", 28, Rgb::BLACK, true),
            Err(RenderError::TooSmall { .. })
        ));
        assert!(render("hello", 29, Rgb::BLACK, true).is_ok());
        assert!(matches!(
            render("hello", MAX_WIDTH + 1, Rgb::BLACK, false),
            Err(RenderError::TooLarge { .. })
        ));
        let huge = "x".repeat(5000);
        assert!(matches!(
            render(&huge, 430, Rgb::BLACK, false),
            Err(RenderError::Qr(QrError::DataTooLong))
        ));
        // Largest byte payload at level M (version 40) still renders at 280 px.
        let max = "x".repeat(2331);
        let img = render(&max, 280, Rgb::BLACK, false).unwrap();
        assert_eq!(image::load_from_memory(&img.bytes).unwrap().width(), 280);
    }

    #[test]
    fn empty_text_renders() {
        let img = render("", 280, Rgb::BLACK, false).unwrap();
        assert_eq!(&img.bytes[..3], &[0xFF, 0xD8, 0xFF]);
    }
}
