//! A client with `authorizers = true` acts for an Open Platform authorizer: its calls go
//! out with the authorizer's own token, through the product's authorizer token path, and
//! its jscode2session as the component variant with the component's token.

use serde_json::json;

use super::*;
use crate::helpers::{DbKind, TEST_APP_ID, TestApp};
use crate::on_every_database;
use crate::open_platform::{MERCHANT, push_ticket, spawn_open};

/// `agency` may act for authorizers; `php` (from `configure`) may not.
pub const AGENCY_KEY: &str = "client-key-of-the-agency";

async fn spawn_agency(kind: DbKind, test: &str) -> Option<TestApp> {
    spawn_open(kind, test, |s| {
        configure(s);
        s.gateway.clients.insert(
            "agency".into(),
            wxa_backend::config::GatewayClient {
                key: AGENCY_KEY.into(),
                apps: vec![],
                authorizers: true,
                allow: vec!["*".into()],
            },
        );
    })
    .await
}

async fn authorize_merchant(app: &TestApp) {
    push_ticket(app).await;
    let minted = app
        .sim_post("/__sim/auth_codes", json!({"authorizer_appid": MERCHANT}))
        .await;
    let res = app
        .client
        .get(app.url("/open/callback"))
        .query(&[("auth_code", minted["auth_code"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

on_every_database! {
    spawn = spawn_agency;

    async fn a_client_for_authorizers_acts_with_the_authorizers_own_token(app: &TestApp) {
        // Not yet authorized: no token for it.
        assert_errcode(&token_answer(app, MERCHANT, AGENCY_KEY).await, 40013);
        authorize_merchant(app).await;
        let token = token_answer(app, MERCHANT, AGENCY_KEY).await["access_token"]
            .as_str().unwrap().to_owned();
        let res = post(app, "wxa/getwxacodeunlimit", &token, json!({"scene": "shop=1"})).await;
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        let counters = app.sim_counters().await;
        assert_eq!(counters["calls"]["wxa/getwxacodeunlimit"][MERCHANT], 1, "{counters}");
        assert!(counters["calls"]["wxa/getwxacodeunlimit"][TEST_APP_ID].is_null());
        // The mini program's own token was never fetched for it.
        assert_eq!(app.stable_token_calls().await, 0);
        // A client without `authorizers` may not act for it; nor may `agency` for an
        // app it was not given.
        assert_errcode(&token_answer(app, MERCHANT, PHP_KEY).await, 40013);
        assert_errcode(&token_answer(app, TEST_APP_ID, AGENCY_KEY).await, 40013);
    }

    async fn jscode2session_for_an_authorizer_goes_out_with_the_component_token(app: &TestApp) {
        authorize_merchant(app).await;
        let minted = app
            .sim_post("/__sim/login_codes", json!({"appid": MERCHANT, "openid": "o-merchant-0001"}))
            .await;
        let code = minted["code"].as_str().unwrap();
        let login = |key: &'static str| {
            let req = app.client.get(app.url("/wx/sns/jscode2session")).query(&[
                ("appid", MERCHANT), ("secret", key), ("js_code", code),
                ("grant_type", "authorization_code"),
            ]);
            async move { wx(req.send().await.unwrap()).await }
        };
        // php may not act for authorizers: refused before WeChat, the code not spent.
        assert_errcode(&login(PHP_KEY).await, 40013);
        let session = login(AGENCY_KEY).await;
        assert_eq!(session["openid"], "o-merchant-0001", "{session}");
        assert!(session["session_key"].as_str().is_some_and(|k| !k.is_empty()));
        let counters = app.sim_counters().await;
        assert_eq!(counters["calls"]["sns/component/jscode2session"][MERCHANT], 1, "{counters}");
        assert!(counters["calls"]["sns/jscode2session"].is_null(), "{counters}");
    }
}
