//! Authorizers: exchanging auth codes (api_query_auth), their tokens (api_authorizer_token,
//! storing the refresh token WeChat returns each time), revocation, the admin list, and
//! the authorization page URL.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::OpenPlatformService;
use crate::error::{AppError, AppResult};
use crate::services::token::{self, AccessToken, TokenCell, now_unix};
use crate::store::open_platform::{self as store, Authorizer, Grant};
use crate::wechat::component;
use crate::wechat::{WechatClient, WechatError};

/// The errcode of a used or unknown auth code.
const CODE_INVALID: i64 = 61009;

/// An authorizer as shown (never its tokens).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuthorizerView {
    pub id: i64,
    pub app_id: String,
    /// `authorized` or `revoked`.
    pub status: &'static str,
    /// The permission-set ids granted.
    pub func_ids: Vec<i64>,
    /// Unix seconds of the last (re)authorization.
    pub authorized_at: i64,
    pub updated_at: i64,
    /// Unix seconds; null while authorized.
    pub revoked_at: Option<i64>,
}

impl From<Authorizer> for AuthorizerView {
    fn from(a: Authorizer) -> Self {
        AuthorizerView {
            id: a.id,
            status: if a.revoked == 1 {
                "revoked"
            } else {
                "authorized"
            },
            func_ids: a
                .func_ids
                .split(',')
                .filter_map(|id| id.parse().ok())
                .collect(),
            app_id: a.app_id,
            authorized_at: a.authorized_at,
            updated_at: a.updated_at,
            revoked_at: (a.revoked_at > 0).then_some(a.revoked_at),
        }
    }
}

/// Which authorization page: the PC one (a QR code to scan) or the mobile one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Pc,
    Mobile,
}

