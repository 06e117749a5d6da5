//! "Run the call with the token; on 40001/42001/40014 refresh once (only if it is still
//! the current token) and retry once": the one helper every caller goes through.

use std::future::Future;
use std::sync::Arc;

use super::AccessToken;
use super::cell::TokenCell;
use crate::error::AppError;
use crate::wechat::{WechatClient, WechatError};

/// Runs `call` with the cell's token; a rejected token is refreshed (compare-and-
/// invalidate, so a burst of rejections costs one upstream call) and the call made once
/// more; never more.
pub async fn with_token<T, F, Fut>(
    cell: &Arc<TokenCell>,
    client: &WechatClient,
    call: F,
) -> Result<T, AppError>
where
    F: Fn(WechatClient, AccessToken) -> Fut,
    Fut: Future<Output = Result<T, WechatError>>,
{
    let token = cell.get().await?;
    match call(client.clone(), token.clone()).await {
        Err(e) if e.is_token_rejected() => {
            tracing::warn!(
                kind = cell.kind(),
                app = cell.label(),
                errcode = e.errcode(),
                "token rejected; refreshing once"
            );
            let fresh = cell.refresh_if_current(&token.value).await?;
            Ok(call(client.clone(), fresh).await?)
        }
        other => Ok(other?),
    }
}
