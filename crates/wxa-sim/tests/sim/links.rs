//! URL Scheme, URL Link and Short Link: generation, query, expiry window, checks, limits.

use serde_json::{Value, json};

use crate::helpers::{APP_ID, OTHER_APP_ID, OTHER_SECRET, TestSim, assert_errcode, spawn};

async fn call(sim: &TestSim, token: &str, api: &str, body: Value) -> Value {
    sim.post_json(&format!("/wxa/{api}?access_token={token}"), &body)
        .await
}

async fn now(sim: &TestSim) -> i64 {
    sim.get_json("/__sim/clock").await["now"].as_i64().unwrap()
}

#[tokio::test]
async fn a_scheme_is_generated_and_queried_back() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let expire = now(&sim).await + 86_400;
    let body = json!({
        "jump_wxa": {"path": "pages/item/item", "query": "id=5&x=%E4", "env_version": "trial"},
        "expire_type": 0, "expire_time": expire,
    });
    let made = call(&sim, &token, "generatescheme", body).await;
    assert_eq!(made["errcode"], 0);
    assert_eq!(made["errmsg"], "ok");
    let openlink = made["openlink"].as_str().unwrap();
    assert!(
        openlink.starts_with("weixin://dl/business/?t="),
        "{openlink}"
    );
    let info = call(&sim, &token, "queryscheme", json!({"scheme": openlink})).await;
    assert_eq!(info["errcode"], 0);
    let s = &info["scheme_info"];
    assert_eq!(s["appid"], APP_ID);
    assert_eq!(s["path"], "pages/item/item");
    assert_eq!(s["query"], "id=5&x=%E4");
    assert_eq!(s["env_version"], "trial");
    assert_eq!(s["expire_time"], expire);
    // Another app's token does not see it.
    let other = sim.classic_token_for(OTHER_APP_ID, OTHER_SECRET).await;
    let hidden = call(&sim, &other, "queryscheme", json!({"scheme": openlink})).await;
    assert_errcode(&hidden, 85403);
    sim.stop().await;
}

#[tokio::test]
async fn a_scheme_expiry_outside_one_minute_to_thirty_days_is_85401() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let t = now(&sim).await;
    let bad = [
        json!({"expire_type": 0, "expire_time": t + 30}),
        json!({"expire_type": 0, "expire_time": t + 31 * 86_400}),
        json!({"expire_type": 0, "expire_time": t + 335 * 86_400}),
        json!({"expire_type": 1, "expire_interval": 31}),
        json!({"expire_type": 1, "expire_interval": 0}),
        json!({"expire_type": 1}),
    ];
    for body in bad {
        assert_errcode(&call(&sim, &token, "generatescheme", body).await, 85401);
    }
    let good = [
        json!({"expire_type": 0, "expire_time": t + 29 * 86_400}),
        json!({"expire_type": 1, "expire_interval": 30}),
        json!({}),
    ];
    for body in good {
        assert_eq!(
            call(&sim, &token, "generatescheme", body).await["errcode"],
            0
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn scheme_targets_are_checked_with_their_errcodes() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let cases = [
        (json!({"jump_wxa": {"path": "pages/missing"}}), 40165),
        (json!({"jump_wxa": {"path": "pages/item/item?id=1"}}), 40165),
        (json!({"jump_wxa": {"query": "a=中文"}}), 40212),
        (json!({"jump_wxa": {"query": "q".repeat(1025)}}), 40212),
        (json!({"jump_wxa": {"env_version": "prod"}}), 85402),
    ];
    for (body, code) in cases {
        assert_errcode(&call(&sim, &token, "generatescheme", body).await, code);
    }
    let plain =
        json!({"scheme": format!("weixin://dl/business/?appid={APP_ID}&path=pages/index/index")});
    assert_errcode(&call(&sim, &token, "queryscheme", plain).await, 85405);
    sim.stop().await;
}

#[tokio::test]
async fn a_url_link_is_generated_and_queried_back() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let body = json!({"path": "pages/index/index", "query": "a=1", "expire_type": 1, "expire_interval": 7});
    let made = call(&sim, &token, "generate_urllink", body).await;
    assert_eq!(made["errcode"], 0);
    let link = made["url_link"].as_str().unwrap();
    assert!(link.starts_with("https://wxaurl.cn/"), "{link}");
    let info = call(&sim, &token, "query_urllink", json!({"url_link": link})).await;
    assert_eq!(info["url_link_info"]["query"], "a=1");
    let t = now(&sim).await;
    let expire = info["url_link_info"]["expire_time"].as_i64().unwrap();
    assert!((expire - (t + 7 * 86_400)).abs() <= 2);
    let bad = call(&sim, &token, "generate_urllink", json!({"path": "nope"})).await;
    assert_errcode(&bad, 40165);
    sim.stop().await;
}

