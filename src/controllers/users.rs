//! `/api/login`, `/api/bind_phone` (issue 7).

use actix_web::web;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
