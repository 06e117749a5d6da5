//! Open Platform component APIs: component token from a ticket, pre-auth and auth codes,
//! authorizer tokens that the mini-program APIs accept, refresh tokens.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{APP_ID, COMPONENT_APP_ID, COMPONENT_SECRET, TestSim, assert_errcode, spawn};

pub const AUTHORIZER: &str = "wxa0a0a0a0a0a0a0a0";

pub async fn push(sim: &TestSim, url: &str, body: Value) -> Value {
    let mut body = body;
    body["url"] = json!(url);
    sim.control(Method::POST, "/push", body).await
}

pub async fn component_token(sim: &TestSim, ticket: &str) -> Value {
    sim.post_json(
        "/cgi-bin/component/api_component_token",
        &json!({"component_appid": COMPONENT_APP_ID, "component_appsecret": COMPONENT_SECRET,
                "component_verify_ticket": ticket}),
    )
    .await
}

pub async fn component_call(sim: &TestSim, api: &str, token: &str, body: Value) -> Value {
    let mut body = body;
    body["component_appid"] = json!(COMPONENT_APP_ID);
    sim.post_json(
        &format!("/cgi-bin/component/{api}?component_access_token={token}"),
        &body,
    )
    .await
}

/// A component token bought with a fresh ticket.
pub async fn ready_component(sim: &TestSim) -> String {
    let ticket = sim
        .control(Method::POST, "/component/ticket", Value::Null)
        .await;
    let body = component_token(sim, ticket["ticket"].as_str().unwrap()).await;
    body["component_access_token"].as_str().unwrap().to_owned()
}

pub async fn auth_code(sim: &TestSim) -> String {
    let body =
        json!({"authorizer_appid": AUTHORIZER, "name": "shop", "pages": ["pages/shop/shop"]});
    let minted = sim.control(Method::POST, "/auth_codes", body).await;
    minted["auth_code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_stale_or_unknown_ticket_is_refused_with_61005_or_61006() {
    let sim = spawn().await;
    let ticket = sim
        .control(Method::POST, "/component/ticket", Value::Null)
        .await;
    assert_errcode(&component_token(&sim, "ticket@@@forged").await, 61006);
    sim.advance(12 * 3_600).await;
    assert_errcode(
        &component_token(&sim, ticket["ticket"].as_str().unwrap()).await,
        61005,
    );
    let wrong_secret = sim
        .post_json(
            "/cgi-bin/component/api_component_token",
            &json!({"component_appid": COMPONENT_APP_ID, "component_appsecret": "x",
                    "component_verify_ticket": "t"}),
        )
        .await;
    assert_errcode(&wrong_secret, 40125);
    let missing = sim
        .post_json("/cgi-bin/component/api_component_token", &json!({"x": 1}))
        .await;
    assert_errcode(&missing, 41018);
    let mini_program = sim
        .post_json(
            "/cgi-bin/component/api_component_token",
            &json!({"component_appid": APP_ID, "component_appsecret": "x", "component_verify_ticket": "t"}),
        )
        .await;
    assert_errcode(&mini_program, 61011);
    sim.stop().await;
}

#[tokio::test]
async fn an_authorizer_token_from_an_auth_code_works_on_the_authorizers_mini_program_apis() {
    let sim = spawn().await;
    let component = ready_component(&sim).await;
    let code = auth_code(&sim).await;
    let auth = component_call(
        &sim,
        "api_query_auth",
        &component,
        json!({"authorization_code": code}),
    )
    .await;
    let info = &auth["authorization_info"];
    assert_eq!(info["authorizer_appid"], AUTHORIZER);
    assert_eq!(info["expires_in"], 7200);
    assert!(!info["func_info"].as_array().unwrap().is_empty());
    let token = info["authorizer_access_token"].as_str().unwrap();
    // The authorizer's own published page, not the component's apps' pages.
    let resp = sim
        .post(
            &format!("/wxa/getwxacodeunlimit?access_token={token}"),
            &json!({"page": "pages/shop/shop", "scene": "s=1"}),
        )
        .await;
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let scheme = sim
        .post_json(
            &format!("/wxa/generatescheme?access_token={token}"),
            &json!({"jump_wxa": {"path": "pages/shop/shop"}}),
        )
        .await;
    assert_eq!(scheme["errcode"], 0);
    let wrong_page = sim
        .post_json(
            &format!("/wxa/getwxacodeunlimit?access_token={token}"),
            &json!({"page": "pages/item/item", "scene": "s=1"}),
        )
        .await;
    assert_errcode(&wrong_page, 41030);
    // The auth code works once.
    let again = component_call(
        &sim,
        "api_query_auth",
        &component,
        json!({"authorization_code": code}),
    )
    .await;
    assert_errcode(&again, 61009);
    sim.stop().await;
}

#[tokio::test]
async fn an_expired_auth_code_is_61010() {
    let sim = spawn().await;
    let component = ready_component(&sim).await;
    let code = auth_code(&sim).await;
    sim.advance(3_601).await;
    let body = component_call(
        &sim,
        "api_query_auth",
        &component,
        json!({"authorization_code": code}),
    )
    .await;
    assert_errcode(&body, 61010);
    sim.stop().await;
}

#[tokio::test]
async fn the_refresh_token_buys_new_authorizer_tokens_and_a_wrong_one_is_61023() {
    let sim = spawn().await;
    let component = ready_component(&sim).await;
    let code = auth_code(&sim).await;
    let auth = component_call(
        &sim,
        "api_query_auth",
        &component,
        json!({"authorization_code": code}),
    )
    .await;
    let refresh = auth["authorization_info"]["authorizer_refresh_token"]
        .as_str()
        .unwrap();
    let body = json!({"authorizer_appid": AUTHORIZER, "authorizer_refresh_token": refresh});
    let renewed = component_call(&sim, "api_authorizer_token", &component, body).await;
    assert_eq!(renewed["authorizer_refresh_token"], refresh);
    let token = renewed["authorizer_access_token"].as_str().unwrap();
    assert_eq!(sim.token_errcode(token).await, 0);
    let wrong = json!({"authorizer_appid": AUTHORIZER, "authorizer_refresh_token": "nope"});
    assert_errcode(
        &component_call(&sim, "api_authorizer_token", &component, wrong).await,
        61023,
    );
    let info = component_call(
        &sim,
        "api_get_authorizer_info",
        &component,
        json!({"authorizer_appid": AUTHORIZER}),
    )
    .await;
    assert_eq!(info["authorizer_info"]["nick_name"], "shop");
    assert_eq!(
        info["authorization_info"]["authorizer_refresh_token"],
        refresh
    );
    sim.stop().await;
}

#[tokio::test]
async fn component_apis_refuse_other_tokens_and_mini_program_apis_refuse_component_tokens() {
    let sim = spawn().await;
    let mini = sim.classic_token().await;
    let body = component_call(&sim, "api_create_preauthcode", &mini, json!({})).await;
    assert_errcode(&body, 61014);
    let component = ready_component(&sim).await;
    let pre = component_call(&sim, "api_create_preauthcode", &component, json!({})).await;
    assert!(
        pre["pre_auth_code"]
            .as_str()
            .unwrap()
            .starts_with("preauthcode@@@")
    );
    assert_eq!(sim.token_errcode(&component).await, 48001);
    // The newer `access_token` name for the URL token works too.
    let alt = sim
        .post_json(
            &format!("/cgi-bin/component/api_create_preauthcode?access_token={component}"),
            &json!({"component_appid": COMPONENT_APP_ID}),
        )
        .await;
    assert!(alt["pre_auth_code"].is_string());
    sim.stop().await;
}
