//! Forwarded calls: WeChat's answer byte for byte (images, media), jscode2session with the
//! real secret, `allow`, a revoked token refreshed behind the client's back, WeChat down,
//! the 10 MiB cap, and no token fetched beyond the central one.

use serde_json::{Value, json};

use super::*;
use crate::helpers::{TEST_APP_ID, TestApp};
use crate::on_every_database;

/// The forward cap (`controllers::gateway::MAX_BODY_BYTES`).
const CAP: usize = 10 * 1024 * 1024;

async fn login_code(app: &TestApp, openid: &str) -> String {
    let minted = app
        .sim_post(
            "/__sim/login_codes",
            json!({"appid": TEST_APP_ID, "openid": openid}),
        )
        .await;
    minted["code"].as_str().unwrap().to_owned()
}

async fn code_to_session(app: &TestApp, key: &str, code: &str) -> Value {
    // wechatpy sends its access_token along; it must not matter, nor reach WeChat.
    let res = app
        .client
        .get(app.url("/wx/sns/jscode2session"))
        .query(&[
            ("appid", TEST_APP_ID),
            ("secret", key),
            ("js_code", code),
            ("grant_type", "authorization_code"),
            ("access_token", "gw1_whatever"),
        ])
        .send()
        .await
        .unwrap();
    wx(res).await
}

/// A multipart body of exactly `total` bytes with one `media` part (a fake JPEG).
fn media_body(total: usize) -> (String, Vec<u8>, Vec<u8>) {
    let boundary = "gatewaytestboundary7MA4YWxkTrZu0gW";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"big.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let size = total - head.len() - tail.len();
    let file: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let mut body = head.into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(tail.as_bytes());
    assert_eq!(body.len(), total);
    (
        format!("multipart/form-data; boundary={boundary}"),
        body,
        file,
    )
}

