//! Readiness, metrics, OpenAPI, static files, migrations.

use crate::helpers::{DbKind, TestApp, envelope};
use crate::on_every_database;

on_every_database! {
    async fn readyz_reports_the_database_and_503_when_it_is_gone(app: &TestApp) {
        let (status, body) = envelope(app.get("/readyz").await).await;
        assert_eq!(status, 200);
        assert!(matches!(body["data"]["database"].as_str(), Some("sqlite" | "postgres" | "mysql")));
        app.context.db.close().await;
        let (status, body) = envelope(app.get("/readyz").await).await;
        assert_eq!((status, body["code"].as_u64()), (503, Some(503)));
        let msg = body["msg"].as_str().unwrap();
        assert!(!msg.contains("pool") && !msg.contains("sqlx"), "no internals: {msg}");
    }

    async fn metrics_count_requests_by_route_and_status(app: &TestApp) {
        app.get("/healthz").await;
        app.get("/healthz").await;
        app.get("/no/such/route").await;
        let res = app.get("/metrics").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().contains("text"));
        let text = res.text().await.unwrap();
        assert!(
            text.contains(r#"wxa_http_requests_total{method="GET",route="/healthz",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"status="404""#), "{text}");
        assert!(text.contains("wxa_http_request_duration_seconds_bucket"), "{text}");
    }

    async fn invented_methods_and_paths_add_no_metric_series(app: &TestApp) {
        let send = |method: String, path: &'static str| {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            app.client.request(method, app.url(path)).send()
        };
        let paths = ["/healthz", "/api/qr_code", "/no/such/route"];
        for path in paths {
            send("INVENTED".into(), path).await.unwrap();
        }
        app.get("/metrics").await;
        let before = series(&app.get("/metrics").await.text().await.unwrap());
        for i in 0..1000 {
            // Some long: a label per method once grew /metrics to hundreds of MB.
            let method = if i % 10 == 0 { format!("M{i}{}", "X".repeat(2000)) } else { format!("M{i}") };
            send(method, paths[i % paths.len()]).await.unwrap();
        }
        let text = app.get("/metrics").await.text().await.unwrap();
        assert_eq!(series(&text), before, "no new series");
        assert!(text.contains(r#"method="OTHER",route="/healthz""#), "{text}");
        assert!(!text.contains("M999"), "{text}");
    }

    async fn migrations_are_applied_at_start(app: &TestApp) {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(app.context.db.pool())
            .await
            .unwrap();
        let dialect = app.context.db.backend().name();
        let folder = format!("{}/migrations/{dialect}", env!("CARGO_MANIFEST_DIR"));
        let files = std::fs::read_dir(folder).unwrap().count() as i64;
        assert_eq!(applied, files);
        let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens")
            .fetch_one(app.context.db.pool())
            .await
            .unwrap();
        assert_eq!(tokens, 0);
    }

    async fn openapi_document_and_docs_page_are_served(app: &TestApp) {
        let doc: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
        for path in ["/healthz", "/readyz", "/metrics"] {
            assert!(doc["paths"][path]["get"].is_object(), "{path} documented");
        }
        let page = app.get("/docs/").await;
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().to_lowercase().contains("swagger"));
    }

    async fn public_files_and_stored_images_are_served(app: &TestApp) {
        let index = app.get("/").await;
        assert_eq!(index.status(), 200);
        assert!(index.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
        std::fs::write(app.context.settings.storage.dir.join("abc.png"), png).unwrap();
        let res = app.get("/image/abc.png").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/png");
        assert_eq!(res.bytes().await.unwrap().as_ref(), png);
        let (status, _) = envelope(app.get("/image/.tmp/").await).await;
        assert_eq!(status, 404, "half-written images are never served");
        // Only images: whatever else the folder holds is not served.
        std::fs::write(app.context.settings.storage.dir.join("notes.txt"), b"private").unwrap();
        std::fs::write(app.context.settings.storage.dir.join("abc.png.tmp"), png).unwrap();
        for path in ["/image/notes.txt", "/image/abc.png.tmp"] {
            let (status, _) = envelope(app.get(path).await).await;
            assert_eq!(status, 404, "{path}");
        }
    }
}

#[tokio::test]
async fn the_sqlite_file_and_its_folder_are_created_on_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("deep/er/app.db");
    let url = format!("sqlite://{}?mode=rwc", db_path.display());
    let app = TestApp::spawn_with(DbKind::Sqlite, "sqlite_file", |s| {
        s.database.url = url.into();
    })
    .await
    .unwrap();
    assert!(db_path.is_file());
    app.finish().await;
}

/// Every `/api/` operation that answers a bad `appid=` with a 400 naming `appid` takes
/// it, so the document must say so: as a query parameter or a body property.
#[tokio::test]
async fn every_route_that_takes_appid_documents_it() {
    let app = TestApp::spawn(DbKind::Sqlite, "appid_documented")
        .await
        .unwrap();
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut taking = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let url = app.url(&format!("{path}?appid=wx_not_an_appid"));
            let res = app
                .client
                .request(method.clone(), url)
                .send()
                .await
                .unwrap();
            let (status, body) = envelope(res).await;
            if status == 400 && body["data"]["field"] == "appid" {
                assert!(
                    documents_appid(&doc, operation),
                    "{method} {path} takes appid but does not document it"
                );
                taking.push(format!("{method} {path}"));
            }
        }
    }
    // qr_code, scheme_code, url_link and short_link on GET and POST, nfc_scheme, login.
    assert_eq!(taking.len(), 10, "{taking:?}");
    app.finish().await;
}

fn documents_appid(doc: &serde_json::Value, operation: &serde_json::Value) -> bool {
    let in_query = operation["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["name"] == "appid"));
    let mut schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        schema = &doc["components"]["schemas"][name];
    }
    in_query || schema["properties"]["appid"].is_object()
}

/// The series of a scrape: every sample line without its value.
fn series(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' ').map(|(name, _)| name.to_owned()))
        .collect()
}
