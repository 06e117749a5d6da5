//! The WeChat API gateway (README "The WeChat API gateway"): a team's other services keep
//! their WeChat SDKs, point the base URL at `/wx` and use a client key where the app secret
//! was.
//!
//! - `clients`: who a key belongs to, which apps and API paths a client may use.
//! - `stand_in`: the signed tokens clients get instead of WeChat's.
//! - `forward`: a client's call sent to WeChat with the real token, answered as it is.
//! - `faults`: our refusals in WeChat's shape; `stats`: calls per client, API, errcode.
//!
//! Every answer is WeChat-shaped: a refusal is a [`WechatFault`], never an envelope.

mod clients;
pub mod faults;
mod forward;
mod session;
mod stand_in;
mod stats;

use std::sync::Arc;

use serde::Serialize;

pub use forward::{Call, Outgoing};
pub use stats::{GatewayCalls, UNKNOWN_CLIENT};

use crate::config::Settings;
use crate::domain::target::{Target, TokenSource};
use crate::services::ServiceDeps;
use crate::services::codes::CodeService;
use crate::services::mini_program::MiniProgramService;
use crate::services::open_platform::OpenPlatformService;
use crate::services::token::now_unix;
use crate::wechat::WechatFault;
use clients::{Client, Clients};
use faults::refusal;
use stats::{CallLabel, GatewayStats};

/// The API labels of the gateway's own endpoints.
pub const TOKEN_API: &str = "cgi-bin/token";
pub const STABLE_TOKEN_API: &str = "cgi-bin/stable_token";
pub const JSCODE2SESSION_API: &str = "sns/jscode2session";

/// A token request: `cgi-bin/token`'s query or `cgi-bin/stable_token`'s body.
#[derive(Debug, Default)]
pub struct TokenRequest<'a> {
    pub grant_type: Option<&'a str>,
    pub appid: Option<&'a str>,
    /// The client key (never logged).
    pub secret: Option<&'a str>,
}

/// A stand-in token, answered as WeChat answers a token request.
#[derive(Debug, Serialize)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
}

pub struct GatewayService {
    on: bool,
    ttl_secs: i64,
    clients: Clients,
    settings: Arc<Settings>,
    mini_program: Arc<MiniProgramService>,
    open_platform: Arc<OpenPlatformService>,
    codes: Arc<CodeService>,
    stats: GatewayStats,
}

impl GatewayService {
    pub fn new(
        deps: &ServiceDeps,
        open_platform: Arc<OpenPlatformService>,
        codes: Arc<CodeService>,
    ) -> Arc<Self> {
        let gateway = &deps.settings.gateway;
        Arc::new(GatewayService {
            on: gateway.is_on(),
            ttl_secs: i64::try_from(gateway.token_ttl_secs).unwrap_or(7200),
            clients: Clients::from_settings(&deps.settings),
            settings: deps.settings.clone(),
            mini_program: deps.mini_program.clone(),
            open_platform,
            codes,
            stats: GatewayStats::new(deps.metrics.clone()),
        })
    }

    /// `/wx/` exists: enabled, with at least one client.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// `cgi-bin/token` and `cgi-bin/stable_token`: a stand-in token for (client, appid).
    /// `force_refresh` has no meaning here: it never reaches WeChat.
    pub async fn issue_token(
        &self,
        api: &'static str,
        req: &TokenRequest<'_>,
    ) -> Result<IssuedToken, WechatFault> {
        let mut label = CallLabel::new(UNKNOWN_CLIENT, api);
        let result = self.issue_token_for(req, &mut label).await;
        self.record(&label, result.as_ref().map(|_| 0));
        result
    }

    async fn issue_token_for(
        &self,
        req: &TokenRequest<'_>,
        label: &mut CallLabel,
    ) -> Result<IssuedToken, WechatFault> {
        if req.grant_type != Some("client_credential") {
            return Err(refusal(faults::INVALID_GRANT_TYPE));
        }
        let (client, target) = self.client_and_target(req.appid, req.secret, label).await?;
        let access_token = stand_in::mint(client, &target.app_id, now_unix());
        tracing::info!(client = %client.name, appid = %target.app_id, "gateway: stand-in token issued");
        Ok(IssuedToken {
            access_token,
            expires_in: self.ttl_secs,
        })
    }

