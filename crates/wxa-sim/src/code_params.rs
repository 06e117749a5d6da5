//! The three code APIs' bodies, checked with WeChat's rules (docs/wechat.md#codes) and
//! turned into what gets drawn. The QR text format is documented in docs/simulator.md.

use serde_json::{Map, Value};

use super::call::{bool_field, int_field, str_field};
use super::errors::WxErr;
use super::qr_image::Rgb;
use super::state::AppInfo;

/// Where every code's text starts.
pub const TEXT_PREFIX: &str = "https://sim.wxa/";
const RESERVED: &str = "scancode_time";
const DEFAULT_WIDTH: i64 = 430;
const MIN_WIDTH: i64 = 280;
const MAX_WIDTH: i64 = 1280;
const BLACK: Rgb = Rgb { r: 0, g: 0, b: 0 };

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeKind {
    /// `wxa/getwxacodeunlimit` (interface B): page + scene, no count limit.
    Unlimited,
    /// `wxa/getwxacode` (interface A): path up to 1024 characters.
    Limited,
    /// `cgi-bin/wxaapp/createwxaqrcode` (interface C): path up to 128 bytes, width only.
    QrCode,
}

impl CodeKind {
    pub fn api(self) -> &'static str {
        match self {
            CodeKind::Unlimited => "wxa/getwxacodeunlimit",
            CodeKind::Limited => "wxa/getwxacode",
            CodeKind::QrCode => "cgi-bin/wxaapp/createwxaqrcode",
        }
    }
}

/// Everything that decides the image: the cache key of the renders.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RenderKey {
    pub text: String,
    pub width: u32,
    pub color: Rgb,
    pub hyaline: bool,
}

/// Checks a code request for `app` and normalizes it.
pub fn parse(kind: CodeKind, app: &AppInfo, body: &Map<String, Value>) -> Result<RenderKey, WxErr> {
    let text = match kind {
        CodeKind::Unlimited => unlimited_text(app, body)?,
        CodeKind::Limited | CodeKind::QrCode => path_text(kind, app, body)?,
    };
    let width = width(body)?;
    if kind == CodeKind::QrCode {
        return Ok(RenderKey {
            text,
            width,
            color: BLACK,
            hyaline: false,
        });
    }
    let color = if bool_field(body, "auto_color", false)? {
        BLACK
    } else {
        line_color(body)?
    };
    let hyaline = bool_field(body, "is_hyaline", false)?;
    Ok(RenderKey {
        text,
        width,
        color,
        hyaline,
    })
}

/// `https://sim.wxa/<appid>/<page>?scene=<scene>`; a non-release env_version goes before
/// the scene (`?env_version=trial&scene=...`), so the scene is always everything after
/// the first `scene=`.
fn unlimited_text(app: &AppInfo, body: &Map<String, Value>) -> Result<String, WxErr> {
    let scene = match body.get("scene") {
        Some(Value::String(s)) => s.as_str(),
        _ => return Err(WxErr::of(40169)),
    };
    let page = str_field(body, "page")
        .map_err(|()| WxErr::of(41030))?
        .unwrap_or_default();
    if scene.contains(RESERVED) || page.contains(RESERVED) {
        return Err(WxErr::of(85096));
    }
    if scene.is_empty() || scene.chars().count() > 32 {
        return Err(WxErr::of(40169));
    }
    if !scene.chars().all(scene_char) {
        return Err(WxErr::of(40129));
    }
    let page = if page.is_empty() { app.home() } else { page };
    if page.starts_with('/') || page.contains('?') {
        return Err(WxErr::of(41030));
    }
    if bool_field(body, "check_path", true)? && !app.has_page(page) {
        return Err(WxErr::of(41030));
    }
    let env = env_version(body)?;
    let env = if env == "release" {
        String::new()
    } else {
        format!("env_version={env}&")
    };
    Ok(format!(
        "{TEXT_PREFIX}{}/{page}?{env}scene={scene}",
        app.app_id
    ))
}

