//! Temporary media (`cgi-bin/media/upload`, `cgi-bin/media/get`): the file comes back as
//! uploaded, only to its own app, and WeChat's errcodes for the rest.

use serde_json::Value;

use crate::helpers::{APP_ID, OTHER_APP_ID, OTHER_SECRET, TestSim, assert_errcode, spawn};

const BOUNDARY: &str = "simmediatestboundary";

fn multipart(field: &str, file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(sim: &TestSim, token: &str, kind: &str, body: Vec<u8>) -> Value {
    sim.http
        .post(sim.url("/cgi-bin/media/upload"))
        .query(&[("access_token", token), ("type", kind)])
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn get(sim: &TestSim, token: &str, media_id: &str) -> reqwest::Response {
    sim.http
        .get(sim.url("/cgi-bin/media/get"))
        .query(&[("access_token", token), ("media_id", media_id)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_comes_back_as_it_was_to_its_own_app_only() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let file: Vec<u8> = (0..70_000u32).map(|i| (i % 256) as u8).collect();
    let uploaded = upload(&sim, &token, "image", multipart("media", &file)).await;
    assert_eq!(uploaded["type"], "image", "{uploaded}");
    let media_id = uploaded["media_id"].as_str().unwrap();
    let res = get(&sim, &token, media_id).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"a.png\""
    );
    assert_eq!(res.bytes().await.unwrap(), file);

    let other = sim.classic_token_for(OTHER_APP_ID, OTHER_SECRET).await;
    let res = get(&sim, &other, media_id).await;
    assert_errcode(&res.json().await.unwrap(), 40007);
    assert_errcode(
        &upload(&sim, &token, "image", multipart("file", &file)).await,
        44001,
    );
    assert_errcode(
        &upload(&sim, &token, "pdf", multipart("media", &file)).await,
        40004,
    );
    assert_errcode(
        &upload(&sim, "not-a-token", "image", multipart("media", &file)).await,
        40014,
    );
    let counters = sim.counters().await;
    assert_eq!(
        counters["calls"]["cgi-bin/media/upload"][APP_ID], 3,
        "{counters}"
    );
    sim.stop().await;
}