fn hash_code(code: &str) -> String {
    let digest = Sha256::digest(code.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl OpenPlatformService {
    /// Trades an auth code for the authorizer and stores it with its refresh token and
    /// granted permission sets. The code may already have been used by the push or the
    /// callback carrying the same code: then the stored authorizer is the answer.
    #[tracing::instrument(
        name = "component.query_auth",
        skip_all,
        fields(app = tracing::field::Empty, kind = "api_query_auth")
    )]
    pub async fn exchange_auth_code(&self, auth_code: &str) -> AppResult<AuthorizerView> {
        let c = self.configured()?;
        tracing::Span::current().record("app", c.app_id.as_str());
        let db = &self.deps.db;
        let code_hash = hash_code(auth_code);
        let lock = self
            .exchanges
            .get_with(code_hash.clone(), async { Arc::default() })
            .await;
        let _one_at_a_time = lock.lock().await;
        if let Some(done) = store::find_by_auth_code(db, &c.app_id, &code_hash).await? {
            return Ok(done.into());
        }
        let info = match self
            .with_component_token(|client, token| async move {
                component::query_auth(&client, &c.app_id, &token, auth_code).await
            })
            .await
        {
            Ok(info) => info,
            Err(AppError::Wechat(fault)) if fault.errcode == CODE_INVALID => {
                // Another instance may have used it a moment ago.
                return match store::find_by_auth_code(db, &c.app_id, &code_hash).await? {
                    Some(done) => Ok(done.into()),
                    None => Err(AppError::Wechat(fault)),
                };
            }
            Err(e) => return Err(e),
        };
        let func_ids = info
            .func_ids()
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let now = now_unix();
        let grant = Grant {
            app_id: &info.authorizer_appid,
            refresh_token: &info.authorizer_refresh_token,
            func_ids: &func_ids,
            auth_code_hash: &code_hash,
        };
        store::upsert_authorized(db, &c.app_id, &grant, now).await?;
        if !info.authorizer_access_token.is_empty() {
            let token = AccessToken {
                value: info.authorizer_access_token.as_str().into(),
                expires_at: now + info.expires_in,
            };
            self.authorizer_tokens
                .get_or_insert(&info.authorizer_appid)
                .put(&token)
                .await;
        }
        tracing::info!(authorizer = %info.authorizer_appid, func_ids = %func_ids, "authorizer stored");
        store::find(db, &c.app_id, &info.authorizer_appid)
            .await?
            .map(AuthorizerView::from)
            .ok_or_else(|| AppError::internal("authorizer vanished after upsert"))
    }

    /// Marks an authorizer revoked (an `unauthorized` push); its token is dropped.
    pub async fn revoke(&self, app_id: &str) -> AppResult<()> {
        let c = self.configured()?;
        let known = store::revoke(&self.deps.db, &c.app_id, app_id, now_unix()).await?;
        self.authorized.invalidate(app_id).await;
        self.authorizer_tokens.forget(app_id).await?;
        tracing::info!(authorizer = %app_id, known, "authorization cancelled");
        Ok(())
    }

    /// Ok when `app_id` is a current authorizer (else the 400 of `authorizer`). Those that
    /// are stay known for a while, so acting for one costs no query; unknown ones are
    /// never remembered.
    pub async fn check_authorized(&self, app_id: &str) -> AppResult<()> {
        if self.authorized.contains_key(app_id) {
            return Ok(());
        }
        self.authorizer(app_id).await?;
        self.authorized.insert(app_id.to_owned(), ()).await;
        Ok(())
    }

    /// The current, not revoked authorizer `app_id`, or a 400 naming `appid`.
    pub async fn authorizer(&self, app_id: &str) -> AppResult<Authorizer> {
        let c = self.configured()?;
        match store::find(&self.deps.db, &c.app_id, app_id).await? {
            Some(a) if a.revoked == 0 => Ok(a),
            _ => Err(AppError::invalid("appid", "不是已授权的小程序")),
        }
    }

    /// The authorizer's access token (single flight, persisted, refreshed ahead). A hit
    /// is a wait-free read; a cell is made only for a current authorizer, and a revoked
    /// one has none.
    pub async fn authorizer_token(&self, app_id: &str) -> AppResult<AccessToken> {
        self.authorizer_cell(app_id).await?.get().await
    }

    /// Runs a mini-program call with the authorizer's token; on a rejected token,
    /// refreshes it (if still current) and retries once.
    pub async fn with_authorizer_token<T, F, Fut>(&self, app_id: &str, call: F) -> AppResult<T>
    where
        F: Fn(WechatClient, AccessToken) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        let cell = self.authorizer_cell(app_id).await?;
        token::with_token(&cell, self.client(), call).await
    }

    async fn authorizer_cell(&self, app_id: &str) -> AppResult<Arc<TokenCell>> {
        self.configured()?;
        if let Some(cell) = self.authorizer_tokens.get(app_id) {
            return Ok(cell);
        }
        self.check_authorized(app_id).await?;
        Ok(self.authorizer_tokens.get_or_insert(app_id))
    }

    /// How many authorizer token cells this instance holds.
    pub fn authorizer_cells(&self) -> usize {
        self.authorizer_tokens.len()
    }

    #[tracing::instrument(
        name = "component.authorizer_token",
        skip_all,
        fields(app = %app_id, kind = "api_authorizer_token")
    )]
    pub(super) async fn fetch_authorizer_token(&self, app_id: &str) -> AppResult<AccessToken> {
        let c = self.configured()?;
        // Read under the slot's lock: the refresh token may have just been replaced.
        let stored = self.authorizer(app_id).await?;
        let refresh = stored.refresh_token.as_str();
        let fresh = self
            .with_component_token(|client, token| async move {
                component::authorizer_token(&client, &c.app_id, &token, app_id, refresh).await
            })
            .await?;
        let now = now_unix();
        if !fresh.authorizer_refresh_token.is_empty() {
            store::update_refresh_token(
                &self.deps.db,
                &c.app_id,
                app_id,
                &fresh.authorizer_refresh_token,
                now,
            )
            .await?;
        }
        Ok(AccessToken {
            value: fresh.authorizer_access_token.into(),
            expires_at: now + fresh.expires_in,
        })
    }

    /// A page of authorizers (most recently changed first) and the total.
    pub async fn list(&self, page: i64, per_page: i64) -> AppResult<(Vec<AuthorizerView>, i64)> {
        let Some(c) = self.component.as_ref() else {
            return Ok((Vec::new(), 0));
        };
        let offset = (page - 1).saturating_mul(per_page);
        let (rows, total) = store::list(&self.deps.db, &c.app_id, per_page, offset).await?;
        Ok((rows.into_iter().map(AuthorizerView::from).collect(), total))
    }

    /// The authorization page with a fresh pre_auth_code and our callback.
    pub async fn authorize_url(
        &self,
        page: PageKind,
        auth_type: i64,
        biz_appid: Option<&str>,
    ) -> AppResult<String> {
        let c = self.configured()?;
        let span = tracing::info_span!(
            "component.pre_auth_code",
            app = %c.app_id,
            kind = "api_create_preauthcode"
        );
        let pre = self
            .with_component_token(|client, token| async move {
                component::pre_auth_code(&client, &c.app_id, &token).await
            })
            .instrument(span)
            .await?;
        let settings = &self.deps.settings;
        let redirect = format!(
            "{}/open/callback",
            settings.server.public_url.trim_end_matches('/')
        );
        let op = &settings.open_platform;
        let (base, path) = match page {
            PageKind::Pc => (&op.login_page_base, "/cgi-bin/componentloginpage"),
            PageKind::Mobile => (&op.mobile_page_base, "/wxaopen/safe/bindcomponent"),
        };
        let mut url = url::Url::parse(&format!("{}{path}", base.trim_end_matches('/')))
            .map_err(|e| AppError::internal(format!("open_platform page base: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            if page == PageKind::Mobile {
                q.append_pair("action", "bindcomponent")
                    .append_pair("no_scan", "1");
            }
            q.append_pair("component_appid", &c.app_id)
                .append_pair("pre_auth_code", &pre.pre_auth_code)
                .append_pair("redirect_uri", &redirect)
                .append_pair("auth_type", &auth_type.to_string());
            if let Some(biz) = biz_appid {
                q.append_pair("biz_appid", biz);
            }
        }
        if page == PageKind::Mobile {
            url.set_fragment(Some("wechat_redirect"));
        }
        Ok(url.into())
    }
}
