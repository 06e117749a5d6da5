//! `/api/qr_code`: validation before any call, the content-addressed image store, repeats
//! from the record, single flight, WeChat errors, quota and pacing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wxa_backend::config::Settings;

use crate::helpers::{INTERNAL_KEY, TEST_APP_ID, TestApp, envelope};
use crate::on_every_database;

pub const UNLIMIT: &str = "wxa/getwxacodeunlimit";
pub const LIMITED: &str = "wxa/getwxacode";
const QRCODE: &str = "cgi-bin/wxaapp/createwxaqrcode";

/// Like `on_every_database!`, with settings changed before the app starts.
macro_rules! with_settings {
    ($tweak:expr; $(async fn $name:ident($app:ident: &TestApp) $body:block)+) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::helpers::{DbKind, TestApp};

            async fn run($app: &TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                let name = concat!(module_path!(), "::sqlite");
                let app = TestApp::spawn_with(DbKind::Sqlite, name, $tweak).await.expect("sqlite");
                run(&app).await;
                app.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                let name = concat!(module_path!(), "::postgres");
                if let Some(app) = TestApp::spawn_with(DbKind::Postgres, name, $tweak).await {
                    run(&app).await;
                    app.finish().await;
                }
            }

            #[tokio::test]
            async fn mysql() {
                let name = concat!(module_path!(), "::mysql");
                if let Some(app) = TestApp::spawn_with(DbKind::Mysql, name, $tweak).await {
                    run(&app).await;
                    app.finish().await;
                }
            }
        }
    )+};
}

/// As the team's own backend asks (an internal key): `limited`/`qrcode` need a bearer;
/// anonymous callers have tests of their own (tests/api/abuse.rs).
pub async fn get_code(app: &TestApp, query: &str) -> (u16, Value) {
    let res = app
        .client
        .get(app.url(&format!("/api/qr_code?{query}")))
        .bearer_auth(INTERNAL_KEY)
        .send()
        .await
        .unwrap();
    envelope(res).await
}

pub async fn post_code(app: &TestApp, body: Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/api/qr_code"))
        .bearer_auth(INTERNAL_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    envelope(res).await
}

/// Upstream calls the simulator saw for one code API.
pub async fn calls(app: &TestApp, api: &str) -> u64 {
    app.sim_counters().await["calls"][api][TEST_APP_ID]
        .as_u64()
        .unwrap_or(0)
}

/// `/image/<file>` of a code's `url` (the URL's host is `server.public_url`).
pub fn image_path(data: &Value) -> String {
    let url = data["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:8080/image/"), "{url}");
    url.trim_start_matches("http://127.0.0.1:8080").to_owned()
}

/// Fetches a stored image: (content type, cache-control, bytes).
pub async fn fetch_image(app: &TestApp, data: &Value) -> (String, String, Vec<u8>) {
    let res = app.get(&image_path(data)).await;
    assert_eq!(res.status(), 200);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (ct, cc) = (header("content-type"), header("cache-control"));
    (ct, cc, res.bytes().await.unwrap().to_vec())
}

/// The text of the QR code in an image (transparent pixels count as white).
pub fn decode(bytes: &[u8]) -> String {
    let img = image::load_from_memory(bytes).unwrap().to_rgba8();
    let (w, h) = img.dimensions();
    let luma = |x: usize, y: usize| {
        let p = img.get_pixel(x as u32, y as u32).0;
        let a = u32::from(p[3]);
        let grey = (u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000;
        ((grey * a + 255 * (255 - a)) / 255) as u8
    };
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, luma);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code");
    grids[0].decode().unwrap().1
}

pub fn storage(app: &TestApp) -> PathBuf {
    app.context.settings.storage.dir.clone()
}

/// File names in a folder, sorted.
pub fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub async fn count_codes(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM codes")
        .fetch_one(app.context.db.pool())
        .await
        .unwrap();
    n
}

