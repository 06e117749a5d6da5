//! Authorization: the page redirect, the callback, authorizer tokens, the admin list,
//! and acting for the merchant with its own token.

use serde_json::{Value, json};
use wxa_backend::services::token::AccessToken;
use wxa_backend::wechat::{WechatError, api};

use super::*;
use crate::helpers::envelope;
use crate::on_every_database;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(res: &reqwest::Response) -> url::Url {
    assert_eq!(res.status(), 302);
    url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap()
}

fn query_of(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A merchant authorizes through an auth code from the simulator and our callback.
async fn authorize_with_code(app: &TestApp, body: Value) -> reqwest::Response {
    let minted = app.sim_post("/__sim/auth_codes", body).await;
    let code = minted["auth_code"].as_str().unwrap();
    let mut url = url::Url::parse(&app.url("/open/callback")).unwrap();
    url.query_pairs_mut()
        .append_pair("auth_code", code)
        .append_pair("expires_in", "3600");
    app.client.get(url).send().await.unwrap()
}

async fn admin_authorizers(app: &TestApp) -> Value {
    let res = app
        .client
        .get(app.url("/admin/authorizers"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let (status, body) = envelope(res).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// A scheme and a code made with the merchant's own token.
async fn scheme_and_code_for(
    app: &TestApp,
    appid: &str,
) -> Result<(), wxa_backend::error::AppError> {
    app.context
        .open_platform
        .with_authorizer_token(appid, |client, token: AccessToken| async move {
            let q = [("access_token", &*token.value)];
            let scheme: Value = client
                .post_json(
                    api::GENERATE_SCHEME,
                    &q,
                    &json!({"expire_type": 1, "expire_interval": 1}),
                )
                .await?;
            assert!(
                scheme["openlink"]
                    .as_str()
                    .unwrap()
                    .starts_with("weixin://")
            );
            client
                .post_image(api::GET_WXACODE_UNLIMIT, &q, &json!({"scene": "a=1"}))
                .await?;
            Ok::<_, WechatError>(())
        })
        .await
}

on_every_database! {
    spawn = crate::open_platform::spawn_default;
    async fn a_merchant_authorizes_end_to_end_and_codes_are_made_with_its_own_token(app: &TestApp) {
        push_ticket(app).await;
        let res = no_redirects().get(app.url(&format!("/open/authorize?biz_appid={MERCHANT}"))).send().await.unwrap();
        let page = location(&res);
        assert!(page.as_str().starts_with(&app.sim_url("/cgi-bin/componentloginpage?")), "{page}");
        assert_eq!(query_of(&page, "component_appid").as_deref(), Some(COMPONENT_APPID));
        assert_eq!(query_of(&page, "auth_type").as_deref(), Some("2"));
        let callback = query_of(&page, "redirect_uri").unwrap();
        assert_eq!(callback, format!("{}/open/callback", app.context.settings.server.public_url));
        assert!(query_of(&page, "pre_auth_code").unwrap().starts_with("preauthcode@@@"));

        // The simulator's page authorizes at once and sends the merchant back.
        let back = location(&no_redirects().get(page).send().await.unwrap());
        let res = app.client.get(app.url(&format!("/open/callback?{}", back.query().unwrap()))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(res.text().await.unwrap().contains(MERCHANT));

        let stored = stored_authorizers(app).await;
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].app_id.as_str(), stored[0].revoked), (MERCHANT, 0));
        assert!(!stored[0].refresh_token.is_empty());

        let list = admin_authorizers(app).await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["app_id"], MERCHANT);
        assert_eq!(list["items"][0]["status"], "authorized");
        assert!(!list.to_string().contains(&stored[0].refresh_token), "no tokens shown");

        scheme_and_code_for(app, MERCHANT).await.unwrap();
        let calls = app.sim_counters().await["calls"].clone();
        assert_eq!(calls["wxa/generatescheme"][MERCHANT], 1, "{calls}");
        assert_eq!(calls["wxa/getwxacodeunlimit"][MERCHANT], 1, "{calls}");
    }

    async fn the_mobile_authorize_redirects_to_the_bindcomponent_page(app: &TestApp) {
        push_ticket(app).await;
        let res = no_redirects().get(app.url("/open/authorize?mobile=1&auth_type=3")).send().await.unwrap();
        let page = location(&res);
        assert_eq!(page.path(), "/wxaopen/safe/bindcomponent");
        assert_eq!(page.fragment(), Some("wechat_redirect"));
        assert_eq!(query_of(&page, "action").as_deref(), Some("bindcomponent"));
        assert_eq!(query_of(&page, "auth_type").as_deref(), Some("3"));
        let back = location(&no_redirects().get(page).send().await.unwrap());
        assert!(query_of(&back, "auth_code").unwrap().starts_with("queryauthcode@@@"));
    }

    async fn bad_authorize_and_callback_input_is_a_400_before_any_upstream_call(app: &TestApp) {
        push_ticket(app).await;
        for (path, field) in [
            ("/open/authorize?auth_type=7", "auth_type"),
            ("/open/authorize?biz_appid=nope", "biz_appid"),
            ("/open/authorize?mobile=maybe", "mobile"),
            ("/open/callback", "auth_code"),
        ] {
            let (status, body) = envelope(no_redirects().get(app.url(path)).send().await.unwrap()).await;
            assert_eq!((status, body["data"]["field"].as_str()), (400, Some(field)), "{path}: {body}");
        }
        let calls = app.sim_counters().await["calls"].clone();
        assert!(calls.get("cgi-bin/component/api_create_preauthcode").is_none(), "{calls}");
        // An unknown code is WeChat's 61009, passed on.
        let (status, body) = envelope(app.get("/open/callback?auth_code=queryauthcode@@@nope").await).await;
        assert_eq!((status, body["data"]["errcode"].as_i64()), (502, Some(61009)), "{body}");
    }

    async fn authorize_before_any_ticket_is_a_503(app: &TestApp) {
        let (status, body) = envelope(no_redirects().get(app.url("/open/authorize")).send().await.unwrap()).await;
        assert_eq!(status, 503, "{body}");
    }

    async fn granted_func_ids_are_stored_and_updateauthorized_replaces_them(app: &TestApp) {
        push_ticket(app).await;
        let res = authorize_with_code(app, json!({"authorizer_appid": MERCHANT, "func_ids": [1, 17, 18]})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(stored_authorizers(app).await[0].func_ids, "1,17,18");
        let answer = push(app, json!({"info_type": "updateauthorized", "authorizer_appid": MERCHANT, "func_ids": [1, 18]})).await;
        assert_eq!(answer["status"], 200, "{answer}");
        assert_eq!(admin_authorizers(app).await["items"][0]["func_ids"], json!([1, 18]));
    }

    async fn an_unauthorized_push_marks_the_authorizer_revoked(app: &TestApp) {
        push_ticket(app).await;
        assert_eq!(authorize_with_code(app, json!({"authorizer_appid": MERCHANT})).await.status(), 200);
        let answer = push(app, json!({"info_type": "unauthorized", "authorizer_appid": MERCHANT})).await;
        assert_eq!((answer["status"].as_i64(), answer["body"].as_str()), (Some(200), Some("success")));
        let item = admin_authorizers(app).await["items"][0].clone();
        assert_eq!(item["status"], "revoked");
        assert!(item["revoked_at"].as_i64().unwrap() > 0);
        let refused = app.context.open_platform.authorizer_token(MERCHANT).await.unwrap_err();
        assert_eq!(refused.code(), 400);
        // Authorizing again restores it.
        assert_eq!(authorize_with_code(app, json!({"authorizer_appid": MERCHANT})).await.status(), 200);
        assert_eq!(stored_authorizers(app).await[0].revoked, 0);
    }

    async fn the_component_token_is_fetched_once_for_a_burst_and_persisted(app: &TestApp) {
        push_ticket(app).await;
        let op = &app.context.open_platform;
        let burst = futures_util::future::join_all((0..20).map(|_| op.component_token())).await;
        let first = burst[0].as_ref().unwrap().value.clone();
        assert!(burst.iter().all(|t| t.as_ref().unwrap().value == first));
        let issued = |c: Value| c["tokens_issued"][COMPONENT_APPID]["component"].as_u64();
        assert_eq!(issued(app.sim_counters().await), Some(1));
        let stored = wxa_backend::store::tokens::load(&app.context.db, COMPONENT_APPID, "component").await.unwrap().unwrap();
        assert_eq!(stored.token, &*first);
        // A restarted instance reuses it.
        let (_, context, handle) = app.another_instance(|_| {}).await;
        assert_eq!(context.open_platform.component_token().await.unwrap().value, first);
        assert_eq!(issued(app.sim_counters().await), Some(1));
        handle.stop(true).await;
    }

    async fn a_rejected_authorizer_token_is_refreshed_once_with_the_stored_refresh_token(app: &TestApp) {
        push_ticket(app).await;
        assert_eq!(authorize_with_code(app, json!({"authorizer_appid": MERCHANT})).await.status(), 200);
        let issued = |c: Value| c["tokens_issued"][MERCHANT]["authorizer"].as_u64().unwrap_or(0);
        let before = issued(app.sim_counters().await);
        app.sim_post("/__sim/tokens/revoke", json!({"appid": MERCHANT, "kind": "authorizer"})).await;
        let burst = futures_util::future::join_all((0..10).map(|_| scheme_and_code_for(app, MERCHANT))).await;
        assert!(burst.iter().all(Result::is_ok), "{burst:?}");
        assert_eq!(issued(app.sim_counters().await), before + 1);
    }
}
