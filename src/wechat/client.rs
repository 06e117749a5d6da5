//! `WechatClient`: the only thing that builds WeChat URLs and sends requests. A tower
//! stack around reqwest: an overall deadline, retries with backoff, a concurrency cap.
//!
//! `get_json`, `post_json` and `post_image` are the building blocks of the typed
//! endpoint functions (`tokens`, `codes`, `links`, `users`, `component`); services call
//! those, never these.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::limit::ConcurrencyLimit;
use tower::retry::Retry;
use tower::timeout::Timeout;
use tower::{ServiceBuilder, ServiceExt};

use super::api::Api;
use super::call_stats::CallStats;
use super::error::{DecodeError, WechatError, WechatFault};
use super::forward::{ForwardRequest, ForwardService, Forwarded, ForwardedBody};
use super::retry::RetryPolicy;
use super::transport::{HttpService, TransportError, WxRequest, WxResponse};
use crate::config::WechatSettings;
use crate::metrics::{Metrics, UpstreamLabels};

/// Upstream calls in flight at once, across all apps.
const MAX_IN_FLIGHT: usize = 256;
const RETRY_BASE: Duration = Duration::from_millis(100);
/// A streamed answer (an image, media) must have arrived whole within this.
const STREAM_DEADLINE: Duration = Duration::from_secs(60);
/// A forwarded body's time to travel on top of `wechat.timeout_ms`: a 10 MiB media upload
/// gets 10 s more.
const UPLOAD_ALLOWANCE_PER_MIB: Duration = Duration::from_secs(1);
/// The metrics and stats name of the gateway's raw calls (their paths are the clients').
pub const GATEWAY_API: &str = "gateway";

type Stack = Timeout<Retry<RetryPolicy, ConcurrencyLimit<HttpService>>>;
/// No Timeout layer: a forwarded call's deadline depends on its body (see `forward`).
type ForwardStack = Retry<RetryPolicy, ConcurrencyLimit<ForwardService>>;

#[derive(Clone)]
pub struct WechatClient {
    base: url::Url,
    stack: Stack,
    forward_stack: ForwardStack,
    timeout: Duration,
    metrics: Arc<Metrics>,
    calls: Arc<CallStats>,
}

/// An image WeChat returned (a code).
#[derive(Debug, Clone)]
pub struct Image {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

impl WechatClient {
    pub fn new(settings: &WechatSettings, metrics: Arc<Metrics>) -> Result<Self, String> {
        let base = url::Url::parse(settings.base_url.trim_end_matches('/'))
            .map_err(|e| format!("wechat.base_url: {e}"))?;
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        // TLS verification stays on: the original service turned it off; we never do.
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .pool_max_idle_per_host(64)
            .user_agent(concat!("wxa-backend/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        // One cap on calls in flight, shared by the typed calls and the gateway's.
        let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
        let policy = RetryPolicy::new(settings.max_retries, RETRY_BASE);
        let stack = ServiceBuilder::new()
            .timeout(timeout)
            .retry(policy.clone())
            .service(ConcurrencyLimit::with_semaphore(
                HttpService::new(http.clone()),
                in_flight.clone(),
            ));
        let forward_stack =
            ServiceBuilder::new()
                .retry(policy)
                .service(ConcurrencyLimit::with_semaphore(
                    ForwardService::new(http, timeout.max(STREAM_DEADLINE)),
                    in_flight,
                ));
        Ok(WechatClient {
            base,
            stack,
            forward_stack,
            timeout,
            metrics,
            calls: Arc::default(),
        })
    }

    /// Calls made in the last 24 hours, by API and errcode (`/admin/stats`).
    pub fn call_stats(&self) -> &CallStats {
        &self.calls
    }

    /// GET with query parameters; the answer is JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        api: Api,
        query: &[(&str, &str)],
    ) -> Result<T, WechatError> {
        let res = self.send(api, Method::GET, query, None).await?;
        self.finish(api, decode_json(&res))
    }

    /// POST a JSON body; the answer is JSON.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        api: Api,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, WechatError> {
        let body = serde_json::to_vec(body).map_err(WechatError::shape)?;
        let res = self
            .send(api, Method::POST, query, Some(body.into()))
            .await?;
        self.finish(api, decode_json(&res))
    }

