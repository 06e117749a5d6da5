//! The three code APIs: checks, limits (45011 per minute for unlimited codes, 45029 for the
//! shared lifetime quota of the other two), and images rendered once per distinct request.

use std::hash::{DefaultHasher, Hash, Hasher};

use actix_web::http::Method;
use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use moka::future::Cache;

use super::call::{Call, CallResult, Reply, json_body, mp_caller, query, require_method};
use super::code_params::{CodeKind, RenderKey, parse};
use super::errors::WxErr;
use super::limits::Window;
use super::qr_image;
use super::state::{SimState, lock};

/// The rendered images kept in memory (beyond this, the least used are dropped).
const CACHE_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct CachedImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

/// Renders keyed by the normalized request; concurrent identical requests wait for one
/// render.
pub struct ImageCache {
    cache: Cache<RenderKey, CachedImage>,
}

impl ImageCache {
    pub fn new() -> Self {
        let cache = Cache::builder()
            .weigher(|key: &RenderKey, image: &CachedImage| {
                u32::try_from(key.text.len() + image.bytes.len()).unwrap_or(u32::MAX)
            })
            .max_capacity(CACHE_BYTES)
            .build();
        Self { cache }
    }

    pub fn clear(&self) {
        self.cache.invalidate_all();
    }
}

impl Default for ImageCache {
    fn default() -> Self {
        Self::new()
    }
}

pub async fn unlimited(state: Data<SimState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    code(&state, CodeKind::Unlimited, &req, &body).await
}

pub async fn limited(state: Data<SimState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    code(&state, CodeKind::Limited, &req, &body).await
}

pub async fn qrcode(state: Data<SimState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    code(&state, CodeKind::QrCode, &req, &body).await
}

async fn code(state: &SimState, kind: CodeKind, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    let mut call = match Call::begin(state, kind.api()).await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let result = match prepare(state, &mut call, kind, req, body) {
        Ok((key, quota_entry)) => make(state, &call.app, key, quota_entry).await,
        Err(e) => Err(e),
    };
    call.finish(state, result)
}

/// Checks the call; returns the render key and, for a quota-counted code not made before,
/// the hash reserved in the app's quota.
fn prepare(
    state: &SimState,
    call: &mut Call,
    kind: CodeKind,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(RenderKey, Option<u64>), WxErr> {
    require_method(req, Method::POST)?;
    let app = mp_caller(state, call, &query(req))?;
    let body = json_body(body)?;
    let key = parse(kind, &app, &body)?;
    let now = state.now();
    let limits = state.limits();
    if kind == CodeKind::Unlimited {
        let cap = limits.unlimited_per_minute;
        if !state
            .windows
            .try_hit("unlimited", Window::Minute, &app.app_id, cap, now)
        {
            return Err(WxErr::of(45011));
        }
        return Ok((key, None));
    }
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    let hash = hasher.finish();
    let mut quota = lock(&state.code_quota);
    let used = quota.entry(app.app_id.clone()).or_default();
    if used.made.contains(&hash) {
        return Ok((key, None));
    }
    if used.preset + used.made.len() as u64 >= limits.code_lifetime {
        return Err(WxErr::of(45029));
    }
    // Reserved now so concurrent calls cannot overshoot; given back if rendering fails.
    used.made.insert(hash);
    Ok((key, Some(hash)))
}

async fn make(
    state: &SimState,
    app_id: &str,
    mut key: RenderKey,
    reserved: Option<u64>,
) -> CallResult {
    let side = state.limits().image_side_px;
    if side > 0 {
        key.width = side;
    }
    let image = render_cached(state, key).await;
    if let (Err(_), Some(hash)) = (&image, reserved) {
        if let Some(used) = lock(&state.code_quota).get_mut(app_id) {
            used.made.remove(&hash);
        }
    }
    let image = image?;
    let pad = state.limits().image_pad_bytes;
    Ok(Reply::Image {
        bytes: match pad {
            0 => image.bytes,
            _ => qr_image::pad(&image.bytes, image.content_type, pad),
        },
        content_type: image.content_type,
    })
}

async fn render_cached(state: &SimState, key: RenderKey) -> Result<CachedImage, WxErr> {
    let counters = &state.counters;
    let to_render = key.clone();
    let entry = state
        .images
        .cache
        .entry(key)
        .or_try_insert_with(async move {
            let image = web::block(move || {
                qr_image::render(
                    &to_render.text,
                    to_render.width,
                    to_render.color,
                    to_render.hyaline,
                )
                .map_err(|_| ())
            })
            .await
            .map_err(|_| ())??;
            counters.rendered();
            Ok::<_, ()>(CachedImage {
                bytes: Bytes::from(image.bytes),
                content_type: image.content_type,
            })
        })
        .await
        .map_err(|_| WxErr::of(-1))?;
    if !entry.is_fresh() {
        counters.cache_hit();
    }
    Ok(entry.into_value())
}
