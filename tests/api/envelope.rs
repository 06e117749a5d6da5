//! Every answer, errors included, is `{code, msg, data}` with the right status.

use crate::helpers::envelope;
use crate::on_every_database;

on_every_database! {
    async fn healthz_answers_a_success_envelope(app: &TestApp) {
        let (status, body) = envelope(app.get("/healthz").await).await;
        assert_eq!(status, 200);
        assert_eq!(body["code"], 200);
        assert_eq!(body["data"]["status"], "ok");
    }

    async fn unknown_routes_are_a_404_envelope(app: &TestApp) {
        for path in ["/no/such/route", "/api/nothing", "/image/missing.png", "/admin/nothing"] {
            let (status, body) = envelope(app.get(path).await).await;
            assert_eq!((status, body["code"].as_u64()), (404, Some(404)), "{path}");
            assert!(body["data"].is_null());
        }
    }

    async fn a_wrong_method_on_a_known_route_is_a_405_envelope(app: &TestApp) {
        let res = app.client.delete(app.url("/healthz")).send().await.unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!((status, body["code"].as_u64()), (405, Some(405)));
    }

    async fn bodies_over_one_mebibyte_are_a_413_envelope(app: &TestApp) {
        let big = vec![b'a'; 1024 * 1024 + 1];
        let res = app
            .client
            .post(app.url("/healthz"))
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!((status, body["code"].as_u64()), (413, Some(413)));
    }

    async fn the_request_id_is_echoed_or_made_up(app: &TestApp) {
        let res = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", "abc-123")
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-request-id"], "abc-123");
        let res = app.get("/no/such/route").await;
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh UUID, got {id}");
        let other = app.get("/healthz").await.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, other);
    }
}
