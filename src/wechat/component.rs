//! Open Platform component APIs (docs/wechat.md#open-platform): the component token,
//! pre-auth codes, and the exchanges that give authorizer tokens. Every call but the first
//! takes the component_access_token as `component_access_token`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::api;
use super::client::WechatClient;
use super::error::WechatError;
use crate::redact::Redacted;

/// The component_access_token and its lifetime in seconds.
#[derive(Clone, Deserialize)]
pub struct ComponentToken {
    pub component_access_token: String,
    pub expires_in: i64,
}

impl fmt::Debug for ComponentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentToken")
            .field(
                "component_access_token",
                &Redacted(&self.component_access_token),
            )
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PreAuthCode {
    pub pre_auth_code: String,
    pub expires_in: i64,
}

/// `api_query_auth`'s `authorization_info`. The tokens are absent when the authorizer
/// granted no API permission.
#[derive(Clone, Deserialize)]
pub struct AuthorizationInfo {
    pub authorizer_appid: String,
    #[serde(default)]
    pub authorizer_access_token: String,
    #[serde(default)]
    pub expires_in: i64,
    #[serde(default)]
    pub authorizer_refresh_token: String,
    #[serde(default)]
    pub func_info: Vec<FuncInfo>,
}

impl fmt::Debug for AuthorizationInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationInfo")
            .field("authorizer_appid", &self.authorizer_appid)
            .field(
                "authorizer_access_token",
                &Redacted(&self.authorizer_access_token),
            )
            .field("expires_in", &self.expires_in)
            .field(
                "authorizer_refresh_token",
                &Redacted(&self.authorizer_refresh_token),
            )
            .field("func_info", &self.func_info)
            .finish()
    }
}

impl fmt::Debug for AuthorizerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizerToken")
            .field(
                "authorizer_access_token",
                &Redacted(&self.authorizer_access_token),
            )
            .field("expires_in", &self.expires_in)
            .field(
                "authorizer_refresh_token",
                &Redacted(&self.authorizer_refresh_token),
            )
            .finish()
    }
}

impl AuthorizationInfo {
    /// The permission-set ids actually granted.
    pub fn func_ids(&self) -> Vec<i64> {
        self.func_info
            .iter()
            .map(|f| f.funcscope_category.id)
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct FuncInfo {
    pub funcscope_category: FuncScope,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FuncScope {
    pub id: i64,
}

#[derive(Deserialize)]
struct QueryAuth {
    authorization_info: AuthorizationInfo,
}

#[derive(Clone, Deserialize)]
pub struct AuthorizerToken {
    pub authorizer_access_token: String,
    pub expires_in: i64,
    /// WeChat may hand back a new one; always store what it returns.
    #[serde(default)]
    pub authorizer_refresh_token: String,
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    component_appid: &'a str,
    component_appsecret: &'a str,
    component_verify_ticket: &'a str,
}

#[derive(Serialize)]
struct AppidRequest<'a> {
    component_appid: &'a str,
}

#[derive(Serialize)]
struct QueryAuthRequest<'a> {
    component_appid: &'a str,
    authorization_code: &'a str,
}

#[derive(Serialize)]
struct AuthorizerTokenRequest<'a> {
    component_appid: &'a str,
    authorizer_appid: &'a str,
    authorizer_refresh_token: &'a str,
}

/// The query of every call but `api_component_token`.
fn component_query(token: &str) -> [(&'static str, &str); 1] {
    [("component_access_token", token)]
}

/// The credentials of the component itself.
pub struct Component<'a> {
    pub app_id: &'a str,
    pub secret: &'a str,
}

pub async fn component_token(
    client: &WechatClient,
    component: &Component<'_>,
    ticket: &str,
) -> Result<ComponentToken, WechatError> {
    let body = TokenRequest {
        component_appid: component.app_id,
        component_appsecret: component.secret,
        component_verify_ticket: ticket,
    };
    client.post_json(api::COMPONENT_TOKEN, &[], &body).await
}

pub async fn pre_auth_code(
    client: &WechatClient,
    component_app_id: &str,
    token: &str,
) -> Result<PreAuthCode, WechatError> {
    let body = AppidRequest {
        component_appid: component_app_id,
    };
    let query = component_query(token);
    client.post_json(api::PRE_AUTH_CODE, &query, &body).await
}

pub async fn query_auth(
    client: &WechatClient,
    component_app_id: &str,
    token: &str,
    auth_code: &str,
) -> Result<AuthorizationInfo, WechatError> {
    let body = QueryAuthRequest {
        component_appid: component_app_id,
        authorization_code: auth_code,
    };
    let query = component_query(token);
    let answer: QueryAuth = client.post_json(api::QUERY_AUTH, &query, &body).await?;
    Ok(answer.authorization_info)
}

pub async fn authorizer_token(
    client: &WechatClient,
    component_app_id: &str,
    token: &str,
    authorizer_app_id: &str,
    refresh_token: &str,
) -> Result<AuthorizerToken, WechatError> {
    let body = AuthorizerTokenRequest {
        component_appid: component_app_id,
        authorizer_appid: authorizer_app_id,
        authorizer_refresh_token: refresh_token,
    };
    let query = component_query(token);
    client.post_json(api::AUTHORIZER_TOKEN, &query, &body).await
}

/// The most `api_get_authorizer_list` hands out per call.
pub const AUTHORIZER_PAGE: u32 = 500;

#[derive(Serialize)]
struct AuthorizerListRequest<'a> {
    component_appid: &'a str,
    offset: u32,
    count: u32,
}

/// One page of the accounts that authorized the component.
#[derive(Deserialize)]
pub struct AuthorizerList {
    pub total_count: u32,
    #[serde(default)]
    pub list: Vec<ListedAuthorizer>,
}

/// No Debug: it holds a refresh token.
#[derive(Deserialize)]
pub struct ListedAuthorizer {
    pub authorizer_appid: String,
    pub refresh_token: String,
}

pub async fn authorizer_list(
    client: &WechatClient,
    component_app_id: &str,
    token: &str,
    offset: u32,
) -> Result<AuthorizerList, WechatError> {
    let body = AuthorizerListRequest {
        component_appid: component_app_id,
        offset,
        count: AUTHORIZER_PAGE,
    };
    let query = component_query(token);
    client.post_json(api::AUTHORIZER_LIST, &query, &body).await
}
