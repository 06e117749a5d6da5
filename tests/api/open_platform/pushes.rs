//! `POST /open/ticket`: what is accepted, and what is refused with nothing stored.

use serde_json::json;
use wxa_backend::services::token::now_unix;
use wxa_msgcrypt::MsgCrypt;

use super::*;
use crate::helpers::envelope;
use crate::on_every_database;

/// A push we build ourselves: `plain` encrypted for `receiver` under `aes_key`, signed
/// with the message token, wrapped with `outer_app_id`.
fn crafted(plain: &str, receiver: &str, aes_key: &str, outer_app_id: &str) -> (String, String) {
    let crypt = MsgCrypt::new(MSG_TOKEN, aes_key, receiver).unwrap();
    let encrypt = crypt.encrypt(plain);
    let (ts, nonce) = (now_unix().to_string(), "12345");
    let signature = MsgCrypt::signature(MSG_TOKEN, &ts, nonce, &encrypt);
    let query = format!("timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={signature}");
    let body = format!(
        "<xml><AppId><![CDATA[{outer_app_id}]]></AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    (query, body)
}

async fn post_push(app: &TestApp, query: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/open/ticket?{query}")))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn ticket_xml(app_id: &str, ticket: &str) -> String {
    format!(
        "<xml><AppId><![CDATA[{app_id}]]></AppId><CreateTime>{}</CreateTime>\
         <InfoType><![CDATA[component_verify_ticket]]></InfoType>\
         <ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>",
        now_unix()
    )
}

on_every_database! {
    spawn = crate::open_platform::spawn_default;
    async fn a_ticket_push_is_stored_and_answered_with_plain_success(app: &TestApp) {
        let ticket = push_ticket(app).await;
        assert_eq!(stored_ticket(app).await.as_deref(), Some(ticket.as_str()));

        let (query, body) = crafted(&ticket_xml(COMPONENT_APPID, "ticket@@@mine"), COMPONENT_APPID, AES_KEY, COMPONENT_APPID);
        let res = post_push(app, &query, body).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        assert_eq!(res.text().await.unwrap(), "success");
        assert_eq!(stored_ticket(app).await.as_deref(), Some("ticket@@@mine"));
    }

    async fn a_push_with_a_forged_signature_is_a_401_and_changes_nothing(app: &TestApp) {
        let answer = push(app, json!({"info_type": "component_verify_ticket", "bad_signature": true})).await;
        assert_eq!(answer["status"], 401, "{answer}");
        assert_eq!(push_code(&answer), 401);
        let answer = push(app, json!({"info_type": "authorized", "authorizer_appid": MERCHANT, "bad_signature": true})).await;
        assert_eq!(answer["status"], 401, "{answer}");
        assert_eq!(stored_ticket(app).await, None);
        assert!(stored_authorizers(app).await.is_empty());
    }

    async fn a_push_older_than_ten_minutes_is_a_401_and_changes_nothing(app: &TestApp) {
        let old = now_unix() - 601;
        let answer = push(app, json!({"info_type": "component_verify_ticket", "timestamp": old})).await;
        assert_eq!(answer["status"], 401, "{answer}");
        assert_eq!(push_code(&answer), 401);
        assert_eq!(stored_ticket(app).await, None);
        // Nine minutes is still fresh.
        let recent = now_unix() - 540;
        let answer = push(app, json!({"info_type": "component_verify_ticket", "timestamp": recent})).await;
        assert_eq!(answer["status"], 200, "{answer}");
        assert!(stored_ticket(app).await.is_some());
    }

    async fn a_replayed_push_or_one_from_the_future_is_a_401(app: &TestApp) {
        let (query, body) = crafted(&ticket_xml(COMPONENT_APPID, "ticket@@@first"), COMPONENT_APPID, AES_KEY, COMPONENT_APPID);
        assert_eq!(post_push(app, &query, body.clone()).await.status(), 200);
        // The same signed push again, while its timestamp is still fresh: a replay.
        let (query2, body2) = crafted(&ticket_xml(COMPONENT_APPID, "ticket@@@second"), COMPONENT_APPID, AES_KEY, COMPONENT_APPID);
        assert_eq!(post_push(app, &query2, body2).await.status(), 200);
        let (status, answer) = envelope(post_push(app, &query, body.clone()).await).await;
        assert_eq!((status, answer["code"].as_u64()), (401, Some(401)), "{answer}");
        // Recased hex is the same signature, so the same replay.
        let (head, signature) = query.split_once("msg_signature=").unwrap();
        let recased = format!("{head}msg_signature={}", signature.to_ascii_uppercase());
        let (status, answer) = envelope(post_push(app, &recased, body).await).await;
        assert_eq!((status, answer["code"].as_u64()), (401, Some(401)), "{answer}");
        assert_eq!(stored_ticket(app).await.as_deref(), Some("ticket@@@second"), "the replay changed nothing");
        // Eleven minutes ahead is refused like eleven minutes behind; nine is clock skew.
        let future = now_unix() + 660;
        let answer = push(app, json!({"info_type": "component_verify_ticket", "timestamp": future})).await;
        assert_eq!(answer["status"], 401, "{answer}");
        let skewed = now_unix() + 540;
        let answer = push(app, json!({"info_type": "component_verify_ticket", "timestamp": skewed})).await;
        assert_eq!(answer["status"], 200, "{answer}");
    }

    async fn a_push_for_another_component_appid_is_a_400_and_changes_nothing(app: &TestApp) {
        // The simulator pushes as another component with our token and key.
        register_component(app, "wx0000000000000bad", AES_KEY).await;
        let answer = push(app, json!({"info_type": "component_verify_ticket"})).await;
        assert_eq!(answer["status"], 400, "{answer}");
        assert_eq!(push_code(&answer), 400);
        // Our own appid outside, another inside the ciphertext.
        let (query, body) = crafted(&ticket_xml(COMPONENT_APPID, "t1"), "wx0000000000000bad", AES_KEY, COMPONENT_APPID);
        let (status, res) = envelope(post_push(app, &query, body).await).await;
        assert_eq!((status, res["data"]["field"].as_str()), (400, Some("AppId")), "{res}");
        // A correct ciphertext naming another component in its payload.
        let (query, body) = crafted(&ticket_xml("wx0000000000000bad", "t2"), COMPONENT_APPID, AES_KEY, COMPONENT_APPID);
        let (status, _) = envelope(post_push(app, &query, body).await).await;
        assert_eq!(status, 400);
        assert_eq!(stored_ticket(app).await, None);
    }

    async fn malformed_xml_is_a_400_and_changes_nothing(app: &TestApp) {
        let query = format!("timestamp={}&nonce=1&msg_signature=abc", now_unix());
        let (status, body) = envelope(post_push(app, &query, "<xml><Encrypt>".into()).await).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(400)), "{body}");
        // Signed and decryptable, but not XML inside.
        let (query, body) = crafted("<xml><AppId>", COMPONENT_APPID, AES_KEY, COMPONENT_APPID);
        let (status, _) = envelope(post_push(app, &query, body).await).await;
        assert_eq!(status, 400);
        // XML without the ticket.
        let plain = format!("<xml><AppId>{COMPONENT_APPID}</AppId><InfoType>component_verify_ticket</InfoType></xml>");
        let (query, body) = crafted(&plain, COMPONENT_APPID, AES_KEY, COMPONENT_APPID);
        let (status, res) = envelope(post_push(app, &query, body).await).await;
        assert_eq!((status, res["data"]["field"].as_str()), (400, Some("ComponentVerifyTicket")));
        // No signature parameters at all.
        let (status, _) = envelope(post_push(app, "", "<xml/>".into()).await).await;
        assert_eq!(status, 401);
        assert_eq!(stored_ticket(app).await, None);
    }
}

