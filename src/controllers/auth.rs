//! Bearer checks, in constant time.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::error::AppError;

/// The token after `Bearer `, if any.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Passes when the request's bearer equals one of `keys`. Every key is compared, so the
/// time taken does not say which one (or how much of one) matched.
pub fn require_any(req: &HttpRequest, keys: &[SecretString]) -> Result<(), AppError> {
    let presented = bearer(req).ok_or(AppError::Unauthorized)?.as_bytes();
    let matched = keys
        .iter()
        .filter(|k| !k.expose_secret().is_empty())
        .fold(subtle::Choice::from(0), |acc, k| {
            acc | k.expose_secret().as_bytes().ct_eq(presented)
        });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(AppError::Unauthorized)
    }
}
