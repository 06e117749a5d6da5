//! Who a request acts for: decided at the edge (src/controllers/app_param.rs) before any
//! side effect, then handed to the services.

/// Whose access token a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// A configured mini program (`app=`): the token manager's token.
    App,
    /// An Open Platform authorizer (`appid=`): its authorizer token.
    Authorizer,
}

/// The mini program a request acts for: its name (the config name; the appid for an
/// authorizer), its WeChat appid (records are kept under it), and its token source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub app_id: String,
    pub source: TokenSource,
}

impl Target {
    /// A configured mini program.
    pub fn configured(name: impl Into<String>, app_id: impl Into<String>) -> Target {
        Target {
            name: name.into(),
            app_id: app_id.into(),
            source: TokenSource::App,
        }
    }

    /// An Open Platform authorizer, acting under its own appid.
    pub fn authorizer(app_id: impl Into<String>) -> Target {
        let app_id = app_id.into();
        Target {
            name: app_id.clone(),
            app_id,
            source: TokenSource::Authorizer,
        }
    }
}
