//! The older phone flow: `encrypted_data` + `iv`, AES-128-CBC with the session_key.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{login, post, stored_phone, token, upstream_calls};
use crate::helpers::{TEST_APP_ID, TestApp};
use crate::on_every_database;

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;

/// A known session_key and iv: the ASCII bytes `0123456789abcdef` and `fedcba9876543210`.
const SESSION_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZg==";
const IV: &str = "ZmVkY2JhOTg3NjU0MzIxMA==";
const PLAIN: &str = r#"{"phoneNumber":"13912345678","purePhoneNumber":"13912345678","countryCode":"86","watermark":{"timestamp":1700000000,"appid":"wx1111111111111111"}}"#;
/// PLAIN under SESSION_KEY and IV, computed independently with
/// `openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 66656463626139383736353433323130`.
const CIPHERTEXT: &str = "/zKksLWsmvxbw65eoGVnlCFnO8gFqiyNKG8NmnRiUj92LRB4iG2Lr9MgimU1ou1cYp7MyaOFBaMSJSgdTmcVDkquCb+xTEAZL7CtAfp1ALko+/siQxlUzQDNevNQ2F/hdUVC/8d/oO9yBoJZ95LJgrMv/Z8QPEJ6VT4aHWWwNScjddB06yYi039pOLeeorhcqlRnw4H9tbCcIO2FaNdjjg==";

