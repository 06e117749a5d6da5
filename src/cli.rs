//! The `wxa` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::Settings;
#[cfg(feature = "sim")]
use crate::sandbox::{self, Sandbox};
use crate::services::token::{mask_token, now_unix};
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
        #[cfg(feature = "sim")]
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
    #[cfg(feature = "sim")]
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
        | Command::Token { config, .. }
        | Command::Authorizers { config, .. } => config.as_deref(),
        #[cfg(feature = "sim")]
        Command::Sim { config, .. } => config.as_deref(),
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
            #[cfg(feature = "sim")]
            Command::Serve { sandbox, .. } => serve(settings, sandbox).await,
            #[cfg(not(feature = "sim"))]
            Command::Serve { .. } => serve(settings).await,
            Command::Migrate { .. } => migrate(settings).await,
            #[cfg(feature = "sim")]
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

/// `sandbox` (the `sim` feature only): start the simulator in-process first and point the
/// product at it.
async fn serve(settings: Settings, #[cfg(feature = "sim")] sandbox: bool) -> CliResult {
    let started = std::time::Instant::now();
    #[cfg(feature = "sim")]
    let mut settings = settings;
    #[cfg(feature = "sim")]
    let sandbox = if sandbox {
        Some(Sandbox::start(&mut settings)?)
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
    #[cfg(feature = "sim")]
    if let Some(sandbox) = &sandbox {
        sandbox.print_banner(&format!("http://{host}:{}", app.port()));
    }
    app.run_until_stopped().await?;
    #[cfg(feature = "sim")]
    if let Some(sandbox) = sandbox {
        sandbox.stop().await;
    }
    tracing::info!("wxa stopped");
    Ok(())
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

#[cfg(feature = "sim")]
async fn sim(settings: Settings, port: Option<u16>) -> CliResult {
    let port = port.unwrap_or(settings.server.port);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    let config = sandbox::sim_config(&settings);
    if config.apps.is_empty() {
        tracing::warn!(
            "no [wechat.mini_program.*] app has an app_id; register apps via /__sim/apps"
        );
    }
    let handle = wxa_sim::Simulator::start(config, listener)?;
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
