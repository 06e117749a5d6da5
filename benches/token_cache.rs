//! The cost of getting a cached access_token: the hot path of every WeChat call.
//! `cargo bench --bench token_cache`
//!
//! The two-task figure is the one that shows contention: with the token in a moka
//! `future::Cache` (before 2026-12-01) one task took 207 ns a get and two tasks 615 ns a
//! pair, as every moka read is recorded in a queue shared by all cores. Each app's token
//! is now an `ArcSwap` read.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use wxa_backend::config::Settings;
use wxa_backend::metrics::Metrics;
use wxa_backend::services::token::TokenManager;
use wxa_backend::store::Db;
use wxa_backend::wechat::WechatClient;
use wxa_sim::Simulator;

fn cached_token(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (manager, _sim) = rt.block_on(async {
        let mut settings = Settings::built_in().expect("settings");
        let app = settings
            .wechat
            .mini_program
            .get_mut("default")
            .expect("default app");
        app.app_id = "wx1111111111111111".into();
        app.secret = "bench-secret".into();
        settings.database.url =
            format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display()).into();
        let sim = Simulator::start(
            wxa_backend::sandbox::sim_config(&settings),
            std::net::TcpListener::bind("127.0.0.1:0").expect("port"),
        )
        .expect("sim");
        settings.wechat.base_url = sim.base_url();
        let db = Db::connect(&settings.database).await.expect("db");
        db.migrate().await.expect("migrate");
        let metrics = Metrics::new();
        let client = WechatClient::new(&settings.wechat, metrics.clone()).expect("client");
        let manager: Arc<TokenManager> = TokenManager::new(&settings, client, db, None, metrics);
        manager.get("default").await.expect("warm the cache");
        (manager, sim)
    });

    c.bench_function("cached access_token (one task)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(manager.get("default").await.expect("token"));
                }
                start.elapsed()
            })
        })
    });

    c.bench_function("cached access_token (2 tasks on 2 cores, per get)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = (0..2)
                    .map(|_| {
                        let m = manager.clone();
                        tokio::spawn(async move {
                            for _ in 0..iters {
                                black_box(m.get("default").await.expect("token"));
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task");
                }
                // Two gets ran per iteration in parallel: report wall time per get pair.
                start.elapsed()
            })
        })
    });
}

criterion_group!(benches, cached_token);
criterion_main!(benches);