async fn quota_used(app: &TestApp) -> i64 {
    wxa_backend::store::codes::quota(&app.context.db, TEST_APP_ID)
        .await
        .unwrap()
        .0
}

on_every_database! {
    async fn an_unlimited_code_is_stored_served_for_a_year_and_decodes_to_its_page_and_scene(app: &TestApp) {
        let (status, body) = get_code(app, "scene=id%3D7%26x%3D1&page=pages/index/index").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["msg"], "小程序二维码返回成功");
        let data = &body["data"];
        let keys: Vec<&str> = data.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 6, "{data}");
        for key in ["id", "url", "kind", "width", "content_type", "cached"] {
            assert!(keys.contains(&key), "{key} in {data}");
        }
        assert_eq!((data["kind"].as_str(), data["width"].as_u64()), (Some("unlimited"), Some(430)));
        assert_eq!((data["content_type"].as_str(), data["cached"].as_bool()), (Some("image/jpeg"), Some(false)));
        let (ct, cache, bytes) = fetch_image(app, data).await;
        assert_eq!(ct, "image/jpeg");
        assert_eq!(cache, "public, max-age=31536000, immutable");
        assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
        assert_eq!(
            decode(&bytes),
            format!("https://sim.wxa/{TEST_APP_ID}/pages/index/index?scene=id=7&x=1")
        );
        // Named by a SHA-256, recorded with its size, hash and content type.
        let file = image_path(data).trim_start_matches("/image/").to_owned();
        let (hash, ext) = file.split_once('.').unwrap();
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) && ext == "jpg", "{file}");
        let row = wxa_backend::store::codes::find_by_hash(&app.context.db, hash).await.unwrap().unwrap();
        assert_eq!((row.id, row.size as usize), (data["id"].as_i64().unwrap(), bytes.len()));
        assert_eq!((row.app_id.as_str(), row.page.as_str(), row.scene.as_str()), (TEST_APP_ID, "pages/index/index", "id=7&x=1"));
        assert_eq!(files_in(&storage(app)), vec![file]);
        // Errors under /image are not marked cacheable.
        let missing = app.get("/image/0000.jpg").await;
        assert_eq!(missing.status(), 404);
        assert!(missing.headers().get("cache-control").is_none());
    }

    async fn a_repeat_from_query_json_or_form_is_answered_from_the_record_without_calling_wechat(app: &TestApp) {
        let (_, first) = get_code(app, "scene=a1&page=pages/index/index").await;
        // The same code, spelled with explicit defaults, in JSON and in a form.
        let (status, json_repeat) = post_code(app, json!({"scene": "a1", "page": "pages/index/index",
            "width": "430", "env_version": "release", "line_color": {"r": 0, "g": "0", "b": 0}})).await;
        assert_eq!(status, 200, "{json_repeat}");
        let form = app.client.post(app.url("/api/qr_code"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("scene=a1&page=pages%2Findex%2Findex&is_hyaline=0&kind=unlimited")
            .send().await.unwrap();
        let (_, form_repeat) = envelope(form).await;
        for repeat in [&json_repeat, &form_repeat] {
            assert_eq!(repeat["data"]["cached"], true, "{repeat}");
            assert_eq!(repeat["data"]["id"], first["data"]["id"]);
            assert_eq!(repeat["data"]["url"], first["data"]["url"]);
        }
        assert_eq!(calls(app, UNLIMIT).await, 1);
        // A restart answers from the database, still without a call.
        let (address, context, handle) = app.another_instance(|_| {}).await;
        let res = app.client.get(format!("{address}/api/qr_code?scene=a1&page=pages/index/index")).send().await.unwrap();
        let (_, after_restart) = envelope(res).await;
        assert_eq!(after_restart["data"]["cached"], true);
        assert_eq!(after_restart["data"]["id"], first["data"]["id"]);
        assert_eq!(calls(app, UNLIMIT).await, 1);
        handle.stop(true).await;
        context.db.close().await;
    }

    async fn twenty_identical_requests_at_the_same_moment_make_one_upstream_call(app: &TestApp) {
        app.sim_post("/__sim/faults", json!({"api": UNLIMIT, "delay_ms": 300})).await;
        let burst = (0..20).map(|_| get_code(app, "scene=burst"));
        let answers = futures_util::future::join_all(burst).await;
        assert!(answers.iter().all(|(s, b)| *s == 200 && b["data"]["id"] == answers[0].1["data"]["id"]));
        let fresh = answers.iter().filter(|(_, b)| b["data"]["cached"] == false).count();
        assert_eq!(fresh, 1, "one request made it, the others shared it");
        assert_eq!(calls(app, UNLIMIT).await, 1);
        assert_eq!(count_codes(app).await, 1);
    }

    async fn every_bad_parameter_is_a_400_naming_it_before_any_call(app: &TestApp) {
        let long_path = "p".repeat(1025);
        let wide_path = "页".repeat(43); // 129 bytes
        let cases: Vec<(Value, &str)> = vec![
            (json!({}), "scene"),
            (json!({"scene": "a".repeat(33)}), "scene"),
            (json!({"scene": "a%20b"}), "scene"),
            (json!({"scene": "中文"}), "scene"),
            (json!({"scene": "a b"}), "scene"),
            (json!({"scene": "x=scancode_time"}), "scene"),
            (json!({"query": "bad%"}), "query"),
            (json!({"scene": "a", "page": "/pages/index/index"}), "page"),
            (json!({"scene": "a", "page": "pages/index/index?x=1"}), "page"),
            (json!({"scene": "a", "page": "pages/a", "path": "pages/b"}), "path"),
            (json!({"scene": "a", "width": 279}), "width"),
            (json!({"scene": "a", "width": 1281}), "width"),
            (json!({"scene": "a", "width": "wide"}), "width"),
            (json!({"scene": "a", "env_version": "beta"}), "env_version"),
            (json!({"scene": "a", "line_color": {"r": 256, "g": 0, "b": 0}}), "line_color"),
            (json!({"scene": "a", "line_color": "red"}), "line_color"),
            (json!({"scene": "a", "is_hyaline": "maybe"}), "is_hyaline"),
            (json!({"scene": "a", "check_path": 2}), "check_path"),
            (json!({"scene": "a", "kind": "round"}), "kind"),
            (json!({"scene": "a", "format": "xml"}), "format"),
            (json!({"scene": "a", "app": "nope"}), "app"),
            (json!({"kind": "limited"}), "path"),
            (json!({"kind": "limited", "path": long_path}), "path"),
            (json!({"kind": "limited", "path": "pages/index/index", "scene": "a"}), "scene"),
            (json!({"kind": "limited", "path": "pages/index/index", "check_path": false}), "check_path"),
            (json!({"kind": "limited", "path": "pages/a?x=1", "query": "y=2"}), "query"),
            (json!({"kind": "qrcode", "path": wide_path}), "path"),
            (json!({"kind": "qrcode", "path": "pages/index/index", "is_hyaline": true}), "is_hyaline"),
            (json!({"kind": "qrcode", "path": "pages/index/index", "env_version": "trial"}), "env_version"),
            (json!({"kind": "qrcode", "path": "pages/index/index?scancode_time=1"}), "path"),
        ];
        for (input, field) in cases {
            let (status, body) = post_code(app, input.clone()).await;
            assert_eq!((status, body["code"].as_u64()), (400, Some(400)), "{input}: {body}");
            assert_eq!(body["data"]["field"], field, "{input}: {body}");
            assert!(body["msg"].as_str().unwrap().contains(field), "{input}: {body}");
        }
        assert_eq!(app.sim_counters().await["calls_total"], 0, "no call reached WeChat");
        assert_eq!(count_codes(app).await, 0);
    }

    async fn limited_and_qrcode_codes_carry_their_path_and_environment(app: &TestApp) {
        let (status, limited) = post_code(app, json!({"kind": "limited", "path": "pages/index/index",
            "query": "id=1", "env_version": "trial", "width": 300})).await;
        assert_eq!(status, 200, "{limited}");
        assert_eq!((limited["data"]["kind"].as_str(), limited["data"]["width"].as_u64()), (Some("limited"), Some(300)));
        let (_, _, bytes) = fetch_image(app, &limited["data"]).await;
        assert_eq!(decode(&bytes), format!("https://sim.wxa/{TEST_APP_ID}/pages/index/index?id=1#env_version=trial"));
        assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 300);

        let (status, qrcode) = get_code(app, "kind=qrcode&path=pages/index/index%3Ffrom%3Dposter").await;
        assert_eq!(status, 200, "{qrcode}");
        let (_, _, bytes) = fetch_image(app, &qrcode["data"]).await;
        assert_eq!(decode(&bytes), format!("https://sim.wxa/{TEST_APP_ID}/pages/index/index?from=poster"));
        assert_eq!((calls(app, LIMITED).await, calls(app, QRCODE).await), (1, 1));
        assert_ne!(limited["data"]["id"], qrcode["data"]["id"]);
    }

    async fn a_transparent_code_is_a_png_with_its_colour(app: &TestApp) {
        let (status, body) = post_code(app, json!({"scene": "glass", "is_hyaline": true,
            "line_color": "#0080ff"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["content_type"], "image/png");
        assert!(body["data"]["url"].as_str().unwrap().ends_with(".png"));
        let (ct, _, bytes) = fetch_image(app, &body["data"]).await;
        assert_eq!(ct, "image/png");
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        let img = image::load_from_memory(&bytes).unwrap().to_rgba8();
        assert!(img.pixels().any(|p| p.0 == [0, 128, 255, 255]), "modules drawn in the colour");
        assert!(img.pixels().any(|p| p.0[3] == 0), "a transparent background");
    }

    async fn a_wechat_error_is_a_5000_with_its_errcode_and_nothing_is_written(app: &TestApp) {
        let (status, body) = get_code(app, "scene=a&page=pages/not/published").await;
        assert_eq!((status, body["code"].as_u64()), (502, Some(5000)), "{body}");
        assert_eq!(body["data"]["errcode"], 41030);
        assert!(body["data"]["errmsg"].as_str().unwrap().contains("rid:"));
        assert_eq!(count_codes(app).await, 0);
        assert!(files_in(&storage(app)).is_empty());
        assert!(files_in(&storage(app).join(".tmp")).is_empty());
        // check_path=false allows a page that is not published yet.
        let (status, body) = get_code(app, "scene=a&page=pages/not/published&check_path=false").await;
        assert_eq!(status, 200, "{body}");
        // A minute limit from WeChat is a 429 carrying its errcode.
        app.client.put(app.sim_url("/__sim/limits")).json(&json!({"unlimited_per_minute": 1}))
            .send().await.unwrap();
        let (status, body) = get_code(app, "scene=b").await;
        assert_eq!((status, body["code"].as_u64()), (429, Some(429)), "{body}");
        assert_eq!(body["data"]["errcode"], 45011);
        assert_eq!(count_codes(app).await, 1);
    }

    async fn format_base64_returns_the_stored_image_inline(app: &TestApp) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        for cached in [false, true] {
            let (status, body) = get_code(app, "scene=inline&format=base64").await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"]["cached"], cached);
            let inline = b64.decode(body["data"]["base64"].as_str().unwrap()).unwrap();
            let (_, _, served) = fetch_image(app, &body["data"]).await;
            assert_eq!(inline, served);
        }
        let (_, plain) = get_code(app, "scene=inline").await;
        assert!(plain["data"].get("base64").is_none());
        assert_eq!(calls(app, UNLIMIT).await, 1);
    }

    async fn a_deleted_image_is_made_again_under_the_same_record(app: &TestApp) {
        let (_, first) = get_code(app, "scene=gone").await;
        let file = image_path(&first["data"]).trim_start_matches("/image/").to_owned();
        std::fs::remove_file(storage(app).join(&file)).unwrap();
        let (address, context, handle) = app.another_instance(|_| {}).await;
        let res = app.client.get(format!("{address}/api/qr_code?scene=gone")).send().await.unwrap();
        let (status, again) = envelope(res).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["data"]["id"], first["data"]["id"]);
        assert!(storage(app).join(&file).is_file());
        assert_eq!((calls(app, UNLIMIT).await, count_codes(app).await), (2, 1));
        handle.stop(true).await;
        context.db.close().await;
    }

    async fn the_route_takes_get_and_post_is_documented_and_refuses_other_methods(app: &TestApp) {
        let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
        let route = &doc["paths"]["/api/qr_code"];
        assert!(route["get"].is_object() && route["post"].is_object(), "{route}");
        let res = app.client.put(app.url("/api/qr_code?scene=a")).send().await.unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!((status, body["code"].as_u64()), (405, Some(405)));
    }

    async fn two_instances_making_the_same_limited_code_at_once_keep_one_record_and_one_quota_unit(app: &TestApp) {
        app.sim_post("/__sim/faults", json!({"api": LIMITED, "delay_ms": 300})).await;
        let (address, context, handle) = app.another_instance(|_| {}).await;
        let other = app
            .client
            .get(format!("{address}/api/qr_code?kind=limited&path=pages/index/index"))
            .bearer_auth(INTERNAL_KEY);
        let (a, b) = tokio::join!(get_code(app, "kind=limited&path=pages/index/index"), async {
            envelope(other.send().await.unwrap()).await
        });
        assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
        assert_eq!(a.1["data"]["id"], b.1["data"]["id"]);
        assert_eq!(count_codes(app).await, 1);
        assert_eq!(quota_used(app).await, 1);
        handle.stop(true).await;
        context.db.close().await;
    }
}

