//! Headers for the pages a person opens (README "What an anonymous caller cannot do"): a
//! Content-Security-Policy that allows only our own scripts and styles, `nosniff`, and no
//! Referer (the admin token travels in the URL fragment; links out of our pages should say
//! nothing). The admin page may not be framed (clickjacking). Images are sent with
//! `nosniff` too, so a file is never run as anything but an image.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};

const ADMIN_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: http: https:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const JUMP_PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'";
/// Swagger UI sets inline styles from its script, and draws its icons from data: URLs.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn add(mut res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let path = res.request().path();
    let csp = if path == "/admin" || path.starts_with("/admin/") {
        // Only the page and its files: the JSON API is no document.
        is_page_file(path).then_some(ADMIN_CSP)
    } else if path == "/scheme.html" {
        Some(JUMP_PAGE_CSP)
    } else if path == "/docs" || path.starts_with("/docs/") {
        Some(DOCS_CSP)
    } else if path.starts_with("/image/") {
        None
    } else {
        return res;
    };
    let headers = res.headers_mut();
    if let Some(csp) = csp {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if csp == Some(ADMIN_CSP) {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

/// `/admin/`, `/admin/index.html` and the page's scripts and styles.
fn is_page_file(path: &str) -> bool {
    path == "/admin"
        || path == "/admin/"
        || path.ends_with(".html")
        || path.ends_with(".js")
        || path.ends_with(".css")
}
