//! The bottom of the client's tower stack: one HTTP exchange through reqwest.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use reqwest::Method;

use super::api::Api;

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
#[error("{message}")]
pub struct TransportError {
    pub message: String,
    pub not_sent: bool,
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
            let res = builder.send().await.map_err(transport_error)?;
            let status = res.status().as_u16();
            let body = res.bytes().await.map_err(transport_error)?;
            Ok(WxResponse { status, body })
        })
    }
}

fn transport_error(e: reqwest::Error) -> TransportError {
    // `without_url`: the URL may hold an access_token.
    let not_sent = e.is_connect();
    TransportError {
        message: e.without_url().to_string(),
        not_sent,
    }
}
