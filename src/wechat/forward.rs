//! A raw call for the gateway: any API path, method, query and body, sent as it came, and
//! WeChat's answer given back as it is. Same reqwest client, retry policy and concurrency
//! cap as the typed calls (see `client.rs`).
//!
//! Only answers that may carry an errcode (JSON, text, errors) are read whole: the gateway
//! must see 40001/42001/40014 and `-1`. Anything else (images, media) is streamed through.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::Method;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};

use super::error::{BUSY, TOKEN_REJECTED, WechatError, WechatFault};
use super::transport::TransportError;

/// Largest answer read whole (JSON answers are far smaller; a bigger one is refused
/// rather than held in memory).
pub const MAX_READ_ANSWER: usize = 10 * 1024 * 1024;

/// One forwarded request. Cheap to clone (the body is shared), so it can be retried.
#[derive(Debug, Clone)]
pub struct ForwardRequest {
    pub method: Method,
    /// Carries the real access_token or secret in its query: never log it.
    pub url: url::Url,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
    /// Spends a single-use code (jscode2session): resent only when it never left.
    pub single_use: bool,
}

/// WeChat's answer, as it came.
pub struct Forwarded {
    pub status: u16,
    pub content_type: Option<HeaderValue>,
    pub content_disposition: Option<HeaderValue>,
    pub body: ForwardedBody,
}

pub enum ForwardedBody {
    /// Read whole, with the errcode it carries (0 when none: a success body).
    Read { bytes: Bytes, errcode: i64 },
    /// Streamed through; `len` from Content-Length when WeChat sent one.
    Stream {
        len: Option<u64>,
        chunks: BoxStream<'static, Result<Bytes, WechatError>>,
    },
}

impl Forwarded {
    /// The errcode of a JSON answer; 0 for success bodies and streamed ones.
    pub fn errcode(&self) -> i64 {
        match &self.body {
            ForwardedBody::Read { errcode, .. } => *errcode,
            ForwardedBody::Stream { .. } => 0,
        }
    }

    /// WeChat's refusal of the token we injected, if that is what this answer is.
    pub fn token_rejection(&self) -> Option<WechatFault> {
        let ForwardedBody::Read { bytes, errcode } = &self.body else {
            return None;
        };
        TOKEN_REJECTED.contains(errcode).then(|| WechatFault {
            errcode: *errcode,
            errmsg: read_errcode(bytes).1,
        })
    }

    /// True when WeChat made something (an image, media) rather than answering with JSON.
    pub fn is_binary_success(&self) -> bool {
        self.status < 400 && matches!(self.body, ForwardedBody::Stream { .. })
    }
}

impl std::fmt::Debug for Forwarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarded")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("errcode", &self.errcode())
            .finish_non_exhaustive()
    }
}

