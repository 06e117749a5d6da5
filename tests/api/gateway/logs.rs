//! The real binary's logs at debug level while the gateway works (tokens issued, calls
//! forwarded, a token revoked and refreshed, WeChat failing): no client key, stand-in
//! token, real token, app secret, login code or session_key in them.

use serde_json::{Value, json};
use wxa_sim::{SimApp, SimConfig, Simulator};

use super::PHP_KEY;
use crate::helpers::{TEST_APP_ID, TEST_SECRET};
use crate::users::logs::Product;

async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.unwrap()
}

/// The real tokens the product holds now.
async fn real_tokens(database_url: &str) -> Vec<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT token FROM access_tokens")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.into_iter().map(|(t,)| t).collect()
}

#[tokio::test]
async fn the_logs_never_show_a_client_key_a_stand_in_token_or_a_real_token() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let sim = Simulator::start(
        SimConfig {
            apps: vec![SimApp {
                name: "default".into(),
                app_id: TEST_APP_ID.into(),
                secret: TEST_SECRET.into(),
                pages: vec![],
            }],
            component: None,
        },
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    )
    .unwrap();
    let s = sim.base_url();
    let product = Product::start_with(
        dir.path(),
        &s,
        &database_url,
        &[
            ("APP__GATEWAY__ENABLED", "true"),
            ("APP__GATEWAY__CLIENTS__PHP__KEY", PHP_KEY),
            ("APP__GATEWAY__CLIENTS__PHP__APPS", r#"["default"]"#),
            ("APP__GATEWAY__CLIENTS__PHP__ALLOW", r#"["*"]"#),
        ],
    );
    let wx = format!("http://127.0.0.1:{}/wx", product.port().await);
    let client = reqwest::Client::new();

    let by_get = json_of(
        client
            .get(format!("{wx}/cgi-bin/token"))
            .query(&[
                ("grant_type", "client_credential"),
                ("appid", TEST_APP_ID),
                ("secret", PHP_KEY),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let stand_in = by_get["access_token"].as_str().unwrap().to_owned();
    let by_post = json_of(
        client
            .post(format!("{wx}/cgi-bin/stable_token"))
            .json(&json!({"grant_type": "client_credential", "appid": TEST_APP_ID, "secret": PHP_KEY}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let other_stand_in = by_post["access_token"].as_str().unwrap().to_owned();
    let scheme = |token: String| {
        let client = client.clone();
        let url = format!("{wx}/wxa/generatescheme");
        async move {
            json_of(
                client
                    .post(url)
                    .query(&[("access_token", token)])
                    .json(&json!({"jump_wxa": {"path": "pages/index/index"}}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(scheme(stand_in.clone()).await["errcode"], 0);
    let mut held = real_tokens(&database_url).await;
    // A revoked token: refreshed and retried (the warning path).
    client
        .post(format!("{s}/__sim/tokens/revoke"))
        .json(&json!({"appid": TEST_APP_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(scheme(other_stand_in.clone()).await["errcode"], 0);
    // WeChat failing: the -1 path.
    client
        .post(format!("{s}/__sim/faults"))
        .json(&json!({"api": "wxa/generatescheme", "http_5xx": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(scheme(stand_in.clone()).await["errcode"], -1);
    // A refused key and a refused token.
    let refused = json_of(
        client
            .get(format!("{wx}/cgi-bin/token"))
            .query(&[
                ("grant_type", "client_credential"),
                ("appid", TEST_APP_ID),
                ("secret", TEST_SECRET),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refused["errcode"], 40125);
    let login: Value = client
        .post(format!("{s}/__sim/login_codes"))
        .json(&json!({"appid": TEST_APP_ID, "openid": "o-gateway-logs"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login_code = login["code"].as_str().unwrap().to_owned();
    let session = json_of(
        client
            .get(format!("{wx}/sns/jscode2session"))
            .query(&[
                ("appid", TEST_APP_ID),
                ("secret", PHP_KEY),
                ("js_code", &login_code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let session_key = session["session_key"].as_str().unwrap().to_owned();

    held.extend(real_tokens(&database_url).await);
    drop(client);
    let logs = product.stop();
    sim.stop().await;

    assert!(logs.contains("wechat call"), "debug level was on: {logs}");
    assert!(logs.contains("stand-in token issued"), "{logs}");
    assert!(logs.contains("token rejected; refreshing once"), "{logs}");
    let mut secrets = vec![
        ("the client key", PHP_KEY.to_owned()),
        ("a stand-in token", stand_in),
        ("another stand-in token", other_stand_in),
        ("the app secret", TEST_SECRET.to_owned()),
        ("the login code", login_code),
        ("the session_key", session_key),
    ];
    held.dedup();
    assert_eq!(held.len(), 2, "before and after the revocation: {held:?}");
    secrets.extend(held.into_iter().map(|t| ("a real access_token", t)));
    for (what, secret) in secrets {
        assert!(!secret.is_empty());
        let line = logs.lines().find(|l| l.contains(secret.as_str()));
        assert!(line.is_none(), "{what} is in the logs: {line:?}");
    }
}