    /// POST a JSON body; the answer is an image, or a JSON error. Decided by the bytes
    /// (PNG/JPEG signatures), not only the content type.
    pub async fn post_image<B: Serialize>(
        &self,
        api: Api,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<Image, WechatError> {
        let body = serde_json::to_vec(body).map_err(WechatError::shape)?;
        let res = self
            .send(api, Method::POST, query, Some(body.into()))
            .await?;
        let outcome = match image_type(&res.body) {
            Some(content_type) if res.status < 400 => Ok(Image {
                bytes: res.body,
                content_type,
            }),
            _ => decode_json::<serde_json::Value>(&res).and_then(|v| {
                Err(WechatError::unexpected(format!(
                    "expected an image, got {}",
                    short(&v.to_string())
                )))
            }),
        };
        self.finish(api, outcome)
    }

    /// The URL of an API path given by a gateway client (`wxa/getwxacodeunlimit`, checked
    /// by the caller) with `query` as it is to be sent.
    pub fn forward_url(&self, path: &str, query: &str) -> url::Url {
        let mut url = self.base.clone();
        url.set_path(&format!(
            "{}/{path}",
            self.base.path().trim_end_matches('/')
        ));
        url.set_query((!query.is_empty()).then_some(query));
        url
    }

    /// Sends a gateway client's call as it is (retried like the typed calls on `-1`, 5xx
    /// and transport errors) and gives WeChat's answer back unread where it can. An answer
    /// of HTTP 5xx once the retries are spent is an error, as is no answer.
    pub async fn forward(&self, req: ForwardRequest) -> Result<Forwarded, WechatError> {
        let started = Instant::now();
        let mib = req.body.len() as f64 / (1024.0 * 1024.0);
        let deadline = self.timeout + UPLOAD_ALLOWANCE_PER_MIB.mul_f64(mib);
        let result = tokio::time::timeout(deadline, self.forward_stack.clone().oneshot(req))
            .await
            .map_err(|_| WechatError::Timeout)
            .and_then(|sent| sent.map_err(|e| WechatError::Transport(e.cause)))
            .and_then(|res| match res.status {
                s if s >= 500 => Err(WechatError::Status(s)),
                _ => Ok(res),
            });
        tracing::debug!(
            api = GATEWAY_API,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            ok = result.is_ok(),
            "wechat call"
        );
        let errcode = match &result {
            Ok(res) => match &res.body {
                ForwardedBody::Read { errcode, .. } => errcode.to_string(),
                ForwardedBody::Stream { .. } => "0".to_owned(),
            },
            Err(e) => {
                tracing::warn!(api = GATEWAY_API, error = %e, "wechat call failed");
                e.label()
            }
        };
        self.record(GATEWAY_API, errcode);
        result
    }

    async fn send(
        &self,
        api: Api,
        method: Method,
        query: &[(&str, &str)],
        json_body: Option<Bytes>,
    ) -> Result<WxResponse, WechatError> {
        let mut url = self.base.clone();
        url.set_path(&format!(
            "{}{}",
            self.base.path().trim_end_matches('/'),
            api.path
        ));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let started = Instant::now();
        let result = self
            .stack
            .clone()
            .oneshot(WxRequest {
                api,
                method,
                url,
                json_body,
            })
            .await
            .map_err(|e| match e.downcast::<TransportError>() {
                Ok(t) => WechatError::Transport(t.cause),
                Err(e) if e.is::<tower::timeout::error::Elapsed>() => WechatError::Timeout,
                Err(e) => WechatError::Transport(e.into()),
            });
        tracing::debug!(
            api = api.name,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            ok = result.is_ok(),
            "wechat call"
        );
        match result {
            Ok(res) => Ok(res),
            Err(e) => self.finish(api, Err(e)),
        }
    }

    /// Counts the outcome and logs failures (never the URL: it holds the token).
    fn finish<T>(&self, api: Api, outcome: Result<T, WechatError>) -> Result<T, WechatError> {
        let errcode = match &outcome {
            Ok(_) => "0".to_owned(),
            Err(e) => {
                tracing::warn!(api = api.name, error = %e, "wechat call failed");
                e.label()
            }
        };
        self.record(api.name, errcode);
        outcome
    }

    /// Counts one finished call in the metrics and the 24-hour stats.
    fn record(&self, api: &'static str, errcode: String) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.calls.record(api, &errcode, now);
        self.metrics
            .upstream_calls
            .get_or_create(&UpstreamLabels { api, errcode })
            .inc();
    }
}

/// A JSON answer: an `errcode` other than 0 is an error, anything else is `T`.
fn decode_json<T: DeserializeOwned>(res: &WxResponse) -> Result<T, WechatError> {
    if res.status >= 500 {
        return Err(WechatError::Status(res.status));
    }
    let value: serde_json::Value = serde_json::from_slice(&res.body).map_err(|e| {
        WechatError::Decode(DecodeError::NotJson {
            status: res.status,
            source: Arc::new(e),
        })
    })?;
    let errcode = value
        .get("errcode")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    if errcode != 0 {
        let errmsg = value
            .get("errmsg")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_owned();
        return Err(WechatError::Api(WechatFault { errcode, errmsg }));
    }
    serde_json::from_value(value).map_err(WechatError::shape)
}

fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

fn short(s: &str) -> &str {
    s.char_indices().nth(200).map_or(s, |(i, _)| &s[..i])
}
