//! Login and phone binding: `jscode2session`, bearer sessions, and the phone
//! from the button's code (`getuserphonenumber`) or from `encryptedData`.
//!
//! Never logged or returned: the session_key, full openids, tokens, full phones.

pub mod phone_crypto;
pub mod phone_guard;
pub mod session;

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;
use crate::domain::target::Target;
use crate::domain::users::{OneTimeCode, Phone, PhoneInfo, PhoneProof, mask_openid};
use crate::error::{AppError, AppResult};
use crate::services::ServiceDeps;
use crate::services::mini_program::MiniProgramService;
use crate::services::token::now_unix;
use crate::store::Db;
use crate::store::users::{self as store, NewSession};
use crate::wechat::WechatError;
use crate::wechat::tokens::AppCredentials;
use crate::wechat::users as wechat;

pub struct UserService {
    settings: Arc<Settings>,
    db: Db,
    mini_program: Arc<MiniProgramService>,
    ttl_secs: i64,
}

/// A fresh login: the bearer token (shown once, stored hashed) and the user.
pub struct LoggedIn {
    pub token: String,
    pub expires_at: i64,
    pub user_id: i64,
    pub has_phone: bool,
}

/// A valid bearer session. Debug is not derived: it holds the session_key.
pub struct Session {
    /// The session row's id.
    pub id: i64,
    pub user_id: i64,
    /// The appid the user logged in with.
    pub app_id: String,
    pub openid: String,
    pub expires_at: i64,
    session_key: SecretString,
}

impl UserService {
    pub fn new(deps: &ServiceDeps) -> Arc<Self> {
        let ttl = deps.settings.session.ttl_secs.clamp(1, i64::MAX as u64);
        Arc::new(UserService {
            settings: deps.settings.clone(),
            db: deps.db.clone(),
            mini_program: deps.mini_program.clone(),
            ttl_secs: ttl as i64,
        })
    }

    /// `wx.login`'s code -> user (upserted by app and openid) and a new bearer session.
    #[tracing::instrument(
        name = "user.login",
        skip_all,
        fields(app = %target.name, kind = "jscode2session")
    )]
    pub async fn login(&self, target: &Target, code: &OneTimeCode) -> AppResult<LoggedIn> {
        let secret = self
            .settings
            .app(Some(&target.name))
            .map(|(_, app)| app.secret.expose_secret())
            .filter(|s| !s.is_empty())
            // A remote-mode instance holds no secret; logins belong on the central one.
            .ok_or_else(|| AppError::internal(format!("app `{}` has no secret", target.name)))?;
        let app = AppCredentials {
            appid: &target.app_id,
            secret,
        };
        // Single use: the client never resends it unless it provably never left.
        let answer = wechat::jscode2session(&self.mini_program.client, app, code.as_str()).await?;
        let unionid = answer.unionid.as_deref().filter(|u| !u.is_empty());

        let token = session::new_token();
        let now = now_unix();
        let expires_at = now.saturating_add(self.ttl_secs);
        // User and session together or not at all.
        let mut tx = self.db.pool().begin().await?;
        let user = store::upsert(
            &self.db,
            &mut tx,
            &target.app_id,
            &answer.openid,
            unionid,
            now,
        )
        .await?;
        store::delete_expired_sessions(&self.db, &mut tx, user.id, now).await?;
        store::insert_session(
            &self.db,
            &mut tx,
            &NewSession {
                token_hash: &session::hash(&token),
                user_id: user.id,
                app_id: &target.app_id,
                session_key: &answer.session_key,
                created_at: now,
                expires_at,
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            user_id = user.id,
            app = %target.name,
            openid = %mask_openid(&answer.openid),
            has_phone = user.has_phone,
            "user logged in"
        );
        Ok(LoggedIn {
            token,
            expires_at,
            user_id: user.id,
            has_phone: user.has_phone,
        })
    }

    /// Drops every ended session. A user who never logs in again would otherwise keep
    /// theirs (with its session_key) for ever. Any instance may run it: it is idempotent.
    pub async fn purge_expired_sessions(&self) {
        match store::purge_expired_sessions(&self.db, now_unix()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "expired login sessions purged"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired sessions"),
        }
    }

    /// The session behind a bearer token; missing, unknown or expired is 401.
    pub async fn authenticate(&self, bearer: Option<&str>) -> AppResult<Session> {
        let token = bearer
            .filter(|t| session::well_formed(t))
            .ok_or(AppError::Unauthorized)?;
        let row = store::find_session(&self.db, &session::hash(token))
            .await?
            .ok_or(AppError::Unauthorized)?;
        if row.expires_at <= now_unix() {
            return Err(AppError::Unauthorized);
        }
        Ok(Session {
            id: row.id,
            user_id: row.user_id,
            app_id: row.app_id,
            openid: row.openid,
            expires_at: row.expires_at,
            session_key: row.session_key.into(),
        })
    }

    /// The configured app (its name) whose appid the session belongs to.
    pub fn session_app(&self, session: &Session) -> Option<&str> {
        self.settings
            .wechat
            .mini_program
            .iter()
            .find(|(name, app)| {
                app.app_id == session.app_id && self.mini_program.tokens.knows(name)
            })
            .map(|(name, _)| name.as_str())
    }

    /// Reads the phone (button code or encrypted data) and stores it on the session's user.
    /// A phone bound to another user of the same app is a 409.
    #[tracing::instrument(
        name = "user.bind_phone",
        skip_all,
        fields(app = %app, kind = proof.kind(), user_id = session.user_id)
    )]
    pub async fn bind_phone(
        &self,
        session: &Session,
        app: &str,
        proof: &PhoneProof,
    ) -> AppResult<Phone> {
        let now = now_unix();
        let phone = match proof {
            PhoneProof::Code(code) => {
                phone_guard::check(&self.db, session.id, now).await?;
                let info = self.phone_from_code(app, code, &session.openid).await?;
                Phone::from_info(info).map_err(|why| {
                    AppError::from(WechatError::unexpected(format!("phone_info: {why}")))
                })?
            }
            PhoneProof::Encrypted(data) => {
                let key = session.session_key.expose_secret();
                let read = phone_guard::attempt(&self.db, session.id, now, || {
                    let info = phone_crypto::phone(key, data, &session.app_id)?;
                    Phone::from_info(info).map_err(|_| phone_crypto::DecryptError::NotPhoneData)
                })
                .await?;
                read.map_err(|why| {
                    // The reason stays in the log; the caller gets one answer for all.
                    tracing::info!(user_id = session.user_id, reason = ?why, "encrypted phone data refused");
                    phone_guard::undecryptable()
                })?
            }
        };
        match store::set_phone(&self.db, session.user_id, &phone, now).await {
            Ok(()) => {
                tracing::info!(user_id = session.user_id, phone = %phone.masked(), "phone bound");
                Ok(phone)
            }
            Err(e) if store::is_unique_violation(&e) => {
                // Not logged: the database's message may spell out the number.
                tracing::info!(
                    user_id = session.user_id,
                    phone = %phone.masked(),
                    "phone already bound to another user"
                );
                Err(AppError::Conflict("该手机号已绑定其他用户".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// With the session's openid, so WeChat refuses a code another user's button made.
    async fn phone_from_code(
        &self,
        app: &str,
        code: &OneTimeCode,
        openid: &str,
    ) -> AppResult<PhoneInfo> {
        self.mini_program
            .with_token(app, |client, token| async move {
                wechat::phone_number(&client, &token.value, code.as_str(), openid).await
            })
            .await
    }
}
