//! The one middleware around every request: request id, tracing span, metrics, the 1 MiB
//! body cap, panics turned into 500s, and bare error statuses turned into envelopes.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::error::{AppError, from_status};
use crate::input::MAX_BODY_BYTES;
use crate::metrics::{Metrics, RequestLabels, method_label};

mod body_deadline;
mod security_headers;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id, readable by handlers through `req.extensions()`.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

/// What the middleware needs beyond the request.
#[derive(Clone)]
pub struct Around {
    pub metrics: Arc<Metrics>,
    /// The whole body must arrive within this (`limits.body_timeout_secs`).
    pub body_timeout: Duration,
}

/// Marks a response in WeChat's shape (the gateway under `/wx/`): given as it is, even an
/// error status, never turned into an envelope.
#[derive(Clone, Copy, Debug)]
pub struct WechatShaped;

/// `/wx/` takes bodies up to 10 MiB and answers its own cap in WeChat's shape
/// (`controllers::gateway`); when the gateway is off the path does not exist.
fn gateway_path(path: &str) -> bool {
    path.starts_with("/wx/")
}

pub async fn around_request(
    around: Around,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let metrics = &around.metrics;
    let started = Instant::now();
    let request_id = client_request_id(&req).unwrap_or_else(new_request_id);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    // A fixed label: an invented method is `OTHER` in logs and metrics alike.
    let method = method_label(req.method());
    let span = tracing::info_span!(
        "request",
        request_id = request_id.to_str().unwrap_or(""),
        method,
        path = req.path(),
    );

    let too_large = !gateway_path(req.path())
        && req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_BODY_BYTES);
    let body_late = body_deadline::install(&mut req, around.body_timeout);
    let outcome = if too_large {
        Ok(Ok(req.error_response(AppError::PayloadTooLarge)))
    } else {
        AssertUnwindSafe(next.call(req).instrument(span.clone()))
            .catch_unwind()
            .await
            .map(|r| r.map(ServiceResponse::map_into_boxed_body))
    };
    // The request cannot be cloned before routing, so faults that lost it are answered
    // as an error carrying a finished response.
    let res = match outcome {
        Ok(Ok(res)) if body_late.as_ref().is_some_and(|late| late.get()) => {
            Ok(body_deadline::timed_out(res))
        }
        Ok(Ok(res)) => Ok(security_headers::add(envelope_bare_errors(res))),
        Ok(Err(err)) => {
            Err(error_for(err.as_response_error().status_code(), &err).error_response())
        }
        Err(_) => {
            span.in_scope(|| tracing::error!("handler panicked"));
            Err(AppError::Internal("handler panicked".into()).error_response())
        }
    };
    let elapsed = started.elapsed();
    match res {
        Ok(mut res) => {
            res.headers_mut().insert(REQUEST_ID, request_id);
            let route = res
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            record(
                metrics,
                &span,
                method,
                route,
                res.status().as_u16(),
                elapsed,
            );
            Ok(res)
        }
        Err(mut response) => {
            response.headers_mut().insert(REQUEST_ID, request_id);
            record(
                metrics,
                &span,
                method,
                "unmatched".to_owned(),
                response.status().as_u16(),
                elapsed,
            );
            Err(InternalError::from_response("request failed", response).into())
        }
    }
}

fn record(
    metrics: &Metrics,
    span: &tracing::Span,
    method: &'static str,
    route: String,
    status: u16,
    elapsed: std::time::Duration,
) {
    let labels = RequestLabels {
        method,
        route,
        status,
    };
    metrics
        .http_latency
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
    metrics.http_requests.get_or_create(&labels).inc();
    span.in_scope(|| {
        tracing::info!(
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request done"
        );
    });
}
fn error_for(status: actix_web::http::StatusCode, err: &actix_web::Error) -> AppError {
    match err.as_error::<AppError>() {
        Some(app) => app.clone(),
        None => from_status(status),
    }
}

