//! Phone binding with the button's code: the 409, country codes, spent codes, races.

use serde_json::json;

use super::{bind, login, phone_code, post, stored_phone, token, upstream_calls};
use crate::helpers::TEST_APP_ID;
use crate::on_every_database;

on_every_database! {
    async fn a_phone_code_made_by_another_users_button_is_refused_by_wechat(app: &TestApp) {
        let alice = login(app, "o-alice-0000000031", None).await;
        let mallory = login(app, "o-mallory-00000031", None).await;
        // The code of alice's button (WeChat knows whose it is); the session's openid goes
        // with the request, so mallory cannot spend it.
        let code = app
            .sim_post("/__sim/phone_codes", json!({"phone_number": "13700001111", "openid": "o-alice-0000000031"}))
            .await["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, body) = post(app, "/api/bind_phone", Some(&token(&mallory)), json!({"code": code})).await;
        assert_eq!((status, body["data"]["errcode"].as_i64()), (502, Some(40029)), "{body}");
        let mallory_id = mallory["user"]["id"].as_i64().unwrap();
        assert_eq!(stored_phone(app, mallory_id).await, None);
        let (status, body) = post(app, "/api/bind_phone", Some(&token(&alice)), json!({"code": code})).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn a_phone_bound_to_another_user_of_the_same_app_is_409(app: &TestApp) {
        let alice = login(app, "o-alice-0000000009", None).await;
        let bob = login(app, "o-bob-000000000009", None).await;
        let (status, _) = bind(app, &token(&alice), "13812345678").await;
        assert_eq!(status, 200);
        let (status, body) = bind(app, &token(&bob), "13812345678").await;
        assert_eq!((status, body["code"].as_u64()), (409, Some(409)), "{body}");
        assert_eq!(body["data"], serde_json::Value::Null);
        assert!(!body.to_string().contains("13812345678"), "{body}");
        let bob_id = bob["user"]["id"].as_i64().unwrap();
        let alice_id = alice["user"]["id"].as_i64().unwrap();
        assert_eq!(stored_phone(app, bob_id).await, None, "nothing half-written");
        assert_eq!(stored_phone(app, alice_id).await.unwrap().0, "13812345678");
        // The owner binding the same phone again is fine; bob can bind another one.
        assert_eq!(bind(app, &token(&alice), "13812345678").await.0, 200);
        assert_eq!(bind(app, &token(&bob), "13812345679").await.0, 200);
    }

    async fn two_users_racing_for_one_phone_get_one_200_and_one_409(app: &TestApp) {
        let mut tokens = Vec::new();
        for i in 0..6 {
            tokens.push(token(&login(app, &format!("o-racer-00000000{i}"), None).await));
        }
        let mut codes = Vec::new();
        for _ in &tokens {
            codes.push(phone_code(app, TEST_APP_ID, "13911112222", "86").await);
        }
        let calls = tokens.iter().zip(&codes).map(|(t, c)| {
            post(app, "/api/bind_phone", Some(t), json!({"code": c}))
        });
        let answers = futures_util::future::join_all(calls).await;
        let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409, 409, 409, 409, 409], "{answers:?}");
        let owners: (i64,) = app.context.db.query("SELECT COUNT(*) FROM users WHERE pure_phone_number = $1")
            .bind("13911112222")
            .fetch_one(app.context.db.pool())
            .await
            .unwrap();
        assert_eq!(owners.0, 1);
    }

    async fn country_codes_arrive_as_numbers_and_are_returned_as_digits(app: &TestApp) {
        let t = token(&login(app, "o-intl-0000000001", None).await);
        // The simulator (like WeChat's example) sends countryCode as a number.
        let code = phone_code(app, TEST_APP_ID, "2025550123", "1").await;
        let (status, body) = post(app, "/api/bind_phone", Some(&t), json!({"code": code})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"],
            json!({"phone_number": "+12025550123", "pure_phone_number": "2025550123", "country_code": "1"})
        );
        let user = login(app, "o-intl-0000000001", None).await["user"]["id"].as_i64().unwrap();
        assert_eq!(
            stored_phone(app, user).await,
            Some(("+12025550123".into(), "2025550123".into(), "1".into()))
        );
        // The string form comes through the encrypted flow (see encrypted.rs) and the
        // domain's unit tests.
    }

    async fn a_spent_phone_code_is_5000_with_40029_and_asks_for_the_button_again(app: &TestApp) {
        let t = token(&login(app, "o-henry-000000001", None).await);
        let code = phone_code(app, TEST_APP_ID, "13300000000", "86").await;
        let (status, _) = post(app, "/api/bind_phone", Some(&t), json!({"code": code})).await;
        assert_eq!(status, 200);
        let (status, body) = post(app, "/api/bind_phone", Some(&t), json!({"code": code})).await;
        assert_eq!((status, body["code"].as_u64()), (502, Some(5000)), "{body}");
        assert_eq!(body["data"]["errcode"], 40029);
        assert!(body["msg"].as_str().unwrap().contains("手机号授权按钮"), "{body}");
        // A wx.login code is not a phone code.
        let login_code = crate::users::login_code(app, TEST_APP_ID, "o-henry-000000001", None).await;
        let (status, body) = post(app, "/api/bind_phone", Some(&t), json!({"code": login_code})).await;
        assert_eq!((status, body["data"]["errcode"].as_i64()), (502, Some(40029)), "{body}");
        assert_eq!(upstream_calls(app, "wxa/business/getuserphonenumber").await, 3, "never resent");
    }

    async fn a_revoked_access_token_is_refreshed_and_the_phone_code_still_works(app: &TestApp) {
        let t = token(&login(app, "o-ivan-0000000001", None).await);
        assert_eq!(bind(app, &t, "13200000000").await.0, 200);
        app.sim_post("/__sim/tokens/revoke", json!({"appid": TEST_APP_ID, "kind": "all"})).await;
        let (status, body) = bind(app, &t, "13200000001").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["phone_number"], "13200000001");
    }
}
