//! `MiniProgramService`: the mini-program calls of the product, each made with the app's
//! shared token and retried once after a compare-and-invalidate refresh when WeChat
//! rejects the token.

use std::future::Future;
use std::sync::{Arc, OnceLock, Weak};

use crate::domain::target::{Target, TokenSource};
use crate::error::AppError;
use crate::services::open_platform::OpenPlatformService;
use crate::services::token::{self, AccessToken, TokenManager};
use crate::wechat::{WechatClient, WechatError};

pub struct MiniProgramService {
    pub tokens: Arc<TokenManager>,
    pub client: WechatClient,
    /// Set once by the Open Platform service (built after this one); weak, since that
    /// service holds this one.
    authorizers: OnceLock<Weak<OpenPlatformService>>,
}

impl MiniProgramService {
    pub fn new(tokens: Arc<TokenManager>, client: WechatClient) -> Arc<Self> {
        Arc::new(MiniProgramService {
            tokens,
            client,
            authorizers: OnceLock::new(),
        })
    }

    /// Lets `with_target_token` act for Open Platform authorizers.
    pub fn serve_authorizers(&self, open_platform: &Arc<OpenPlatformService>) {
        let _ = self.authorizers.set(Arc::downgrade(open_platform));
    }

    /// Runs `call` with the token of `target`: the app's shared token, or an authorizer's
    /// own token; either way refreshed once and retried when WeChat rejects it.
    pub async fn with_target_token<T, F, Fut>(
        &self,
        target: &Target,
        call: F,
    ) -> Result<T, AppError>
    where
        F: Fn(WechatClient, AccessToken) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        match target.source {
            TokenSource::App => self.with_token(&target.name, call).await,
            TokenSource::Authorizer => {
                let open_platform = self
                    .authorizers
                    .get()
                    .and_then(Weak::upgrade)
                    .ok_or_else(|| AppError::invalid("appid", "未授权的 appid(开放平台未启用)"))?;
                open_platform
                    .with_authorizer_token(&target.app_id, call)
                    .await
            }
        }
    }

    /// Runs `call` with `app`'s token. On 40001/42001/40014 the token is refreshed (only
    /// if still current) and the call retried once; never more.
    pub async fn with_token<T, F, Fut>(&self, app: &str, call: F) -> Result<T, AppError>
    where
        F: Fn(WechatClient, AccessToken) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        token::with_token(self.tokens.cell(app)?, &self.client, call).await
    }
}