fn encrypt(plain: &str, key_b64: &str, iv_b64: &str) -> String {
    let key: [u8; 16] = STANDARD.decode(key_b64).unwrap().try_into().unwrap();
    let iv: [u8; 16] = STANDARD.decode(iv_b64).unwrap().try_into().unwrap();
    let bytes = Aes128CbcEnc::new(&key.into(), &iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
    STANDARD.encode(bytes)
}

/// Logs in and replaces the session's key (random in the simulator) with SESSION_KEY.
async fn login_with_known_key(app: &TestApp, openid: &str) -> (String, i64) {
    let data = login(app, openid, None).await;
    let user_id = data["user"]["id"].as_i64().unwrap();
    app.context
        .db
        .query("UPDATE user_sessions SET session_key = $1 WHERE user_id = $2")
        .bind(SESSION_KEY)
        .bind(user_id)
        .execute(app.context.db.pool())
        .await
        .unwrap();
    (token(&data), user_id)
}

async fn bind_encrypted(app: &TestApp, token: &str, data: &str, iv: &str) -> (u16, Value) {
    post(
        app,
        "/api/bind_phone",
        Some(token),
        json!({"encrypted_data": data, "iv": iv}),
    )
    .await
}

on_every_database! {
    async fn encrypted_data_decrypts_with_the_stored_session_key(app: &TestApp) {
        assert_eq!(encrypt(PLAIN, SESSION_KEY, IV), CIPHERTEXT, "the vector matches openssl");
        let (token, user_id) = login_with_known_key(app, "o-enc-00000000001").await;
        let (status, body) = bind_encrypted(app, &token, CIPHERTEXT, IV).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["msg"], "手机号绑定成功");
        // countryCode came as the string "86" here.
        assert_eq!(
            body["data"],
            json!({"phone_number": "13912345678", "pure_phone_number": "13912345678", "country_code": "86"})
        );
        assert_eq!(stored_phone(app, user_id).await.unwrap().0, "13912345678");
        assert_eq!(upstream_calls(app, "wxa/business/getuserphonenumber").await, 0);
    }

    async fn every_failure_to_read_the_encrypted_phone_gets_one_answer(app: &TestApp) {
        let other_app = PLAIN.replace(TEST_APP_ID, "wx9999999999999999");
        let no_watermark = r#"{"phoneNumber":"13912345678","purePhoneNumber":"13912345678","countryCode":86}"#;
        let other_key = STANDARD.encode(*b"another-key-0000");
        let other_iv = STANDARD.encode(*b"another-iv-00000");
        // Bad padding, bad JSON, a wrong watermark: distinguishable answers would make the
        // decryption a padding oracle.
        let cases = [
            (encrypt(&other_app, SESSION_KEY, IV), IV.to_owned()),
            (encrypt(no_watermark, SESSION_KEY, IV), IV.to_owned()),
            (encrypt(PLAIN, &other_key, IV), IV.to_owned()),
            (encrypt("not json", SESSION_KEY, IV), IV.to_owned()),
            // A wrong iv of the right size garbles the first block.
            (CIPHERTEXT.to_owned(), other_iv),
            // Valid padding on garbage: the last byte of a random block decides.
            (flip_last_byte(CIPHERTEXT), IV.to_owned()),
        ];
        let mut answers = Vec::new();
        // Two sessions: five failures each is the limit.
        for (i, (data, iv)) in cases.iter().enumerate() {
            let (token, user_id) = login_with_known_key(app, &format!("o-enc-0000000001{i}")).await;
            let (status, body) = bind_encrypted(app, &token, data, iv).await;
            assert_eq!((status, body["data"]["field"].as_str()), (400, Some("encrypted_data")), "{body}");
            assert_eq!(stored_phone(app, user_id).await, None, "nothing stored");
            answers.push(body);
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "one answer for all: {answers:?}");
        // Malformed input is told as such: it says nothing about the key.
        let (token, _) = login_with_known_key(app, "o-enc-00000000020").await;
        for iv in ["AAAA", "*not base64*"] {
            let (status, body) = bind_encrypted(app, &token, CIPHERTEXT, iv).await;
            assert_eq!((status, body["data"]["field"].as_str()), (400, Some("iv")), "{body}");
            assert!(body["msg"].as_str().unwrap().contains("16"), "{body}");
        }
    }

    async fn a_session_that_fails_five_times_is_refused_for_ten_minutes(app: &TestApp) {
        let (token, user_id) = login_with_known_key(app, "o-enc-00000000030").await;
        let garbage = encrypt("not json", SESSION_KEY, IV);
        for _ in 0..5 {
            let (status, body) = bind_encrypted(app, &token, &garbage, IV).await;
            assert_eq!(status, 400, "{body}");
        }
        // Refused even with the right data, with a Retry-After within the window.
        let res = app
            .client
            .post(app.url("/api/bind_phone"))
            .bearer_auth(&token)
            .json(&json!({"encrypted_data": CIPHERTEXT, "iv": IV}))
            .send()
            .await
            .unwrap();
        let retry_after: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=600).contains(&retry_after), "{retry_after}");
        let (status, body) = crate::helpers::envelope(res).await;
        assert_eq!((status, body["code"].as_u64()), (429, Some(429)), "{body}");
        assert_eq!(stored_phone(app, user_id).await, None);
        // Another session of the same user is not affected.
        let (fresh, _) = login_with_known_key(app, "o-enc-00000000030").await;
        let (status, body) = bind_encrypted(app, &fresh, CIPHERTEXT, IV).await;
        assert_eq!(status, 200, "{body}");
        // Ten minutes later the refused session may try again.
        sqlx::query("UPDATE phone_attempts SET at = at - 601")
            .execute(app.context.db.pool())
            .await
            .unwrap();
        let (status, body) = bind_encrypted(app, &token, CIPHERTEXT, IV).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn concurrent_attempts_count_each_other(app: &TestApp) {
        let (token, _) = login_with_known_key(app, "o-enc-00000000050").await;
        let garbage = encrypt("not json", SESSION_KEY, IV);
        let tries = futures_util::future::join_all(
            (0..12).map(|_| bind_encrypted(app, &token, &garbage, IV)),
        )
        .await;
        let statuses: Vec<u16> = tries.iter().map(|(s, _)| *s).collect();
        let decrypted = statuses.iter().filter(|s| **s == 400).count();
        assert!((1..=5).contains(&decrypted), "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 12 - decrypted, "{statuses:?}");
    }

    async fn a_successful_attempt_does_not_count_against_the_session(app: &TestApp) {
        let (token, _) = login_with_known_key(app, "o-enc-00000000040").await;
        for _ in 0..7 {
            let (status, body) = bind_encrypted(app, &token, CIPHERTEXT, IV).await;
            assert_eq!(status, 200, "{body}");
        }
        let left: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM phone_attempts")
            .fetch_one(app.context.db.pool())
            .await
            .unwrap();
        assert_eq!(left.0, 0);
    }
}

fn flip_last_byte(data_b64: &str) -> String {
    let mut bytes = STANDARD.decode(data_b64).unwrap();
    let last = bytes.len() - 17;
    bytes[last] ^= 0x5a;
    STANDARD.encode(bytes)
}
