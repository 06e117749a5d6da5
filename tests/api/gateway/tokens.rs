//! Token requests and stand-in tokens: WeChat's errcodes for bad requests, tokens that are
//! never WeChat's, checked by any instance, refused once expired or signed with an old key.

use serde_json::{Value, json};

use super::*;
use crate::helpers::{TEST_APP_ID, TEST_SECRET, TestApp};
use crate::on_every_database;

fn assert_stand_in_shape(answer: &Value, ttl: i64) -> String {
    let token = answer["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    assert!((1..=512).contains(&token.len()), "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "{token}"
    );
    let expires_in = answer["expires_in"].as_i64().expect("expires_in");
    assert!(expires_in > 0 && expires_in <= ttl, "{answer}");
    assert_eq!(answer.as_object().unwrap().len(), 2, "{answer}");
    token
}

async fn stable_token(app: &TestApp, body: Value) -> Value {
    let res = app
        .client
        .post(app.url("/wx/cgi-bin/stable_token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    wx(res).await
}

on_every_database! {
    spawn = super::spawn_gateway;

    async fn a_client_key_gets_a_stand_in_token_by_get_and_by_stable_token(app: &TestApp) {
        let by_get = assert_stand_in_shape(&token_answer(app, TEST_APP_ID, PHP_KEY).await, 7200);
        let body = json!({"grant_type": "client_credential", "appid": TEST_APP_ID, "secret": PHP_KEY, "force_refresh": true});
        let by_post = assert_stand_in_shape(&stable_token(app, body).await, 7200);
        // Minting a stand-in token asks WeChat nothing, force_refresh included.
        assert_eq!(app.stable_token_calls().await, 0);
        assert_eq!(app.tokens_issued("classic").await, 0);

        for token in [&by_get, &by_post] {
            let answer = scheme_through(app, token).await;
            assert_eq!(answer["errcode"], 0, "{answer}");
        }
        // One central token served both, and it is not what the client holds.
        assert_eq!(app.stable_token_calls().await, 1);
        let real = app.context.mini_program.tokens.get("default").await.unwrap();
        assert!(by_get != *real.value && by_post != *real.value);
    }

    async fn wrong_keys_appids_grant_types_and_methods_get_wechats_errcodes(app: &TestApp) {
        assert_errcode(&token_answer(app, TEST_APP_ID, "not-a-client-key").await, 40125);
        // The real app secret is no client key either.
        assert_errcode(&token_answer(app, TEST_APP_ID, TEST_SECRET).await, 40125);
        assert_errcode(&token_answer(app, "wx9999999999999999", PHP_KEY).await, 40013);
        // A configured app this client was not given.
        assert_errcode(&token_answer(app, SHOP_APP_ID, PHP_KEY).await, 40013);

        let res = app.client.get(app.url("/wx/cgi-bin/token"))
            .query(&[("grant_type", "authorization_code"), ("appid", TEST_APP_ID), ("secret", PHP_KEY)])
            .send().await.unwrap();
        assert_errcode(&wx(res).await, 40002);
        let res = app.client.get(app.url("/wx/cgi-bin/token"))
            .query(&[("grant_type", "client_credential"), ("secret", PHP_KEY)])
            .send().await.unwrap();
        assert_errcode(&wx(res).await, 41002);

        let body = json!({"grant_type": "client_credential", "appid": TEST_APP_ID, "secret": "nope"});
        assert_errcode(&stable_token(app, body).await, 40125);
        let body = json!({"grant_type": "password", "appid": TEST_APP_ID, "secret": PHP_KEY});
        assert_errcode(&stable_token(app, body).await, 40002);
        let res = app.client.post(app.url("/wx/cgi-bin/stable_token"))
            .body("appid=wx1").send().await.unwrap();
        assert_errcode(&wx(res).await, 47001);
        let res = app.client.post(app.url("/wx/cgi-bin/token")).send().await.unwrap();
        assert_errcode(&wx(res).await, 43001);
        let res = app.client.get(app.url("/wx/cgi-bin/stable_token")).send().await.unwrap();
        assert_errcode(&wx(res).await, 43002);

        // Nothing of this reached WeChat.
        assert_eq!(app.sim_counters().await["calls_total"], 0);
    }

    async fn bad_forged_and_borrowed_stand_in_tokens_are_40001_and_never_forwarded(app: &TestApp) {
        let body = json!({"scene": "a=1"});
        let real = app.context.mini_program.tokens.get("default").await.unwrap();
        let good = stand_in(app, PHP_KEY).await;
        let mut forged = good.clone().into_bytes();
        let last = forged.len() - 5;
        forged[last] = if forged[last] == b'x' { b'y' } else { b'x' };
        let forged = String::from_utf8(forged).unwrap();
        for token in ["", "gw1_garbage", forged.as_str(), &real.value] {
            let answer = wx(post(app, "wxa/getwxacodeunlimit", token, body.clone()).await).await;
            assert_errcode(&answer, 40001);
        }
        let res = app.client.post(app.url("/wx/wxa/getwxacodeunlimit")).json(&body).send().await.unwrap();
        assert_errcode(&wx(res).await, 40001);
        // The real token sent by a client is refused too: it never reaches WeChat.
        assert_eq!(sim_calls(app, "wxa/getwxacodeunlimit").await, 0);
    }

    async fn a_token_minted_by_one_instance_is_accepted_by_another(app: &TestApp) {
        let token = stand_in(app, PHP_KEY).await;
        let (other, context, handle) = app.another_instance(|_| {}).await;
        let res = app.client
            .post(format!("{other}/wx/wxa/generatescheme"))
            .query(&[("access_token", token.as_str())])
            .json(&json!({"jump_wxa": {"path": "pages/index/index"}, "expire_type": 1, "expire_interval": 1}))
            .send().await.unwrap();
        let answer = wx(res).await;
        assert_eq!(answer["errcode"], 0, "{answer}");
        // And back: the first instance serves the same token, on the same central token.
        assert_eq!(scheme_through(app, &token).await["errcode"], 0);
        assert_eq!(app.stable_token_calls().await, 1);
        handle.stop(true).await;
        context.db.close().await;
    }

    async fn a_new_client_key_or_an_elapsed_lifetime_ends_a_stand_in_token(app: &TestApp) {
        let token = stand_in(app, PHP_KEY).await;
        // The same deployment with php's key rotated, and a two-second lifetime.
        let (other, context, handle) = app.another_instance(|s| {
            s.gateway.clients.get_mut("php").unwrap().key = "the-new-key-of-php".into();
            s.gateway.token_ttl_secs = 2;
        }).await;
        let forward = |token: String| {
            let url = format!("{other}/wx/wxa/generatescheme");
            let client = app.client.clone();
            async move {
                let res = client.post(url).query(&[("access_token", token.as_str())])
                    .json(&json!({"jump_wxa": {"path": "pages/index/index"}})).send().await.unwrap();
                wx(res).await
            }
        };
        assert_errcode(&forward(token).await, 40001);
        let res = app.client.get(format!("{other}/wx/cgi-bin/token"))
            .query(&[("grant_type", "client_credential"), ("appid", TEST_APP_ID), ("secret", "the-new-key-of-php")])
            .send().await.unwrap();
        let answer = wx(res).await;
        let fresh = assert_stand_in_shape(&answer, 2);
        assert_eq!(forward(fresh.clone()).await["errcode"], 0);
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_errcode(&forward(fresh).await, 40001);
        handle.stop(true).await;
        context.db.close().await;
    }
}

/// Off, or on without a client: `/wx/` does not exist and answers the 404 envelope.
mod disabled {
    use crate::helpers::{DbKind, TestApp, envelope};

    #[tokio::test]
    async fn with_the_gateway_off_or_without_clients_wx_is_the_404_envelope() {
        let tweaks: [fn(&mut wxa_backend::config::Settings); 2] = [
            |s| {
                super::configure(s);
                s.gateway.enabled = false;
            },
            |s| s.gateway.enabled = true,
        ];
        for tweak in tweaks {
            let app = TestApp::spawn_with(DbKind::Sqlite, "gateway::disabled", tweak)
                .await
                .unwrap();
            for path in [
                "/wx/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=k",
                "/wx/wxa/getwxacodeunlimit?access_token=x",
            ] {
                let (status, body) = envelope(app.get(path).await).await;
                assert_eq!((status, body["code"].as_u64()), (404, Some(404)), "{path}");
            }
            app.finish().await;
        }
    }
}
