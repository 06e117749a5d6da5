//! Open Platform: pushes to `/open/ticket`, the component token, authorization
//! through the simulator's page and callback, authorizer tokens, `/admin/authorizers`, and
//! the mini-program routes acting for an authorizer (`appid=`).

mod acting;
mod ahead;
mod authorization;
mod cluster;
mod pushes;
mod recover;

use serde_json::{Value, json};
use wxa_backend::config::Settings;
use wxa_backend::store::open_platform as store;

use crate::helpers::{DbKind, TestApp};

pub const COMPONENT_APPID: &str = "wx134c8103faa5a59e";
pub const COMPONENT_SECRET: &str = "component-secret-1";
pub const MSG_TOKEN: &str = "msg-token-for-tests";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const OLD_AES_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
pub const ADMIN_TOKEN: &str = "admin-token-for-open-platform";
pub const MERCHANT: &str = "wxa0a0a0a0a0a0a0a0";

/// The product with Open Platform configured (authorization pages on the simulator), and
/// the simulator knowing the same component and pushing to our `/open/ticket`.
pub async fn spawn_open(
    kind: DbKind,
    test: &str,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let app = TestApp::spawn_with(kind, test, |s| {
        let op = &mut s.open_platform;
        op.app_id = COMPONENT_APPID.into();
        op.secret = COMPONENT_SECRET.into();
        op.token = MSG_TOKEN.into();
        op.aes_key = AES_KEY.into();
        op.login_page_base.clone_from(&s.wechat.base_url);
        op.mobile_page_base.clone_from(&s.wechat.base_url);
        s.admin.token = ADMIN_TOKEN.into();
        tweak(s);
    })
    .await?;
    register_component(&app, COMPONENT_APPID, AES_KEY).await;
    Some(app)
}

/// Tells the simulator the component it pushes as (appid and key may differ from ours).
pub async fn register_component(app: &TestApp, app_id: &str, aes_key: &str) {
    let res = app
        .client
        .put(app.sim_url("/__sim/component"))
        .json(&json!({
            "app_id": app_id, "secret": COMPONENT_SECRET, "token": MSG_TOKEN,
            "aes_key": aes_key, "push_url": app.url("/open/ticket"),
        }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
}

/// Has the simulator push to us; the answer carries our status and body.
pub async fn push(app: &TestApp, mut body: Value) -> Value {
    body["url"] = json!(app.url("/open/ticket"));
    app.sim_post("/__sim/push", body).await
}

/// Pushes a ticket and checks it was accepted.
pub async fn push_ticket(app: &TestApp) -> String {
    let answer = push(app, json!({"info_type": "component_verify_ticket"})).await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"], "success");
    answer["ticket"].as_str().unwrap().to_owned()
}

/// `appid` authorizes the component: an auth code from the simulator, handed to the
/// callback of the instance at `base`.
pub async fn authorize_at(app: &TestApp, base: &str, appid: &str) {
    let minted = app
        .sim_post("/__sim/auth_codes", json!({"authorizer_appid": appid}))
        .await;
    let code = minted["auth_code"].as_str().unwrap();
    let res = app
        .client
        .get(format!("{base}/open/callback"))
        .query(&[("auth_code", code), ("expires_in", "3600")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// The envelope code in a push answer's body.
pub fn push_code(answer: &Value) -> i64 {
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    body["code"].as_i64().unwrap()
}

pub async fn stored_ticket(app: &TestApp) -> Option<String> {
    store::ticket(&app.context.db, COMPONENT_APPID)
        .await
        .unwrap()
}

pub async fn stored_authorizers(app: &TestApp) -> Vec<store::Authorizer> {
    store::list(&app.context.db, COMPONENT_APPID, 100, 0)
        .await
        .unwrap()
        .0
}

/// `spawn_open` with nothing more changed: the spawner of `on_every_database!` here.
pub async fn spawn_default(kind: DbKind, test: &str) -> Option<TestApp> {
    spawn_open(kind, test, |_| {}).await
}
