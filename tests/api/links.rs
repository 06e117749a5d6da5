//! Links for H5 pages: `/api/scheme_code`, `/api/url_link`, `/api/short_link`,
//! against the simulator over real HTTP.

mod beyond;
mod reuse;
mod short_link;
mod url_link;
mod validation;
mod wechat;

use serde_json::{Value, json};

use crate::helpers::{TEST_APP_ID, TestApp, envelope};

pub const SCHEME_API: &str = "wxa/generatescheme";
pub const URL_LINK_API: &str = "wxa/generate_urllink";
pub const SHORT_LINK_API: &str = "wxa/genwxashortlink";

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// POSTs a JSON body to one of our routes; the envelope's HTTP status and body.
pub async fn post(app: &TestApp, route: &str, body: Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(route))
        .json(&body)
        .send()
        .await
        .unwrap();
    envelope(res).await
}

/// A successful call's `data`.
pub async fn ok_data(app: &TestApp, route: &str, body: Value) -> Value {
    let (status, body) = post(app, route, body).await;
    assert_eq!((status, body["code"].as_i64()), (200, Some(200)), "{body}");
    body["data"].clone()
}

/// Asserts a 400 naming `field`.
pub async fn assert_invalid(app: &TestApp, route: &str, body: Value, field: &str) {
    let (status, answer) = post(app, route, body.clone()).await;
    assert_eq!(status, 400, "{body} -> {answer}");
    assert_eq!(answer["code"], 400, "{answer}");
    assert_eq!(answer["data"]["field"], field, "{body} -> {answer}");
    assert!(
        answer["msg"].as_str().unwrap().contains(field),
        "msg names the field: {answer}"
    );
}

/// Calls the simulator answered for `api` and the test app (failures included).
pub async fn upstream_calls(app: &TestApp, api: &str) -> u64 {
    app.sim_counters().await["calls"][api][TEST_APP_ID]
        .as_u64()
        .unwrap_or(0)
}

/// The simulator's own record of a scheme or URL link (`wxa/queryscheme`, `query_urllink`).
pub async fn sim_link_info(app: &TestApp, link: &str) -> Value {
    let token = app
        .context
        .mini_program
        .tokens
        .get("default")
        .await
        .unwrap();
    let (path, field, info) = if link.starts_with("weixin://") {
        ("/wxa/queryscheme", "scheme", "scheme_info")
    } else {
        ("/wxa/query_urllink", "url_link", "url_link_info")
    };
    let answer: Value = app
        .client
        .post(app.sim_url(&format!("{path}?access_token={}", token.value)))
        .json(&json!({ field: link }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["errcode"], 0, "{answer}");
    answer[info].clone()
}

/// Rows in the `links` table.
pub async fn stored_links(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM links")
        .fetch_one(app.context.db.pool())
        .await
        .unwrap();
    n
}

/// The keys of an object, sorted.
pub fn keys(data: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}
