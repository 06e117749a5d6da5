//! Code parameters checked against WeChat's own limits (docs/wechat.md#codes) and
//! normalized, so that equal requests hash equal and services never see a bad value.

use std::borrow::Cow;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::AppError;

mod fields;

use fields::parse_path;
pub use fields::{Color, Rgb, parse_page, parse_scene};

pub const MAX_SCENE_CHARS: usize = 32;
/// `getwxacode` (limited): characters.
pub const MAX_LIMITED_PATH_CHARS: usize = 1024;
/// `createwxaqrcode` (qrcode): bytes.
pub const MAX_QRCODE_PATH_BYTES: usize = 128;
/// WeChat documents no page limit; ours keeps the code readable.
pub const MAX_PAGE_CHARS: usize = 1024;
pub const MIN_WIDTH: u32 = 280;
pub const MAX_WIDTH: u32 = 1280;
pub const DEFAULT_WIDTH: u32 = 430;

/// A bad value: the field it came from and the rule it broke (a 400 naming both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub rule: Cow<'static, str>,
}

impl Invalid {
    pub fn new(field: &'static str, rule: impl Into<Cow<'static, str>>) -> Self {
        Invalid {
            field,
            rule: rule.into(),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        AppError::invalid(e.field, e.rule)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// `wxa/getwxacodeunlimit`: page + scene, paced per minute, no count limit.
    Unlimited,
    /// `wxa/getwxacode`: path, counted against the lifetime quota.
    Limited,
    /// `cgi-bin/wxaapp/createwxaqrcode`: path and width only, counted like `Limited`.
    QrCode,
}

impl CodeKind {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "" | "unlimited" => Ok(CodeKind::Unlimited),
            "limited" => Ok(CodeKind::Limited),
            "qrcode" => Ok(CodeKind::QrCode),
            _ => Err(Invalid::new("kind", "必须是 unlimited、limited 或 qrcode")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Unlimited => "unlimited",
            CodeKind::Limited => "limited",
            CodeKind::QrCode => "qrcode",
        }
    }

    /// `limited` and `qrcode` share WeChat's lifetime cap of 100,000 per app.
    pub fn counts_against_quota(self) -> bool {
        self != CodeKind::Unlimited
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvVersion {
    Release,
    Trial,
    Develop,
}

impl EnvVersion {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "release" => Ok(EnvVersion::Release),
            "trial" => Ok(EnvVersion::Trial),
            "develop" => Ok(EnvVersion::Develop),
            _ => Err(Invalid::new(
                "env_version",
                "必须是 release、trial 或 develop",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EnvVersion::Release => "release",
            EnvVersion::Trial => "trial",
            EnvVersion::Develop => "develop",
        }
    }
}

/// What a caller asked for, as read from the request; `CodeSpec::parse` checks it.
#[derive(Debug, Default, Clone)]
pub struct RawCode<'a> {
    pub kind: Option<&'a str>,
    pub page: Option<&'a str>,
    pub path: Option<&'a str>,
    pub scene: Option<&'a str>,
    pub query: Option<&'a str>,
    pub width: Option<i64>,
    pub env_version: Option<&'a str>,
    pub check_path: Option<bool>,
    pub auto_color: Option<bool>,
    pub line_color: Option<&'a Value>,
    pub is_hyaline: Option<bool>,
}

/// A checked, normalized code request. Fields that a kind does not take hold WeChat's
/// defaults, so they never make two equal requests differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSpec {
    pub kind: CodeKind,
    /// `unlimited`: the page, empty for the home page. `limited`/`qrcode`: the path,
    /// query included.
    pub page: String,
    /// `unlimited` only; empty otherwise.
    pub scene: String,
    pub width: u32,
    pub env_version: EnvVersion,
    /// `unlimited` only. Not part of the hash: it changes WeChat's checks, not the image.
    pub check_path: bool,
    pub color: Color,
    pub is_hyaline: bool,
}

impl CodeSpec {
    pub fn parse(raw: &RawCode<'_>) -> Result<CodeSpec, Invalid> {
        let kind = CodeKind::parse(raw.kind.unwrap_or(""))?;
        let not_for =
            |field: &'static str| Invalid::new(field, format!("不适用于 kind={}", kind.as_str()));
        let mut spec = CodeSpec {
            kind,
            page: String::new(),
            scene: String::new(),
            width: width(raw.width)?,
            env_version: match raw.env_version {
                None | Some("") => EnvVersion::Release,
                Some(v) => EnvVersion::parse(v)?,
            },
            check_path: true,
            color: Color::Line(Rgb::BLACK),
            is_hyaline: raw.is_hyaline.unwrap_or(false),
        };
        if raw.auto_color == Some(true) {
            // WeChat ignores line_color then; so do we (it is not hashed either).
            spec.color = Color::Auto;
        } else if let Some(color) = raw.line_color {
            spec.color = Color::Line(Rgb::parse(color)?);
        }
        match kind {
            CodeKind::Unlimited => {
                let (page_field, page) = one_of(("page", raw.page), ("path", raw.path))?;
                let (scene_field, scene) = one_of(("scene", raw.scene), ("query", raw.query))?;
                spec.page = page.map_or(Ok(String::new()), |p| parse_page(page_field, p))?;
                spec.scene = match scene {
                    Some(s) => parse_scene(scene_field, s)?,
                    None => return Err(Invalid::new("scene", "不能为空")),
                };
                spec.check_path = raw.check_path.unwrap_or(true);
            }
            CodeKind::Limited | CodeKind::QrCode => {
                if raw.scene.is_some() {
                    return Err(not_for("scene"));
                }
                if raw.check_path == Some(false) {
                    return Err(not_for("check_path"));
                }
                let (field, path) = one_of(("path", raw.path), ("page", raw.page))?;
                let path = path.ok_or_else(|| Invalid::new("path", "不能为空"))?;
                spec.page = parse_path(kind, field, path, raw.query)?;
            }
        }
        if kind == CodeKind::QrCode {
            // Defaults are tolerated (frontends send them for every kind); anything that
            // would change the image is not, since createwxaqrcode takes only the width.
            for (field, changes_image) in [
                ("env_version", spec.env_version != EnvVersion::Release),
                ("auto_color", raw.auto_color == Some(true)),
                ("line_color", spec.color != Color::Line(Rgb::BLACK)),
                ("is_hyaline", spec.is_hyaline),
            ] {
                if changes_image {
                    return Err(not_for(field));
                }
            }
        }
        Ok(spec)
    }

