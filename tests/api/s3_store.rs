//! `storage.backend = "s3"` against a real S3-compatible server (s3s-fs): codes are
//! objects in the bucket, served by any instance with the headers of files, handed out
//! under `public_base_url` when set, and a store that is down is a quick 503 that leaves
//! nothing half-recorded while cached answers go on.

use std::time::{Duration, Instant};

use serde_json::Value;
use wxa_backend::config::Settings;

use crate::codes::{UNLIMIT, calls, count_codes, files_in, get_code, image_path, storage};
use crate::helpers::{DbKind, TestApp, envelope};
use crate::s3_server::S3Server;

const PREFIX: &str = "wxa/";

/// An app on `kind` whose images go to `s3`'s bucket under `wxa/`.
async fn spawn(
    kind: DbKind,
    test: &str,
    s3: &S3Server,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    TestApp::spawn_with(kind, test, |s| {
        s3.configure(s, PREFIX);
        tweak(s);
    })
    .await
}

fn file_of(data: &Value) -> String {
    image_path(data).trim_start_matches("/image/").to_owned()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn request(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_code_made_with_the_s3_backend_is_an_object_served_byte_for_byte_with_etag_range_and_304()
{
    let test = "s3_store::served_from_the_bucket";
    let Some(s3) = S3Server::start(test).await else {
        return;
    };
    let app = spawn(DbKind::Sqlite, test, &s3, |_| {}).await.unwrap();
    let (status, body) = get_code(&app, "scene=s3a&page=pages/index/index").await;
    assert_eq!(status, 200, "{body}");
    let file = file_of(&body["data"]);
    let object = s3
        .object(&format!("{PREFIX}{file}"))
        .expect("an object in the bucket");
    assert!(object.starts_with(&[0xFF, 0xD8, 0xFF]) && object.ends_with(&[0xFF, 0xD9]));
    assert!(
        files_in(&storage(&app)).is_empty(),
        "nothing on the local disk"
    );

    let path = format!("/image/{file}");
    let full = request(&app, &path, &[]).await;
    assert_eq!(full.status(), 200);
    assert_eq!(header(&full, "content-type"), "image/jpeg");
    assert_eq!(
        header(&full, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&full, "accept-ranges"), "bytes");
    let modified = header(&full, "last-modified");
    assert!(!modified.is_empty());
    let etag = header(&full, "etag");
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");
    assert_eq!(
        full.bytes().await.unwrap().as_ref(),
        object,
        "byte for byte"
    );

    let part = request(&app, &path, &[("range", "bytes=2-11")]).await;
    assert_eq!(part.status(), 206);
    assert_eq!(
        header(&part, "content-range"),
        format!("bytes 2-11/{}", object.len())
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &object[2..12]);
    let tail = request(&app, &path, &[("range", "bytes=-4")]).await;
    assert_eq!(tail.status(), 206);
    assert_eq!(
        tail.bytes().await.unwrap().as_ref(),
        &object[object.len() - 4..]
    );
    // As for files: an unsatisfiable range is an error, and every error an envelope.
    let beyond = request(&app, &path, &[("range", "bytes=99999999-")]).await;
    let (status, body) = envelope(beyond).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(400)), "{body}");

    let again = request(&app, &path, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    let changed = request(&app, &path, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(changed.status(), 200);
    let since = request(&app, &path, &[("if-modified-since", &modified)]).await;
    assert_eq!(since.status(), 304);

    let head = app.client.head(app.url(&path)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-length"), object.len().to_string());
    assert_eq!(header(&head, "etag"), etag);
    assert!(head.bytes().await.unwrap().is_empty());

    // Only plain image names: unknown, hidden, temp and non-image objects are 404s.
    std::fs::write(
        s3.object_path(&format!("{PREFIX}notes.txt")),
        b"not an image",
    )
    .unwrap();
    std::fs::write(s3.object_path(&format!("{PREFIX}x.jpg.tmp")), &object).unwrap();
    let unknown = format!("/image/{}.jpg", "0".repeat(64));
    for path in [
        unknown.as_str(),
        "/image/notes.txt",
        "/image/x.jpg.tmp",
        "/image/.ping",
    ] {
        let res = app.get(path).await;
        assert!(res.headers().get("cache-control").is_none(), "{path}");
        let (status, body) = envelope(res).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (404, Some(404)),
            "{path}: {body}"
        );
    }
    let res = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 405);

    // format=base64 reads the same object back.
    let (_, inline) = get_code(&app, "scene=s3a&page=pages/index/index&format=base64").await;
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(inline["data"]["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, object);
    let (status, ready) = envelope(app.get("/readyz").await).await;
    assert_eq!(
        (status, ready["data"]["storage"].as_str()),
        (200, Some("s3")),
        "{ready}"
    );
    assert_eq!(calls(&app, UNLIMIT).await, 1);
    app.finish().await;
}

#[tokio::test]
async fn a_code_made_on_one_instance_is_served_and_answered_by_another_without_a_wechat_call() {
    let test = "s3_store::two_instances";
    let Some(s3) = S3Server::start(test).await else {
        return;
    };
    // Two machines: one PostgreSQL database, one bucket, each its own local folder.
    let Some(a) = spawn(DbKind::Postgres, test, &s3, |_| {}).await else {
        return;
    };
    let other_dir = tempfile::tempdir().unwrap();
    let (b, b_context, b_handle) = a
        .another_instance(|s| s.storage.dir = other_dir.path().join("image"))
        .await;
    let (status, made) = get_code(&a, "kind=limited&path=pages/index/index%3Fshop%3D7").await;
    assert_eq!(status, 200, "{made}");
    let file = file_of(&made["data"]);
    let on_a = a
        .get(&format!("/image/{file}"))
        .await
        .bytes()
        .await
        .unwrap();

    let on_b = a
        .client
        .get(format!("{b}/image/{file}"))
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.status(), 200);
    assert_eq!(
        on_b.bytes().await.unwrap(),
        on_a,
        "B serves A's code byte for byte"
    );
    let res = a
        .client
        .get(format!(
            "{b}/api/qr_code?kind=limited&path=pages/index/index%3Fshop%3D7"
        ))
        .send()
        .await
        .unwrap();
    let (status, answered) = envelope(res).await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["data"]["cached"], true);
    assert_eq!(answered["data"]["id"], made["data"]["id"]);
    assert_eq!(answered["data"]["url"], made["data"]["url"]);
    assert_eq!(
        calls(&a, crate::codes::LIMITED).await,
        1,
        "one WeChat call in all"
    );
    assert_eq!(s3.keys(PREFIX), vec![format!("{PREFIX}{file}")]);
    assert!(files_in(&other_dir.path().join("image")).is_empty());
    b_handle.stop(true).await;
    b_context.db.close().await;
    a.finish().await;
}

#[tokio::test]
async fn with_public_base_url_codes_are_handed_out_at_the_cdn() {
    let test = "s3_store::public_base_url";
    let Some(s3) = S3Server::start(test).await else {
        return;
    };
    let app = spawn(DbKind::Sqlite, test, &s3, |s| {
        s.storage.public_base_url = "https://cdn.example.com/codes/".into();
    })
    .await
    .unwrap();
    let (status, body) = get_code(&app, "scene=cdn").await;
    assert_eq!(status, 200, "{body}");
    let url = body["data"]["url"].as_str().unwrap();
    let file = url
        .strip_prefix("https://cdn.example.com/codes/")
        .expect(url);
    assert!(s3.object(&format!("{PREFIX}{file}")).is_some());
    let (_, repeat) = get_code(&app, "scene=cdn").await;
    assert_eq!(
        (
            repeat["data"]["cached"].as_bool(),
            repeat["data"]["url"].as_str()
        ),
        (Some(true), Some(url))
    );
    // The admin API hands out the same URL; /image/ still serves the code too.
    let admin = crate::admin::Admin::start(&app).await;
    let (_, listed) = admin.get("/admin/codes").await;
    assert_eq!(listed["data"]["items"][0]["url"], url, "{listed}");
    admin.stop().await;
    assert_eq!(app.get(&format!("/image/{file}")).await.status(), 200);
    app.finish().await;
}

#[tokio::test]
async fn a_store_that_is_down_is_a_503_with_retry_after_within_2_s_and_cached_answers_go_on() {
    let test = "s3_store::store_down";
    let Some(mut s3) = S3Server::start(test).await else {
        return;
    };
    let app = spawn(DbKind::Sqlite, test, &s3, |_| {}).await.unwrap();
    let (_, before) = get_code(&app, "scene=up").await;
    let served = app.get(&image_path(&before["data"])).await;
    assert_eq!(served.status(), 200);
    let bytes = served.bytes().await.unwrap();

    // Refused connections (killed) and a server that never answers (frozen).
    for outage in ["stopped", "frozen"] {
        if outage == "stopped" {
            s3.stop();
        } else {
            s3.restart().await;
            s3.freeze(true);
        }
        let started = Instant::now();
        let res = app.get(&format!("/api/qr_code?scene=down-{outage}")).await;
        let took = started.elapsed();
        let retry: u64 = header(&res, "retry-after").parse().unwrap();
        assert!((1..=5).contains(&retry), "{outage}: {retry}");
        let (status, body) = envelope(res).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (503, Some(503)),
            "{outage}: {body}"
        );
        assert!(body["msg"].as_str().unwrap().contains("存储"), "{body}");
        assert!(
            took < Duration::from_secs(2),
            "{outage}: 503 after {took:?}"
        );
        assert_eq!(count_codes(&app).await, 1, "{outage}: no row written");
        assert_eq!(calls(&app, UNLIMIT).await, 1, "{outage}: WeChat not asked");

        // What is cached still answers: the code and its image.
        let (status, repeat) = get_code(&app, "scene=up").await;
        assert_eq!(
            (status, repeat["data"]["cached"].as_bool()),
            (200, Some(true)),
            "{repeat}"
        );
        let again = app.get(&image_path(&before["data"])).await;
        assert_eq!(again.status(), 200, "{outage}");
        assert_eq!(again.bytes().await.unwrap(), bytes);
        // An instance that never answered it has its record: answered from that.
        let (peer, peer_context, peer_handle) = app.another_instance(|_| {}).await;
        let res = app
            .client
            .get(format!("{peer}/api/qr_code?scene=up"))
            .send()
            .await
            .unwrap();
        let (status, from_record) = envelope(res).await;
        assert_eq!(status, 200, "{outage}: {from_record}");
        assert_eq!(from_record["data"]["id"], before["data"]["id"]);
        peer_handle.stop(true).await;
        peer_context.db.close().await;
        // An image this instance never read needs the store.
        let started = Instant::now();
        let res = app.get(&format!("/image/{}.jpg", "1".repeat(64))).await;
        assert_eq!(
            (res.status().as_u16(), header(&res, "retry-after")),
            (503, "2".into())
        );
        let res = app.get("/readyz").await;
        assert_eq!(res.status(), 503, "{outage}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{outage}: two answers within 2 s each"
        );
        if outage == "frozen" {
            s3.freeze(false);
        }
    }

    // Back: the same instance rejoins without a restart.
    s3.restart().await;
    let (status, body) = get_code(&app, "scene=down-stopped").await;
    assert_eq!(
        (status, body["data"]["cached"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    assert!(
        s3.object(&format!("{PREFIX}{}", file_of(&body["data"])))
            .is_some()
    );
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.finish().await;
}