/// `(errcode, errmsg)` of a JSON body; `(0, "")` when it has none or is not JSON.
pub fn read_errcode(body: &[u8]) -> (i64, String) {
    #[derive(serde::Deserialize)]
    struct Code {
        errcode: Option<serde_json::Value>,
        errmsg: Option<String>,
    }
    let Ok(code) = serde_json::from_slice::<Code>(body) else {
        return (0, String::new());
    };
    // WeChat sends numbers; a string spelling is read too rather than missed.
    let errcode = match code.errcode {
        Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(serde_json::Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    (errcode, code.errmsg.unwrap_or_default())
}

/// Whether an answer is read whole: anything that may be an errcode (JSON, or text, as
/// some media APIs send their errors) and every error status. The rest is streamed.
fn must_read(status: u16, content_type: Option<&HeaderValue>) -> bool {
    let Some(ct) = content_type.and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let ct = ct.trim_start().to_ascii_lowercase();
    status >= 400 || ct.starts_with("application/json") || ct.starts_with("text/")
}

/// The bottom of the forwarding stack: one exchange through reqwest.
#[derive(Clone)]
pub struct ForwardService {
    client: reqwest::Client,
    /// Backstop for a streamed body, which outlives the stack's own deadline.
    body_deadline: Duration,
}

impl ForwardService {
    pub fn new(client: reqwest::Client, body_deadline: Duration) -> Self {
        ForwardService {
            client,
            body_deadline,
        }
    }
}

impl tower::Service<ForwardRequest> for ForwardService {
    type Response = Forwarded;
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<Forwarded, TransportError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ForwardRequest) -> Self::Future {
        let mut builder = self
            .client
            .request(req.method, req.url)
            .timeout(self.body_deadline)
            .body(req.body);
        if let Some(ct) = req.content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        Box::pin(async move {
            let mut res = builder.send().await.map_err(TransportError::from)?;
            let status = res.status().as_u16();
            let content_type = res.headers().get(CONTENT_TYPE).cloned();
            let content_disposition = res.headers().get(CONTENT_DISPOSITION).cloned();
            let body = if must_read(status, content_type.as_ref()) {
                let bytes = read_whole(&mut res).await?;
                let (errcode, _) = read_errcode(&bytes);
                ForwardedBody::Read { bytes, errcode }
            } else {
                ForwardedBody::Stream {
                    len: res.content_length(),
                    chunks: chunks(res),
                }
            };
            Ok(Forwarded {
                status,
                content_type,
                content_disposition,
                body,
            })
        })
    }
}

async fn read_whole(res: &mut reqwest::Response) -> Result<Bytes, TransportError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = res.chunk().await.map_err(TransportError::from)? {
        if body.len() + chunk.len() > MAX_READ_ANSWER {
            return Err(TransportError::other(
                format!("answer over {MAX_READ_ANSWER} bytes"),
                false,
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The body as a stream of chunks; it ends after the first error.
fn chunks(res: reqwest::Response) -> BoxStream<'static, Result<Bytes, WechatError>> {
    futures_util::stream::unfold(Some(res), |state| async move {
        let mut res = state?;
        match res.chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(res))),
            Ok(None) => None,
            Err(e) => Some((Err(WechatError::Transport(Arc::new(e.without_url()))), None)),
        }
    })
    .boxed()
}

/// Whether the retry policy should send a forwarded request again.
pub fn worth_retrying(req: &ForwardRequest, result: &Result<Forwarded, TransportError>) -> bool {
    match result {
        Err(e) => e.not_sent || !req.single_use,
        Ok(_) if req.single_use => false,
        Ok(res) if res.status >= 500 => true,
        Ok(res) => matches!(res.body, ForwardedBody::Read { errcode: BUSY, .. }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_are_read_from_json_bodies_only() {
        assert_eq!(
            read_errcode(br#"{"errcode":40001,"errmsg":"invalid credential rid: x"}"#),
            (40001, "invalid credential rid: x".to_owned())
        );
        assert_eq!(read_errcode(br#"{"errcode":"-1"}"#).0, -1);
        assert_eq!(read_errcode(br#"{"openid":"o1","session_key":"k"}"#).0, 0);
        assert_eq!(read_errcode(b"\xff\xd8\xff\xe0 jpeg").0, 0);
    }

    fn request(single_use: bool) -> ForwardRequest {
        ForwardRequest {
            method: Method::POST,
            url: url::Url::parse("http://127.0.0.1/wxa/x").unwrap(),
            content_type: None,
            body: Bytes::new(),
            single_use,
        }
    }

    fn read(status: u16, errcode: i64) -> Result<Forwarded, TransportError> {
        Ok(Forwarded {
            status,
            content_type: None,
            content_disposition: None,
            body: ForwardedBody::Read {
                bytes: Bytes::new(),
                errcode,
            },
        })
    }

    #[test]
    fn busy_5xx_and_transport_errors_are_retried_single_use_codes_only_unsent() {
        let sent = || Err(TransportError::other("reset", false));
        let unsent = || Err(TransportError::other("refused", true));
        let plain = request(false);
        assert!(worth_retrying(&plain, &read(200, -1)));
        assert!(worth_retrying(&plain, &read(502, 0)));
        assert!(worth_retrying(&plain, &sent()));
        assert!(!worth_retrying(&plain, &read(200, 40001)));
        assert!(!worth_retrying(&plain, &read(200, 0)));
        let login = request(true);
        assert!(!worth_retrying(&login, &read(200, -1)));
        assert!(!worth_retrying(&login, &read(503, 0)));
        assert!(!worth_retrying(&login, &sent()));
        assert!(worth_retrying(&login, &unsent()));
    }

    #[test]
    fn json_text_and_errors_are_read_whole_the_rest_streams() {
        let ct = |v: &'static str| Some(HeaderValue::from_static(v));
        assert!(must_read(
            200,
            ct("application/json; encoding=utf-8").as_ref()
        ));
        assert!(must_read(200, ct("text/plain").as_ref()));
        assert!(must_read(200, None));
        assert!(must_read(502, ct("image/jpeg").as_ref()));
        assert!(!must_read(200, ct("image/jpeg").as_ref()));
        assert!(!must_read(200, ct("application/octet-stream").as_ref()));
    }
}
