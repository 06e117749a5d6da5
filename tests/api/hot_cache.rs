//! The hot cache (`codes.hot_cache_mb`): repeated `format=base64` answers and `/image/`
//! files from memory, byte for byte what the store holds, never an image made since.

use base64::Engine;
use serde_json::{Value, json};

use crate::codes::{UNLIMIT, calls, image_path, storage};
use crate::helpers::{DbKind, TestApp};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn spawn(test: &str, hot_cache_mb: u64) -> TestApp {
    TestApp::spawn_with(DbKind::Sqlite, test, move |s| {
        s.codes.hot_cache_mb = hot_cache_mb
    })
    .await
    .expect("sqlite always runs")
}

/// `format=base64` for `scene`: the raw body, the envelope and the decoded image.
async fn inline(app: &TestApp, base: &str, scene: &str) -> (Vec<u8>, Value, Vec<u8>) {
    let res = app
        .client
        .get(format!("{base}/api/qr_code?scene={scene}&format=base64"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let raw = res.bytes().await.unwrap().to_vec();
    let body: Value = serde_json::from_slice(&raw).unwrap();
    let image = B64
        .decode(body["data"]["base64"].as_str().unwrap())
        .unwrap();
    (raw, body, image)
}

async fn hot_hits(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find(|l| l.contains("cache=\"hot\"") && l.contains("result=\"hit\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

fn on_disk(app: &TestApp, body: &Value) -> Vec<u8> {
    let file = image_path(&body["data"]);
    std::fs::read(storage(app).join(file.trim_start_matches("/image/"))).unwrap()
}

#[tokio::test]
async fn repeats_are_answered_from_memory_byte_identical_to_the_stored_image() {
    let app = spawn("hot_cache::byte_identical", 32).await;
    let base = app.url("");
    let (_, first, image) = inline(&app, &base, "hot").await;
    assert_eq!(first["data"]["cached"], false);
    let (raw, repeat, again) = inline(&app, &base, "hot").await;
    assert_eq!(repeat["data"]["cached"], true);
    let before = hot_hits(&app).await;
    let (hot_raw, hot, from_memory) = inline(&app, &base, "hot").await;
    assert_eq!(
        hot_hits(&app).await,
        before + 1,
        "the third answer is a hot hit"
    );
    assert_eq!(
        hot_raw, raw,
        "the same bytes as the answer built from the store"
    );
    assert_eq!((&image, &again, &from_memory), (&image, &image, &image));
    assert_eq!(from_memory, on_disk(&app, &hot));
    // The envelope's fields in the serializer's order, the base64 field last.
    let text = String::from_utf8(hot_raw).unwrap();
    assert!(
        text.starts_with(r#"{"code":200,"msg":"小程序二维码返回成功","data":{"id":"#),
        "{text:.80}"
    );
    assert!(text.contains(r#","cached":true,"base64":""#), "{text:.200}");
    assert!(text.ends_with(r#""}}"#));
    assert_eq!(calls(&app, UNLIMIT).await, 1);
    app.finish().await;
}

#[tokio::test]
async fn a_remade_code_is_never_answered_from_the_old_image() {
    let app = spawn("hot_cache::remade", 32).await;
    let base = app.url("");
    let pad = |n: usize| {
        app.client
            .put(app.sim_url("/__sim/limits"))
            .json(&json!({"image_pad_bytes": n}))
    };
    for _ in 0..3 {
        inline(&app, &base, "stale").await;
    }
    let (_, body, old) = inline(&app, &base, "stale").await;
    let file = storage(&app).join(image_path(&body["data"]).trim_start_matches("/image/"));

    // Deleted, then remade here (the simulator now answers a longer image).
    std::fs::remove_file(&file).unwrap();
    pad(3000).send().await.unwrap();
    let (_, remade, new) = inline(&app, &base, "stale").await;
    assert_eq!(remade["data"]["cached"], false);
    assert_eq!(
        (new.len(), remade["data"]["id"].clone()),
        (old.len() + 3000, body["data"]["id"].clone())
    );
    for _ in 0..2 {
        let (_, repeat, image) = inline(&app, &base, "stale").await;
        assert_eq!(
            (repeat["data"]["cached"].as_bool(), &image),
            (Some(true), &new)
        );
    }
    let served = app
        .get(&image_path(&body["data"]))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.to_vec(), new);

    // Deleted, then remade by another instance: this one notices the new file.
    std::fs::remove_file(&file).unwrap();
    pad(6000).send().await.unwrap();
    let (peer, context, handle) = app.another_instance(|_| {}).await;
    let (_, by_peer, newest) = inline(&app, &peer, "stale").await;
    assert_eq!(by_peer["data"]["cached"], false);
    assert_eq!(newest.len(), old.len() + 6000);
    let (_, here, image) = inline(&app, &base, "stale").await;
    assert_eq!(
        (here["data"]["cached"].as_bool(), &image),
        (Some(true), &newest)
    );
    let served = app
        .get(&image_path(&body["data"]))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.to_vec(), newest);
    assert_eq!(calls(&app, UNLIMIT).await, 3);
    handle.stop(true).await;
    context.db.close().await;
    app.finish().await;
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn image_request(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// With the cache off, actix-files serves the folder; with it on, memory does, with the
/// same headers, ranges and 304s.
#[tokio::test]
async fn zero_turns_it_off_and_images_keep_their_headers_either_way() {
    let app = spawn("hot_cache::off", 0).await;
    let base = app.url("");
    let (_, first, image) = inline(&app, &base, "cold").await;
    for _ in 0..2 {
        let (_, repeat, again) = inline(&app, &base, "cold").await;
        assert_eq!(
            (repeat["data"]["cached"].as_bool(), &again),
            (Some(true), &image)
        );
    }
    assert_eq!(hot_hits(&app).await, 0);
    let path = image_path(&first["data"]);
    let (peer, context, handle) = app.another_instance(|s| s.codes.hot_cache_mb = 8).await;
    let (files, memory) = (app.url(&path), format!("{peer}{path}"));
    let mut etag = String::new();
    for _ in 0..2 {
        let (a, b) = (
            image_request(&app, &files, &[]).await,
            image_request(&app, &memory, &[]).await,
        );
        assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
        for name in [
            "content-type",
            "etag",
            "last-modified",
            "cache-control",
            "accept-ranges",
            "content-disposition",
            "content-length",
        ] {
            assert_eq!(header(&a, name), header(&b, name), "{name}");
            assert!(!header(&b, name).is_empty(), "{name}");
        }
        etag = header(&b, "etag");
        assert_eq!(b.bytes().await.unwrap().to_vec(), image);
    }
    let part = image_request(&app, &memory, &[("range", "bytes=2-11")]).await;
    assert_eq!(
        (part.status().as_u16(), header(&part, "content-range")),
        (206, format!("bytes 2-11/{}", image.len()))
    );
    assert_eq!(part.bytes().await.unwrap().to_vec(), image[2..12].to_vec());
    let again = image_request(&app, &memory, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    let missing = image_request(&app, &format!("{peer}/image/0000.jpg"), &[]).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get("cache-control").is_none());
    handle.stop(true).await;
    context.db.close().await;
    app.finish().await;
}
