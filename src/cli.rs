//! The `wxa` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use std::io::Write;
use std::net::TcpListener;

use crate::app::Application;
use crate::config::Settings;
use crate::sandbox;
use crate::services::token::{mask_token, now_unix};
use crate::sim::Simulator;
use crate::store::Db;
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(name = "wxa", version, about = "WeChat mini-program backend")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (migrations are applied first).
    Serve {
        /// A TOML file layered over config/default.toml and config/{APP_ENV}.toml.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Also start the WeChat simulator in-process and point the product at it.
        #[arg(long)]
        sandbox: bool,
    },
    /// Print each app's token state (never the secret, never the full token).
    Token {
        /// Only this app.
        #[arg(long)]
        app: Option<String>,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Run the offline WeChat simulator alone.
    Sim {
        /// Port on 127.0.0.1 (wins over server.port; 0 = any free port).
        #[arg(long)]
        port: Option<u16>,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Open Platform: the authorizers' state; `--recover` first gives those without a
    /// refresh token the one WeChat lists (api_get_authorizer_list).
    Authorizers {
        #[arg(long)]
        recover: bool,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Make codes for a file of scenes ahead of time (resumable; see README).
    Pregen(crate::pregen::PregenArgs),
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = match &cli.command {
        Command::Serve { config, .. }
        | Command::Migrate { config }
        | Command::Sim { config, .. }
        | Command::Token { config, .. }
        | Command::Authorizers { config, .. } => config.as_deref(),
        Command::Pregen(args) => args.config.as_deref(),
    };
    let settings = match Settings::load(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wxa: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wxa: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve { sandbox, .. } => serve(settings, sandbox).await,
            Command::Migrate { .. } => migrate(settings).await,
            Command::Sim { port, .. } => sim(settings, port).await,
            Command::Token { app, .. } => token_state(settings, app).await,
            Command::Authorizers { recover, .. } => authorizers(settings, recover).await,
            Command::Pregen(args) => crate::pregen::run(settings, args).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "wxa failed");
            eprintln!("wxa: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

async fn serve(mut settings: Settings, sandbox: bool) -> CliResult {
    let started = std::time::Instant::now();
    let mut admin_token = None;
    let simulator = if sandbox {
        sandbox::fill_demo_app(&mut settings);
        admin_token = sandbox::fill_admin_token(&mut settings);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let handle = Simulator::start(sandbox::sim_config(&settings), listener)?;
        settings.wechat.base_url = handle.base_url();
        // The simulator serves the authorization pages too.
        settings.open_platform.login_page_base = handle.base_url();
        settings.open_platform.mobile_page_base = handle.base_url();
        Some(handle)
    } else {
        None
    };
    let host = settings.server.host.clone();
    let app = Application::build(settings).await?;
    tracing::info!(
        port = app.port(),
        startup_ms = started.elapsed().as_millis() as u64,
        "wxa listening on http://{host}:{}",
        app.port()
    );
    if let Some(sim) = &simulator {
        let product = format!("http://{host}:{}", app.port());
        print_sandbox_banner(&product, &sim.base_url(), admin_token.as_deref());
    }
    app.run_until_stopped().await?;
    if let Some(sim) = simulator {
        sim.stop().await;
    }
    tracing::info!("wxa stopped");
    Ok(())
}

fn print_sandbox_banner(product: &str, sim: &str, admin_token: Option<&str>) {
    // A token made for this run goes in the link (the page reads it from the fragment).
    let admin = match admin_token {
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
        demo = sandbox::DEMO_APP_ID,
    );
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(banner.as_bytes()).and_then(|()| out.flush()) {
        tracing::warn!(error = %e, "could not print the sandbox banner");
    }
}

async fn authorizers(settings: Settings, recover: bool) -> CliResult {
    let db = Db::connect(&settings.database).await?;
    db.migrate().await?;
    let deps = crate::services::ServiceDeps::build(settings, db).await?;
    let open_platform = crate::services::open_platform::OpenPlatformService::new(&deps);
    if !open_platform.enabled() {
        return Err("open_platform is not configured (open_platform.component_app_id)".into());
    }
    if recover {
        let r = open_platform.recover_refresh_tokens().await?;
        println!(
            "recover: {} without a refresh token, {} recovered ({}), {} not listed by WeChat ({}); {} page(s) of api_get_authorizer_list",
            r.missing,
            r.recovered.len(),
            r.recovered.join(", "),
            r.not_listed.len(),
            r.not_listed.join(", "),
            r.pages
        );
    }
    let (list, total) = open_platform.list(1, 100).await?;
    println!("authorizers: {total}");
    for a in list {
        println!(
            "{} {} func_ids {:?} authorized_at {}",
            a.app_id, a.status, a.func_ids, a.authorized_at
        );
    }
    Ok(())
}

async fn token_state(settings: Settings, only: Option<String>) -> CliResult {
    let db = Db::connect(&settings.database).await?;
    db.migrate().await?;
    let deps = crate::services::ServiceDeps::build(settings.clone(), db.clone()).await?;
    let tokens = &deps.mini_program.tokens;
    let now = now_unix();
    let mut apps: Vec<&str> = tokens.apps().collect();
    apps.sort_unstable();
    if let Some(only) = &only {
        if !apps.contains(&only.as_str()) {
            return Err(format!("no app named {only} (apps: {})", apps.join(", ")).into());
        }
        apps.retain(|a| a == only);
    }
    println!("mode: {}", tokens.mode().as_str());
    for app in apps {
        let app_id = settings
            .app(Some(app))
            .map_or("", |(_, a)| a.app_id.as_str());
        match tokens.stored(app).await? {
            Some(t) => println!(
                "{app} ({app_id}): token {} expires_at {} (in {} s) refreshed_at {} refreshes {}",
                mask_token(&t.token),
                t.expires_at,
                t.expires_at - now,
                t.refreshed_at,
                t.refresh_count
            ),
            None => println!("{app} ({app_id}): no stored token"),
        }
    }
    db.close().await;
    Ok(())
}

async fn sim(settings: Settings, port: Option<u16>) -> CliResult {
    let port = port.unwrap_or(settings.server.port);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let config = sandbox::sim_config(&settings);
    if config.apps.is_empty() {
        tracing::warn!(
            "no [wechat.mini_program.*] app has an app_id; register apps via /__sim/apps"
        );
    }
    let handle = Simulator::start(config, listener)?;
    tracing::info!(
        port = handle.port(),
        "wxa sim listening on {}",
        handle.base_url()
    );
    println!("wxa sim: {} (control API under /__sim/)", handle.base_url());
    shutdown_signal().await;
    handle.stop().await;
    tracing::info!("wxa sim stopped");
    Ok(())
}

/// SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

async fn migrate(settings: Settings) -> CliResult {
    let db = Db::connect(&settings.database).await?;
    db.migrate().await?;
    db.close().await;
    tracing::info!("migrations applied");
    Ok(())
}
