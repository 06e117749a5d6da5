//! The authorization page (`componentloginpage`, `bindcomponent`): in the simulator the
//! merchant authorizes at once.

use std::collections::HashMap;

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};

use super::authorizers::{self, AuthCode, Authorize};
use super::call::{Call, Reply, query};
use super::component::LOGIN_PAGE;
use super::errors::WxErr;
use super::onetime::{Refused, random_alnum};
use super::push;
use super::state::{SimState, lock};

/// `GET /cgi-bin/componentloginpage` (and the mobile `bindcomponent` page): the merchant
/// authorizes at once. Uses up `pre_auth_code`, authorizes `biz_appid` (else the first
/// known authorizer, else a new one), pushes `authorized` to the push URL if one is set,
/// and redirects to `redirect_uri?auth_code=...&expires_in=...`.
pub async fn login_page(state: Data<SimState>, req: HttpRequest) -> HttpResponse {
    let mut call = match Call::begin(&state, LOGIN_PAGE).await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let q = query(&req);
    let result = authorize_from_page(&state, &mut call, &q);
    let push_url = lock(&state.component).push_url.clone();
    if let (Ok((_, code)), Some(url)) = (&result, push_url) {
        let app_id = call.app.clone();
        let (state, code) = (state.clone(), code.clone());
        actix_web::rt::spawn(async move {
            let push = push::Push {
                url,
                info_type: push::InfoType::Authorized,
                authorizer: Some(Authorize {
                    app_id,
                    ..Authorize::default()
                }),
                auth_code: Some(code),
                timestamp: None,
                bad_signature: false,
            };
            if let Err(e) = push::send(&state, push).await {
                tracing::warn!(error = %e, "simulator authorized push failed");
            }
        });
    }
    call.finish(&state, result.map(|(reply, _)| reply))
}

fn authorize_from_page(
    state: &SimState,
    call: &mut Call,
    q: &HashMap<String, String>,
) -> Result<(Reply, AuthCode), WxErr> {
    let field = |name: &str| q.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let component = state.component_app_id();
    if component.is_none() || field("component_appid") != component.as_deref() {
        return Err(WxErr::of(61011));
    }
    let pre_auth = field("pre_auth_code").ok_or_else(|| WxErr::of(61009))?;
    let redirect = field("redirect_uri").ok_or_else(|| WxErr::of(40097))?;
    state
        .pre_auth_codes
        .take(pre_auth, state.now())
        .map_err(|refused| {
            WxErr::of(if refused == Refused::Expired {
                61010
            } else {
                61009
            })
        })?;
    let app_id = field("biz_appid")
        .map(str::to_owned)
        .or_else(|| authorizers::first(state))
        .unwrap_or_else(|| format!("wx{}", random_alnum(16).to_lowercase()));
    call.app.clone_from(&app_id);
    let code = authorizers::authorize(
        state,
        &Authorize {
            app_id,
            ..Authorize::default()
        },
    );
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let to = format!(
        "{redirect}{sep}auth_code={}&expires_in={}",
        code.auth_code, code.expires_in
    );
    Ok((Reply::Redirect(to), code))
}
