//! Ended login sessions are purged by the instance (at start, then every 10 minutes), not
//! only at that user's next login.

use std::time::{Duration, Instant};

use super::{count, login, token};
use crate::on_every_database;

on_every_database! {
    async fn ended_sessions_are_purged_without_their_user_logging_in_again(app: &TestApp) {
        let gone = login(app, "o-purge-00000000001", None).await;
        let kept = login(app, "o-purge-00000000002", None).await;
        app.context
            .db
            .query("UPDATE user_sessions SET expires_at = 1 WHERE user_id = $1")
            .bind(gone["user"]["id"].as_i64().unwrap())
            .execute(app.context.db.pool())
            .await
            .unwrap();
        assert_eq!(count(app, "user_sessions").await, 2);
        // A peer starting up purges at once.
        let (_peer, _context, handle) = app.another_instance(|_| {}).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while count(app, "user_sessions").await != 1 {
            assert!(Instant::now() < deadline, "the ended session was not purged");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        handle.stop(false).await;
        // The live one still works.
        let res = app
            .client
            .post(app.url("/api/bind_phone"))
            .bearer_auth(token(&kept))
            .json(&serde_json::json!({"code": "no-such-code"}))
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), 401);
    }
}
