//! What an anonymous caller on the internet cannot do (README "What an anonymous caller
//! cannot do"): burn the lifetime quota, make WeChat work without limit, hold connections
//! with slow bodies, or get the pages framed or sniffed. (Forged phone bindings:
//! tests/api/users/encrypted.rs; metric labels: tests/api/operations.rs; replayed pushes:
//! tests/api/open_platform/pushes.rs.)

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{DbKind, INTERNAL_KEY, TestApp, envelope};
use crate::on_every_database;

const LIMITED: &str = "wxa/getwxacode";
const UNLIMIT: &str = "wxa/getwxacodeunlimit";

async fn calls(app: &TestApp, api: &str) -> u64 {
    app.sim_counters().await["calls"][api][crate::helpers::TEST_APP_ID]
        .as_u64()
        .unwrap_or(0)
}

async fn code(app: &TestApp, query: &str, bearer: Option<&str>, xff: Option<&str>) -> (u16, Value) {
    let mut req = app.client.get(app.url(&format!("/api/qr_code?{query}")));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    if let Some(x) = xff {
        req = req.header("x-forwarded-for", x);
    }
    envelope(req.send().await.unwrap()).await
}

on_every_database! {
    async fn limited_codes_need_a_bearer_and_stored_ones_are_answered_to_anyone(app: &TestApp) {
        let q = "kind=limited&path=pages/index/index%3Fid%3D1";
        let (status, body) = code(app, q, None, None).await;
        assert_eq!((status, body["code"].as_u64()), (401, Some(401)), "{body}");
        let (status, _) = code(app, "kind=qrcode&path=pages/index/index", Some("not-a-session"), None).await;
        assert_eq!(status, 401);
        assert_eq!(calls(app, LIMITED).await, 0, "no quota spent");
        // A login session may make one; then anyone gets the stored code.
        let login = crate::users::login(app, "o-abuse-0000000001", None).await;
        let session = crate::users::token(&login);
        let (status, made) = code(app, q, Some(&session), None).await;
        assert_eq!(status, 200, "{made}");
        let (status, again) = code(app, q, None, None).await;
        assert_eq!((status, again["data"]["cached"].as_bool()), (200, Some(true)), "{again}");
        assert_eq!(again["data"]["id"], made["data"]["id"]);
        // An internal key too.
        let (status, _) = code(app, "kind=qrcode&path=pages/index/index", Some(INTERNAL_KEY), None).await;
        assert_eq!(status, 200);
        assert_eq!(calls(app, LIMITED).await, 1);
        // Unlimited codes stay open to the mini program.
        assert_eq!(code(app, "scene=open", None, None).await.0, 200);
    }
}

#[tokio::test]
async fn public_limited_restores_the_seeds_open_codes() {
    let test = "abuse::public_limited_restores_the_seeds_open_codes";
    let app = TestApp::spawn_with(DbKind::Sqlite, test, |s| s.codes.public_limited = true)
        .await
        .unwrap();
    let (status, body) = code(&app, "kind=limited&path=pages/index/index", None, None).await;
    assert_eq!(status, 200, "{body}");
    app.finish().await;
}

