//! The three code APIs (docs/wechat.md#codes): `getwxacodeunlimit`, `getwxacode` and
//! `createwxaqrcode`, each answering an image or a JSON error. The request is built from a
//! checked `CodeSpec`; the same JSON is stored as the code's `params`, so its fields and
//! their order must not change.

use serde::{Serialize, Serializer};

use super::api::{self, Api};
use super::client::{Image, WechatClient};
use super::error::WechatError;
use super::token_query;
use crate::domain::codes::{CodeKind, CodeSpec, Color, Rgb};

/// `wxa/getwxacodeunlimit`: a page and a scene.
#[derive(Debug, Serialize)]
pub struct UnlimitedCode<'a> {
    pub scene: &'a str,
    /// Absent for the home page (rather than "").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<&'a str>,
    pub check_path: bool,
    pub env_version: &'static str,
    pub width: u32,
    #[serde(flatten)]
    pub style: Style,
}

/// `wxa/getwxacode`: a path, query included.
#[derive(Debug, Serialize)]
pub struct LimitedCode<'a> {
    pub path: &'a str,
    pub env_version: &'static str,
    pub width: u32,
    #[serde(flatten)]
    pub style: Style,
}

/// `cgi-bin/wxaapp/createwxaqrcode`: a path and a width, nothing else.
#[derive(Debug, Serialize)]
pub struct QrCode<'a> {
    pub path: &'a str,
    pub width: u32,
}

/// The colours of the two mini-program codes.
#[derive(Debug, Serialize)]
pub struct Style {
    pub auto_color: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_color: Option<LineColor>,
    pub is_hyaline: bool,
}

/// Decimal strings, as in WeChat's own example and the major SDKs (whether numbers are
/// accepted too is unconfirmed). Written straight from the bytes, without a `String`.
#[derive(Debug, Serialize)]
pub struct LineColor {
    #[serde(serialize_with = "decimal")]
    pub r: u8,
    #[serde(serialize_with = "decimal")]
    pub g: u8,
    #[serde(serialize_with = "decimal")]
    pub b: u8,
}

fn decimal<S: Serializer>(v: &u8, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// One code request, whichever API it goes to. Serializes as that API's body.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum CodeRequest<'a> {
    Unlimited(UnlimitedCode<'a>),
    Limited(LimitedCode<'a>),
    QrCode(QrCode<'a>),
}

impl<'a> CodeRequest<'a> {
    /// The request for a checked spec; borrows its strings.
    pub fn new(spec: &'a CodeSpec) -> Self {
        let style = || Style {
            auto_color: spec.color == Color::Auto,
            line_color: match spec.color {
                Color::Auto => None,
                Color::Line(Rgb { r, g, b }) => Some(LineColor { r, g, b }),
            },
            is_hyaline: spec.is_hyaline,
        };
        match spec.kind {
            CodeKind::Unlimited => CodeRequest::Unlimited(UnlimitedCode {
                scene: &spec.scene,
                page: Some(spec.page.as_str()).filter(|p| !p.is_empty()),
                check_path: spec.check_path,
                env_version: spec.env_version.as_str(),
                width: spec.width,
                style: style(),
            }),
            CodeKind::Limited => CodeRequest::Limited(LimitedCode {
                path: &spec.page,
                env_version: spec.env_version.as_str(),
                width: spec.width,
                style: style(),
            }),
            CodeKind::QrCode => CodeRequest::QrCode(QrCode {
                path: &spec.page,
                width: spec.width,
            }),
        }
    }

    /// The endpoint (its name is the metrics label).
    pub fn api(&self) -> Api {
        match self {
            CodeRequest::Unlimited(_) => api::GET_WXACODE_UNLIMIT,
            CodeRequest::Limited(_) => api::GET_WXACODE,
            CodeRequest::QrCode(_) => api::CREATE_QRCODE,
        }
    }
}

/// Makes the code `request` describes, with the app's `token`.
pub async fn make(
    client: &WechatClient,
    token: &str,
    request: &CodeRequest<'_>,
) -> Result<Image, WechatError> {
    match request {
        CodeRequest::Unlimited(r) => get_wxacode_unlimit(client, token, r).await,
        CodeRequest::Limited(r) => get_wxacode(client, token, r).await,
        CodeRequest::QrCode(r) => create_qrcode(client, token, r).await,
    }
}

pub async fn get_wxacode_unlimit(
    client: &WechatClient,
    token: &str,
    request: &UnlimitedCode<'_>,
) -> Result<Image, WechatError> {
    client
        .post_image(api::GET_WXACODE_UNLIMIT, &token_query(token), request)
        .await
}

pub async fn get_wxacode(
    client: &WechatClient,
    token: &str,
    request: &LimitedCode<'_>,
) -> Result<Image, WechatError> {
    client
        .post_image(api::GET_WXACODE, &token_query(token), request)
        .await
}

pub async fn create_qrcode(
    client: &WechatClient,
    token: &str,
    request: &QrCode<'_>,
) -> Result<Image, WechatError> {
    client
        .post_image(api::CREATE_QRCODE, &token_query(token), request)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::codes::EnvVersion;

    fn spec(kind: CodeKind, page: &str, color: Color) -> CodeSpec {
        CodeSpec {
            kind,
            page: page.into(),
            scene: if kind == CodeKind::Unlimited {
                "a=1".into()
            } else {
                String::new()
            },
            width: 430,
            env_version: EnvVersion::Trial,
            check_path: false,
            color,
            is_hyaline: true,
        }
    }

    fn body(spec: &CodeSpec) -> String {
        serde_json::to_string(&CodeRequest::new(spec)).unwrap()
    }

    /// The bodies (and stored `params`) exactly as before the requests were typed.
    #[test]
    fn bodies_keep_their_fields_and_order() {
        let teal = Color::Line(Rgb {
            r: 0,
            g: 128,
            b: 255,
        });
        assert_eq!(
            body(&spec(CodeKind::Unlimited, "pages/a/a", teal)),
            r#"{"scene":"a=1","page":"pages/a/a","check_path":false,"env_version":"trial","width":430,"auto_color":false,"line_color":{"r":"0","g":"128","b":"255"},"is_hyaline":true}"#
        );
        assert_eq!(
            body(&spec(CodeKind::Unlimited, "", Color::Auto)),
            r#"{"scene":"a=1","check_path":false,"env_version":"trial","width":430,"auto_color":true,"is_hyaline":true}"#
        );
        assert_eq!(
            body(&spec(CodeKind::Limited, "pages/a/a?x=1", teal)),
            r#"{"path":"pages/a/a?x=1","env_version":"trial","width":430,"auto_color":false,"line_color":{"r":"0","g":"128","b":"255"},"is_hyaline":true}"#
        );
        assert_eq!(
            body(&spec(CodeKind::QrCode, "pages/a/a", teal)),
            r#"{"path":"pages/a/a","width":430}"#
        );
        let value = serde_json::to_value(CodeRequest::new(&spec(CodeKind::Limited, "p", teal)));
        assert_eq!(value.unwrap()["line_color"]["g"], "128");
    }

    #[test]
    fn each_kind_goes_to_its_api() {
        for (kind, name) in [
            (CodeKind::Unlimited, "getwxacodeunlimit"),
            (CodeKind::Limited, "getwxacode"),
            (CodeKind::QrCode, "createwxaqrcode"),
        ] {
            assert_eq!(
                CodeRequest::new(&spec(kind, "p", Color::Auto)).api().name,
                name
            );
        }
    }
}
