//! `GET /admin/codes` and `/admin/codes/{id}`: order, absolute URLs, every filter, paging.

use serde_json::Value;

use super::{Admin, Seed, assert_invalid, seed_code};
use crate::helpers::TEST_APP_ID;
use crate::on_every_database;

const OTHER_APP: &str = "wx9999999999999999";

fn ids(body: &Value) -> Vec<i64> {
    body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

on_every_database! {
    async fn codes_are_listed_newest_first_with_absolute_urls_and_every_filter_applies(app: &TestApp) {
        let admin = Admin::start(app).await;
        let ctx = &admin.context;
        let a = seed_code(ctx, Seed { scene: "u=1", created_at: 1_700_000_100, ..Seed::default() }).await;
        let b = seed_code(ctx, Seed { kind: "limited", page: "pages/shop/detail", created_at: 1_700_000_300, ..Seed::default() }).await;
        let c = seed_code(ctx, Seed { kind: "qrcode", page: "pages/shop/list?id=3", created_at: 1_700_000_200, ..Seed::default() }).await;
        let d = seed_code(ctx, Seed { app_id: OTHER_APP, scene: "u=2", created_at: 1_700_000_400, ..Seed::default() }).await;
        // Same second as `a`: the later id comes first.
        let e = seed_code(ctx, Seed { scene: "u=3", created_at: 1_700_000_100, ..Seed::default() }).await;

        let (status, body) = admin.get("/admin/codes").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ids(&body), vec![d, b, c, e, a]);
        let data = &body["data"];
        assert_eq!((data["total"].as_i64(), data["page"].as_i64(), data["per_page"].as_i64()), (Some(5), Some(1), Some(20)));
        let first = &data["items"][0];
        let (file,): (String,) = ctx.db.query("SELECT file FROM codes WHERE id = $1")
            .bind(d).fetch_one(ctx.db.pool()).await.unwrap();
        let base = ctx.settings.server.public_url.trim_end_matches('/');
        assert_eq!(first["url"], format!("{base}/image/{file}"));
        assert!(first["url"].as_str().unwrap().starts_with("http"), "{first}");
        assert_eq!((first["app_id"].as_str(), first["kind"].as_str(), first["scene"].as_str()), (Some(OTHER_APP), Some("unlimited"), Some("u=2")));
        assert!(first["app"].is_null(), "not a configured app: {first}");
        assert_eq!(data["items"][1]["app"], "default");

        let cases: [(&str, Vec<i64>); 12] = [
            ("app=default", vec![b, c, e, a]),
            (&format!("app_id={OTHER_APP}"), vec![d]),
            ("kind=limited", vec![b]),
            ("kind=qrcode", vec![c]),
            ("kind=unlimited", vec![d, e, a]),
            ("page_prefix=pages/shop", vec![b, c]),
            ("page_prefix=pages/shop/l", vec![c]),
            ("page_prefix=pages/index/index", vec![d, e, a]),
            ("scene=u%3D3", vec![e]),
            ("created_from=1700000200", vec![d, b, c]),
            ("created_to=1700000200", vec![c, e, a]),
            (&format!("created_from=1700000100&created_to=1700000300&kind=unlimited&app_id={TEST_APP_ID}"), vec![e, a]),
        ];
        for (query, want) in cases {
            let (status, body) = admin.get(&format!("/admin/codes?{query}")).await;
            assert_eq!(status, 200, "{query}: {body}");
            assert_eq!(ids(&body), want, "{query}");
            assert_eq!(body["data"]["total"].as_i64(), Some(want.len() as i64), "{query}");
        }
        // A prefix is not a pattern: `%` and `_` are plain characters.
        let (_, body) = admin.get("/admin/codes?page_prefix=pages%2F%25").await;
        assert_eq!(body["data"]["total"], 0, "{body}");
        let (_, body) = admin.get("/admin/codes?page_prefix=pages_shop").await;
        assert_eq!(body["data"]["total"], 0, "{body}");
        admin.stop().await;
    }

    async fn bad_filters_and_paging_values_are_400_naming_the_field(app: &TestApp) {
        let admin = Admin::start(app).await;
        let long_scene = "s".repeat(33);
        let long_page = "p".repeat(1025);
        for (query, field) in [
            ("per_page=0", "per_page"),
            ("per_page=101", "per_page"),
            ("per_page=-5", "per_page"),
            ("per_page=ten", "per_page"),
            ("page=0", "page"),
            ("page=-1", "page"),
            ("page=1.5", "page"),
            ("kind=square", "kind"),
            ("app=nope", "app"),
            (&format!("app=default&app_id={TEST_APP_ID}"), "app_id"),
            (&format!("scene={long_scene}"), "scene"),
            (&format!("page_prefix={long_page}"), "page_prefix"),
            ("created_from=yesterday", "created_from"),
            ("created_from=-1", "created_from"),
            ("created_from=200&created_to=100", "created_to"),
        ] {
            let (status, body) = admin.get(&format!("/admin/codes?{query}")).await;
            assert_invalid(status, &body, field);
        }
        for (path, field) in [("/admin/links?per_page=101", "per_page"), ("/admin/links?kind=qrcode", "kind"),
                              ("/admin/users?page=0", "page"), ("/admin/users?app=nope", "app")] {
            let (status, body) = admin.get(path).await;
            assert_invalid(status, &body, field);
        }
        // The edges are accepted.
        for query in ["per_page=1", "per_page=100", "page=1", "scene="] {
            let (status, body) = admin.get(&format!("/admin/codes?{query}")).await;
            assert_eq!(status, 200, "{query}: {body}");
        }
        admin.stop().await;
    }

    async fn pages_split_the_list_and_the_total_counts_them_all(app: &TestApp) {
        let admin = Admin::start(app).await;
        let mut made = Vec::new();
        for i in 0..25 {
            made.push(seed_code(&admin.context, Seed { scene: &format!("n={i}"), created_at: 1_700_000_000 + i, ..Seed::default() }).await);
        }
        made.reverse(); // newest first
        let (_, body) = admin.get("/admin/codes").await;
        assert_eq!(ids(&body), made[..20].to_vec());
        let (_, body) = admin.get("/admin/codes?page=2").await;
        assert_eq!(ids(&body), made[20..].to_vec());
        assert_eq!(body["data"]["total"], 25);
        let (_, body) = admin.get("/admin/codes?page=3&per_page=7").await;
        assert_eq!(ids(&body), made[14..21].to_vec());
        assert_eq!((body["data"]["page"].as_i64(), body["data"]["per_page"].as_i64()), (Some(3), Some(7)));
        let (status, body) = admin.get("/admin/codes?page=9").await;
        assert_eq!(status, 200);
        assert_eq!(ids(&body), Vec::<i64>::new());
        assert_eq!(body["data"]["total"], 25);
        let (_, body) = admin.get("/admin/codes?kind=unlimited&page=2").await;
        assert_eq!(body["data"]["total"], 25);
        // Codes added between two pages are counted, by filter (the total is never stale).
        let newest = seed_code(&admin.context, Seed { created_at: 1_800_000_000, ..Seed::default() }).await;
        seed_code(&admin.context, Seed { kind: "limited", created_at: 1_800_000_001, ..Seed::default() }).await;
        let (_, body) = admin.get("/admin/codes?page=2").await;
        assert_eq!(body["data"]["total"], 27);
        let (_, body) = admin.get("/admin/codes?kind=unlimited&page=2").await;
        assert_eq!(body["data"]["total"], 26);
        assert_eq!(ids(&body), made[19..].to_vec());
        let (_, body) = admin.get("/admin/codes?kind=unlimited").await;
        assert_eq!(ids(&body)[0], newest);
        admin.stop().await;
    }

    async fn one_code_is_shown_with_its_parameters_and_an_unknown_id_is_404(app: &TestApp) {
        let admin = Admin::start(app).await;
        let id = seed_code(&admin.context, Seed { scene: "u=9", ..Seed::default() }).await;
        let (status, body) = admin.get(&format!("/admin/codes/{id}")).await;
        assert_eq!(status, 200, "{body}");
        let data = &body["data"];
        assert_eq!((data["id"].as_i64(), data["scene"].as_str()), (Some(id), Some("u=9")));
        assert_eq!(data["params"]["scene"], "u=9");
        assert!(data["url"].as_str().unwrap().ends_with(&format!("/image/{}", data["file"].as_str().unwrap())), "{data}");
        let (status, body) = admin.get(&format!("/admin/codes/{}", id + 1000)).await;
        assert_eq!((status, &body["code"]), (404, &404.into()), "{body}");
        let (status, body) = admin.get("/admin/codes/abc").await;
        assert_invalid(status, &body, "id");
        admin.stop().await;
    }
}
