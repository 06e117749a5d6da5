//! Refresh tokens recovered from WeChat. An authorizer whose refresh token is lost (a
//! restored database, a row written by hand, a cache that held the only copy) cannot get
//! a token again, and its merchant would have to authorize once more; but
//! `api_get_authorizer_list` lists every authorized account with its current refresh
//! token. Run by `wxa authorizers --recover` and at start (src/cli.rs).

use std::collections::HashSet;

use super::OpenPlatformService;
use crate::error::AppResult;
use crate::services::token::now_unix;
use crate::store::open_platform as store;
use crate::wechat::component;

/// What a recovery found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Authorizers that had no refresh token.
    pub missing: usize,
    /// Those that have one again.
    pub recovered: Vec<String>,
    /// Those WeChat no longer lists (they must authorize again).
    pub not_listed: Vec<String>,
    /// Pages of `api_get_authorizer_list` read (0 when nothing was missing).
    pub pages: u32,
}

impl OpenPlatformService {
    /// Gives every authorizer without a refresh token the one WeChat lists for it. Asks
    /// WeChat nothing when none is missing.
    #[tracing::instrument(
        name = "component.recover",
        skip_all,
        fields(app = tracing::field::Empty, kind = "api_get_authorizer_list")
    )]
    pub async fn recover_refresh_tokens(&self) -> AppResult<Recovery> {
        let c = self.configured()?;
        tracing::Span::current().record("app", c.app_id.as_str());
        let db = &self.deps.db;
        let mut missing: HashSet<String> = store::without_refresh_token(db, &c.app_id)
            .await?
            .into_iter()
            .collect();
        let mut recovery = Recovery {
            missing: missing.len(),
            ..Recovery::default()
        };
        let mut offset = 0;
        while !missing.is_empty() {
            let page = self
                .with_component_token(|client, token| async move {
                    component::authorizer_list(&client, &c.app_id, &token, offset).await
                })
                .await?;
            recovery.pages += 1;
            let listed = page.list.len() as u32;
            for listed in page.list {
                if listed.refresh_token.is_empty() || !missing.remove(&listed.authorizer_appid) {
                    continue;
                }
                let (app_id, token) = (&listed.authorizer_appid, &listed.refresh_token);
                store::update_refresh_token(db, &c.app_id, app_id, token, now_unix()).await?;
                self.authorized.invalidate(app_id).await;
                tracing::info!(authorizer = %app_id, "authorizer refresh token recovered");
                recovery.recovered.push(listed.authorizer_appid);
            }
            offset += listed;
            if listed == 0 || offset >= page.total_count {
                break;
            }
        }
        recovery.recovered.sort();
        recovery.not_listed = missing.into_iter().collect();
        recovery.not_listed.sort();
        for app_id in &recovery.not_listed {
            tracing::warn!(authorizer = %app_id, "refresh token lost and not listed by WeChat: the account must authorize again");
        }
        Ok(recovery)
    }
}

impl OpenPlatformService {
    /// The check at start: recovers what is missing and says so; a failure is logged
    /// (the next start, or `wxa authorizers --recover`, tries again).
    /// At start: refresh tokens recovered where they were lost, then every authorizer's
    /// stored token armed, so each is refreshed ahead even if no request asks for it.
    pub async fn recover_at_start(&self) {
        self.recover_missing().await;
        self.arm_authorizers_from_store().await;
    }

    async fn arm_authorizers_from_store(&self) {
        let Ok(c) = self.configured() else {
            return;
        };
        let kind = self.authorizer_tokens.kind();
        match store::with_stored_token(&self.deps.db, &c.app_id, kind).await {
            Ok(app_ids) => {
                for cell in self.authorizer_tokens.get_or_insert_all(&app_ids) {
                    cell.arm_from_store().await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not arm the authorizers' tokens"),
        }
    }

    async fn recover_missing(&self) {
        match self.recover_refresh_tokens().await {
            Ok(r) if r.missing == 0 => {}
            Ok(r) => tracing::warn!(
                missing = r.missing,
                recovered = r.recovered.len(),
                not_listed = r.not_listed.len(),
                "authorizers without a refresh token at start"
            ),
            Err(e) => tracing::warn!(error = %e, "could not recover authorizer refresh tokens"),
        }
    }
}
