//! A push receiver standing in for the product's `/open/ticket`, and push decoding.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use wxa_msgcrypt::MsgCrypt;

use crate::helpers::{AES_KEY, COMPONENT_APP_ID, COMPONENT_TOKEN};

/// One push as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub query: HashMap<String, String>,
    pub body: String,
}

pub type Inbox = Arc<Mutex<Vec<Received>>>;

/// A push receiver on a free port that answers `success`; returns its URL and inbox.
pub fn receiver() -> (String, Inbox, actix_web::dev::ServerHandle) {
    let inbox: Inbox = Arc::default();
    let shared = inbox.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let shared = shared.clone();
        App::new().route(
            "/open/ticket",
            web::post().to(move |req: HttpRequest, body: String| {
                let shared = shared.clone();
                async move {
                    let query = url::form_urlencoded::parse(req.query_string().as_bytes())
                        .into_owned()
                        .collect();
                    shared.lock().unwrap().push(Received { query, body });
                    HttpResponse::Ok().body("success")
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (
        format!("http://127.0.0.1:{port}/open/ticket"),
        inbox,
        handle,
    )
}

pub fn crypt() -> MsgCrypt {
    MsgCrypt::new(COMPONENT_TOKEN, AES_KEY, COMPONENT_APP_ID).unwrap()
}

/// Checks the signatures of a received push and returns its decrypted XML.
pub fn open(push: &Received) -> String {
    let q = &push.query;
    assert_eq!(q["encrypt_type"], "aes");
    let encrypt = push
        .body
        .split("<Encrypt><![CDATA[")
        .nth(1)
        .and_then(|rest| rest.split("]]>").next())
        .unwrap();
    assert!(
        push.body
            .contains(&format!("<AppId><![CDATA[{COMPONENT_APP_ID}]]></AppId>"))
    );
    let crypt = crypt();
    assert!(crypt.verify(&q["msg_signature"], &q["timestamp"], &q["nonce"], encrypt));
    assert!(crypt.verify_plain(&q["signature"], &q["timestamp"], &q["nonce"]));
    crypt.decrypt(encrypt).unwrap()
}

pub fn between<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}><![CDATA[");
    xml.split(&open)
        .nth(1)
        .and_then(|rest| rest.split("]]>").next())
        .unwrap()
}

/// Waits (up to a second) until the inbox holds `n` pushes.
pub async fn wait_for(inbox: &Inbox, n: usize) {
    for _ in 0..50 {
        if inbox.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
