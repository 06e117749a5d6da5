//! Offline WeChat simulator (docs/simulator.md).
//!
//! Serves, on loopback, the WeChat APIs the product calls, with their real rules, and a
//! control API under `/__sim/`. Start it in-process with [`Simulator::start`].
pub mod qr_image;

mod authorize_page;
mod authorizers;
mod call;
mod clock;
mod code_params;
mod codes;
mod component;
mod control;
mod control_op;
mod counters;
mod errors;
mod faults;
mod limits;
mod links;
mod media;
mod onetime;
mod push;
mod server;
mod state;
mod token_store;
mod tokens;
mod users;

use std::io;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use tokio::task::JoinHandle;

use state::SimState;

/// A mini program the simulator serves. Empty `pages` means `["pages/index/index"]`.
#[derive(Clone, Debug)]
pub struct SimApp {
    pub name: String,
    pub app_id: String,
    pub secret: String,
    pub pages: Vec<String>,
}

/// The Open Platform component (third-party platform) the simulator serves.
#[derive(Clone, Debug)]
pub struct SimComponent {
    pub app_id: String,
    pub secret: String,
    /// The message token used to sign pushes.
    pub token: String,
    /// The 43-character EncodingAESKey used to encrypt pushes.
    pub aes_key: String,
}

#[derive(Clone, Debug, Default)]
pub struct SimConfig {
    pub apps: Vec<SimApp>,
    pub component: Option<SimComponent>,
}

/// How often WeChat pushes a component_verify_ticket (to the push URL, when one is set).
const TICKET_PUSH_INTERVAL: Duration = Duration::from_secs(600);

/// The simulator.
pub struct Simulator;

impl Simulator {
    /// Serves the simulator on `listener` (bind `127.0.0.1:0` for a free port). Must be
    /// called inside a tokio (or actix) runtime; the server runs until [`SimHandle::stop`].
    pub fn start(cfg: SimConfig, listener: TcpListener) -> io::Result<SimHandle> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("the simulator needs a tokio runtime: {e}")))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(SimState::new(&cfg));
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .configure(server::routes)
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let server_handle = server.handle();
        let server_task = runtime.spawn(server);
        let ticker = runtime.spawn(async move {
            let mut interval = tokio::time::interval(TICKET_PUSH_INTERVAL);
            interval.tick().await;
            loop {
                interval.tick().await;
                push::push_ticket_if_configured(&state).await;
            }
        });
        Ok(SimHandle {
            port,
            server_handle,
            server_task,
            ticker,
        })
    }
}

/// A running simulator.
pub struct SimHandle {
    port: u16,
    server_handle: ServerHandle,
    server_task: JoinHandle<io::Result<()>>,
    ticker: JoinHandle<()>,
}

impl SimHandle {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`: the value for `wechat.base_url`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server at once (open keep-alive connections are closed, so a client's
    /// connection pool does not hold the stop up) and returns when it has stopped.
    pub async fn stop(self) {
        self.ticker.abort();
        self.server_handle.stop(false).await;
        if let Err(e) = self.server_task.await {
            tracing::warn!(error = %e, "simulator server task ended abnormally");
        }
    }
}
