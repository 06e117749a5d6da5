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

pub mod loose;
mod params;

pub use params::Params;

/// A value that must be given and not be empty.
pub fn required(field: &'static str, value: Option<String>) -> Result<String, AppError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AppError::invalid(field, "不能为空"))
}

/// Largest body any route accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The request's named values, before a route's `Params` type reads them. Form and query
/// values arrive as strings. Private: handlers take `Params<T>`, never the untyped bag.
#[derive(Debug, Default)]
struct Input(Map<String, Value>);

impl Input {
    fn into_map(self) -> Map<String, Value> {
        self.0
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
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Code {
        #[serde(default, deserialize_with = "loose::text")]
        path: Option<String>,
        #[serde(default, deserialize_with = "loose::text")]
        scene: Option<String>,
        #[serde(default, deserialize_with = "loose::int")]
        width: Option<i64>,
        #[serde(default, deserialize_with = "loose::flag")]
        is_hyaline: Option<bool>,
    }

    async fn read(req: TestRequest) -> Result<Code, AppError> {
        let (req, mut payload) = req.to_http_parts();
        Params::<Code>::from_request(&req, &mut payload)
            .await
            .map(|p| p.0)
    }

    #[actix_web::test]
    async fn json_body_overrides_the_query_string() {
        let code = read(
            TestRequest::post()
                .uri("/x?path=a&width=300")
                .insert_header((CONTENT_TYPE, "application/json"))
                .set_payload(r#"{"path":"pages/index/index","is_hyaline":true}"#),
        )
        .await
        .unwrap();
        assert_eq!(code.path.as_deref(), Some("pages/index/index"));
        assert_eq!(code.width, Some(300));
        assert_eq!(code.is_hyaline, Some(true));
    }

    #[actix_web::test]
    async fn form_bodies_are_read_like_json() {
        let code = read(
            TestRequest::post()
                .insert_header((
                    CONTENT_TYPE,
                    "application/x-www-form-urlencoded; charset=utf-8",
                ))
                .set_payload("scene=a%3D1&width=430&is_hyaline=false"),
        )
        .await
        .unwrap();
        assert_eq!(code.scene.as_deref(), Some("a=1"));
        assert_eq!(code.width, Some(430));
        assert_eq!(code.is_hyaline, Some(false));
    }

    #[actix_web::test]
    async fn a_query_string_alone_is_read_and_its_last_repeat_wins() {
        let code = read(TestRequest::get().uri("/x?width=280&scene=&width=300"))
            .await
            .unwrap();
        // The last of a repeated key wins, as in PHP.
        assert_eq!(code.width, Some(300));
        assert_eq!(code.scene.as_deref(), Some(""));
        let bad = read(TestRequest::get().uri("/x?width=wide")).await;
        assert!(matches!(bad, Err(AppError::Invalid { field, .. }) if field == "width"));
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

    #[test]
    fn required_values_are_present_and_not_empty() {
        assert_eq!(required("code", Some("x".into())).unwrap(), "x");
        for missing in [None, Some(String::new())] {
            let err = required("code", missing).unwrap_err();
            assert!(matches!(err, AppError::Invalid { field, .. } if field == "code"));
        }
    }
}