#[tokio::test]
async fn new_work_is_limited_per_client_and_repeats_are_not() {
    let test = "abuse::new_work_is_limited_per_client_and_repeats_are_not";
    let app = TestApp::spawn_with(DbKind::Sqlite, test, |s| {
        s.limits.per_ip_per_minute = 3;
        s.server.trusted_proxies =
            wxa_backend::config::TrustedProxies(vec!["127.0.0.1/32".parse().unwrap()]);
    })
    .await
    .unwrap();
    let client = Some("203.0.113.9");
    for i in 0..3 {
        assert_eq!(
            code(&app, &format!("scene=s{i}"), None, client).await.0,
            200
        );
    }
    let res = app
        .client
        .get(app.url("/api/qr_code?scene=s3"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let (status, body) = envelope(res).await;
    assert_eq!((status, body["code"].as_u64()), (429, Some(429)), "{body}");
    assert_eq!(calls(&app, UNLIMIT).await, 3, "refused before WeChat");
    // Stored answers are never counted; links and logins count alike.
    assert_eq!(code(&app, "scene=s0", None, client).await.0, 200);
    let res = app
        .client
        .get(app.url("/api/scheme_code?path=pages/index/index"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    // Another client (as the trusted proxy says) has its own minute; internal keys none.
    assert_eq!(
        code(&app, "scene=s4", None, Some("198.51.100.1")).await.0,
        200
    );
    for i in 0..5 {
        assert_eq!(
            code(&app, &format!("scene=k{i}"), Some(INTERNAL_KEY), client)
                .await
                .0,
            200
        );
    }
    app.finish().await;
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let test = "abuse::forwarded_for_from_an_untrusted_peer_is_ignored";
    let app = TestApp::spawn_with(DbKind::Sqlite, test, |s| s.limits.per_ip_per_minute = 2)
        .await
        .unwrap();
    // Each request claims another address: all are the peer's.
    assert_eq!(code(&app, "scene=a", None, Some("192.0.2.1")).await.0, 200);
    assert_eq!(code(&app, "scene=b", None, Some("192.0.2.2")).await.0, 200);
    assert_eq!(code(&app, "scene=c", None, Some("192.0.2.3")).await.0, 429);
    app.finish().await;
}

#[tokio::test]
async fn instances_sharing_redis_count_one_minute_per_client() {
    let test = "abuse::instances_sharing_redis_count_one_minute_per_client";
    let Some(redis_url) = crate::helpers::test_url("TEST_REDIS_URL") else {
        crate::helpers::say_skipped(test, "TEST_REDIS_URL is not set");
        return;
    };
    let prefix = format!("wxa-test-{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(DbKind::Sqlite, test, |s| {
        s.limits.per_ip_per_minute = 3;
        s.redis.url = redis_url.into();
        s.redis.key_prefix = prefix;
    })
    .await
    .unwrap();
    let (peer, context, handle) = app.another_instance(|_| {}).await;
    assert_eq!(code(&app, "scene=r1", None, None).await.0, 200);
    assert_eq!(code(&app, "scene=r2", None, None).await.0, 200);
    let on_peer = |scene: &'static str| {
        let url = format!("{peer}/api/qr_code?scene={scene}");
        async move { envelope(reqwest::get(url).await.unwrap()).await.0 }
    };
    assert_eq!(on_peer("r3").await, 200);
    assert_eq!(
        on_peer("r4").await,
        429,
        "the peer counted the first instance's work"
    );
    handle.stop(true).await;
    context.db.close().await;
    app.finish().await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408_and_the_connection_closes() {
    let test = "abuse::a_body_that_does_not_arrive_in_time_is_a_408_and_the_connection_closes";
    let app = TestApp::spawn_with(DbKind::Sqlite, test, |s| s.limits.body_timeout_secs = 1)
        .await
        .unwrap();
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let started = Instant::now();
    stream
        .write_all(
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"code\":",
        )
        .await
        .unwrap();
    // The rest never comes. The answer arrives after the deadline, then EOF.
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answered and closed within 5 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":408"), "{answer}");
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(4)).contains(&took),
        "{took:?}"
    );
    // A body that arrives in time is read as ever.
    let (status, body) = envelope(
        app.client
            .post(app.url("/api/login"))
            .json(&json!({"code": ""}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["data"]["field"].as_str()),
        (400, Some("code")),
        "{body}"
    );
    app.finish().await;
}

on_every_database! {
    async fn the_pages_carry_a_policy_and_images_are_not_sniffed(app: &TestApp) {
        for (path, frames) in [("/admin/", "frame-ancestors 'none'"), ("/scheme.html", "script-src 'self'"), ("/docs/", "frame-ancestors 'none'")] {
            let res = app.get(path).await;
            assert_eq!(res.status(), 200, "{path}");
            let h = res.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(csp.contains(frames) && csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{path}: {csp}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        }
        let (_, made) = code(app, "scene=img", None, None).await;
        let url = made["data"]["url"].as_str().unwrap();
        let file = url.rsplit('/').next().unwrap();
        let res = app.get(&format!("/image/{file}")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("image/"));
    }
}

on_every_database! {
    async fn the_docs_page_still_renders_under_its_policy(app: &TestApp) {
        let Some(browser) = crate::chromium::find(module_path!()) else {
            return;
        };
        // Swagger UI draws the operations from /openapi.json with its own scripts: with
        // a policy that blocked them, the DOM would hold the bare page.
        let dom = crate::chromium::run(&browser, &app.url("/docs/"), &["--dump-dom"]).await;
        assert!(dom.contains("opblock") && dom.contains("/api/qr_code"), "{dom}");
    }
}