    /// The client a key belongs to and the app it asks for, checked in WeChat's order:
    /// an appid nobody serves (40013), then the key (40125), then the client's right to
    /// the appid (40013).
    async fn client_and_target(
        &self,
        appid: Option<&str>,
        key: Option<&str>,
        label: &mut CallLabel,
    ) -> Result<(&Client, Target), WechatFault> {
        let appid = appid
            .filter(|a| !a.is_empty())
            .ok_or_else(|| refusal(faults::APPID_MISSING))?;
        let key = key
            .filter(|k| !k.is_empty())
            .ok_or_else(|| refusal(faults::APPSECRET_MISSING))?;
        if appid.len() > stand_in::MAX_APPID_LEN || !self.clients.may_serve(appid) {
            return Err(refusal(faults::INVALID_APPID));
        }
        let client = self
            .clients
            .by_key(key)
            .ok_or_else(|| refusal(faults::INVALID_APPSECRET))?;
        label.client.clone_from(&client.name);
        let target = self.target(client, appid).await?;
        Ok((client, target))
    }

    /// Whom `client` acts for with `appid`: one of its apps, or, when it may act for
    /// authorizers, an authorized (not revoked) one. Else 40013.
    async fn target(&self, client: &Client, appid: &str) -> Result<Target, WechatFault> {
        if let Some(name) = client.app_named(appid) {
            if self.mini_program.tokens.knows(name) {
                return Ok(Target::configured(name, appid));
            }
        } else if client.authorizers
            && self.open_platform.enabled()
            && self.open_platform.authorizer(appid).await.is_ok()
        {
            return Ok(Target {
                name: appid.to_owned(),
                app_id: appid.to_owned(),
                source: TokenSource::Authorizer,
            });
        }
        Err(refusal(faults::INVALID_APPID))
    }

    /// Records and returns a refusal of a request to one of the gateway's own endpoints
    /// decided before its client was known (a wrong method, an unreadable body).
    pub fn refuse_unread(&self, api: &'static str, errcode: i64) -> WechatFault {
        self.stats
            .record(&CallLabel::new(UNKNOWN_CLIENT, api), errcode);
        refusal(errcode)
    }

    fn record(&self, label: &CallLabel, outcome: Result<i64, &WechatFault>) {
        let errcode = match outcome {
            Ok(code) => code,
            Err(fault) => fault.errcode,
        };
        self.stats.record(label, errcode);
    }

    /// What `/admin/stats` shows under `gateway`.
    pub fn view(&self) -> GatewayView {
        let rows = self.stats.rows();
        let clients = self
            .clients
            .iter()
            .map(|c| {
                let mine = rows.iter().filter(|r| r.client == c.name);
                let (calls, errors, last) = mine.fold((0, 0, None), |(n, e, last), r| {
                    let failed = if r.errcode == "0" { 0 } else { r.calls };
                    (n + r.calls, e + failed, last.max(Some(r.last_call_at)))
                });
                GatewayClientView {
                    name: c.name.clone(),
                    apps: c.app_names().map(str::to_owned).collect(),
                    authorizers: c.authorizers,
                    allow: c.allow.clone(),
                    calls,
                    errors,
                    last_call_at: last,
                }
            })
            .collect();
        GatewayView {
            enabled: self.on,
            token_ttl_secs: self.ttl_secs,
            clients,
            calls: rows,
        }
    }
}

/// The gateway in `/admin/stats`: its clients and their calls since this instance started.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GatewayView {
    /// False when disabled or without clients: `/wx/` is then a 404.
    pub enabled: bool,
    pub token_ttl_secs: i64,
    pub clients: Vec<GatewayClientView>,
    /// Calls per client, API and errcode.
    pub calls: Vec<GatewayCalls>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GatewayClientView {
    pub name: String,
    /// Config names of the apps it may act for.
    pub apps: Vec<String>,
    pub authorizers: bool,
    pub allow: Vec<String>,
    pub calls: u64,
    /// Calls answered with an errcode other than 0.
    pub errors: u64,
    /// Unix seconds; null before its first call.
    pub last_call_at: Option<i64>,
}
