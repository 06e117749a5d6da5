//! The cost of a repeat `/api/qr_code` below HTTP: parsing and hashing the parameters, and
//! the moka lookup. `cargo bench --bench codes`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use wxa_backend::config::Settings;
use wxa_backend::domain::codes::{CodeSpec, RawCode};
use wxa_backend::domain::target::Target;
use wxa_backend::services::admission::Admit;
use wxa_backend::services::codes::Wait;
use wxa_sim::Simulator;

const APP_ID: &str = "wx1111111111111111";

fn raw() -> RawCode<'static> {
    RawCode {
        scene: Some("id=7&from=poster"),
        page: Some("pages/index/index"),
        width: Some(430),
        ..RawCode::default()
    }
}

fn repeat_code(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let target = Target::configured("default", APP_ID);
    let (codes, _sim) = rt.block_on(async {
        let mut settings = Settings::built_in().expect("settings");
        let app = settings
            .wechat
            .mini_program
            .get_mut("default")
            .expect("default app");
        app.app_id = APP_ID.into();
        app.secret = "bench-secret".into();
        settings.database.url =
            format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display()).into();
        settings.storage.dir = dir.path().join("image");
        let sim = Simulator::start(
            wxa_backend::sandbox::sim_config(&settings),
            std::net::TcpListener::bind("127.0.0.1:0").expect("port"),
        )
        .expect("sim");
        settings.wechat.base_url = sim.base_url();
        let (codes, _db) = wxa_backend::pregen::code_service(settings)
            .await
            .expect("services");
        let spec = CodeSpec::parse(&raw()).expect("valid");
        let first = codes
            .get_or_make(&target, &spec, Wait::Request, Admit::Internal)
            .await
            .expect("the first request makes the code");
        assert!(!first.cached);
        (codes, sim)
    });

    c.bench_function("parse and hash the parameters", |b| {
        b.iter(|| {
            let spec = CodeSpec::parse(black_box(&raw())).expect("valid");
            black_box(spec.hash(APP_ID))
        })
    });

    c.bench_function("repeat code: parse, hash, moka hit (one task)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let spec = CodeSpec::parse(&raw()).expect("valid");
                    let r = codes
                        .get_or_make(&target, &spec, Wait::Request, Admit::Internal)
                        .await
                        .expect("cached");
                    black_box(r.cached);
                }
                start.elapsed()
            })
        })
    });
}

criterion_group!(benches, repeat_code);
criterion_main!(benches);
