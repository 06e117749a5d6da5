//! `sns/jscode2session` through the gateway: the client's key checked like a token
//! request's, then the call sent for a configured app with its real secret, for an Open
//! Platform authorizer as the third-party variant with the component's token.

use secrecy::ExposeSecret;

use super::faults::{self, refusal, with_msg};
use super::forward::Query;
use super::stats::{CallLabel, UNKNOWN_CLIENT};
use super::{GatewayService, JSCODE2SESSION_API};
use crate::domain::target::{Target, TokenSource};
use crate::error::{AppError, AppResult};
use crate::wechat::WechatError;
use crate::wechat::WechatFault;
use crate::wechat::forward::{ForwardRequest, Forwarded};

/// Where an authorizer's jscode2session goes: the third-party platform's variant.
const COMPONENT_JSCODE2SESSION: &str = "sns/component/jscode2session";

impl GatewayService {
    /// `sns/jscode2session`: for a configured app, sent with its real secret in place of
    /// the client's key; for an authorizer, as `sns/component/jscode2session` with the
    /// component's token.
    pub async fn code_to_session(&self, raw_query: &str) -> Result<Forwarded, WechatFault> {
        let mut label = CallLabel::new(UNKNOWN_CLIENT, JSCODE2SESSION_API);
        let result = self.code_to_session_for(raw_query, &mut label).await;
        self.record(&label, result.as_ref().map(Forwarded::errcode));
        result
    }

    async fn code_to_session_for(
        &self,
        raw_query: &str,
        label: &mut CallLabel,
    ) -> Result<Forwarded, WechatFault> {
        let query = Query::parse(raw_query);
        let (client, target) = self
            .client_and_target(query.get("appid"), query.get("secret"), label)
            .await?;
        if client.allowed(JSCODE2SESSION_API).is_none() {
            return Err(refusal(faults::API_UNAUTHORIZED));
        }
        match target.source {
            TokenSource::App => self.app_session(&target, &query).await,
            TokenSource::Authorizer => self.authorizer_session(&query).await,
        }
        .map_err(|e| {
            if !matches!(e, AppError::Wechat(_)) {
                tracing::warn!(client = %label.client, error = %e, "gateway: jscode2session failed");
            }
            faults::from_app_error(&e)
        })
    }

    /// A configured app: the client's key swapped for the app's real secret. Sent once
    /// (the code is single use), never retried after it left.
    async fn app_session(&self, target: &Target, query: &Query<'_>) -> AppResult<Forwarded> {
        let secret = self
            .settings
            .app(Some(&target.name))
            .map(|(_, app)| app.secret.expose_secret().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AppError::Wechat(with_msg(
                faults::APPSECRET_MISSING,
                "appsecret missing: this instance holds no secret for this app (token_mode = remote)",
            )))?;
        let client = &self.mini_program.client;
        let request = ForwardRequest {
            method: reqwest::Method::GET,
            url: client.forward_url(JSCODE2SESSION_API, &query.with(&[], &[("secret", &secret)])),
            content_type: None,
            body: bytes::Bytes::new(),
            single_use: true,
        };
        Ok(client.forward(request).await?)
    }

    /// An Open Platform authorizer: WeChat's third-party variant, with the component's
    /// token in place of a secret (refreshed once when WeChat rejects it).
    async fn authorizer_session(&self, query: &Query<'_>) -> AppResult<Forwarded> {
        let component = self
            .open_platform
            .component_app_id()
            .ok_or_else(|| AppError::invalid("appid", "开放平台未启用"))?;
        self.open_platform
            .with_component_token(|client, token| {
                let add = [
                    ("component_appid", component),
                    ("component_access_token", &*token),
                ];
                let request = ForwardRequest {
                    method: reqwest::Method::GET,
                    url: client
                        .forward_url(COMPONENT_JSCODE2SESSION, &query.with(&["secret"], &add)),
                    content_type: None,
                    body: bytes::Bytes::new(),
                    single_use: true,
                };
                async move {
                    let answer = client.forward(request).await?;
                    match answer.token_rejection() {
                        Some(fault) => Err(WechatError::Api(fault)),
                        None => Ok(answer),
                    }
                }
            })
            .await
    }
}
