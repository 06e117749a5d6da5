//! The OpenAPI document, generated from the handlers' annotations, and its docs page.

use actix_web::web;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::controllers;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wxa-backend",
        description = "Central access_token, mini-program codes, links and phone binding for \
                       WeChat mini-program teams. Every JSON answer is an envelope \
                       `{code, msg, data}`; see routes.md for the codes."
    ),
    paths(
        controllers::ops::healthz,
        controllers::ops::readyz,
        controllers::ops::metrics,
        controllers::internal::access_token,
        controllers::internal::refresh,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "ops", description = "Health, readiness and metrics"),
        (name = "internal", description = "The central token server (Bearer internal key)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `/openapi.json` and the Swagger UI page at `/docs/` (assets vendored: works offline).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document()));
}

/// The whole document: the core routes plus each resource module's own part.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(controllers::qr_code::Doc::openapi());
    doc.merge(controllers::links::Doc::openapi());
    doc.merge(controllers::users::Doc::openapi());
    doc.merge(controllers::open_platform::Doc::openapi());
    doc.merge(controllers::admin::Doc::openapi());
    doc
}
