//! Wiring between the product's settings and the simulator: `wxa sim` and `serve --sandbox`.

use secrecy::{ExposeSecret, SecretString};

use crate::config::{MiniProgramApp, Settings};
use crate::sim::{SimApp, SimComponent, SimConfig};

/// The demo app `serve --sandbox` fills in when the default app has no credentials.
pub const DEMO_APP_ID: &str = "wx0123456789abcdef";
const DEMO_SECRET: &str = "sandbox0secret0not0for0production";

/// Every configured mini program (and the Open Platform component, when configured), as
/// the simulator serves them.
pub fn sim_config(settings: &Settings) -> SimConfig {
    let apps = settings
        .wechat
        .mini_program
        .iter()
        .filter(|(_, app)| !app.app_id.is_empty())
        .map(|(name, app)| SimApp {
            name: name.clone(),
            app_id: app.app_id.clone(),
            secret: app.secret.expose_secret().to_owned(),
            pages: app.pages.clone(),
        })
        .collect();
    let op = &settings.open_platform;
    let component = (!op.app_id.is_empty()).then(|| SimComponent {
        app_id: op.app_id.clone(),
        secret: op.secret.expose_secret().to_owned(),
        token: op.token.expose_secret().to_owned(),
        aes_key: op.aes_key.expose_secret().to_owned(),
    });
    SimConfig { apps, component }
}

/// Gives the default app demo credentials when it has none, so the sandbox works with
/// no configuration at all.
pub fn fill_demo_app(settings: &mut Settings) {
    let name = settings.wechat.default_app.clone();
    let app = settings
        .wechat
        .mini_program
        .entry(name)
        .or_insert_with(|| MiniProgramApp {
            app_id: String::new(),
            secret: SecretString::from(""),
            pages: Vec::new(),
        });
    if app.app_id.is_empty() {
        app.app_id = DEMO_APP_ID.to_owned();
        app.secret = SecretString::from(DEMO_SECRET);
        if app.pages.is_empty() {
            app.pages = vec![
                "pages/index/index".to_owned(),
                "pages/detail/detail".to_owned(),
            ];
        }
    }
}

/// With no `admin.token`, the sandbox makes one for this run so its admin page works
/// offline; the banner prints it (the only place it appears). A configured token is kept
/// and never printed.
pub fn fill_admin_token(settings: &mut Settings) -> Option<String> {
    if !settings.admin.token.expose_secret().is_empty() {
        return None;
    }
    let token = format!("sandbox-{:032x}", rand::random::<u128>());
    settings.admin.token = SecretString::from(token.clone());
    Some(token)
}
