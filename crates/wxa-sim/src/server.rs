//! The route table: WeChat's paths, the authorization page, and the control API.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::errors::JSON_CONTENT_TYPE;
use super::{authorize_page, codes, component, control, links, media, tokens, users};

/// Largest request body the simulator reads.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Every route. Each WeChat API takes any method and answers 43001/43002 itself, as
/// WeChat does.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(BODY_LIMIT))
        .route("/cgi-bin/token", web::route().to(tokens::classic))
        .route("/cgi-bin/stable_token", web::route().to(tokens::stable))
        .route("/wxa/getwxacodeunlimit", web::route().to(codes::unlimited))
        .route("/wxa/getwxacode", web::route().to(codes::limited))
        .route(
            "/cgi-bin/wxaapp/createwxaqrcode",
            web::route().to(codes::qrcode),
        )
        .route(
            "/wxa/generatescheme",
            web::route().to(links::generate_scheme),
        )
        .route(
            "/wxa/generatenfcscheme",
            web::route().to(links::generate_nfc_scheme),
        )
        .route("/wxa/queryscheme", web::route().to(links::query_scheme))
        .route(
            "/wxa/generate_urllink",
            web::route().to(links::generate_urllink),
        )
        .route("/wxa/query_urllink", web::route().to(links::query_urllink))
        .route("/wxa/genwxashortlink", web::route().to(links::short_link))
        .route(
            "/wxa/business/getuserphonenumber",
            web::route().to(users::phone_number),
        )
        .route(
            "/sns/jscode2session",
            web::route().to(users::jscode2session),
        )
        .route(
            "/sns/component/jscode2session",
            web::route().to(users::component_jscode2session),
        )
        .service(
            // Media bodies: 10 MiB of file plus the multipart framing.
            web::resource("/cgi-bin/media/upload")
                .app_data(web::PayloadConfig::new(media::MAX_MEDIA_BYTES + 64 * 1024))
                .route(web::route().to(media::upload)),
        )
        .route("/cgi-bin/media/get", web::route().to(media::get))
        .route(
            "/cgi-bin/component/api_component_token",
            web::route().to(component::component_token),
        )
        .route(
            "/cgi-bin/component/api_create_preauthcode",
            web::route().to(component::pre_auth_code),
        )
        .route(
            "/cgi-bin/component/api_query_auth",
            web::route().to(component::query_auth),
        )
        .route(
            "/cgi-bin/component/api_authorizer_token",
            web::route().to(component::authorizer_token),
        )
        .route(
            "/cgi-bin/component/api_get_authorizer_info",
            web::route().to(component::authorizer_info),
        )
        .route(
            "/cgi-bin/component/api_get_authorizer_list",
            web::route().to(component::authorizer_list),
        )
        .route(
            "/cgi-bin/component/api_start_push_ticket",
            web::route().to(component::start_push_ticket),
        )
        .route(
            "/cgi-bin/componentloginpage",
            web::get().to(authorize_page::login_page),
        )
        .route(
            "/safe/bindcomponent",
            web::get().to(authorize_page::login_page),
        )
        .route(
            "/wxaopen/safe/bindcomponent",
            web::get().to(authorize_page::login_page),
        )
        .service(web::scope("/__sim").configure(control::routes))
        .default_service(web::to(not_simulated));
}

/// Paths the simulator does not serve: HTTP 404 with a JSON explanation.
async fn not_simulated(req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header((CONTENT_TYPE, JSON_CONTENT_TYPE))
        .body(
            json!({
                "errcode": 404,
                "errmsg": format!("{} {} is not simulated", req.method(), req.path()),
            })
            .to_string(),
        )
}
