//! Control API, continued: faults, and the Open Platform side (component settings, auth
//! codes, tickets, encrypted pushes).

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, Data, Query};
use serde::Deserialize;
use serde_json::json;

use super::SimComponent;
use super::authorizers::{self, Authorize};
use super::control::{Answer, ControlErr, bad, body, ok};
use super::faults::FaultRule;
use super::push::{self, InfoType, Push, PushError};
use super::state::{SimState, lock};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/faults", web::get().to(list_faults))
        .route("/faults", web::post().to(add_fault))
        .route("/faults", web::delete().to(clear_faults))
        .route("/component", web::get().to(component))
        .route("/component", web::put().to(set_component))
        .route("/component/ticket", web::post().to(ticket))
        .route("/auth_codes", web::post().to(auth_code))
        .route("/push", web::post().to(send_push));
}

async fn list_faults(state: Data<SimState>) -> Answer {
    ok(json!(state.faults.list()))
}

async fn add_fault(state: Data<SimState>, raw: Bytes) -> Answer {
    let rule: FaultRule = body(&raw)?;
    rule.validate().map_err(bad)?;
    state.faults.set(rule.clone());
    ok(json!(rule))
}

#[derive(Deserialize)]
struct ApiFilter {
    api: Option<String>,
}

async fn clear_faults(state: Data<SimState>, filter: Query<ApiFilter>) -> Answer {
    let removed = state.faults.clear(filter.api.as_deref());
    ok(json!({"removed": removed}))
}

async fn component(state: Data<SimState>) -> Answer {
    let component = lock(&state.component);
    let mut authorizers: Vec<_> = component
        .authorizers
        .values()
        .map(|a| json!({"appid": a.app_id, "authorized": a.authorized, "func_ids": a.func_ids}))
        .collect();
    authorizers.sort_by_key(|a| a["appid"].as_str().map(str::to_owned));
    ok(json!({
        "app_id": component.config.as_ref().map(|c| c.app_id.clone()),
        "push_url": component.push_url,
        "tickets": component.tickets.len(),
        "authorizers": authorizers,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetComponent {
    app_id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    aes_key: Option<String>,
    /// The authorization event URL; `""` removes it.
    push_url: Option<String>,
}

/// Sets the component (all of app_id, secret, token, aes_key) and/or its push URL.
async fn set_component(state: Data<SimState>, raw: Bytes) -> Answer {
    let req: SetComponent = body(&raw)?;
    let mut component = lock(&state.component);
    match (req.app_id, req.secret, req.token, req.aes_key) {
        (Some(app_id), Some(secret), Some(token), Some(aes_key)) => {
            if aes_key.len() != 43 {
                return Err(bad("aes_key must be 43 characters"));
            }
            component.config = Some(SimComponent {
                app_id,
                secret,
                token,
                aes_key,
            });
        }
        (None, None, None, None) => {}
        _ => {
            return Err(bad(
                "give all of app_id, secret, token and aes_key, or none",
            ));
        }
    }
    if let Some(url) = req.push_url {
        component.push_url = (!url.is_empty()).then_some(url);
    }
    ok(json!({
        "app_id": component.config.as_ref().map(|c| c.app_id.clone()),
        "push_url": component.push_url,
    }))
}

async fn ticket(state: Data<SimState>) -> Answer {
    let ticket =
        authorizers::mint_ticket(&state).ok_or_else(|| bad("no component is configured"))?;
    ok(json!({"ticket": ticket, "expires_in": authorizers::TICKET_LIFETIME_SECS}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAuth {
    authorizer_appid: String,
    name: Option<String>,
    pages: Option<Vec<String>>,
    func_ids: Option<Vec<u32>>,
    expires_in: Option<i64>,
}

impl NewAuth {
    fn into_authorize(self) -> Authorize {
        Authorize {
            app_id: self.authorizer_appid,
            name: self.name,
            pages: self.pages,
            func_ids: self.func_ids,
            expires_in: self.expires_in,
        }
    }
}

async fn auth_code(state: Data<SimState>, raw: Bytes) -> Answer {
    let req: NewAuth = body(&raw)?;
    if req.authorizer_appid.is_empty() {
        return Err(bad("authorizer_appid must not be empty"));
    }
    let app_id = req.authorizer_appid.clone();
    let code = authorizers::authorize(&state, &req.into_authorize());
    ok(json!({
        "auth_code": code.auth_code,
        "expires_in": code.expires_in,
        "authorizer_appid": app_id,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPush {
    url: String,
    info_type: InfoType,
    authorizer_appid: Option<String>,
    name: Option<String>,
    pages: Option<Vec<String>>,
    func_ids: Option<Vec<u32>>,
    expires_in: Option<i64>,
    timestamp: Option<i64>,
    #[serde(default)]
    bad_signature: bool,
}

async fn send_push(state: Data<SimState>, raw: Bytes) -> Answer {
    let req: NewPush = body(&raw)?;
    let authorizer = req.authorizer_appid.map(|app_id| Authorize {
        app_id,
        name: req.name,
        pages: req.pages,
        func_ids: req.func_ids,
        expires_in: req.expires_in,
    });
    let push = Push {
        url: req.url,
        info_type: req.info_type,
        authorizer,
        auth_code: None,
        timestamp: req.timestamp,
        bad_signature: req.bad_signature,
    };
    let delivered = push::send(&state, push).await.map_err(|e| match e {
        PushError::Invalid(msg) => bad(msg),
        PushError::Delivery(msg) => ControlErr(StatusCode::BAD_GATEWAY, msg),
    })?;
    ok(json!({
        "status": delivered.status,
        "body": delivered.body,
        "ticket": delivered.ticket,
        "auth_code": delivered.auth_code,
        "plaintext": delivered.plaintext,
    }))
}
