//! jscode2session and getuserphonenumber: single-use, expiring codes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{APP_ID, OTHER_APP_ID, OTHER_SECRET, SECRET, TestSim, assert_errcode, spawn};

async fn login_code(sim: &TestSim, body: Value) -> String {
    let minted = sim.control(Method::POST, "/login_codes", body).await;
    minted["code"].as_str().unwrap().to_owned()
}

async fn session(sim: &TestSim, code: &str) -> Value {
    sim.get_json(&format!(
        "/sns/jscode2session?appid={APP_ID}&secret={SECRET}&js_code={code}&grant_type=authorization_code"
    ))
    .await
}

async fn phone_code(sim: &TestSim, appid: &str, number: &str, cc: &str) -> String {
    let body = json!({"appid": appid, "phone_number": number, "country_code": cc});
    let minted = sim.control(Method::POST, "/phone_codes", body).await;
    minted["code"].as_str().unwrap().to_owned()
}

async fn phone(sim: &TestSim, token: &str, code: &str) -> Value {
    sim.post_json(
        &format!("/wxa/business/getuserphonenumber?access_token={token}"),
        &json!({"code": code}),
    )
    .await
}

#[tokio::test]
async fn a_login_code_gives_the_openid_and_unionid_once_then_40163() {
    let sim = spawn().await;
    let code = login_code(
        &sim,
        json!({"appid": APP_ID, "openid": "o-user-1", "unionid": "u-1"}),
    )
    .await;
    let body = session(&sim, &code).await;
    assert_eq!(body["openid"], "o-user-1");
    assert_eq!(body["unionid"], "u-1");
    assert!(body.get("errcode").is_none());
    let key = body["session_key"].as_str().unwrap();
    assert_eq!(key.len(), 24);
    assert!(key.ends_with("=="));
    assert_errcode(&session(&sim, &code).await, 40163);
    let without_unionid = login_code(&sim, json!({"appid": APP_ID, "openid": "o-2"})).await;
    assert!(
        session(&sim, &without_unionid)
            .await
            .get("unionid")
            .is_none()
    );
    sim.stop().await;
}

#[tokio::test]
async fn an_expired_or_unknown_or_foreign_login_code_is_40029() {
    let sim = spawn().await;
    let code = login_code(&sim, json!({"appid": APP_ID})).await;
    sim.advance(301).await;
    assert_errcode(&session(&sim, &code).await, 40029);
    assert_errcode(&session(&sim, "nosuchcode").await, 40029);
    let foreign = login_code(&sim, json!({"appid": OTHER_APP_ID})).await;
    assert_errcode(&session(&sim, &foreign).await, 40029);
    sim.stop().await;
}

#[tokio::test]
async fn login_parameters_are_checked_with_their_errcodes() {
    let sim = spawn().await;
    let code = login_code(&sim, json!({"appid": APP_ID})).await;
    let cases = [
        (
            format!("secret={SECRET}&js_code={code}&grant_type=authorization_code"),
            41002,
        ),
        (
            format!("appid={APP_ID}&js_code={code}&grant_type=authorization_code"),
            41004,
        ),
        (
            format!("appid={APP_ID}&secret={SECRET}&grant_type=authorization_code"),
            41008,
        ),
        (
            format!("appid={APP_ID}&secret={SECRET}&js_code={code}&grant_type=x"),
            40002,
        ),
        (
            format!("appid={APP_ID}&secret=bad&js_code={code}&grant_type=authorization_code"),
            40125,
        ),
        (
            format!("appid=wxnone&secret=bad&js_code={code}&grant_type=authorization_code"),
            40013,
        ),
    ];
    for (query, errcode) in cases {
        assert_errcode(
            &sim.get_json(&format!("/sns/jscode2session?{query}")).await,
            errcode,
        );
    }
    // None of those used the code up.
    assert!(session(&sim, &code).await["openid"].is_string());
    sim.stop().await;
}

#[tokio::test]
async fn logins_over_100_a_minute_for_one_user_get_45011() {
    let sim = spawn().await;
    sim.set_limits(json!({"login_per_minute_per_user": 1}))
        .await;
    let first = login_code(&sim, json!({"appid": APP_ID, "openid": "o-busy"})).await;
    let second = login_code(&sim, json!({"appid": APP_ID, "openid": "o-busy"})).await;
    let other = login_code(&sim, json!({"appid": APP_ID, "openid": "o-calm"})).await;
    assert!(session(&sim, &first).await["openid"].is_string());
    assert_errcode(&session(&sim, &second).await, 45011);
    assert!(session(&sim, &other).await["openid"].is_string());
    sim.stop().await;
}

#[tokio::test]
async fn a_phone_code_gives_the_number_once_then_40029() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let code = phone_code(&sim, APP_ID, "13800138000", "86").await;
    let body = phone(&sim, &token, &code).await;
    assert_eq!(body["errcode"], 0);
    assert_eq!(body["errmsg"], "ok");
    let info = &body["phone_info"];
    assert_eq!(info["phoneNumber"], "13800138000");
    assert_eq!(info["purePhoneNumber"], "13800138000");
    assert_eq!(info["countryCode"], 86);
    assert_eq!(info["watermark"]["appid"], APP_ID);
    assert_errcode(&phone(&sim, &token, &code).await, 40029);
    sim.stop().await;
}

#[tokio::test]
async fn a_foreign_number_carries_its_country_code() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let code = phone_code(&sim, APP_ID, "2025550123", "1").await;
    let info = phone(&sim, &token, &code).await["phone_info"].clone();
    assert_eq!(info["phoneNumber"], "+12025550123");
    assert_eq!(info["purePhoneNumber"], "2025550123");
    assert_eq!(info["countryCode"], 1);
    sim.stop().await;
}

#[tokio::test]
async fn a_phone_code_expires_after_five_minutes() {
    let sim = spawn().await;
    let code = phone_code(&sim, APP_ID, "13800138000", "86").await;
    sim.advance(301).await;
    let token = sim.classic_token().await;
    assert_errcode(&phone(&sim, &token, &code).await, 40029);
    sim.stop().await;
}

#[tokio::test]
async fn a_phone_code_from_another_app_is_40013_and_stays_usable() {
    let sim = spawn().await;
    let code = phone_code(&sim, OTHER_APP_ID, "13900139000", "86").await;
    let token = sim.classic_token().await;
    assert_errcode(&phone(&sim, &token, &code).await, 40013);
    let own = sim.classic_token_for(OTHER_APP_ID, OTHER_SECRET).await;
    assert_eq!(phone(&sim, &own, &code).await["errcode"], 0);
    sim.stop().await;
}
