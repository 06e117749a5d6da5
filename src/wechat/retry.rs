//! When to try a WeChat call again: busy (`-1`), HTTP 5xx and transport errors, with
//! exponential backoff; a call that spends a single-use code only when it never left.

use std::time::Duration;

use rand::Rng;
use tower::retry::Policy;

use super::error::BUSY;
use super::forward::{self, ForwardRequest, Forwarded};
use super::transport::{TransportError, WxRequest, WxResponse};

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    remaining: u32,
    attempt: u32,
    base: Duration,
}

impl RetryPolicy {
    pub fn new(max_retries: u32, base: Duration) -> Self {
        RetryPolicy {
            remaining: max_retries,
            attempt: 0,
            base,
        }
    }

    fn backoff(&mut self) -> tokio::time::Sleep {
        self.remaining -= 1;
        self.attempt += 1;
        let exp = self.base.saturating_mul(1 << (self.attempt - 1).min(6));
        // Full jitter keeps a burst of retries from arriving together.
        let jittered = rand::thread_rng().gen_range(exp / 2..=exp);
        tokio::time::sleep(jittered)
    }
}

impl Policy<WxRequest, WxResponse, TransportError> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        req: &mut WxRequest,
        result: &mut Result<WxResponse, TransportError>,
    ) -> Option<Self::Future> {
        if self.remaining == 0 {
            return None;
        }
        let retry = match result {
            Err(e) => e.not_sent || !req.api.single_use,
            Ok(_) if req.api.single_use => false,
            Ok(res) if res.status >= 500 => true,
            Ok(res) => is_busy(res),
        };
        retry.then(|| self.backoff())
    }

    fn clone_request(&mut self, req: &WxRequest) -> Option<WxRequest> {
        Some(req.clone())
    }
}

/// The gateway's raw calls: the same rules (see `forward::worth_retrying`), the same
/// budget and backoff.
impl Policy<ForwardRequest, Forwarded, TransportError> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        req: &mut ForwardRequest,
        result: &mut Result<Forwarded, TransportError>,
    ) -> Option<Self::Future> {
        if self.remaining == 0 {
            return None;
        }
        forward::worth_retrying(req, result).then(|| self.backoff())
    }

    fn clone_request(&mut self, req: &ForwardRequest) -> Option<ForwardRequest> {
        Some(req.clone())
    }
}

/// `{"errcode":-1,...}`, read without parsing the whole body (which may be an image).
fn is_busy(res: &WxResponse) -> bool {
    if res.body.first() != Some(&b'{') || res.body.len() > 4096 {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Code {
        errcode: Option<i64>,
    }
    serde_json::from_slice::<Code>(&res.body).is_ok_and(|c| c.errcode == Some(BUSY))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::api;

    fn request(api: api::Api) -> WxRequest {
        WxRequest {
            api,
            method: reqwest::Method::POST,
            url: url::Url::parse("http://127.0.0.1/x").unwrap(),
            json_body: None,
        }
    }

    fn answer(status: u16, body: &'static str) -> Result<WxResponse, TransportError> {
        Ok(WxResponse {
            status,
            body: bytes::Bytes::from_static(body.as_bytes()),
        })
    }

    fn sent_error() -> Result<WxResponse, TransportError> {
        Err(TransportError::other("reset", false))
    }

    fn unsent_error() -> Result<WxResponse, TransportError> {
        Err(TransportError::other("refused", true))
    }

    #[tokio::test]
    async fn busy_5xx_and_transport_errors_are_retried_up_to_the_limit() {
        let mut policy = RetryPolicy::new(2, Duration::from_millis(1));
        let mut req = request(api::GENERATE_SCHEME);
        assert!(
            policy
                .retry(
                    &mut req,
                    &mut answer(200, r#"{"errcode":-1,"errmsg":"system error"}"#)
                )
                .is_some()
        );
        assert!(policy.retry(&mut req, &mut answer(502, "")).is_some());
        assert!(
            policy.retry(&mut req, &mut sent_error()).is_none(),
            "limit reached"
        );
    }

    #[tokio::test]
    async fn other_answers_are_final() {
        let mut policy = RetryPolicy::new(2, Duration::from_millis(1));
        let mut req = request(api::GENERATE_SCHEME);
        assert!(
            policy
                .retry(
                    &mut req,
                    &mut answer(200, r#"{"errcode":40001,"errmsg":"x"}"#)
                )
                .is_none()
        );
        assert!(
            policy
                .retry(
                    &mut req,
                    &mut answer(200, r#"{"errcode":0,"openlink":"weixin://"}"#)
                )
                .is_none()
        );
        assert!(
            policy
                .retry(&mut req, &mut answer(200, "\u{ff}\u{d8} jpeg"))
                .is_none()
        );
    }

    #[tokio::test]
    async fn single_use_codes_are_resent_only_when_never_sent() {
        let mut policy = RetryPolicy::new(3, Duration::from_millis(1));
        let mut req = request(api::JSCODE2SESSION);
        assert!(
            policy
                .retry(&mut req, &mut answer(200, r#"{"errcode":-1}"#))
                .is_none()
        );
        assert!(policy.retry(&mut req, &mut answer(503, "")).is_none());
        assert!(policy.retry(&mut req, &mut sent_error()).is_none());
        assert!(policy.retry(&mut req, &mut unsent_error()).is_some());
    }
}
