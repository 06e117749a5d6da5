//! Where the Open Platform's tokens come from; the cells that hold them, share them
//! across instances and refresh them ahead are the token subsystem's
//! (`src/services/token/cell.rs`), kinds `component` and `authorizer`.

use std::sync::Weak;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

use super::OpenPlatformService;
use crate::error::AppError;
use crate::services::token::{AccessToken, Flight, TokenSource, now_unix};
use crate::store::{Db, open_platform as store};
use crate::wechat::WechatClient;
use crate::wechat::component::{self, Component};

/// The component_access_token, asked with the latest component_verify_ticket. The ticket
/// is read from the database at each fetch: whichever instance received it, every
/// instance uses the newest one.
pub struct ComponentSource {
    pub secret: SecretString,
    pub db: Db,
    pub client: WechatClient,
}

impl TokenSource for ComponentSource {
    fn fetch<'a>(
        &'a self,
        app_id: &'a str,
        _rejected: Option<&'a str>,
        _flight: &'a mut Flight,
    ) -> BoxFuture<'a, Result<AccessToken, AppError>> {
        Box::pin(async move {
            let ticket = store::ticket(&self.db, app_id).await?.ok_or_else(|| {
                AppError::Unavailable("no component_verify_ticket received yet".into())
            })?;
            let credentials = Component {
                app_id,
                secret: self.secret.expose_secret(),
            };
            let span =
                tracing::info_span!("component.token", app = %app_id, kind = "api_component_token");
            let fresh = component::component_token(&self.client, &credentials, &ticket)
                .instrument(span)
                .await?;
            Ok(AccessToken {
                value: fresh.component_access_token.into(),
                expires_at: now_unix() + fresh.expires_in,
            })
        })
    }
}

/// An authorizer's token, asked with its stored refresh token (api_authorizer_token).
pub struct AuthorizerSource {
    /// Weak: the service holds the cells that hold this.
    pub service: Weak<OpenPlatformService>,
}

impl TokenSource for AuthorizerSource {
    fn fetch<'a>(
        &'a self,
        app_id: &'a str,
        _rejected: Option<&'a str>,
        _flight: &'a mut Flight,
    ) -> BoxFuture<'a, Result<AccessToken, AppError>> {
        Box::pin(async move {
            let service = self
                .service
                .upgrade()
                .ok_or_else(|| AppError::internal("open platform service gone"))?;
            service.fetch_authorizer_token(app_id).await
        })
    }
}
