//! `GET /admin/links` (expiry and validity) and `GET /admin/users` (masked phones).

use serde_json::Value;

use super::Admin;
use crate::helpers::TEST_APP_ID;
use crate::on_every_database;

async fn seed_link(admin: &Admin, kind: &str, link: &str, expires_at: i64, created_at: i64) -> i64 {
    admin.context.db.query(
        "INSERT INTO links (app_id, kind, lookup, path, query, env_version, title, permanent, link, \
         expire_interval, expires_at, created_at) \
         VALUES ($1, $2, $3, 'pages/index/index', 'a=1', 'release', '', $4, $5, 0, $6, $7) RETURNING id",
    )
    .bind(TEST_APP_ID)
    .bind(kind)
    .bind(format!("lookup-{link}"))
    .bind(i64::from(expires_at == 0))
    .bind(link)
    .bind(expires_at)
    .bind(created_at)
    .insert_id(admin.context.db.pool())
    .await
    .unwrap()
}

fn now() -> i64 {
    wxa_backend::services::token::now_unix()
}

fn items(body: &Value) -> &Vec<Value> {
    body["data"]["items"].as_array().unwrap()
}

on_every_database! {
    async fn links_show_their_expiry_and_whether_they_are_still_valid(app: &TestApp) {
        let admin = Admin::start(app).await;
        let t = now();
        let expired = seed_link(&admin, "scheme", "weixin://dl/business/?t=OLD", t - 60, t - 86_400).await;
        let valid = seed_link(&admin, "url_link", "https://wxaurl.cn/NEW", t + 3_600, t - 100).await;
        let permanent = seed_link(&admin, "short_link", "#小程序://demo/Perm", 0, t - 10).await;

        let (status, body) = admin.get("/admin/links").await;
        assert_eq!(status, 200, "{body}");
        let got: Vec<(i64, bool)> = items(&body).iter().map(|i| (i["id"].as_i64().unwrap(), i["valid"].as_bool().unwrap())).collect();
        assert_eq!(got, vec![(permanent, true), (valid, true), (expired, false)]);
        assert_eq!(body["data"]["total"], 3);
        let first = &items(&body)[0];
        assert_eq!((first["kind"].as_str(), first["permanent"].as_bool(), first["expires_at"].as_i64()), (Some("short_link"), Some(true), Some(0)));
        assert_eq!(items(&body)[1]["link"], "https://wxaurl.cn/NEW");
        assert_eq!(items(&body)[2]["expires_at"], t - 60);

        let (_, body) = admin.get("/admin/links?kind=scheme").await;
        assert_eq!(items(&body).len(), 1);
        assert_eq!(items(&body)[0]["id"], expired);
        let (_, body) = admin.get("/admin/links?per_page=1&page=2").await;
        assert_eq!((items(&body)[0]["id"].as_i64(), body["data"]["total"].as_i64()), (Some(valid), Some(3)));
        admin.stop().await;
    }

    async fn users_are_listed_with_masked_phones_and_never_a_session_key(app: &TestApp) {
        let admin = Admin::start(app).await;
        let (db, pool) = (&admin.context.db, admin.context.db.pool());
        let t = now();
        let with_phone: i64 = db.query(
            "INSERT INTO users (app_id, openid, unionid, phone_number, pure_phone_number, country_code, \
             phone_bound_at, created_at, updated_at, last_login_at) \
             VALUES ($1, 'o_with_phone_0001', NULL, '13812345678', '13812345678', '86', $2, $2, $2, $2) RETURNING id")
            .bind(TEST_APP_ID).bind(t - 50).insert_id(pool).await.unwrap();
        let abroad: i64 = db.query(
            "INSERT INTO users (app_id, openid, unionid, phone_number, pure_phone_number, country_code, \
             phone_bound_at, created_at, updated_at, last_login_at) \
             VALUES ($1, 'o_abroad_0002', 'u_union', '+12025550123', '2025550123', '1', $2, $2, $2, $2) RETURNING id")
            .bind(TEST_APP_ID).bind(t - 40).insert_id(pool).await.unwrap();
        let no_phone: i64 = db.query(
            "INSERT INTO users (app_id, openid, created_at, updated_at, last_login_at) \
             VALUES ($1, 'o_no_phone_0003', $2, $2, $2) RETURNING id")
            .bind(TEST_APP_ID).bind(t - 30).insert_id(pool).await.unwrap();
        db.query("INSERT INTO user_sessions (token_hash, user_id, app_id, session_key, created_at, expires_at) \
                     VALUES ('h1', $1, $2, 'SESSIONKEYSECRET==', $3, $4)")
            .bind(with_phone).bind(TEST_APP_ID).bind(t).bind(t + 3600).execute(pool).await.unwrap();

        let res = admin.get_raw("/admin/users").await;
        assert_eq!(res.status(), 401);
        let (status, body) = admin.get("/admin/users").await;
        assert_eq!(status, 200, "{body}");
        let text = body.to_string();
        for secret in ["13812345678", "2025550123", "SESSIONKEYSECRET", "session_key", "token_hash"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let list = items(&body);
        let ids: Vec<i64> = list.iter().map(|u| u["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![no_phone, abroad, with_phone]);
        assert_eq!((list[2]["phone"].as_str(), list[2]["has_phone"].as_bool()), (Some("138****5678"), Some(true)));
        assert_eq!(list[1]["phone"], "+12****0123");
        assert_eq!(list[1]["unionid"], "u_union");
        assert!(list[0]["phone"].is_null() && list[0]["has_phone"] == false, "{}", list[0]);
        assert_eq!(list[2]["openid"], "o_with_phone_0001");
        assert_eq!(list[2]["app"], "default");

        let (_, body) = admin.get("/admin/users?app_id=wx0000000000000000").await;
        assert_eq!(body["data"]["total"], 0);
        admin.stop().await;
    }
}
