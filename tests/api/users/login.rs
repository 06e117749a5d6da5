//! Login: the user upsert, the bearer session, spent codes, bad input, expiry.

use serde_json::json;
use wxa_backend::services::token::now_unix;

use super::{SHOP_APP_ID, bind, count, login, login_code, post, token, upstream_calls};
use crate::helpers::TEST_APP_ID;
use crate::{on_every_database, with_two_apps};

on_every_database! {
    async fn a_user_logs_in_binds_the_phone_and_logs_in_again_with_it(app: &TestApp) {
        let first = login(app, "o-alice-0000000001", Some("u-alice")).await;
        let token = token(&first);
        assert_eq!(token.len(), 43, "32 random bytes as base64url");
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let expires_at = first["expires_at"].as_i64().unwrap();
        assert!((expires_at - (now_unix() + 604_800)).abs() <= 5, "7 days: {first}");
        assert_eq!(first["user"]["has_phone"], false);
        let shown = first.to_string();
        assert!(!shown.contains("o-alice") && !shown.contains("session_key"), "{shown}");

        let (status, body) = bind(app, &token, "13812345678").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["msg"], "手机号绑定成功");
        assert_eq!(
            body["data"],
            json!({"phone_number": "13812345678", "pure_phone_number": "13812345678", "country_code": "86"})
        );

        let again = login(app, "o-alice-0000000001", None).await;
        assert_eq!(again["user"]["id"], first["user"]["id"]);
        assert_eq!(again["user"]["has_phone"], true);
        assert_ne!(again["token"], first["token"], "every login is a new session");
        // The token is stored only as its hash.
        let hashes: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM user_sessions")
            .fetch_all(app.context.db.pool())
            .await
            .unwrap();
        assert_eq!(hashes.len(), 2);
        assert!(hashes.iter().all(|(h,)| h != &token && h.len() == 43));
    }

    async fn logging_in_again_updates_the_same_user_and_keeps_the_unionid(app: &TestApp) {
        let first = login(app, "o-bob-000000000001", Some("u-bob")).await;
        let again = login(app, "o-bob-000000000001", None).await;
        assert_eq!(first["user"]["id"], again["user"]["id"]);
        let other = login(app, "o-carol-0000000001", None).await;
        assert_ne!(first["user"]["id"], other["user"]["id"]);
        assert_eq!(crate::users::count(app, "users").await, 2);
        let unionid: (Option<String>,) = app.context.db.query("SELECT unionid FROM users WHERE id = $1")
            .bind(first["user"]["id"].as_i64().unwrap())
            .fetch_one(app.context.db.pool())
            .await
            .unwrap();
        assert_eq!(unionid.0.as_deref(), Some("u-bob"), "kept when WeChat sends none");
        login(app, "o-bob-000000000001", Some("u-bob-2")).await;
        let unionid: (Option<String>,) = app.context.db.query("SELECT unionid FROM users WHERE id = $1")
            .bind(first["user"]["id"].as_i64().unwrap())
            .fetch_one(app.context.db.pool())
            .await
            .unwrap();
        assert_eq!(unionid.0.as_deref(), Some("u-bob-2"));
        // Both sessions of bob work.
        for t in [token(&first), token(&again)] {
            let (status, body) = bind(app, &t, "13800000000").await;
            assert_eq!(status, 200, "{body}");
        }
    }

    async fn a_reused_login_code_is_5000_with_40163_and_asks_for_a_new_code(app: &TestApp) {
        let code = login_code(app, TEST_APP_ID, "o-dave-0000000001", None).await;
        let (status, _) = post(app, "/api/login", None, json!({"code": code})).await;
        assert_eq!(status, 200);
        let (status, body) = post(app, "/api/login", None, json!({"code": code})).await;
        assert_eq!((status, body["code"].as_u64()), (502, Some(5000)), "{body}");
        assert_eq!(body["data"]["errcode"], 40163);
        assert!(body["data"]["errmsg"].as_str().unwrap().contains("rid:"), "WeChat's own errmsg");
        assert!(body["msg"].as_str().unwrap().contains("wx.login"), "{body}");

        let (status, body) = post(app, "/api/login", None, json!({"code": "never-minted-code-0123456789abcd"})).await;
        assert_eq!((status, body["code"].as_u64()), (502, Some(5000)), "{body}");
        assert_eq!(body["data"]["errcode"], 40029);
        assert!(body["msg"].as_str().unwrap().contains("wx.login"), "{body}");
        assert_eq!(count(app, "users").await, 1, "failed logins write nothing");
        assert_eq!(count(app, "user_sessions").await, 1);
        assert_eq!(upstream_calls(app, "sns/jscode2session").await, 3, "never resent");
    }

    async fn missing_malformed_unknown_and_expired_bearers_are_401(app: &TestApp) {
        let data = login(app, "o-erin-0000000001", None).await;
        let token = token(&data);
        let code = crate::users::phone_code(app, TEST_APP_ID, "13700000000", "86").await;
        let body = json!({"code": code});
        let unknown = "A".repeat(43);
        for bearer in [None, Some("garbage"), Some(unknown.as_str())] {
            let (status, res) = post(app, "/api/bind_phone", bearer, body.clone()).await;
            assert_eq!((status, res["code"].as_u64()), (401, Some(401)), "{bearer:?}: {res}");
        }
        let basic = app.client.post(app.url("/api/bind_phone"))
            .header("authorization", format!("Basic {token}"))
            .json(&body).send().await.unwrap();
        assert_eq!(basic.status(), 401);

        app.context.db.query("UPDATE user_sessions SET expires_at = $1")
            .bind(now_unix() - 1)
            .execute(app.context.db.pool())
            .await
            .unwrap();
        let (status, res) = post(app, "/api/bind_phone", Some(&token), body.clone()).await;
        assert_eq!((status, res["code"].as_u64()), (401, Some(401)), "expired: {res}");
        assert_eq!(upstream_calls(app, "wxa/business/getuserphonenumber").await, 0);

        // The code was never spent: a fresh session binds with it.
        let fresh = login(app, "o-erin-0000000001", None).await;
        let (status, res) = post(app, "/api/bind_phone", Some(&crate::users::token(&fresh)), body).await;
        assert_eq!(status, 200, "{res}");
        assert_eq!(count(app, "user_sessions").await, 1, "the expired session was dropped at login");
    }

    async fn bad_input_is_400_naming_the_field_before_any_upstream_call(app: &TestApp) {
        let long = "a".repeat(129);
        let cases = [
            ("/api/login", json!({}), "code"),
            ("/api/login", json!({"code": ""}), "code"),
            ("/api/login", json!({"code": long}), "code"),
            ("/api/login", json!({"code": "has space"}), "code"),
            ("/api/login", json!({"code": "abc", "app": "nope"}), "app"),
            ("/api/login", json!({"code": "abc", "app": "default", "appid": "wx1"}), "appid"),
        ];
        for (path, body, field) in cases {
            let (status, res) = post(app, path, None, body.clone()).await;
            assert_eq!(status, 400, "{body}: {res}");
            assert_eq!(res["data"]["field"], field, "{body}: {res}");
        }
        let token = token(&login(app, "o-frank-000000001", None).await);
        let cases = [
            (json!({}), "code"),
            (json!({"code": long}), "code"),
            (json!({"code": "abc", "encrypted_data": "AAAA"}), "encrypted_data"),
            (json!({"encrypted_data": "AAAAAAAAAAAAAAAAAAAAAA=="}), "iv"),
            (json!({"encrypted_data": "AAAA", "iv": "AAAAAAAAAAAAAAAAAAAAAA=="}), "encrypted_data"),
            (json!({"encrypted_data": "AAAAAAAAAAAAAAAAAAAAAA==", "iv": "AAAA"}), "iv"),
            (json!({"code": "abc", "app": "nope"}), "app"),
        ];
        for (body, field) in cases {
            let (status, res) = post(app, "/api/bind_phone", Some(&token), body.clone()).await;
            assert_eq!(status, 400, "{body}: {res}");
            assert_eq!(res["data"]["field"], field, "{body}: {res}");
        }
        assert_eq!(upstream_calls(app, "sns/jscode2session").await, 1, "only the good login");
        assert_eq!(upstream_calls(app, "wxa/business/getuserphonenumber").await, 0);
        let get = app.get("/api/login").await;
        assert_eq!(get.status(), 405);
    }

    async fn login_accepts_a_form_body(app: &TestApp) {
        let code = login_code(app, TEST_APP_ID, "o-gina-0000000001", None).await;
        let res = app.client.post(app.url("/api/login")).form(&[("code", code.as_str())]).send().await.unwrap();
        let (status, body) = crate::helpers::envelope(res).await;
        assert_eq!(status, 200, "{body}");
    }
}

