//! The Open Platform side the merchant controls: authorizing (auth codes), cancelling, and
//! the component_verify_ticket WeChat issues.

use std::sync::Arc;

use super::onetime::random_alnum;
use super::state::{AppInfo, Authorizer, SimState, lock, normalize_pages, write};
use super::token_store::TokenKind;

/// A component_verify_ticket is accepted this long.
pub const TICKET_LIFETIME_SECS: i64 = 12 * 3_600;
/// auth_code lifetime when the caller does not choose one (the value observed in practice).
pub const AUTH_CODE_SECS: i64 = 3_600;
/// pre_auth_code lifetime (the value of the doc examples).
pub const PRE_AUTH_CODE_SECS: i64 = 600;
/// Permission sets granted when the caller does not choose (17: codes and links, 18:
/// phone numbers, 19: login).
pub const DEFAULT_FUNC_IDS: [u32; 3] = [17, 18, 19];

/// A merchant authorizing (or re-authorizing) the component for a mini program.
#[derive(Clone, Debug, Default)]
pub struct Authorize {
    pub app_id: String,
    pub name: Option<String>,
    pub pages: Option<Vec<String>>,
    pub func_ids: Option<Vec<u32>>,
    pub expires_in: Option<i64>,
}

/// The auth code the authorization produced.
#[derive(Clone, Debug)]
pub struct AuthCode {
    pub auth_code: String,
    pub expires_in: i64,
}

/// Makes the authorizer known (as an app, with its pages) and authorized, and mints an
/// auth code for it. Re-authorizing after a cancellation changes the refresh token.
pub fn authorize(state: &SimState, req: &Authorize) -> AuthCode {
    {
        let mut apps = write(&state.apps);
        let app = match apps.get(&req.app_id) {
            Some(existing) => {
                let mut app = AppInfo::clone(existing);
                if let Some(pages) = &req.pages {
                    app.pages = normalize_pages(pages);
                }
                if let Some(name) = &req.name {
                    app.name.clone_from(name);
                }
                app
            }
            None => AppInfo {
                name: req.name.clone().unwrap_or_else(|| req.app_id.clone()),
                app_id: req.app_id.clone(),
                secret: None,
                pages: normalize_pages(req.pages.as_deref().unwrap_or_default()),
                plain_pages: Vec::new(),
            },
        };
        apps.insert(req.app_id.clone(), Arc::new(app));
    }
    {
        let mut component = lock(&state.component);
        let entry = component
            .authorizers
            .entry(req.app_id.clone())
            .or_insert_with(|| Authorizer {
                app_id: req.app_id.clone(),
                refresh_token: refresh_token(),
                authorized: true,
                func_ids: DEFAULT_FUNC_IDS.to_vec(),
            });
        if !entry.authorized {
            entry.authorized = true;
            entry.refresh_token = refresh_token();
        }
        if let Some(ids) = &req.func_ids {
            entry.func_ids.clone_from(ids);
        }
    }
    let now = state.now();
    let expires_in = req.expires_in.unwrap_or(AUTH_CODE_SECS).max(1);
    let auth_code = state.auth_codes.mint(
        "queryauthcode@@@",
        req.app_id.clone(),
        now + expires_in,
        now,
    );
    AuthCode {
        auth_code,
        expires_in,
    }
}

/// The merchant cancels: the refresh token and the authorizer's tokens stop working.
/// False when the authorizer is unknown.
pub fn unauthorize(state: &SimState, app_id: &str) -> bool {
    let known = {
        let mut component = lock(&state.component);
        match component.authorizers.get_mut(app_id) {
            Some(a) => {
                a.authorized = false;
                true
            }
            None => false,
        }
    };
    if known {
        state
            .tokens
            .revoke(Some(app_id), Some(TokenKind::Authorizer), None, state.now());
    }
    known
}

/// A new component_verify_ticket (None when no component is configured).
pub fn mint_ticket(state: &SimState) -> Option<String> {
    let now = state.now();
    let mut component = lock(&state.component);
    component.config.as_ref()?;
    component
        .tickets
        .retain(|_, issued| now - *issued < 2 * TICKET_LIFETIME_SECS);
    let ticket = format!("ticket@@@{}", random_alnum(86));
    component.tickets.insert(ticket.clone(), now);
    Some(ticket)
}

/// 61006 for a ticket never issued, 61005 for one older than 12 hours.
pub fn check_ticket(state: &SimState, ticket: &str) -> Result<(), i64> {
    let now = state.now();
    match lock(&state.component).tickets.get(ticket) {
        None => Err(61006),
        Some(issued) if now - issued >= TICKET_LIFETIME_SECS => Err(61005),
        Some(_) => Ok(()),
    }
}

/// The authorizer, if known.
pub fn get(state: &SimState, app_id: &str) -> Option<Authorizer> {
    lock(&state.component).authorizers.get(app_id).cloned()
}

/// The first authorizer in appid order, for an authorization page without `biz_appid`.
pub fn first(state: &SimState) -> Option<String> {
    lock(&state.component).authorizers.keys().min().cloned()
}

fn refresh_token() -> String {
    format!("refreshtoken@@@{}", random_alnum(43))
}
