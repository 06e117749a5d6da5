//! `/api/scheme_code`, `/api/url_link`, `/api/short_link` (issue 6).

use actix_web::web;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