/// `https://sim.wxa/<appid>/<path>` with the path verbatim (query included); a non-release
/// env_version (getwxacode only) is appended as `#env_version=<env>`.
fn path_text(kind: CodeKind, app: &AppInfo, body: &Map<String, Value>) -> Result<String, WxErr> {
    let path = match body.get("path") {
        Some(Value::String(s)) => s.as_str(),
        _ => return Err(WxErr::of(40159)),
    };
    if path.contains(RESERVED) {
        return Err(WxErr::of(85096));
    }
    let too_long = match kind {
        CodeKind::QrCode => path.len() > 128,
        _ => path.chars().count() > 1024,
    };
    if path.is_empty() || too_long {
        return Err(WxErr::of(40159));
    }
    let mut text = format!("{TEXT_PREFIX}{}/{path}", app.app_id);
    if kind == CodeKind::Limited {
        let env = env_version(body)?;
        if env != "release" {
            text.push_str("#env_version=");
            text.push_str(env);
        }
    }
    Ok(text)
}

fn env_version(body: &Map<String, Value>) -> Result<&str, WxErr> {
    match str_field(body, "env_version") {
        Ok(None) => Ok("release"),
        Ok(Some(v @ ("release" | "trial" | "develop"))) => Ok(v),
        _ => Err(WxErr::of(40097)),
    }
}

/// `width` in pixels, default 430, clamped to 280..=1280.
fn width(body: &Map<String, Value>) -> Result<u32, WxErr> {
    let w = int_field(body, "width")
        .map_err(|()| WxErr::of(40097))?
        .unwrap_or(DEFAULT_WIDTH)
        .clamp(MIN_WIDTH, MAX_WIDTH);
    u32::try_from(w).map_err(|_| WxErr::of(40097))
}

/// `line_color` `{r,g,b}`, each a number or a decimal string in 0..=255; absent is black.
fn line_color(body: &Map<String, Value>) -> Result<Rgb, WxErr> {
    let obj = match body.get("line_color") {
        None | Some(Value::Null) => return Ok(BLACK),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(WxErr::of(40097)),
    };
    let channel = |name: &str| -> Result<u8, WxErr> {
        let v = int_field(obj, name).map_err(|()| WxErr::of(40097))?;
        u8::try_from(v.unwrap_or(0)).map_err(|_| WxErr::of(40097))
    };
    Ok(Rgb {
        r: channel("r")?,
        g: channel("g")?,
        b: channel("b")?,
    })
}

/// The characters a scene may hold: letters, digits and ``!#$&'()*+,/:;=?@-._~``.
fn scene_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$&'()*+,/:;=?@-._~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app() -> AppInfo {
        AppInfo {
            name: "demo".into(),
            app_id: "wx1".into(),
            secret: None,
            pages: vec!["pages/index/index".into(), "pages/item/item".into()],
            plain_pages: Vec::new(),
        }
    }

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn an_unlimited_code_names_the_page_and_the_scene() {
        let key = parse(
            CodeKind::Unlimited,
            &app(),
            &body(
                json!({"page": "pages/item/item", "scene": "id=7&x=1", "width": 9999,
                         "line_color": {"r": "255", "g": 0, "b": 10}}),
            ),
        );
        let key = key.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            key.text,
            "https://sim.wxa/wx1/pages/item/item?scene=id=7&x=1"
        );
        assert_eq!(key.width, 1280);
        assert_eq!(
            key.color,
            Rgb {
                r: 255,
                g: 0,
                b: 10
            }
        );
    }

    #[test]
    fn bad_scenes_and_pages_get_their_errcodes() {
        let code = |v: Value| parse(CodeKind::Unlimited, &app(), &body(v)).map_err(|e| e.code);
        assert_eq!(code(json!({"scene": "a".repeat(33)})).err(), Some(40169));
        assert_eq!(code(json!({"scene": "中文"})).err(), Some(40129));
        assert_eq!(
            code(json!({"scene": "a", "page": "/pages/index/index"})).err(),
            Some(41030)
        );
        assert_eq!(
            code(json!({"scene": "a", "page": "pages/nope"})).err(),
            Some(41030)
        );
        assert!(code(json!({"scene": "a", "page": "pages/nope", "check_path": false})).is_ok());
        assert_eq!(code(json!({"scene": "scancode_time=1"})).err(), Some(85096));
    }
}
