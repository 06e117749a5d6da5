//! `/admin`: the bearer, the lists with their filters and paging, masking, stats, and the
//! page in a real browser.
//!
//! `TestApp` runs with `admin.token` empty (admin off); each test starts a second instance
//! on the same database and simulator with a token set, and asks that one.

mod access;
mod browser;
mod codes;
mod link_quota;
mod lists;
mod stats;

use actix_web::dev::ServerHandle;
use serde_json::Value;
use wxa_backend::app::AppContext;
use wxa_backend::store::codes::{NewCode, insert};

use crate::helpers::{TEST_APP_ID, TestApp, envelope};

pub const ADMIN_TOKEN: &str = "admin-token-for-tests-0123456789";

/// An instance with the admin API on.
pub struct Admin {
    pub address: String,
    pub context: AppContext,
    client: reqwest::Client,
    handle: ServerHandle,
}

impl Admin {
    pub async fn start(app: &TestApp) -> Admin {
        let (address, context, handle) = app
            .another_instance(|s| s.admin.token = ADMIN_TOKEN.into())
            .await;
        Admin {
            address,
            context,
            client: reqwest::Client::new(),
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// GET with the admin bearer; the envelope.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_with(path, Some(&format!("Bearer {ADMIN_TOKEN}")))
            .await
    }

    /// GET with `authorization` as given (None: no header).
    pub async fn get_with(&self, path: &str, authorization: Option<&str>) -> (u16, Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        envelope(req.send().await.unwrap()).await
    }

    /// A plain GET (no bearer), the raw response.
    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn stop(self) {
        drop(self.client);
        self.handle.stop(false).await;
    }
}

/// A code row as the code service would store it (the image file itself is not needed
/// by the lists).
pub struct Seed<'a> {
    pub app_id: &'a str,
    pub kind: &'a str,
    pub page: &'a str,
    pub scene: &'a str,
    pub created_at: i64,
}

impl Default for Seed<'_> {
    fn default() -> Self {
        Seed {
            app_id: TEST_APP_ID,
            kind: "unlimited",
            page: "pages/index/index",
            scene: "",
            created_at: 1_700_000_000,
        }
    }
}

pub async fn seed_code(ctx: &AppContext, seed: Seed<'_>) -> i64 {
    let hash = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let file = format!("{hash}.png");
    let params = serde_json::json!({"page": seed.page, "scene": seed.scene}).to_string();
    insert(
        &ctx.db,
        &NewCode {
            app_id: seed.app_id,
            kind: seed.kind,
            hash: &hash,
            file: &file,
            page: seed.page,
            scene: seed.scene,
            width: 430,
            params: &params,
            content_type: "image/png",
            size: 1234,
            created_at: seed.created_at,
        },
    )
    .await
    .unwrap()
}

/// Asserts a 400 naming `field`.
pub fn assert_invalid(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], 400, "{body}");
    assert_eq!(body["data"]["field"], field, "{body}");
    assert!(body["msg"].as_str().unwrap().contains(field), "{body}");
}
