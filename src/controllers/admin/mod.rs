//! `/admin`: JSON lists and stats behind the admin bearer, and the admin page (issue 8).

use actix_web::web;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