    /// The content address: SHA-256 over the app and every field that shapes the image,
    /// each length-prefixed so no two different requests share an encoding.
    pub fn hash(&self, app_id: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u32).to_be_bytes());
            h.update(bytes);
        };
        field(b"wxa-code-v1");
        field(app_id.as_bytes());
        field(self.kind.as_str().as_bytes());
        field(self.page.as_bytes());
        field(self.scene.as_bytes());
        field(&self.width.to_be_bytes());
        field(self.env_version.as_str().as_bytes());
        match self.color {
            Color::Auto => field(b"auto"),
            Color::Line(Rgb { r, g, b }) => field(&[r, g, b]),
        }
        field(&[u8::from(self.is_hyaline)]);
        h.finalize().into()
    }
}

/// Two names for one value (`page`/`path`, `scene`/`query`): either, not both.
fn one_of<'a>(
    first: (&'static str, Option<&'a str>),
    second: (&'static str, Option<&'a str>),
) -> Result<(&'static str, Option<&'a str>), Invalid> {
    match (first.1, second.1) {
        (Some(_), Some(_)) => Err(Invalid::new(second.0, format!("与 {} 只能给一个", first.0))),
        (None, Some(v)) => Ok((second.0, Some(v))),
        (v, None) => Ok((first.0, v)),
    }
}

fn width(w: Option<i64>) -> Result<u32, Invalid> {
    match w {
        None => Ok(DEFAULT_WIDTH),
        Some(w) if (i64::from(MIN_WIDTH)..=i64::from(MAX_WIDTH)).contains(&w) => Ok(w as u32),
        Some(_) => Err(Invalid::new(
            "width",
            format!("必须在 {MIN_WIDTH}..{MAX_WIDTH} 之间"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unlimited(scene: &str) -> RawCode<'_> {
        RawCode {
            scene: Some(scene),
            ..RawCode::default()
        }
    }

    #[test]
    fn equal_requests_hash_equal_and_defaults_are_normalized() {
        let a = CodeSpec::parse(&unlimited("id=1")).unwrap();
        let b = CodeSpec::parse(&RawCode {
            width: Some(430),
            env_version: Some("release"),
            check_path: Some(false),
            line_color: Some(&json!({"r": "0", "g": 0})),
            ..unlimited("id=1")
        })
        .unwrap();
        assert_eq!(a.hash("wx1"), b.hash("wx1"));
        assert_ne!(a.hash("wx1"), a.hash("wx2"));
        let c = CodeSpec::parse(&unlimited("id=2")).unwrap();
        assert_ne!(a.hash("wx1"), c.hash("wx1"));
    }
}