fn quota_of_two(s: &mut Settings) {
    s.codes.limited_quota = 2;
}

with_settings! {
    quota_of_two;

    async fn limited_and_qrcode_share_the_quota_refused_with_429_before_any_call(app: &TestApp) {
        assert_eq!(get_code(app, "kind=limited&path=pages/index/index?n=1").await.0, 200);
        // Repeats and refused calls do not count.
        assert_eq!(get_code(app, "kind=limited&path=pages/index/index?n=1").await.0, 200);
        app.sim_post("/__sim/faults", json!({"api": QRCODE, "busy": 1, "times": 3})).await;
        let (status, busy) = get_code(app, "kind=qrcode&path=pages/index/index").await;
        assert_eq!((status, busy["data"]["errcode"].as_i64()), (502, Some(-1)), "{busy}");
        assert_eq!(quota_used(app).await, 1);
        assert_eq!(get_code(app, "kind=qrcode&path=pages/index/index").await.0, 200);
        assert_eq!(quota_used(app).await, 2);

        let before = calls(app, LIMITED).await;
        let (status, body) = get_code(app, "kind=limited&path=pages/index/index?n=3").await;
        assert_eq!((status, body["code"].as_u64()), (429, Some(429)), "{body}");
        assert_eq!(body["data"], Value::Null);
        assert_eq!(calls(app, LIMITED).await, before, "refused before calling WeChat");
        // Stored codes are still served; unlimited codes are not counted.
        let (status, old) = get_code(app, "kind=limited&path=pages/index/index?n=1").await;
        assert_eq!((status, old["data"]["cached"].as_bool()), (200, Some(true)));
        assert_eq!(get_code(app, "scene=free").await.0, 200);
        assert_eq!(quota_used(app).await, 2);
    }
}