#[tokio::test]
async fn scheme_and_url_link_generation_share_the_per_second_and_daily_limits() {
    let sim = spawn().await;
    sim.set_limits(json!({"link_per_second": 1000, "link_daily": 2}))
        .await;
    let token = sim.classic_token().await;
    assert_eq!(
        call(&sim, &token, "generatescheme", json!({})).await["errcode"],
        0
    );
    assert_eq!(
        call(&sim, &token, "generate_urllink", json!({})).await["errcode"],
        0
    );
    assert_errcode(
        &call(&sim, &token, "generatescheme", json!({})).await,
        44993,
    );
    sim.set_limits(json!({"link_per_second": 0, "link_daily": 100}))
        .await;
    assert_errcode(
        &call(&sim, &token, "generate_urllink", json!({})).await,
        44990,
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_short_link_names_the_app_and_permanent_ones_are_capped_with_85400() {
    let sim = spawn().await;
    sim.set_limits(json!({"shortlink_permanent": 1})).await;
    let token = sim.classic_token().await;
    let body =
        json!({"page_url": "pages/item/item?id=3", "page_title": "Item", "is_permanent": true});
    let made = call(&sim, &token, "genwxashortlink", body.clone()).await;
    assert_eq!(made["errcode"], 0);
    let link = made["link"].as_str().unwrap();
    assert!(link.starts_with("#小程序://demo/Item/"), "{link}");
    assert_errcode(&call(&sim, &token, "genwxashortlink", body).await, 85400);
    let short_term = json!({"page_url": "pages/item/item", "is_permanent": false});
    assert_eq!(
        call(&sim, &token, "genwxashortlink", short_term).await["errcode"],
        0
    );
    let bad = json!({"page_url": "pages/missing"});
    assert_errcode(&call(&sim, &token, "genwxashortlink", bad).await, 40066);
    sim.stop().await;
}

#[tokio::test]
async fn a_plain_scheme_is_queried_back_once_its_page_is_enabled_and_opens_are_counted() {
    let sim = spawn().await;
    sim.control(
        reqwest::Method::POST,
        "/apps",
        json!({"app_id": APP_ID, "secret": crate::helpers::SECRET, "pages": crate::helpers::PAGES, "plain_pages": ["pages/item/item"]}),
    )
    .await;
    let token = sim.classic_token().await;
    let scheme = format!(
        "weixin://dl/business/?appid={APP_ID}&path=pages%2Fitem%2Fitem&query=id%3D7&env_version=trial"
    );
    let info = call(&sim, &token, "queryscheme", json!({"scheme": scheme})).await;
    assert_eq!(info["errcode"], 0, "{info}");
    assert_eq!(
        (
            &info["scheme_info"]["path"],
            &info["scheme_info"]["query"],
            &info["scheme_info"]["env_version"]
        ),
        (&json!("pages/item/item"), &json!("id=7"), &json!("trial"))
    );
    // A published page not enabled for plain schemes, or another app's appid: 85405.
    let other_page = format!("weixin://dl/business/?appid={APP_ID}&path=pages%2Findex%2Findex");
    assert_errcode(
        &call(&sim, &token, "queryscheme", json!({"scheme": other_page})).await,
        85405,
    );
    let other_app = format!("weixin://dl/business/?appid={OTHER_APP_ID}&path=pages%2Fitem%2Fitem");
    assert_errcode(
        &call(&sim, &token, "queryscheme", json!({"scheme": other_app})).await,
        85405,
    );

    // Opens of an encrypted scheme count against the app's day.
    let made = call(&sim, &token, "generatescheme", json!({})).await;
    let openlink = made["openlink"].as_str().unwrap();
    let opened = sim
        .control(
            reqwest::Method::POST,
            "/links/open",
            json!({"link": openlink}),
        )
        .await;
    assert_eq!(opened["remain_visit_quota"], 2_999_999, "{opened}");
    let quota = call(
        &sim,
        &token,
        "queryscheme",
        json!({"scheme": openlink, "query_type": 1}),
    )
    .await;
    assert_eq!(
        quota["quota_info"]["remain_visit_quota"], 2_999_999,
        "{quota}"
    );
    sim.stop().await;
}
