//! Liveness, readiness and metrics.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::app::AppContext;
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// `up`, `down` (each instance goes on alone; still ready) or `off` (not configured).
    pub redis: &'static str,
    /// The image store, `fs` or `s3`; a bucket that does not answer makes this a 503.
    pub storage: &'static str,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Envelope<Health>)))]
pub async fn healthz() -> HttpResponse {
    envelope::ok("ok", Health { status: "ok" })
}

/// The database and the image store answer (Redis is reported, but an instance is
/// ready without it).
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, body = Envelope<Readiness>),
    (status = 503, description = "database or object store unreachable (code 503, Retry-After)"),
))]
pub async fn readyz(ctx: web::Data<AppContext>) -> AppResult<HttpResponse> {
    let database = ctx.db.backend().name();
    let images = ctx.codes.images();
    let redis = async {
        match &ctx.redis {
            None => "off",
            Some(r) if r.is_up().await => "up",
            Some(_) => "down",
        }
    };
    // All at once: the answer comes within 2 s even when everything is down.
    let (db, store, redis) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(2), ctx.db.ping()),
        images.ping(),
        redis
    );
    match db {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(AppError::StoreUnavailable(format!("database: {e}"))),
        Err(_) => {
            return Err(AppError::StoreUnavailable(
                "database: ping timed out".into(),
            ));
        }
    }
    store?;
    Ok(envelope::ok(
        "ready",
        Readiness {
            status: "ready",
            database,
            redis,
            storage: images.backend(),
        },
    ))
}

/// Prometheus metrics (OpenMetrics text, not an envelope).
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(ctx: web::Data<AppContext>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ))
        .body(ctx.metrics.render())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Explicit resources, so a wrong method is a 405 rather than a 404.
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)))
        .service(web::resource("/metrics").route(web::get().to(metrics)));
}