fn plenty_of_quota(s: &mut Settings) {
    s.codes.limited_quota = 1000;
}

with_settings! {
    plenty_of_quota;

    async fn wechats_45029_is_a_429_and_is_remembered(app: &TestApp) {
        assert_eq!(get_code(app, "kind=limited&path=pages/index/index").await.0, 200);
        app.sim_post("/__sim/quota", json!({"codes_used": 100_000})).await;
        let (status, body) = get_code(app, "kind=qrcode&path=pages/index/index?q=1").await;
        assert_eq!((status, body["data"]["errcode"].as_i64()), (429, Some(45029)), "{body}");
        assert_eq!(quota_used(app).await, 1);
        // Known now: the next new code is refused without asking WeChat.
        let before = calls(app, LIMITED).await;
        let (status, body) = get_code(app, "kind=limited&path=pages/index/index?x=2").await;
        assert_eq!(status, 429, "{body}");
        assert!(body["msg"].as_str().unwrap().contains("45029"), "{body}");
        assert_eq!(calls(app, LIMITED).await, before);
        assert_eq!(get_code(app, "kind=limited&path=pages/index/index").await.0, 200);
    }
}

fn one_per_second_and_a_short_budget(s: &mut Settings) {
    s.codes.unlimited_per_minute = 60;
    s.wechat.timeout_ms = 1500;
}

