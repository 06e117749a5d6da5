//! Request input read the way Laravel's `$request->input()` reads it: the query string,
//! overlaid by a JSON or form body, whichever the client sent.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::{Either, Ready, ready};
use serde_json::{Map, Value};

use crate::error::AppError;

/// Largest body any route accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Named input values. Form and query values arrive as strings; the typed getters accept
/// either a JSON value of the right type or its string spelling.
#[derive(Debug, Default, Clone)]
pub struct Input(Map<String, Value>);

impl Input {
    pub fn from_map(map: Map<String, Value>) -> Self {
        Input(map)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(|v| !v.is_null())
    }

    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A string value; numbers are accepted and spelled out.
    pub fn str(&self, key: &'static str) -> Result<Option<String>, AppError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(AppError::invalid(key, "必须是字符串")),
        }
    }

    pub fn required_str(&self, key: &'static str) -> Result<String, AppError> {
        match self.str(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(AppError::invalid(key, "不能为空")),
        }
    }

    /// An integer value, from a JSON number or a decimal string.
    pub fn i64(&self, key: &'static str) -> Result<Option<i64>, AppError> {
        let bad = || AppError::invalid(key, "必须是整数");
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    /// A boolean from `true`/`false`, `1`/`0`, or their string spellings.
    pub fn bool(&self, key: &'static str) -> Result<Option<bool>, AppError> {
        let bad = || AppError::invalid(key, "必须是布尔值(true/false)");
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(bad()),
            },
            Some(Value::String(s)) => match s.as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                "" => Ok(None),
                _ => Err(bad()),
            },
            Some(_) => Err(bad()),
        }
    }

    async fn read(req: HttpRequest, payload: Payload) -> Result<Input, AppError> {
        let mut map = query_map(req.query_string())?;
        let declared_len = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared_len.is_some_and(|n| n > MAX_BODY_BYTES) {
            return Err(AppError::PayloadTooLarge);
        }
        let mut payload = payload;
        // Grown as bytes arrive: a declared length is no promise, and reserving it up
        // front let idle connections hold a megabyte each.
        let mut body = web::BytesMut::with_capacity(declared_len.unwrap_or(0).min(16 * 1024));
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| AppError::BadRequest("请求体读取失败".into()))?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(AppError::PayloadTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input(map));
        }
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let body_map = match mime.as_str() {
            "application/json" => json_map(&body)?,
            "application/x-www-form-urlencoded" => query_map(
                std::str::from_utf8(&body)
                    .map_err(|_| AppError::BadRequest("表单不是 UTF-8".into()))?,
            )?,
            "" => {
                return Err(AppError::BadRequest(
                    "缺少 Content-Type(请用 application/json 或表单)".into(),
                ));
            }
            other => {
                return Err(AppError::BadRequest(
                    format!("不支持的 Content-Type: {other}(请用 application/json 或表单)").into(),
                ));
            }
        };
        // The body wins over the query string, as in Laravel.
        map.extend(body_map);
        Ok(Input(map))
    }
}

fn query_map(query: &str) -> Result<Map<String, Value>, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| AppError::BadRequest("查询串或表单格式错误".into()))?;
    Ok(pairs
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect())
}

fn json_map(body: &[u8]) -> Result<Map<String, Value>, AppError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AppError::BadRequest("JSON 请求体必须是对象".into())),
        Err(e) => Err(AppError::BadRequest(
            format!("JSON 格式错误(第 {} 行第 {} 列)", e.line(), e.column()).into(),
        )),
    }
}

impl FromRequest for Input {
    type Error = AppError;
    type Future = Either<
        Ready<Result<Input, AppError>>,
        Pin<Box<dyn Future<Output = Result<Input, AppError>>>>,
    >;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Most calls are GETs without a body: nothing to stream, no future to box.
        if matches!(payload, Payload::None) {
            return Either::Left(ready(query_map(req.query_string()).map(Input)));
        }
        let req = req.clone();
        let payload = payload.take();
        Either::Right(Box::pin(Input::read(req, payload)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    async fn read(req: TestRequest) -> Result<Input, AppError> {
        let (req, mut payload) = req.to_http_parts();
        Input::from_request(&req, &mut payload).await
    }

    #[actix_web::test]
    async fn json_body_overrides_the_query_string() {
        let input = read(
            TestRequest::post()
                .uri("/x?path=a&width=300")
                .insert_header((CONTENT_TYPE, "application/json"))
                .set_payload(r#"{"path":"pages/index/index","is_hyaline":true}"#),
        )
        .await
        .unwrap();
        assert_eq!(
            input.str("path").unwrap().as_deref(),
            Some("pages/index/index")
        );
        assert_eq!(input.i64("width").unwrap(), Some(300));
        assert_eq!(input.bool("is_hyaline").unwrap(), Some(true));
    }

    #[actix_web::test]
    async fn form_bodies_are_read_like_json() {
        let input = read(
            TestRequest::post()
                .insert_header((
                    CONTENT_TYPE,
                    "application/x-www-form-urlencoded; charset=utf-8",
                ))
                .set_payload("scene=a%3D1&width=430&is_hyaline=false"),
        )
        .await
        .unwrap();
        assert_eq!(input.str("scene").unwrap().as_deref(), Some("a=1"));
        assert_eq!(input.i64("width").unwrap(), Some(430));
        assert_eq!(input.bool("is_hyaline").unwrap(), Some(false));
    }

    #[actix_web::test]
    async fn unreadable_bodies_are_bad_requests() {
        let malformed = read(
            TestRequest::post()
                .insert_header((CONTENT_TYPE, "application/json"))
                .set_payload("{\"path\":"),
        )
        .await;
        assert!(matches!(malformed, Err(AppError::BadRequest(_))));
        let xml = read(
            TestRequest::post()
                .insert_header((CONTENT_TYPE, "text/xml"))
                .set_payload("<xml/>"),
        )
        .await;
        assert!(matches!(xml, Err(AppError::BadRequest(m)) if m.contains("text/xml")));
    }

    #[actix_web::test]
    async fn typed_getters_name_the_field_on_bad_values() {
        let input = Input::from_map(
            serde_json::json!({"width": "wide", "flag": "yes", "path": [1]})
                .as_object()
                .cloned()
                .unwrap(),
        );
        for (err, field) in [
            (input.i64("width").unwrap_err(), "width"),
            (input.bool("flag").unwrap_err(), "flag"),
            (input.str("path").unwrap_err(), "path"),
            (input.required_str("missing").unwrap_err(), "missing"),
        ] {
            assert!(matches!(err, AppError::Invalid { field: f, .. } if f == field));
        }
    }

    #[actix_web::test]
    async fn bodies_over_one_mebibyte_are_refused() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let res = read(
            TestRequest::post()
                .insert_header((CONTENT_TYPE, "application/json"))
                .set_payload(big),
        )
        .await;
        assert!(matches!(res, Err(AppError::PayloadTooLarge)));
    }
}
