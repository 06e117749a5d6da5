//! `MiniProgramService`: the mini-program calls of the product, each made with the app's
//! shared token and retried once after a compare-and-invalidate refresh when WeChat
//! rejects the token.

use std::future::Future;
use std::sync::Arc;

use crate::error::AppError;
use crate::services::token::{AccessToken, TokenManager};
use crate::wechat::{WechatClient, WechatError};

pub struct MiniProgramService {
    pub tokens: Arc<TokenManager>,
    pub client: WechatClient,
}

impl MiniProgramService {
    pub fn new(tokens: Arc<TokenManager>, client: WechatClient) -> Arc<Self> {
        Arc::new(MiniProgramService { tokens, client })
    }

    /// Runs `call` with `app`'s token. On 40001/42001/40014 the token is refreshed (only
    /// if still current) and the call retried once; never more.
    pub async fn with_token<T, F, Fut>(&self, app: &str, call: F) -> Result<T, AppError>
    where
        F: Fn(WechatClient, AccessToken) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        let token = self.tokens.get(app).await?;
        match call(self.client.clone(), token.clone()).await {
            Err(e) if e.is_token_rejected() => {
                tracing::warn!(
                    app,
                    errcode = e.errcode(),
                    "token rejected; refreshing once"
                );
                let fresh = self.tokens.refresh_if_current(app, &token.value).await?;
                Ok(call(self.client.clone(), fresh).await?)
            }
            other => Ok(other?),
        }
    }
}