/// Error responses that are not JSON yet (the router's 404/405, static files, actix's
/// own extractor errors) get the envelope; JSON ones are ours already.
fn envelope_bare_errors(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || res.response().extensions().contains::<WechatShaped>()
    {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let (req, _) = res.into_parts();
    let mut response = from_status(status).error_response();
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    ServiceResponse::new(req, response)
}

fn client_request_id(req: &ServiceRequest) -> Option<HeaderValue> {
    let value = req.headers().get(REQUEST_ID)?;
    // Echo any printable id of sane length; anything else gets a fresh one.
    let ok = !value.is_empty()
        && value.len() <= 200
        && value.as_bytes().iter().all(u8::is_ascii_graphic);
    ok.then(|| value.clone())
}

fn new_request_id() -> HeaderValue {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    // From the thread-local CSPRNG (reseeded by rand): `Uuid::new_v4` would make a
    // getrandom syscall on every request.
    let id = uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut buf);
    HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;
    use actix_web::test::{TestRequest, init_service, try_call_service};
    use actix_web::{App, HttpResponse, web};
    use serde_json::Value;

    use super::*;
    use crate::input::{Params, loose};

    async fn panics() -> HttpResponse {
        panic!("boom: secret internals")
    }

    #[derive(serde::Deserialize)]
    struct Typed {
        n: u32,
    }

    async fn typed(body: web::Json<Typed>) -> HttpResponse {
        HttpResponse::Ok().body(body.n.to_string())
    }

    #[derive(serde::Deserialize)]
    struct Width {
        #[serde(default, deserialize_with = "loose::int")]
        width: Option<i64>,
    }

    async fn width(Params(p): Params<Width>) -> Result<HttpResponse, AppError> {
        let w = p
            .width
            .ok_or_else(|| AppError::invalid("width", "不能为空"))?;
        Ok(crate::envelope::ok("ok", w))
    }

    /// Runs one request through the middleware and returns status, envelope and request id.
    async fn call(req: TestRequest) -> (u16, Value, String) {
        let around = Around {
            metrics: Metrics::new(),
            body_timeout: Duration::from_secs(10),
        };
        let app = init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(move |req, next| {
                    around_request(around.clone(), req, next)
                }))
                .route("/panic", web::get().to(panics))
                .route("/typed", web::post().to(typed))
                .route("/width", web::post().to(width)),
        )
        .await;
        let response = match try_call_service(&app, req.to_request()).await {
            Ok(res) => res.into_parts().1,
            Err(err) => err.error_response(),
        };
        let status = response.status().as_u16();
        let id = response
            .headers()
            .get(REQUEST_ID)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = to_bytes(response.into_body()).await.unwrap_or_default();
        (status, serde_json::from_slice(&body).unwrap(), id)
    }

    #[actix_web::test]
    async fn a_panicking_handler_is_a_500_envelope_without_internals() {
        let (status, body, id) = call(TestRequest::get().uri("/panic")).await;
        assert_eq!((status, body["code"].as_u64()), (500, Some(500)));
        assert!(!body.to_string().contains("boom"), "{body}");
        assert!(!id.is_empty());
    }

    #[actix_web::test]
    async fn actix_extractor_errors_become_envelopes() {
        let (status, body, _) = call(
            TestRequest::post()
                .uri("/typed")
                .insert_header(("content-type", "application/json"))
                .set_payload("{not json"),
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(400)));
        let (status, body, _) = call(
            TestRequest::post()
                .uri("/typed")
                .insert_header(("content-type", "text/plain"))
                .set_payload("n=1"),
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(400)), "{body}");
    }

    #[actix_web::test]
    async fn input_errors_name_the_field_in_the_envelope() {
        let (status, body, _) = call(
            TestRequest::post()
                .uri("/width?width=wide")
                .insert_header(("x-request-id", "req-7")),
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(400)));
        assert_eq!(body["data"]["field"], "width");
        assert!(body["msg"].as_str().unwrap().contains("width"));
        let (status, body, id) = call(
            TestRequest::post()
                .uri("/width")
                .insert_header(("x-request-id", "req-8"))
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload("width=430"),
        )
        .await;
        assert_eq!(
            (status, body["data"].as_i64(), id.as_str()),
            (200, Some(430), "req-8")
        );
        let (status, body, _) = call(
            TestRequest::post()
                .uri("/width")
                .insert_header(("content-type", "application/json"))
                .set_payload("[1,2]"),
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(400)));
    }
}
