//! Wiring between the product's settings and the simulator (crates/wxa-sim): `wxa sim`
//! and `serve --sandbox`. Compiled with the `sim` feature only.

use std::io::{self, Write};
use std::net::TcpListener;

use secrecy::{ExposeSecret, SecretString};
use wxa_sim::{SimApp, SimComponent, SimConfig, SimHandle, Simulator};

use crate::config::{MiniProgramApp, Settings};

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

/// The simulator `serve --sandbox` runs in-process, and the admin token made for this run
/// (when none was configured).
pub struct Sandbox {
    sim: SimHandle,
    admin_token: Option<String>,
}

impl Sandbox {
    /// Fills in the demo app and an admin token, starts the simulator on a free loopback
    /// port and points `settings` at it.
    pub fn start(settings: &mut Settings) -> io::Result<Self> {
        fill_demo_app(settings);
        let admin_token = fill_admin_token(settings);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let sim = Simulator::start(sim_config(settings), listener)?;
        settings.wechat.base_url = sim.base_url();
        // The simulator serves the authorization pages too.
        settings.open_platform.login_page_base = sim.base_url();
        settings.open_platform.mobile_page_base = sim.base_url();
        Ok(Self { sim, admin_token })
    }

    /// Says where to look: `product` is the product's base URL.
    pub fn print_banner(&self, product: &str) {
        let sim = self.sim.base_url();
        // A token made for this run goes in the link (the page reads it from the fragment).
        let admin = match &self.admin_token {
            Some(token) => format!("{product}/admin/#token={token}"),
            None => format!("{product}/admin/  (admin.token as configured)"),
        };
        // Written whole, and a closed stdout is no reason to stop serving: `println!` panics
        // when the reader of a pipe has gone.
        let banner = format!(
            "\nwxa-backend sandbox: offline, against the built-in WeChat simulator\n\
             \x20 product      {product}/\n\
             \x20 API docs     {product}/docs/\n\
             \x20 H5 jump page {product}/scheme.html?path=pages/index/index\n\
             \x20 admin page   {admin}\n\
             \x20 simulator    {sim}/__sim/  (control API: docs/simulator.md)\n\
             \x20 demo app     appid {demo}\n\
             \x20 mint a wx.login code for /api/login:\n\
             \x20   curl -s -X POST {sim}/__sim/login_codes -H 'content-type: application/json' \\\n\
             \x20        -d '{{\"appid\":\"{demo}\",\"openid\":\"o_demo_user\"}}'\n",
            demo = DEMO_APP_ID,
        );
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(banner.as_bytes()).and_then(|()| out.flush()) {
            tracing::warn!(error = %e, "could not print the sandbox banner");
        }
    }

    /// Stops the simulator.
    pub async fn stop(self) {
        self.sim.stop().await;
    }
}
