//! `/open`: Open Platform pushes, authorization and callback (issue 9).

use actix_web::web;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

pub fn configure(_cfg: &mut web::ServiceConfig) {}

/// Routes that live under the admin scope (behind its bearer): `/admin/authorizers`.
pub fn admin_routes(_cfg: &mut web::ServiceConfig) {}