on_every_database! {
    async fn open_routes_are_404_when_open_platform_is_disabled(app: &TestApp) {
        let res = app.client.post(app.url("/open/ticket?timestamp=1&nonce=1&msg_signature=x")).body("<xml/>").send().await.unwrap();
        let (status, _) = envelope(res).await;
        assert_eq!(status, 404);
        for path in ["/open/authorize", "/open/callback?auth_code=x"] {
            let (status, _) = envelope(app.get(path).await).await;
            assert_eq!(status, 404, "{path}");
        }
    }
}

async fn rotation(kind: DbKind, test: &str) {
    let Some(app) = spawn_open(kind, test, |s| {
        s.open_platform.previous_aes_key = OLD_AES_KEY.into();
    })
    .await
    else {
        return;
    };
    // Pushes still encrypted under the replaced key are accepted.
    register_component(&app, COMPONENT_APPID, OLD_AES_KEY).await;
    let old = push_ticket(&app).await;
    assert_eq!(stored_ticket(&app).await.as_deref(), Some(old.as_str()));
    register_component(&app, COMPONENT_APPID, AES_KEY).await;
    let new = push_ticket(&app).await;
    assert_eq!(stored_ticket(&app).await.as_deref(), Some(new.as_str()));
    app.finish().await;
}

#[tokio::test]
async fn a_push_under_the_previous_aes_key_is_accepted_during_rotation_sqlite() {
    rotation(DbKind::Sqlite, "a_push_under_the_previous_aes_key_sqlite").await;
}

#[tokio::test]
async fn a_push_under_the_previous_aes_key_is_accepted_during_rotation_postgres() {
    rotation(
        DbKind::Postgres,
        "a_push_under_the_previous_aes_key_postgres",
    )
    .await;
}

#[tokio::test]
async fn a_push_under_the_previous_aes_key_is_accepted_during_rotation_mysql() {
    rotation(DbKind::Mysql, "a_push_under_the_previous_aes_key_mysql").await;
}
