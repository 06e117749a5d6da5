//! Refresh tokens lost from the database come back from `api_get_authorizer_list`: through
//! the service (what `wxa authorizers --recover` runs) and by the check at start.

use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::helpers::envelope;
use crate::on_every_database;

const OTHERS: [&str; 2] = ["wxb0b0b0b0b0b0b0b0", "wxc0c0c0c0c0c0c0c0"];

async fn lose_refresh_token(app: &TestApp, appid: &str) {
    app.context
        .db
        .query("UPDATE authorizers SET refresh_token = '' WHERE app_id = $1")
        .bind(appid)
        .execute(app.context.db.pool())
        .await
        .unwrap();
}

async fn refresh_token(app: &TestApp, appid: &str) -> String {
    stored_authorizers(app)
        .await
        .into_iter()
        .find(|a| a.app_id == appid)
        .map(|a| a.refresh_token)
        .unwrap_or_default()
}

on_every_database! {
    spawn = crate::open_platform::spawn_default;

    async fn lost_refresh_tokens_come_back_from_the_authorizer_list(app: &TestApp) {
        push_ticket(app).await;
        for appid in [MERCHANT, OTHERS[0], OTHERS[1]] {
            authorize_at(app, &app.address, appid).await;
        }
        let kept = refresh_token(app, OTHERS[1]).await;
        // Nothing missing: WeChat is not asked.
        let none = app.context.open_platform.recover_refresh_tokens().await.unwrap();
        assert_eq!((none.missing, none.pages), (0, 0));

        lose_refresh_token(app, MERCHANT).await;
        lose_refresh_token(app, OTHERS[0]).await;
        let r = app.context.open_platform.recover_refresh_tokens().await.unwrap();
        assert_eq!((r.missing, r.pages), (2, 1));
        assert_eq!(r.recovered, [MERCHANT, OTHERS[0]]);
        assert!(r.not_listed.is_empty());
        assert!(refresh_token(app, MERCHANT).await.starts_with("refreshtoken@@@"));
        assert_eq!(refresh_token(app, OTHERS[1]).await, kept, "a kept token is left alone");
        let counters = app.sim_counters().await;
        assert_eq!(counters["calls"]["cgi-bin/component/api_get_authorizer_list"][COMPONENT_APPID], 1, "{counters}");

        // The recovered token works: with the authorizer's access token revoked at WeChat,
        // a call acting for it gets a new one through the refresh token.
        app.sim_post("/__sim/tokens/revoke", json!({"appid": MERCHANT, "kind": "authorizer"})).await;
        let res = app
            .client
            .post(app.url("/api/scheme_code"))
            .json(&json!({"appid": MERCHANT}))
            .send()
            .await
            .unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn an_instance_recovers_them_at_start(app: &TestApp) {
        push_ticket(app).await;
        authorize_at(app, &app.address, MERCHANT).await;
        lose_refresh_token(app, MERCHANT).await;
        let (_peer, _context, handle) = app.another_instance(|_| {}).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while refresh_token(app, MERCHANT).await.is_empty() {
            assert!(Instant::now() < deadline, "not recovered at start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        handle.stop(false).await;
    }
}
