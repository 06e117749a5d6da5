//! Temporary media: `POST cgi-bin/media/upload` (multipart, field `media`) and
//! `GET cgi-bin/media/get`, the APIs behind the gateway's 10 MiB body cap. Uploads are
//! kept in memory, the newest few only.

use std::collections::VecDeque;
use std::sync::Mutex;

use actix_web::http::Method;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::call::{Call, CallResult, Reply, mp_caller, query, require_method};
use super::errors::WxErr;
use super::state::{SimState, lock};

/// WeChat's cap on an uploaded image or video.
pub const MAX_MEDIA_BYTES: usize = 10 * 1024 * 1024;
/// Uploads kept; older ones are forgotten (40007 afterwards).
const KEPT: usize = 8;
const INVALID_MEDIA_SIZE: i64 = 40006;
const INVALID_MEDIA_ID: i64 = 40007;
const INVALID_MEDIA_TYPE: i64 = 40004;
const EMPTY_MEDIA: i64 = 44001;

struct Media {
    id: String,
    app_id: String,
    filename: String,
    content_type: String,
    bytes: Bytes,
}

#[derive(Default)]
pub struct MediaStore(Mutex<VecDeque<Media>>);

impl MediaStore {
    fn put(&self, media: Media) {
        let mut kept = lock(&self.0);
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(media);
    }
}

pub async fn upload(state: Data<SimState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let mut call = match Call::begin(&state, "cgi-bin/media/upload").await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let result = store_upload(&state, &mut call, &req, body);
    call.finish(&state, result)
}

pub async fn get(state: Data<SimState>, req: HttpRequest) -> HttpResponse {
    let mut call = match Call::begin(&state, "cgi-bin/media/get").await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let result = stored(&state, &mut call, &req);
    call.finish(&state, result)
}

fn stored(state: &SimState, call: &mut Call, req: &HttpRequest) -> CallResult {
    let q = query(req);
    let app = mp_caller(state, call, &q)?;
    require_method(req, Method::GET)?;
    let id = q.get("media_id").map(String::as_str).unwrap_or("");
    lock(&state.media.0)
        .iter()
        .find(|m| m.id == id && m.app_id == app.app_id)
        .map(|m| Reply::File {
            bytes: m.bytes.clone(),
            content_type: m.content_type.clone(),
            filename: m.filename.clone(),
        })
        .ok_or_else(|| WxErr::of(INVALID_MEDIA_ID))
}

fn store_upload(state: &SimState, call: &mut Call, req: &HttpRequest, body: Bytes) -> CallResult {
    let q = query(req);
    let app = mp_caller(state, call, &q)?;
    require_method(req, Method::POST)?;
    let kind = q.get("type").map(String::as_str).unwrap_or("");
    if !matches!(kind, "image" | "voice" | "video" | "thumb") {
        return Err(WxErr::of(INVALID_MEDIA_TYPE));
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let part = media_part(content_type, &body).ok_or_else(|| WxErr::of(EMPTY_MEDIA))?;
    if part.bytes.len() > MAX_MEDIA_BYTES {
        return Err(WxErr::of(INVALID_MEDIA_SIZE));
    }
    let id = format!("sim-media-{}", uuid::Uuid::new_v4().simple());
    state.media.put(Media {
        id: id.clone(),
        app_id: app.app_id.clone(),
        filename: part.filename,
        content_type: part.content_type,
        bytes: body.slice_ref(part.bytes),
    });
    Ok(Reply::Json(json!({
        "type": kind,
        "media_id": id,
        "created_at": state.now(),
    })))
}

/// The `media` field of a multipart/form-data body.
struct Part<'a> {
    filename: String,
    content_type: String,
    bytes: &'a [u8],
}

fn media_part<'a>(content_type: &str, body: &'a [u8]) -> Option<Part<'a>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut rest = body;
    loop {
        let start = find(rest, delimiter.as_bytes())? + delimiter.len();
        rest = &rest[start..];
        if rest.starts_with(b"--") {
            return None; // the closing delimiter: no `media` part
        }
        let headers_end = find(rest, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
        let content = &rest[headers_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes())?;
        if headers.contains("name=\"media\"") {
            let filename = headers
                .split("filename=\"")
                .nth(1)
                .and_then(|f| f.split('"').next())
                .unwrap_or("media")
                .to_owned();
            let content_type = headers
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-type")
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            return Some(Part {
                filename,
                content_type,
                bytes: &content[..end],
            });
        }
        rest = &content[end..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_media_part_is_found_among_others() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.jpg\"\r\n\
Content-Type: image/jpeg\r\n\r\n\xff\xd8\r\n\xff\xd9\r\n--XyZ--\r\n";
        let part = media_part("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(part.filename, "a.jpg");
        assert_eq!(part.content_type, "image/jpeg");
        assert_eq!(part.bytes, b"\xff\xd8\r\n\xff\xd9");
        assert!(media_part("multipart/form-data; boundary=Other", body).is_none());
        assert!(media_part("application/json", body).is_none());
    }
}
