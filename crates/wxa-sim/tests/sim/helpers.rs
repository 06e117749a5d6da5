//! Starting a simulator on a free port and talking to it like a client would.

use std::net::TcpListener;

use reqwest::{Method, Response};
use serde_json::{Value, json};
use wxa_sim::{SimApp, SimComponent, SimConfig, SimHandle, Simulator};

pub const APP_ID: &str = "wx1111111111111111";
pub const SECRET: &str = "secret-one";
pub const OTHER_APP_ID: &str = "wx2222222222222222";
pub const OTHER_SECRET: &str = "secret-two";
pub const COMPONENT_APP_ID: &str = "wx134c8103faa5a59e";
pub const COMPONENT_SECRET: &str = "component-secret";
pub const COMPONENT_TOKEN: &str = "AAAAA";
pub const AES_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
pub const PAGES: [&str; 2] = ["pages/index/index", "pages/item/item"];

pub struct TestSim {
    handle: SimHandle,
    pub base: String,
    pub http: reqwest::Client,
}

/// A simulator with two apps (the first publishes `PAGES`, the second only the default
/// page) and an Open Platform component.
pub async fn spawn() -> TestSim {
    let cfg = SimConfig {
        apps: vec![
            SimApp {
                name: "demo".into(),
                app_id: APP_ID.into(),
                secret: SECRET.into(),
                pages: PAGES.iter().map(|p| (*p).to_owned()).collect(),
            },
            SimApp {
                name: "other".into(),
                app_id: OTHER_APP_ID.into(),
                secret: OTHER_SECRET.into(),
                pages: vec![],
            },
        ],
        component: Some(SimComponent {
            app_id: COMPONENT_APP_ID.into(),
            secret: COMPONENT_SECRET.into(),
            token: COMPONENT_TOKEN.into(),
            aes_key: AES_KEY.into(),
        }),
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let handle = Simulator::start(cfg, listener).unwrap();
    let base = handle.base_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestSim { handle, base, http }
}

impl TestSim {
    pub async fn stop(self) {
        self.handle.stop().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Value {
        self.post(path, body).await.json().await.unwrap()
    }

    /// A control API call; panics unless it answers 200.
    pub async fn control(&self, method: Method, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .request(method, self.url(&format!("/__sim{path}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "control {path}: {body}");
        body
    }

    pub async fn advance(&self, secs: i64) {
        self.control(Method::POST, "/clock", json!({"advance_secs": secs}))
            .await;
    }

    pub async fn set_limits(&self, limits: Value) {
        self.control(Method::PUT, "/limits", limits).await;
    }

    pub async fn classic_token_for(&self, appid: &str, secret: &str) -> String {
        let body = self
            .get_json(&format!(
                "/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={secret}"
            ))
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn classic_token(&self) -> String {
        self.classic_token_for(APP_ID, SECRET).await
    }

    pub async fn stable_token(&self, force: bool) -> Value {
        self.post_json(
            "/cgi-bin/stable_token",
            &json!({"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET,
                    "force_refresh": force}),
        )
        .await
    }

    /// A cheap mini-program call that checks the token: queryscheme of an unknown scheme
    /// answers 85403 when the token is good.
    pub async fn token_errcode(&self, token: &str) -> i64 {
        let body = self
            .post_json(
                &format!("/wxa/queryscheme?access_token={token}"),
                &json!({"scheme": "weixin://dl/business/?t=nope"}),
            )
            .await;
        let code = body["errcode"].as_i64().unwrap();
        if code == 85403 { 0 } else { code }
    }

    pub async fn counters(&self) -> Value {
        self.control(Method::GET, "/counters", Value::Null).await
    }
}

/// Asserts a WeChat error: the errcode, and an errmsg ending in ` rid: ` and three
/// dash-separated groups of 8 hex digits.
pub fn assert_errcode(body: &Value, code: i64) {
    assert_eq!(body["errcode"].as_i64(), Some(code), "{body}");
    let msg = body["errmsg"].as_str().unwrap();
    let (_, rid) = msg.rsplit_once(" rid: ").unwrap();
    let groups: Vec<&str> = rid.split('-').collect();
    assert_eq!(groups.len(), 3, "{msg}");
    for g in groups {
        assert!(
            g.len() == 8 && g.chars().all(|c| c.is_ascii_hexdigit()),
            "{msg}"
        );
    }
}