with_settings! {
    one_per_second_and_a_short_budget;

    async fn unlimited_codes_wait_for_their_pace_within_the_budget_then_get_429(app: &TestApp) {
        app.client.put(app.sim_url("/__sim/limits")).json(&json!({"unlimited_per_minute": 60}))
            .send().await.unwrap();
        let started = Instant::now();
        let timed = |scene: &'static str| async move {
            let answer = get_code(app, &format!("scene={scene}")).await;
            (answer, started.elapsed())
        };
        let (first, second, third) = tokio::join!(timed("p1"), timed("p2"), timed("p3"));
        let mut answers = [first, second, third];
        answers.sort_by_key(|(_, took)| *took);
        let [(a, _), (b, b_took), (c, c_took)] = &answers;
        // Two are made, one second apart; the third would wait two seconds: refused at once.
        let mut statuses = [a.0, b.0, c.0];
        statuses.sort();
        assert_eq!(statuses, [200, 200, 429], "{answers:?}");
        let refused = answers.iter().find(|((s, _), _)| *s == 429).unwrap();
        // Refused at once, not after waiting out the 1.5 s budget.
        assert!(refused.1 < Duration::from_millis(1400), "{refused:?}");
        assert!(refused.0.1["msg"].as_str().unwrap().contains("60"), "{refused:?}");
        assert!(*b_took >= Duration::from_millis(1000) || *c_took >= Duration::from_millis(1000), "{answers:?}");
        assert!(app.sim_counters().await["errors"].get("45011").is_none());
        assert_eq!(calls(app, UNLIMIT).await, 2);
    }
}

#[tokio::test]
async fn two_instances_sharing_redis_keep_one_pace_per_app() {
    let test = "codes::two_instances_sharing_redis_keep_one_pace_per_app";
    let Some(redis_url) = crate::helpers::test_url("TEST_REDIS_URL") else {
        crate::helpers::say_skipped(test, "TEST_REDIS_URL is not set");
        return;
    };
    let prefix = format!("wxa-test-{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(crate::helpers::DbKind::Sqlite, test, |s| {
        one_per_second_and_a_short_budget(s);
        s.wechat.timeout_ms = 300;
        s.redis.url = redis_url.into();
        s.redis.key_prefix = prefix;
    })
    .await
    .unwrap();
    let (peer, context, handle) = app.another_instance(|_| {}).await;
    assert_eq!(get_code(&app, "scene=r1").await.0, 200);
    // The peer's next slot is about a second away, past its 300 ms budget: refused at once.
    let res = app
        .client
        .get(format!("{peer}/api/qr_code?scene=r2"))
        .send()
        .await
        .unwrap();
    let (status, body) = envelope(res).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(calls(&app, UNLIMIT).await, 1);
    handle.stop(true).await;
    context.db.close().await;
    app.finish().await;
}
