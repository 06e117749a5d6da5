//! The JSON body of the three code APIs (docs/wechat.md#codes), built from a checked
//! spec. The client in `src/wechat/` sends it; the same JSON is stored as the code's
//! `params`.

use serde::Serialize;

use crate::domain::codes::{CodeKind, CodeSpec, Color};
use crate::wechat::api::{self, Api};

pub fn api(kind: CodeKind) -> Api {
    match kind {
        CodeKind::Unlimited => api::GET_WXACODE_UNLIMIT,
        CodeKind::Limited => api::GET_WXACODE,
        CodeKind::QrCode => api::CREATE_QRCODE,
    }
}

#[derive(Debug, Serialize)]
pub struct CodeBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    scene: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_path: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    env_version: Option<&'static str>,
    width: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_color: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line_color: Option<LineColor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_hyaline: Option<bool>,
}

/// Decimal strings, as in WeChat's own example and the major SDKs (whether numbers are
/// accepted too is unconfirmed).
#[derive(Debug, Serialize)]
struct LineColor {
    r: String,
    g: String,
    b: String,
}

pub fn body(spec: &CodeSpec) -> CodeBody<'_> {
    let styled = spec.kind != CodeKind::QrCode;
    let (auto_color, line_color) = match spec.color {
        _ if !styled => (None, None),
        Color::Auto => (Some(true), None),
        Color::Line(c) => (
            Some(false),
            Some(LineColor {
                r: c.r.to_string(),
                g: c.g.to_string(),
                b: c.b.to_string(),
            }),
        ),
    };
    let env_version = match spec.kind {
        CodeKind::QrCode => None,
        _ => Some(spec.env_version.as_str()),
    };
    let (page, path, scene, check_path) = match spec.kind {
        // No page means the home page: leave the field out rather than send "".
        CodeKind::Unlimited => (
            Some(spec.page.as_str()).filter(|p| !p.is_empty()),
            None,
            Some(spec.scene.as_str()),
            Some(spec.check_path),
        ),
        CodeKind::Limited | CodeKind::QrCode => (None, Some(spec.page.as_str()), None, None),
    };
    CodeBody {
        scene,
        page,
        path,
        check_path,
        env_version,
        width: spec.width,
        auto_color,
        line_color,
        is_hyaline: styled.then_some(spec.is_hyaline),
    }
}
