//! `/api/login` and `/api/bind_phone` against the simulator.

mod encrypted;
mod login;
pub mod logs;
mod phone;
mod purge;

use serde_json::{Value, json};
use sqlx::Row;
use wxa_backend::config::MiniProgramApp;

use crate::helpers::{DbKind, TEST_APP_ID, TestApp, envelope};

/// A second mini program, for the per-app rules.
pub const SHOP_APP_ID: &str = "wx3333333333333333";

/// A wx.login code from the simulator.
pub async fn login_code(app: &TestApp, appid: &str, openid: &str, unionid: Option<&str>) -> String {
    let mut body = json!({"appid": appid, "openid": openid});
    if let Some(u) = unionid {
        body["unionid"] = json!(u);
    }
    let minted = app.sim_post("/__sim/login_codes", body).await;
    minted["code"].as_str().unwrap().to_owned()
}

/// A getPhoneNumber button code from the simulator.
pub async fn phone_code(app: &TestApp, appid: &str, phone: &str, country_code: &str) -> String {
    let minted = app
        .sim_post(
            "/__sim/phone_codes",
            json!({"appid": appid, "phone_number": phone, "country_code": country_code}),
        )
        .await;
    minted["code"].as_str().unwrap().to_owned()
}

/// POSTs JSON to the product, with a bearer when given; the envelope's status and body.
pub async fn post(app: &TestApp, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app.client.post(app.url(path)).json(&body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    envelope(req.send().await.unwrap()).await
}

/// Logs `openid` in to the default app; the envelope's data.
pub async fn login(app: &TestApp, openid: &str, unionid: Option<&str>) -> Value {
    let code = login_code(app, TEST_APP_ID, openid, unionid).await;
    let (status, body) = post(app, "/api/login", None, json!({"code": code})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["msg"], "登录成功");
    body["data"].clone()
}

pub fn token(login: &Value) -> String {
    login["token"].as_str().unwrap().to_owned()
}

/// Binds `phone` (country code 86) with a fresh button code.
pub async fn bind(app: &TestApp, token: &str, phone: &str) -> (u16, Value) {
    let code = phone_code(app, TEST_APP_ID, phone, "86").await;
    post(app, "/api/bind_phone", Some(token), json!({"code": code})).await
}

/// Calls the simulator counted for an API, over all apps.
pub async fn upstream_calls(app: &TestApp, api: &str) -> u64 {
    let counters = app.sim_counters().await;
    counters["calls"][api]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
}

pub async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(app.context.db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

/// The stored phone of a user: (phone_number, pure_phone_number, country_code).
pub async fn stored_phone(app: &TestApp, user_id: i64) -> Option<(String, String, String)> {
    let row: (Option<String>, Option<String>, Option<String>) = app
        .context
        .db
        .query("SELECT phone_number, pure_phone_number, country_code FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(app.context.db.pool())
        .await
        .unwrap();
    match row {
        (Some(a), Some(b), Some(c)) => Some((a, b, c)),
        _ => None,
    }
}

/// The test app plus a second configured mini program, `shop`.
pub async fn spawn_with_shop(kind: DbKind, test: &str) -> Option<TestApp> {
    let app = TestApp::spawn_with(kind, test, |s| {
        s.wechat.mini_program.insert(
            "shop".into(),
            MiniProgramApp {
                app_id: SHOP_APP_ID.into(),
                secret: "shop-secret-3333".into(),
                pages: vec![],
            },
        );
    })
    .await?;
    app.sim_post(
        "/__sim/apps",
        json!({"name": "shop", "app_id": SHOP_APP_ID, "secret": "shop-secret-3333"}),
    )
    .await;
    Some(app)
}

/// Like `on_every_database!`, with the `shop` app configured too.
#[macro_export]
macro_rules! with_two_apps {
    ($(async fn $name:ident($app:ident: &TestApp) $body:block)+) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::helpers::{DbKind, TestApp};
            use $crate::users::spawn_with_shop;

            async fn run($app: &TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                let name = concat!(module_path!(), "::sqlite");
                let app = spawn_with_shop(DbKind::Sqlite, name).await.expect("sqlite always runs");
                run(&app).await;
                app.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                let name = concat!(module_path!(), "::postgres");
                if let Some(app) = spawn_with_shop(DbKind::Postgres, name).await {
                    run(&app).await;
                    app.finish().await;
                }
            }

            #[tokio::test]
            async fn mysql() {
                let name = concat!(module_path!(), "::mysql");
                if let Some(app) = spawn_with_shop(DbKind::Mysql, name).await {
                    run(&app).await;
                    app.finish().await;
                }
            }
        }
    )+};
}
