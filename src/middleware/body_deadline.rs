//! The body deadline (`limits.body_timeout_secs`, README "What an anonymous caller cannot
//! do"): a client that opens a request and trickles its body would otherwise hold a
//! connection and its buffer for as long as it likes. The payload stream fails once the
//! deadline passes; whatever the handler made of that, the answer is a 408 envelope and the
//! connection is closed.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::{HttpMessage, ResponseError};
use bytes::Bytes;
use futures_util::Stream;
use tokio::time::Sleep;

use crate::error::AppError;

/// Wraps the payload of a request that has a body; the flag says the deadline struck.
/// Body-less requests (every cached code) pay nothing.
pub fn install(req: &mut ServiceRequest, timeout: Duration) -> Option<Rc<Cell<bool>>> {
    let headers = req.headers();
    let has_body = headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if !has_body {
        return None;
    }
    let late = Rc::new(Cell::new(false));
    let inner = req.take_payload();
    let stream = Deadline {
        inner,
        sleep: Box::pin(tokio::time::sleep(timeout)),
        late: late.clone(),
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(stream),
    });
    Some(late)
}

/// The answer once the deadline struck, whatever the handler said.
pub fn timed_out(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let (req, _) = res.into_parts();
    let mut response = AppError::RequestTimeout.error_response();
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    ServiceResponse::new(req, response)
}

struct Deadline {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    late: Rc<Cell<bool>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.late.get() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            this.late.set(true);
            let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "body deadline");
            return Poll::Ready(Some(Err(PayloadError::Io(late))));
        }
        Poll::Pending
    }
}
