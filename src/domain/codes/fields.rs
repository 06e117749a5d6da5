//! The single values of a code request: colours, scenes, pages and paths.

use serde_json::Value;

use super::{
    CodeKind, Invalid, MAX_LIMITED_PATH_CHARS, MAX_PAGE_CHARS, MAX_QRCODE_PATH_BYTES,
    MAX_SCENE_CHARS,
};

/// A system parameter WeChat refuses anywhere in a page, path or scene (85096).
const RESERVED: &str = "scancode_time";
const SCENE_PUNCTUATION: &str = "!#$&'()*+,/:;=?@-._~";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const BLACK: Rgb = Rgb { r: 0, g: 0, b: 0 };

    /// `{"r":0,"g":0,"b":0}` (numbers or decimal strings), that object as a JSON string
    /// (form and query input), or `#rrggbb`.
    pub fn parse(value: &Value) -> Result<Rgb, Invalid> {
        let bad = || Invalid::new("line_color", "必须是 {\"r\",\"g\",\"b\"}(0..255)或 #rrggbb");
        match value {
            Value::Object(map) => {
                if map.keys().any(|k| !matches!(k.as_str(), "r" | "g" | "b")) {
                    return Err(bad());
                }
                let channel = |name: &str| -> Result<u8, Invalid> {
                    match map.get(name) {
                        None => Ok(0),
                        Some(Value::Number(n)) => n
                            .as_u64()
                            .and_then(|n| u8::try_from(n).ok())
                            .ok_or_else(bad),
                        Some(Value::String(s)) => s.trim().parse().map_err(|_| bad()),
                        Some(_) => Err(bad()),
                    }
                };
                Ok(Rgb {
                    r: channel("r")?,
                    g: channel("g")?,
                    b: channel("b")?,
                })
            }
            Value::String(s) if s.starts_with('#') => {
                let hex = &s[1..];
                let byte = |i: usize| {
                    hex.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(bad)
                };
                if hex.len() != 6 {
                    return Err(bad());
                }
                Ok(Rgb {
                    r: byte(0)?,
                    g: byte(2)?,
                    b: byte(4)?,
                })
            }
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(v @ Value::Object(_)) => Rgb::parse(&v),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

/// The line colour: WeChat's automatic choice, or a fixed one (black by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Line(Rgb),
}

/// 1..=32 characters from `0-9a-zA-Z` and ``!#$&'()*+,/:;=?@-._~`` (no `%`).
pub fn parse_scene(field: &'static str, s: &str) -> Result<String, Invalid> {
    if s.is_empty() {
        return Err(Invalid::new(field, "不能为空"));
    }
    if s.chars().count() > MAX_SCENE_CHARS {
        return Err(Invalid::new(field, "最多 32 个字符"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SCENE_PUNCTUATION.contains(c))
    {
        return Err(Invalid::new(
            field,
            "只能包含字母、数字和 !#$&'()*+,/:;=?@-._~",
        ));
    }
    if s.contains(RESERVED) {
        return Err(Invalid::new(field, "不能包含 scancode_time"));
    }
    Ok(s.to_owned())
}

/// A published page: no leading `/`, no query (parameters go in the scene).
pub fn parse_page(field: &'static str, p: &str) -> Result<String, Invalid> {
    if p.starts_with('/') {
        return Err(Invalid::new(field, "不能以 / 开头"));
    }
    if p.contains('?') {
        return Err(Invalid::new(field, "不能带查询串(参数请放在 scene)"));
    }
    if p.chars().count() > MAX_PAGE_CHARS {
        return Err(Invalid::new(field, "最多 1024 个字符"));
    }
    check_text(field, p)?;
    Ok(p.to_owned())
}

/// The path of a `limited` (1024 characters) or `qrcode` (128 bytes) code; a separate
/// `query` is appended after `?`.
pub(super) fn parse_path(
    kind: CodeKind,
    field: &'static str,
    path: &str,
    query: Option<&str>,
) -> Result<String, Invalid> {
    if path.is_empty() {
        return Err(Invalid::new(field, "不能为空"));
    }
    let full = match query {
        Some(q) if !q.is_empty() && path.contains('?') => {
            return Err(Invalid::new("query", "path 已带查询串"));
        }
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    };
    match kind {
        CodeKind::QrCode if full.len() > MAX_QRCODE_PATH_BYTES => {
            Err(Invalid::new(field, "qrcode 的路径(含查询串)最多 128 字节"))
        }
        CodeKind::Limited if full.chars().count() > MAX_LIMITED_PATH_CHARS => Err(Invalid::new(
            field,
            "limited 的路径(含查询串)最多 1024 个字符",
        )),
        _ => {
            check_text(field, &full)?;
            Ok(full)
        }
    }
}

fn check_text(field: &'static str, s: &str) -> Result<(), Invalid> {
    if s.contains(RESERVED) {
        return Err(Invalid::new(field, "不能包含 scancode_time"));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Invalid::new(field, "不能包含空白或控制字符"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scenes_follow_wechats_rules() {
        assert!(parse_scene("scene", &"a".repeat(32)).is_ok());
        assert!(parse_scene("scene", &"a".repeat(33)).is_err());
        assert!(parse_scene("scene", "a%20b").is_err());
        assert!(parse_scene("scene", "中文").is_err());
        assert!(parse_scene("scene", "id=1&x=~._-").is_ok());
    }

    #[test]
    fn colours_come_as_objects_strings_or_hex() {
        let teal = Rgb {
            r: 0,
            g: 128,
            b: 255,
        };
        assert_eq!(Rgb::parse(&json!({"r": 0, "g": "128", "b": 255})), Ok(teal));
        assert_eq!(Rgb::parse(&json!("{\"g\":128,\"b\":255}")), Ok(teal));
        assert_eq!(Rgb::parse(&json!("#0080ff")), Ok(teal));
        assert!(Rgb::parse(&json!({"r": 256})).is_err());
        assert!(Rgb::parse(&json!("#0080f")).is_err());
    }
}
