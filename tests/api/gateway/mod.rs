//! The WeChat API gateway (README "The WeChat API gateway"): `/wx/` answers WeChat SDKs in
//! WeChat's shape, with stand-in tokens, and forwards their calls with the central token.

mod authorizers;
mod forward;
mod logs;
mod metering;
mod stats;
mod tokens;

use serde_json::{Value, json};
use wxa_backend::config::{GatewayClient, MiniProgramApp, Settings};

use crate::helpers::{DbKind, TEST_APP_ID, TestApp};

/// `php` may call the code and media APIs and jscode2session for the default app.
pub const PHP_KEY: &str = "client-key-of-the-php-service";
/// `reader` may only query schemes, for the default app.
pub const READER_KEY: &str = "client-key-of-the-reader";
/// A second configured app no client may act for.
pub const SHOP_APP_ID: &str = "wx3333333333333333";
pub const ADMIN_TOKEN: &str = "admin-token-for-the-gateway";

fn client(key: &str, apps: &[&str], allow: &[&str]) -> GatewayClient {
    GatewayClient {
        key: key.into(),
        apps: apps.iter().map(|a| (*a).to_owned()).collect(),
        authorizers: false,
        allow: allow.iter().map(|a| (*a).to_owned()).collect(),
    }
}

/// The gateway on, with the `php` and `reader` clients and a `shop` app nobody may use.
pub fn configure(s: &mut Settings) {
    s.gateway.enabled = true;
    s.gateway.clients.insert(
        "php".into(),
        client(
            PHP_KEY,
            &["default"],
            &[
                "wxa/*",
                "sns/jscode2session",
                "cgi-bin/media/*",
                "cgi-bin/wxaapp/*",
            ],
        ),
    );
    s.gateway.clients.insert(
        "reader".into(),
        client(READER_KEY, &["default"], &["wxa/queryscheme"]),
    );
    s.wechat.mini_program.insert(
        "shop".into(),
        MiniProgramApp {
            app_id: SHOP_APP_ID.into(),
            secret: "shop-secret-3333".into(),
            pages: vec![],
        },
    );
    s.admin.token = ADMIN_TOKEN.into();
}

pub async fn spawn_gateway(kind: DbKind, test: &str) -> Option<TestApp> {
    TestApp::spawn_with(kind, test, configure).await
}

/// Reads a WeChat-shaped JSON answer: HTTP 200, WeChat's JSON Content-Type, no envelope.
pub async fn wx(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 200, "WeChat answers HTTP 200");
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let body: Value = res.json().await.unwrap();
    assert!(
        body.get("code").is_none() && body.get("data").is_none(),
        "an envelope: {body}"
    );
    body
}

/// Asserts a WeChat-style refusal: the errcode, and an errmsg ending in ` rid: ` and
/// three groups of 8 hex digits.
pub fn assert_errcode(body: &Value, errcode: i64) {
    assert_eq!(body["errcode"], errcode, "{body}");
    let errmsg = body["errmsg"].as_str().unwrap();
    let rid = errmsg.rsplit_once(" rid: ").map(|(_, r)| r).unwrap_or("");
    let groups: Vec<&str> = rid.split('-').collect();
    assert!(
        groups.len() == 3
            && groups
                .iter()
                .all(|g| g.len() == 8 && g.bytes().all(|b| b.is_ascii_hexdigit())),
        "errmsg without a rid: {errmsg}"
    );
}

/// `GET /wx/cgi-bin/token` with a client key: the answer's body.
pub async fn token_answer(app: &TestApp, appid: &str, key: &str) -> Value {
    let res = app
        .client
        .get(app.url("/wx/cgi-bin/token"))
        .query(&[
            ("grant_type", "client_credential"),
            ("appid", appid),
            ("secret", key),
        ])
        .send()
        .await
        .unwrap();
    wx(res).await
}

/// A stand-in token for the default app.
pub async fn stand_in(app: &TestApp, key: &str) -> String {
    let answer = token_answer(app, TEST_APP_ID, key).await;
    answer["access_token"].as_str().expect("a token").to_owned()
}

/// `POST /wx/<api>?access_token=<token>` with a JSON body, as an SDK sends it.
pub async fn post(app: &TestApp, api: &str, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/wx/{api}")))
        .query(&[("access_token", token)])
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A scheme made through the gateway: a JSON API answered `errcode: 0`.
pub async fn scheme_through(app: &TestApp, token: &str) -> Value {
    let body =
        json!({"jump_wxa": {"path": "pages/index/index"}, "expire_type": 1, "expire_interval": 1});
    wx(post(app, "wxa/generatescheme", token, body).await).await
}

/// Calls the simulator saw to `api`, for the test app.
pub async fn sim_calls(app: &TestApp, api: &str) -> u64 {
    app.sim_counters().await["calls"][api][TEST_APP_ID]
        .as_u64()
        .unwrap_or(0)
}