on_every_database! {
    spawn = super::spawn_gateway;

    async fn a_forwarded_unlimited_code_is_the_simulators_bytes(app: &TestApp) {
        let token = stand_in(app, PHP_KEY).await;
        let body = json!({"scene": "gw=1", "page": "pages/index/index", "width": 300});
        let res = post(app, "wxa/getwxacodeunlimit", &token, body.clone()).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        let through = res.bytes().await.unwrap();
        assert!(through.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
        // The same code asked of WeChat directly, with the real token.
        let real = app.context.mini_program.tokens.get("default").await.unwrap();
        let direct = app.client.post(app.sim_url("/wxa/getwxacodeunlimit"))
            .query(&[("access_token", &*real.value)])
            .json(&body).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(through, direct);
        // A JSON refusal comes back as WeChat wrote it (the page is not published).
        let refused = post(app, "wxa/getwxacodeunlimit", &token, json!({"scene": "a=1", "page": "pages/nope"})).await;
        let refused = wx(refused).await;
        assert_eq!(refused["errcode"], 41030, "{refused}");
    }

    async fn jscode2session_goes_to_wechat_with_the_real_secret(app: &TestApp) {
        let code = login_code(app, "o-gateway-0001").await;
        let session = code_to_session(app, PHP_KEY, &code).await;
        assert_eq!(session["openid"], "o-gateway-0001", "{session}");
        assert!(session["session_key"].as_str().is_some_and(|k| !k.is_empty()));
        // WeChat's own answer to a spent code, as it is.
        assert_eq!(code_to_session(app, PHP_KEY, &code).await["errcode"], 40163);
        let fresh = login_code(app, "o-gateway-0002").await;
        assert_errcode(&code_to_session(app, "not-a-key", &fresh).await, 40125);
        // `reader` may not call jscode2session: the code is not spent.
        assert_errcode(&code_to_session(app, READER_KEY, &fresh).await, 48001);
        assert_eq!(code_to_session(app, PHP_KEY, &fresh).await["openid"], "o-gateway-0002");
        assert_eq!(sim_calls(app, "sns/jscode2session").await, 3);
    }

    async fn paths_outside_allow_are_48001_and_never_reach_wechat(app: &TestApp) {
        let reader = stand_in(app, READER_KEY).await;
        let answer = wx(post(app, "wxa/getwxacodeunlimit", &reader, json!({"scene": "a=1"})).await).await;
        assert_errcode(&answer, 48001);
        assert_eq!(answer["errmsg"].as_str().unwrap().split(" rid: ").next(), Some("api unauthorized"));
        let php = stand_in(app, PHP_KEY).await;
        // Outside `allow`, or not a plain path (an escape, an empty segment).
        for api in ["cgi-bin/message/custom/send", "wxa/get%77xacode", "wxa//getwxacode"] {
            let answer = wx(post(app, api, &php, json!({})).await).await;
            assert_errcode(&answer, 48001);
        }
        // `reader`'s one API goes through (WeChat answers the unknown scheme itself).
        let answer = wx(post(app, "wxa/queryscheme", &reader, json!({"scheme": "weixin://dl/business/?t=none"})).await).await;
        assert_eq!(answer["errcode"], 85403, "{answer}");
        assert_eq!(sim_calls(app, "wxa/getwxacodeunlimit").await, 0);
        assert_eq!(app.sim_counters().await["calls_total"].as_u64(), Some(2), "stable_token and queryscheme");
    }

    async fn a_token_revoked_at_wechat_is_refreshed_once_and_the_call_still_succeeds(app: &TestApp) {
        let token = stand_in(app, PHP_KEY).await;
        assert_eq!(scheme_through(app, &token).await["errcode"], 0);
        assert_eq!(app.stable_token_calls().await, 1);
        app.sim_post("/__sim/tokens/revoke", json!({"appid": TEST_APP_ID})).await;
        // The client holds the same stand-in token and sees a plain success.
        let answer = scheme_through(app, &token).await;
        assert_eq!(answer["errcode"], 0, "{answer}");
        assert_eq!(app.stable_token_calls().await, 2, "one refresh");
        let counters = app.sim_counters().await;
        assert_eq!(counters["errors_by_api"]["wxa/generatescheme"]["40001"], 1, "{counters}");
        // And from then on the new central token serves every call.
        assert_eq!(scheme_through(app, &token).await["errcode"], 0);
        assert_eq!(app.stable_token_calls().await, 2);
    }

    async fn unreachable_wechat_is_errcode_minus_1_once_retries_are_spent(app: &TestApp) {
        let token = stand_in(app, PHP_KEY).await;
        assert_eq!(scheme_through(app, &token).await["errcode"], 0);
        app.sim_post("/__sim/faults", json!({"api": "wxa/generatescheme", "http_5xx": 1.0, "status": 502})).await;
        let answer = scheme_through(app, &token).await;
        assert_errcode(&answer, -1);
        assert!(answer["errmsg"].as_str().unwrap().starts_with("system error"), "{answer}");
        // wechat.max_retries = 2: three tries.
        assert_eq!(app.sim_counters().await["http_faults"], 3);
        // A busy WeChat that recovers within the retries is invisible to the client.
        app.client.delete(app.sim_url("/__sim/faults")).send().await.unwrap();
        app.sim_post("/__sim/faults", json!({"api": "wxa/generatescheme", "busy": 1.0, "times": 1})).await;
        assert_eq!(scheme_through(app, &token).await["errcode"], 0);
    }

    async fn media_up_to_10_mib_goes_through_byte_for_byte_and_more_is_45001(app: &TestApp) {
        let token = stand_in(app, PHP_KEY).await;
        let (content_type, body, file) = media_body(CAP);
        let res = app.client.post(app.url("/wx/cgi-bin/media/upload"))
            .query(&[("access_token", token.as_str()), ("type", "image")])
            .header("content-type", &content_type)
            .body(body)
            .send().await.unwrap();
        let uploaded = wx(res).await;
        let media_id = uploaded["media_id"].as_str().expect("media_id").to_owned();
        let res = app.client.get(app.url("/wx/cgi-bin/media/get"))
            .query(&[("access_token", token.as_str()), ("media_id", media_id.as_str())])
            .send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"big.jpg\"");
        assert_eq!(res.headers()["content-length"], file.len().to_string().as_str());
        let back = res.bytes().await.unwrap();
        assert!(back == file, "{} bytes back for {}", back.len(), file.len());

        let (content_type, body, _) = media_body(CAP + 1);
        let res = app.client.post(app.url("/wx/cgi-bin/media/upload"))
            .query(&[("access_token", token.as_str()), ("type", "image")])
            .header("content-type", content_type)
            .body(body)
            .send().await.unwrap();
        assert_errcode(&wx(res).await, 45001);
        assert_eq!(sim_calls(app, "cgi-bin/media/upload").await, 1);
        // The rest of the product keeps its 1 MiB cap, refused on the declared length
        // before a byte of the body is read (a client still sending would see its pipe
        // closed, so the request goes over a raw socket that sends only the head).
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(b"POST /api/qr_code HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048577\r\n\r\n").await.unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 413");
    }

    async fn the_gateway_never_fetches_a_token_beyond_the_central_one(app: &TestApp) {
        // Two clients, each fetching stand-in tokens again and again, every kind of call,
        // and the product's own codes, concurrently.
        let mut calls = Vec::new();
        for i in 0..8 {
            calls.push(async move {
                let php = stand_in(app, PHP_KEY).await;
                let reader = stand_in(app, READER_KEY).await;
                let code = post(app, "wxa/getwxacodeunlimit", &php, json!({"scene": format!("n={i}")})).await;
                assert_eq!(code.headers()["content-type"], "image/jpeg");
                assert_eq!(scheme_through(app, &php).await["errcode"], 0);
                let q = wx(post(app, "wxa/queryscheme", &reader, json!({"scheme": "weixin://dl/business/?t=none"})).await).await;
                assert_eq!(q["errcode"], 85403);
                let own = app.client.post(app.url("/api/qr_code"))
                    .json(&json!({"scene": format!("own={i}")})).send().await.unwrap();
                assert_eq!(own.status(), 200);
            });
        }
        futures_util::future::join_all(calls).await;
        let counters = app.sim_counters().await;
        assert_eq!(counters["calls"]["cgi-bin/stable_token"][TEST_APP_ID], 1, "{counters}");
        assert!(counters["calls"]["cgi-bin/token"].is_null(), "{counters}");
        assert_eq!(counters["calls"]["wxa/getwxacodeunlimit"][TEST_APP_ID], 16);
    }
}

/// WeChat slower than `wechat.timeout_ms`: the client gets `-1` within the deadline.
#[tokio::test]
async fn a_wechat_slower_than_the_timeout_is_errcode_minus_1_in_time() {
    let app = crate::helpers::TestApp::spawn_with(
        crate::helpers::DbKind::Sqlite,
        "gateway::forward::timeout",
        |s| {
            super::configure(s);
            s.wechat.timeout_ms = 400;
        },
    )
    .await
    .unwrap();
    let token = stand_in(&app, PHP_KEY).await;
    assert_eq!(scheme_through(&app, &token).await["errcode"], 0);
    app.sim_post(
        "/__sim/faults",
        json!({"api": "wxa/generatescheme", "delay_ms": 3000}),
    )
    .await;
    let started = std::time::Instant::now();
    let answer = scheme_through(&app, &token).await;
    assert_errcode(&answer, -1);
    assert!(
        started.elapsed().as_millis() < 1500,
        "{:?}",
        started.elapsed()
    );
    app.finish().await;
}
