//! `GET|HEAD /image/<file>`: stored code images, from whichever store holds them.
//!
//! `s3`: the image comes from the bucket (kept in memory once read) and is answered here,
//! so any instance serves any code. `fs`: the same handler answers from the hot cache
//! (`services/codes/hot.rs`), or, with it off, actix-files serves the folder; either way
//! with the same headers (ETag, Range, 304). Either way only plain image names are
//! served: no folders, no hidden or temp files, nothing but images.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_files::{Files, HttpRange};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, CACHE_CONTROL, EntityTag, HeaderValue, HttpDate, IfMatch, IfModifiedSince, IfNoneMatch,
};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};

use crate::app::AppContext;
use crate::error::{AppError, AppResult};
use crate::services::codes::images::{IMMUTABLE, StoredImage, servable};

pub fn configure(cfg: &mut web::ServiceConfig, context: &AppContext) {
    let scope = web::scope("/image").wrap(from_fn(immutable_images));
    // With the hot cache on, files are answered from memory too (the handler below).
    let dir = context
        .codes
        .images()
        .dir()
        .filter(|_| !context.codes.hot().enabled());
    match dir {
        Some(dir) => cfg.service(
            scope.service(
                Files::new("", dir)
                    .path_filter(|path, _| path.to_str().is_some_and(servable))
                    .default_handler(web::to(not_found)),
            ),
        ),
        None => cfg.service(
            scope
                .service(
                    web::resource("/{file}")
                        .route(web::get().to(from_store))
                        .route(web::head().to(from_store)),
                )
                .default_service(web::to(not_found)),
        ),
    };
}

async fn not_found() -> HttpResponse {
    AppError::NotFound.error_response()
}

/// Stored images never change (their names are content hashes): let clients and CDNs
/// keep them. Errors (a 404, a 503) are not marked.
async fn immutable_images(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    if res.status().is_success() {
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    }
    Ok(res)
}

/// The bucket's images, and the folder's when the hot cache is on.
async fn from_store(
    req: HttpRequest,
    file: web::Path<String>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    if !servable(&file) {
        return Err(AppError::NotFound);
    }
    let image = ctx.codes.image(&file).await?;
    let mut res = respond(&req, &image);
    if ctx.codes.images().dir().is_some() && res.status().is_success() {
        // As actix-files answers a file.
        let disposition = format!("inline; filename=\"{file}\"");
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            res.headers_mut().insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(res)
}

/// The answer actix-files gives for a file, for an image held in memory: preconditions
/// (412, 304), one byte range (206, 416), HEAD without a body.
fn respond(req: &HttpRequest, image: &StoredImage) -> HttpResponse {
    let size = image.bytes.len() as u64;
    let etag = entity_tag(&image.etag);
    let modified = HttpDate::from(image.last_modified);
    let mut res = HttpResponse::build(StatusCode::OK);
    res.insert_header((header::CONTENT_TYPE, image.content_type))
        .insert_header((header::LAST_MODIFIED, modified.to_string()))
        .insert_header((header::ETAG, etag.to_string()))
        .insert_header((header::ACCEPT_RANGES, "bytes"));

    if let Some(IfMatch::Items(tags)) = req.get_header::<IfMatch>() {
        if !tags.iter().any(|t| t.strong_eq(&etag)) {
            return res.status(StatusCode::PRECONDITION_FAILED).finish();
        }
    }
    let not_modified = match req.get_header::<IfNoneMatch>() {
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&etag)),
        None => req
            .get_header::<IfModifiedSince>()
            .is_some_and(|since| secs(image.last_modified) <= secs(since.0.into())),
    };
    if not_modified {
        return res.status(StatusCode::NOT_MODIFIED).finish();
    }

    let Some(range) = req.headers().get(header::RANGE) else {
        return res.body(image.bytes.clone());
    };
    let Ok(range) = range.to_str() else {
        return res.status(StatusCode::BAD_REQUEST).finish();
    };
    match HttpRange::parse(range, size)
        .ok()
        .and_then(|ranges| ranges.first().copied())
    {
        Some(HttpRange { start, length }) => {
            let end = start + length;
            res.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{size}", end - 1),
            ));
            let partial = (start, end) != (0, size);
            if partial {
                res.status(StatusCode::PARTIAL_CONTENT);
            }
            // In range by `HttpRange::parse`; `usize` holds any in-memory length.
            let part = image
                .bytes
                .slice(usize::try_from(start).unwrap_or(0)..usize::try_from(end).unwrap_or(0));
            res.body(part)
        }
        None => {
            res.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
            res.status(StatusCode::RANGE_NOT_SATISFIABLE).finish()
        }
    }
}

/// The store's quoted tag (`"…"` or `W/"…"`) as an entity tag.
fn entity_tag(quoted: &str) -> EntityTag {
    let (weak, rest) = match quoted.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, quoted),
    };
    // Only what a tag may hold: a gateway's odd tag must not make `EntityTag` panic.
    let tag: String = rest
        .trim_matches('"')
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"')
        .collect();
    if weak {
        EntityTag::new_weak(tag)
    } else {
        EntityTag::new_strong(tag)
    }
}

/// HTTP dates have whole seconds.
fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
