//! Making one code: the quota unit or the pacing slot, the WeChat call, the file, the
//! record; and giving the quota unit back when the code was not made.

use std::sync::Arc;

use bytes::Bytes;

use super::claim::Claim;
use super::{CodeService, StoredCode, Wait, images};
use crate::domain::codes::{CodeKind, CodeSpec};
use crate::domain::target::Target;
use crate::error::{AppError, AppResult};
use crate::services::token::now_unix;
use crate::store::codes::{self as store, CodeRow, NewCode};
use crate::wechat::Image;
use crate::wechat::codes::{self, CodeRequest};

/// WeChat's answer once an app's lifetime code quota is spent.
pub const QUOTA_EXHAUSTED: i64 = 45029;

impl CodeService {
    /// Takes one unit of `app_id`'s lifetime quota (`limited` + `qrcode`), or refuses
    /// with 429 before any WeChat call. Also used by the gateway for those APIs.
    pub async fn reserve_quota(&self, app_id: &str) -> AppResult<()> {
        if store::reserve_quota(&self.db, app_id, self.limited_quota).await? {
            return Ok(());
        }
        let (used, exhausted_at) = store::quota(&self.db, app_id).await?;
        let msg = if exhausted_at > 0 {
            "小程序码额度已用完(微信已返回 45029)".to_owned()
        } else {
            format!(
                "小程序码额度已用完: limited 与 qrcode 合计上限 {} 个,已用 {used} 个",
                self.limited_quota
            )
        };
        // A lifetime quota: waiting does not help.
        Err(AppError::RateLimited {
            msg: msg.into(),
            wechat: None,
            retry_after: None,
        })
    }

    /// Waits for `app_id`'s next `unlimited` slot, or refuses with 429 when the wait would
    /// exceed the budget. Also used by the gateway for `getwxacodeunlimit`.
    pub async fn pace(&self, app_id: &str, wait: Wait) -> AppResult<()> {
        let budget = match wait {
            Wait::Request => Some(self.request_budget),
            Wait::Unbounded => None,
        };
        self.pacer
            .pace(app_id, budget)
            .await
            .map_err(|too_long| AppError::RateLimited {
                msg: format!(
                    "unlimited 小程序码生成过快: 每分钟上限 {} 个,需等待 {} ms,超出请求时限",
                    self.per_minute,
                    too_long.0.as_millis()
                )
                .into(),
                wechat: None,
                retry_after: Some(too_long.0.as_secs() + 1),
            })
    }

    /// Gives a reserved unit back: the code was not made. `exhausted`: WeChat answered
    /// 45029, so the ledger refuses from now on.
    pub async fn give_back_quota(&self, app_id: &str, exhausted: bool) {
        let result = if exhausted {
            store::mark_exhausted(&self.db, app_id, now_unix()).await
        } else {
            store::release_quota(&self.db, app_id).await
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "could not give back a quota unit");
        }
    }

    async fn call_wechat(&self, target: &Target, spec: &CodeSpec) -> AppResult<Image> {
        let request = &CodeRequest::new(spec);
        self.mini_program
            .with_target_token(target, |client, token| async move {
                codes::make(&client, &token.value, request).await
            })
            .await
    }
}

/// Making one code: quota or pace, the WeChat call, the file, the record.
pub(super) struct Job {
    pub(super) service: Arc<CodeService>,
    /// The mini program (or authorizer) the code is for; records go under its appid.
    pub(super) target: Target,
    pub(super) spec: CodeSpec,
    pub(super) hash: String,
    pub(super) wait: Wait,
    /// A record whose file went missing: remade without counting again.
    pub(super) existing: Option<i64>,
}

impl Job {
    /// Makes the code under `claim`, and ends the claim whatever the outcome.
    pub(super) async fn run(self, claim: Claim) -> AppResult<(Arc<StoredCode>, Bytes)> {
        let outcome = self.make(&claim).await;
        claim.release().await;
        outcome
    }

    #[tracing::instrument(
        name = "code.make",
        skip_all,
        fields(app = %self.target.name, kind = self.spec.kind.as_str())
    )]
    async fn make(&self, claim: &Claim) -> AppResult<(Arc<StoredCode>, Bytes)> {
        let svc = &self.service;
        // A store that is down would lose the code after WeChat made (and counted) it:
        // find out first, and answer 503 at once.
        svc.images.ping().await?;
        let counted = self.spec.kind.counts_against_quota() && self.existing.is_none();
        if counted {
            svc.reserve_quota(&self.target.app_id).await?;
        } else if self.spec.kind == CodeKind::Unlimited {
            svc.pace(&self.target.app_id, self.wait).await?;
        }
        let image = match self.call(claim).await {
            Ok(image) => image,
            Err(e) => {
                if counted {
                    self.give_back(&e).await;
                }
                return Err(e);
            }
        };
        // WeChat made (and counted) the code: its quota unit stays spent whatever
        // happens to the image or the record from here on.
        self.keep(image).await
    }

    async fn call(&self, claim: &Claim) -> AppResult<Image> {
        claim.renew().await?;
        self.service.call_wechat(&self.target, &self.spec).await
    }

    /// The image into the store, then the record.
    async fn keep(&self, image: Image) -> AppResult<(Arc<StoredCode>, Bytes)> {
        let svc = &self.service;
        let file = format!("{}.{}", self.hash, images::extension(image.content_type));
        svc.images.write(&file, image.bytes.clone()).await?;
        let size = image.bytes.len() as i64;
        let row = match self.existing {
            Some(id) => {
                store::update_image(&svc.db, id, &file, image.content_type, size).await?;
                store::find_by_id(&svc.db, id).await?
            }
            None => self.record(&file, &image).await?,
        };
        let row = row.ok_or_else(|| AppError::internal("code record vanished"))?;
        Ok((svc.stored(&row)?, image.bytes))
    }

    async fn record(&self, file: &str, image: &Image) -> AppResult<Option<CodeRow>> {
        let svc = &self.service;
        let params =
            serde_json::to_string(&CodeRequest::new(&self.spec)).map_err(AppError::internal)?;
        let row = NewCode {
            app_id: &self.target.app_id,
            kind: self.spec.kind.as_str(),
            hash: &self.hash,
            file,
            page: &self.spec.page,
            scene: &self.spec.scene,
            width: i64::from(self.spec.width),
            params: &params,
            content_type: image.content_type,
            size: image.bytes.len() as i64,
            created_at: now_unix(),
        };
        match store::insert(&svc.db, &row).await {
            Ok(_) => store::find_by_hash(&svc.db, &self.hash)
                .await
                .map_err(Into::into),
            // Another instance recorded the same code a moment ago (its claim had lapsed):
            // the same image. Both calls were made, so both units stay counted.
            Err(e) if store::is_unique_violation(&e) => store::find_by_hash(&svc.db, &self.hash)
                .await
                .map_err(Into::into),
            Err(e) => {
                // No record, no image: the store only holds recorded codes.
                if let Err(e) = svc.images.remove(file).await {
                    tracing::warn!(file, error = %e, "could not remove an unrecorded image");
                }
                Err(e.into())
            }
        }
    }

    /// A refused or failed call does not count; 45029 is remembered.
    async fn give_back(&self, error: &AppError) {
        let exhausted = matches!(error, AppError::RateLimited { wechat: Some(f), .. } if f.errcode == QUOTA_EXHAUSTED);
        self.service
            .give_back_quota(&self.target.app_id, exhausted)
            .await;
    }
}