with_two_apps! {
    async fn the_session_belongs_to_the_app_of_the_login(app: &TestApp) {
        let code = login_code(app, SHOP_APP_ID, "o-shop-0000000001", None).await;
        let (status, body) = post(app, "/api/login", None, json!({"code": code, "app": "shop"})).await;
        assert_eq!(status, 200, "{body}");
        let shop_token = token(&body["data"]);
        // A shop code on the default app is unknown there.
        let code = login_code(app, SHOP_APP_ID, "o-shop-0000000001", None).await;
        let (status, body) = post(app, "/api/login", None, json!({"code": code})).await;
        assert_eq!((status, body["data"]["errcode"].as_i64()), (502, Some(40029)), "{body}");

        // bind_phone uses the session's app: the shop's phone code works without app=.
        let phone = crate::users::phone_code(app, SHOP_APP_ID, "13600000000", "86").await;
        let (status, body) = post(app, "/api/bind_phone", Some(&shop_token), json!({"code": phone, "app": "default"})).await;
        assert_eq!((status, body["data"]["field"].as_str()), (400, Some("app")), "{body}");
        let (status, body) = post(app, "/api/bind_phone", Some(&shop_token), json!({"code": phone, "app": "shop"})).await;
        assert_eq!(status, 200, "{body}");
        let calls = &app.sim_counters().await["calls"]["wxa/business/getuserphonenumber"];
        assert_eq!(calls[SHOP_APP_ID].as_u64(), Some(1), "{calls}");
    }

    async fn the_same_phone_may_be_bound_once_per_app(app: &TestApp) {
        let default_user = token(&login(app, "o-same-0000000001", None).await);
        let (status, _) = bind(app, &default_user, "13500000000").await;
        assert_eq!(status, 200);
        let code = login_code(app, SHOP_APP_ID, "o-same-0000000001", None).await;
        let (_, body) = post(app, "/api/login", None, json!({"code": code, "app": "shop"})).await;
        let phone = crate::users::phone_code(app, SHOP_APP_ID, "13500000000", "86").await;
        let (status, body) = post(app, "/api/bind_phone", Some(&token(&body["data"])), json!({"code": phone})).await;
        assert_eq!(status, 200, "another app, another user: {body}");
        assert_eq!(count(app, "users").await, 2);
    }
}

#[test]
fn the_openapi_document_lists_login_and_bind_phone() {
    let doc = serde_json::to_value(wxa_backend::openapi::document()).unwrap();
    let paths = &doc["paths"];
    assert!(paths["/api/login"]["post"].is_object(), "{paths}");
    let bind = &paths["/api/bind_phone"]["post"];
    assert!(bind["security"].is_array(), "{bind}");
    assert!(bind["responses"]["409"].is_object(), "{bind}");
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["LoginData"].is_object() && schemas["Phone"].is_object(),
        "{schemas}"
    );
}
