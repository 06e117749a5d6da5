//! Encrypted Open Platform pushes: ticket, authorized (also from the authorization page),
//! unauthorized, forged signatures, api_start_push_ticket.

use reqwest::Method;
use serde_json::json;

use crate::component::{AUTHORIZER, component_call, component_token, push, ready_component};
use crate::helpers::{COMPONENT_APP_ID, COMPONENT_SECRET, assert_errcode, spawn};
use crate::receiver::{between, open, receiver, wait_for};

#[tokio::test]
async fn a_ticket_push_is_encrypted_and_signed_and_its_ticket_buys_a_component_token() {
    let sim = spawn().await;
    let (url, inbox, receiver) = receiver();
    let sent = push(&sim, &url, json!({"info_type": "component_verify_ticket"})).await;
    assert_eq!(sent["status"], 200);
    assert_eq!(sent["body"], "success");
    let received = inbox.lock().unwrap()[0].clone();
    let xml = open(&received);
    assert_eq!(between(&xml, "InfoType"), "component_verify_ticket");
    let ticket = between(&xml, "ComponentVerifyTicket");
    assert_eq!(ticket, sent["ticket"]);
    assert!(ticket.starts_with("ticket@@@"));
    let body = component_token(&sim, ticket).await;
    assert_eq!(body["expires_in"], 7200);
    assert!(body["component_access_token"].is_string());
    receiver.stop(false).await;
    sim.stop().await;
}

#[tokio::test]
async fn the_authorization_page_uses_up_the_pre_auth_code_and_redirects_with_an_auth_code() {
    let sim = spawn().await;
    let (url, inbox, receiver) = receiver();
    sim.control(Method::PUT, "/component", json!({"push_url": url}))
        .await;
    let component = ready_component(&sim).await;
    let pre = component_call(&sim, "api_create_preauthcode", &component, json!({})).await;
    let pre = pre["pre_auth_code"].as_str().unwrap();
    let page = format!(
        "/cgi-bin/componentloginpage?component_appid={COMPONENT_APP_ID}&pre_auth_code={pre}&redirect_uri=https%3A%2F%2Fproduct.example%2Fopen%2Fcallback&auth_type=2&biz_appid={AUTHORIZER}"
    );
    let resp = sim.get(&page).await;
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://product.example/open/callback?auth_code=queryauthcode@@@")
    );
    let code = location
        .split("auth_code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let auth = component_call(
        &sim,
        "api_query_auth",
        &component,
        json!({"authorization_code": code}),
    )
    .await;
    assert_eq!(auth["authorization_info"]["authorizer_appid"], AUTHORIZER);
    assert_errcode(&sim.get_json(&page).await, 61009);
    // WeChat also pushes `authorized` to the authorization event URL.
    wait_for(&inbox, 1).await;
    let received = inbox.lock().unwrap()[0].clone();
    let xml = open(&received);
    assert_eq!(between(&xml, "InfoType"), "authorized");
    assert_eq!(between(&xml, "AuthorizerAppid"), AUTHORIZER);
    assert_eq!(between(&xml, "AuthorizationCode"), code);
    receiver.stop(false).await;
    sim.stop().await;
}

#[tokio::test]
async fn an_unauthorized_push_stops_the_authorizers_tokens_and_refresh_token() {
    let sim = spawn().await;
    let (url, inbox, receiver) = receiver();
    let component = ready_component(&sim).await;
    let sent = push(
        &sim,
        &url,
        json!({"info_type": "authorized", "authorizer_appid": AUTHORIZER}),
    )
    .await;
    let code = sent["auth_code"].as_str().unwrap();
    let xml = open(&inbox.lock().unwrap()[0].clone());
    assert_eq!(between(&xml, "AuthorizationCode"), code);
    let auth = component_call(
        &sim,
        "api_query_auth",
        &component,
        json!({"authorization_code": code}),
    )
    .await;
    let token = auth["authorization_info"]["authorizer_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = auth["authorization_info"]["authorizer_refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.token_errcode(&token).await, 0);
    push(
        &sim,
        &url,
        json!({"info_type": "unauthorized", "authorizer_appid": AUTHORIZER}),
    )
    .await;
    let xml = open(&inbox.lock().unwrap()[1].clone());
    assert_eq!(between(&xml, "InfoType"), "unauthorized");
    assert_eq!(sim.token_errcode(&token).await, 40001);
    let body = json!({"authorizer_appid": AUTHORIZER, "authorizer_refresh_token": refresh});
    assert_errcode(
        &component_call(&sim, "api_authorizer_token", &component, body).await,
        61003,
    );
    receiver.stop(false).await;
    sim.stop().await;
}

#[tokio::test]
async fn a_push_with_a_bad_signature_is_still_delivered_for_the_receiver_to_refuse() {
    let sim = spawn().await;
    let (url, inbox, receiver) = receiver();
    push(
        &sim,
        &url,
        json!({"info_type": "component_verify_ticket", "bad_signature": true, "timestamp": 1_000}),
    )
    .await;
    let received = inbox.lock().unwrap()[0].clone();
    assert_eq!(received.query["timestamp"], "1000");
    assert_eq!(received.query["msg_signature"], "0".repeat(40));
    receiver.stop(false).await;
    sim.stop().await;
}

#[tokio::test]
async fn start_push_ticket_checks_the_secret_and_pushes_a_ticket() {
    let sim = spawn().await;
    let (url, inbox, receiver) = receiver();
    sim.control(Method::PUT, "/component", json!({"push_url": url}))
        .await;
    let wrong = sim
        .post_json(
            "/cgi-bin/component/api_start_push_ticket",
            &json!({"component_appid": COMPONENT_APP_ID, "component_secret": "x"}),
        )
        .await;
    assert_errcode(&wrong, 40125);
    let ok = sim
        .post_json(
            "/cgi-bin/component/api_start_push_ticket",
            &json!({"component_appid": COMPONENT_APP_ID, "component_secret": COMPONENT_SECRET}),
        )
        .await;
    assert_eq!(ok["errcode"], 0);
    wait_for(&inbox, 1).await;
    let xml = open(&inbox.lock().unwrap()[0].clone());
    assert_eq!(between(&xml, "InfoType"), "component_verify_ticket");
    receiver.stop(false).await;
    sim.stop().await;
}

#[tokio::test]
async fn a_push_to_an_unreachable_url_is_a_502_from_the_control_api() {
    let sim = spawn().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let resp = sim
        .post(
            "/__sim/push",
            &json!({"url": format!("http://127.0.0.1:{port}/open/ticket"),
                    "info_type": "component_verify_ticket"}),
        )
        .await;
    assert_eq!(resp.status(), 502);
    let missing = sim
        .post(
            "/__sim/push",
            &json!({"url": "http://127.0.0.1:1/", "info_type": "authorized"}),
        )
        .await;
    assert_eq!(missing.status(), 400);
    sim.stop().await;
}
