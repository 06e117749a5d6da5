//! The control API: faults, revocation, counters, clock, apps, unknown paths.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{APP_ID, SECRET, assert_errcode, spawn};

const TOKEN_PATH: &str = "/cgi-bin/token?grant_type=client_credential";

fn token_url() -> String {
    format!("{TOKEN_PATH}&appid={APP_ID}&secret={SECRET}")
}

#[tokio::test]
async fn a_busy_fault_answers_minus_1_for_its_api_until_cleared() {
    let sim = spawn().await;
    sim.control(
        Method::POST,
        "/faults",
        json!({"api": "cgi-bin/token", "busy": 1.0}),
    )
    .await;
    let body = sim.get_json(&token_url()).await;
    assert_errcode(&body, -1);
    assert!(
        body["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("system error rid: ")
    );
    // Other APIs are untouched.
    assert!(sim.stable_token(false).await["access_token"].is_string());
    let cleared = sim
        .control(Method::DELETE, "/faults?api=cgi-bin/token", Value::Null)
        .await;
    assert_eq!(cleared["removed"], 1);
    assert!(sim.get_json(&token_url()).await["access_token"].is_string());
    sim.stop().await;
}

#[tokio::test]
async fn a_fault_with_times_applies_to_that_many_calls_of_any_api() {
    let sim = spawn().await;
    sim.control(
        Method::POST,
        "/faults",
        json!({"api": "*", "busy": 1.0, "times": 2}),
    )
    .await;
    assert_errcode(&sim.get_json(&token_url()).await, -1);
    assert_errcode(&sim.stable_token(false).await, -1);
    assert!(sim.get_json(&token_url()).await["access_token"].is_string());
    let rules = sim.control(Method::GET, "/faults", Value::Null).await;
    assert_eq!(rules, json!([]));
    sim.stop().await;
}

#[tokio::test]
async fn an_http_fault_answers_with_a_5xx_status() {
    let sim = spawn().await;
    sim.control(
        Method::POST,
        "/faults",
        json!({"http_5xx": 1.0, "status": 502}),
    )
    .await;
    let resp = sim.get(&token_url()).await;
    assert_eq!(resp.status(), 502);
    sim.control(Method::DELETE, "/faults", Value::Null).await;
    assert_eq!(sim.get(&token_url()).await.status(), 200);
    assert_eq!(sim.counters().await["http_faults"], 1);
    sim.stop().await;
}

#[tokio::test]
async fn a_delay_fault_slows_the_answer() {
    let sim = spawn().await;
    sim.control(
        Method::POST,
        "/faults",
        json!({"api": "cgi-bin/token", "delay_ms": 300}),
    )
    .await;
    let started = Instant::now();
    assert!(sim.get_json(&token_url()).await["access_token"].is_string());
    assert!(started.elapsed() >= Duration::from_millis(300));
    sim.stop().await;
}

#[tokio::test]
async fn bad_fault_rules_are_refused() {
    let sim = spawn().await;
    let resp = sim.post("/__sim/faults", &json!({"busy": 2.0})).await;
    assert_eq!(resp.status(), 400);
    let resp = sim.post("/__sim/faults", &json!({"bogus": 1})).await;
    assert_eq!(resp.status(), 400);
    sim.stop().await;
}

#[tokio::test]
async fn revoking_a_token_stops_it_at_once_like_another_partys_force_refresh() {
    let sim = spawn().await;
    let classic = sim.classic_token().await;
    let stable = sim.stable_token(false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = sim
        .control(Method::POST, "/tokens/revoke", json!({"token": classic}))
        .await;
    assert_eq!(revoked["revoked"], 1);
    assert_eq!(sim.token_errcode(&classic).await, 40001);
    assert_eq!(sim.token_errcode(&stable).await, 0);
    sim.control(
        Method::POST,
        "/tokens/revoke",
        json!({"appid": APP_ID, "kind": "stable"}),
    )
    .await;
    assert_eq!(sim.token_errcode(&stable).await, 40001);
    let next = sim.stable_token(false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(next, stable);
    sim.stop().await;
}

#[tokio::test]
async fn counters_count_calls_per_api_and_app_errors_by_errcode_and_tokens_by_kind() {
    let sim = spawn().await;
    sim.classic_token().await;
    sim.classic_token().await;
    sim.stable_token(false).await;
    sim.stable_token(false).await;
    sim.get_json(&format!("{TOKEN_PATH}&appid={APP_ID}&secret=bad"))
        .await;
    let c = sim.counters().await;
    assert_eq!(c["calls"]["cgi-bin/token"][APP_ID], 3);
    assert_eq!(c["calls"]["cgi-bin/stable_token"][APP_ID], 2);
    assert_eq!(c["errors"]["40125"], 1);
    assert_eq!(c["errors_by_api"]["cgi-bin/token"]["40125"], 1);
    assert_eq!(c["tokens_issued"][APP_ID]["classic"], 2);
    assert_eq!(c["tokens_issued"][APP_ID]["stable"], 1);
    sim.control(Method::DELETE, "/counters", Value::Null).await;
    assert_eq!(sim.counters().await["calls_total"], 0);
    sim.stop().await;
}

#[tokio::test]
async fn the_clock_moves_forward_by_an_offset_and_can_be_set_back() {
    let sim = spawn().await;
    let before = sim.control(Method::GET, "/clock", Value::Null).await;
    let after = sim
        .control(Method::POST, "/clock", json!({"advance_secs": 3600}))
        .await;
    assert_eq!(after["offset_secs"], 3600);
    assert!(after["now"].as_i64().unwrap() >= before["now"].as_i64().unwrap() + 3600);
    let reset = sim
        .control(Method::POST, "/clock", json!({"offset_secs": 0}))
        .await;
    assert_eq!(reset["offset_secs"], 0);
    sim.stop().await;
}

#[tokio::test]
async fn a_registered_app_gets_tokens_and_its_published_pages() {
    let sim = spawn().await;
    let app = json!({"name": "late", "app_id": "wx3333333333333333", "secret": "s3",
                     "pages": ["/pages/late/late"]});
    let made = sim.control(Method::POST, "/apps", app).await;
    assert_eq!(made["pages"], json!(["pages/late/late"]));
    let token = sim.classic_token_for("wx3333333333333333", "s3").await;
    let resp = sim
        .post(
            &format!("/wxa/getwxacodeunlimit?access_token={token}"),
            &json!({"page": "pages/late/late", "scene": "x"}),
        )
        .await;
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let apps = sim.control(Method::GET, "/apps", Value::Null).await;
    assert_eq!(apps.as_array().unwrap().len(), 3);
    assert!(
        apps.to_string().find("s3").is_none(),
        "secrets are not listed"
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_login_code_needs_an_appid_when_there_are_several_apps() {
    let sim = spawn().await;
    let resp = sim.post("/__sim/login_codes", &json!({})).await;
    assert_eq!(resp.status(), 400);
    let resp = sim
        .post("/__sim/login_codes", &json!({"appid": "wxnobody"}))
        .await;
    assert_eq!(resp.status(), 404);
    sim.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let sim = spawn().await;
    let resp = sim.get("/cgi-bin/nothing").await;
    assert_eq!(resp.status(), 404);
    sim.stop().await;
}

#[tokio::test]
async fn the_simulator_survives_many_concurrent_token_checks() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let http = sim.http.clone();
        let url = sim.url(&format!("/wxa/queryscheme?access_token={token}"));
        tasks.push(tokio::spawn(async move {
            let body: Value = http
                .post(url)
                .json(&json!({"scheme": "weixin://dl/business/?t=x"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["errcode"].as_i64().unwrap()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 85403);
    }
    sim.stop().await;
}
