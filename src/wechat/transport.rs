//! The bottom of the client's tower stack: one HTTP exchange through reqwest.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use reqwest::Method;

use super::api::Api;
use super::error::Cause;

/// One upstream request. Cheap to clone (the body is shared), so it can be retried.
#[derive(Debug, Clone)]
pub struct WxRequest {
    pub api: Api,
    pub method: Method,
    /// Carries `access_token=` in its query: never log it.
    pub url: url::Url,
    pub json_body: Option<Bytes>,
}

#[derive(Debug, Clone)]
pub struct WxResponse {
    pub status: u16,
    pub body: Bytes,
}

/// Why an exchange failed below HTTP. `not_sent` means the request provably never left
/// (the connection was never made), so even a single-use code may be sent again.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{cause}")]
pub struct TransportError {
    /// reqwest's error (its URL removed: it may hold a token), or why we gave up.
    pub cause: Cause,
    pub not_sent: bool,
}

impl TransportError {
    /// A failure of ours, not reqwest's (an answer too large to read ...).
    pub fn other(why: impl Into<String>, not_sent: bool) -> Self {
        let why: Box<dyn std::error::Error + Send + Sync> = why.into().into();
        TransportError {
            cause: Cause::from(why),
            not_sent,
        }
    }
}

/// reqwest's error without its URL (it may hold an access_token or a secret).
impl From<reqwest::Error> for TransportError {
    fn from(e: reqwest::Error) -> Self {
        TransportError {
            not_sent: e.is_connect(),
            cause: Arc::new(e.without_url()),
        }
    }
}

#[derive(Clone)]
pub struct HttpService {
    client: reqwest::Client,
}

impl HttpService {
    pub fn new(client: reqwest::Client) -> Self {
        HttpService { client }
    }
}

impl tower::Service<WxRequest> for HttpService {
    type Response = WxResponse;
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<WxResponse, TransportError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: WxRequest) -> Self::Future {
        let mut builder = self.client.request(req.method, req.url);
        if let Some(body) = req.json_body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        Box::pin(async move {
            let res = builder.send().await.map_err(TransportError::from)?;
            let status = res.status().as_u16();
            let body = res.bytes().await.map_err(TransportError::from)?;
            Ok(WxResponse { status, body })
        })
    }
}
