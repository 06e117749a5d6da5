//! The three code APIs: real QR images that decode to the page and scene (or path), width,
//! line_color, is_hyaline, parameter errcodes, render-once caching, 45011 and 45029.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{APP_ID, OTHER_APP_ID, OTHER_SECRET, TestSim, assert_errcode, spawn};

const UNLIMITED: &str = "/wxa/getwxacodeunlimit";
const LIMITED: &str = "/wxa/getwxacode";
const QRCODE: &str = "/cgi-bin/wxaapp/createwxaqrcode";

/// Calls a code API; returns the content type and the bytes.
async fn code(sim: &TestSim, token: &str, api: &str, body: Value) -> (String, Vec<u8>) {
    let resp = sim
        .post(&format!("{api}?access_token={token}"), &body)
        .await;
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    (ct, resp.bytes().await.unwrap().to_vec())
}

/// Decodes the QR code in an image (transparent pixels count as white).
fn decode(bytes: &[u8]) -> String {
    let img = image::load_from_memory(bytes).unwrap().to_rgba8();
    let (w, h) = img.dimensions();
    let luma = |x: usize, y: usize| {
        let p = img.get_pixel(x as u32, y as u32).0;
        let a = u32::from(p[3]);
        let grey = (u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000;
        ((grey * a + 255 * (255 - a)) / 255) as u8
    };
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, luma);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code");
    grids[0].decode().unwrap().1
}

fn dims(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).unwrap();
    (img.width(), img.height())
}

#[tokio::test]
async fn an_unlimited_code_is_a_jpeg_that_decodes_to_its_page_and_scene() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let body = json!({"page": "pages/item/item", "scene": "id=42&from=qr"});
    let (ct, bytes) = code(&sim, &token, UNLIMITED, body).await;
    assert_eq!(ct, "image/jpeg");
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF]);
    assert_eq!(
        decode(&bytes),
        format!("https://sim.wxa/{APP_ID}/pages/item/item?scene=id=42&from=qr")
    );
    assert_eq!(dims(&bytes), (430, 430));
    sim.stop().await;
}

#[tokio::test]
async fn an_unlimited_code_without_a_page_opens_the_home_page_and_names_its_env_version() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let body = json!({"scene": "a", "env_version": "trial"});
    let (_, bytes) = code(&sim, &token, UNLIMITED, body).await;
    assert_eq!(
        decode(&bytes),
        format!("https://sim.wxa/{APP_ID}/pages/index/index?env_version=trial&scene=a")
    );
    sim.stop().await;
}

#[tokio::test]
async fn limited_codes_and_qrcodes_decode_to_their_path() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let path = "pages/item/item?id=7&ref=poster";
    let (ct, bytes) = code(&sim, &token, LIMITED, json!({"path": path})).await;
    assert_eq!(ct, "image/jpeg");
    assert_eq!(decode(&bytes), format!("https://sim.wxa/{APP_ID}/{path}"));
    let (ct, bytes) = code(&sim, &token, QRCODE, json!({"path": path, "width": 300})).await;
    assert_eq!(ct, "image/jpeg");
    assert_eq!(decode(&bytes), format!("https://sim.wxa/{APP_ID}/{path}"));
    assert_eq!(dims(&bytes), (300, 300));
    sim.stop().await;
}

#[tokio::test]
async fn width_is_clamped_to_280_through_1280() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    for (asked, got) in [(100, 280), (2000, 1280), (500, 500)] {
        let body = json!({"scene": format!("w{asked}"), "width": asked});
        let (_, bytes) = code(&sim, &token, UNLIMITED, body).await;
        assert_eq!(dims(&bytes), (got, got), "width {asked}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn is_hyaline_gives_a_transparent_png_coloured_by_line_color_as_numbers_or_strings() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    for color in [
        json!({"r": 200, "g": 30, "b": 40}),
        json!({"r": "200", "g": "30", "b": "40"}),
    ] {
        let body = json!({"scene": "c", "is_hyaline": true, "line_color": color});
        let (ct, bytes) = code(&sim, &token, UNLIMITED, body).await;
        assert_eq!(ct, "image/png");
        assert_eq!(&bytes[..4], &[0x89, b'P', b'N', b'G']);
        let img = image::load_from_memory(&bytes).unwrap().to_rgba8();
        let transparent = img.pixels().filter(|p| p.0[3] == 0).count();
        assert!(transparent > 0, "no transparent pixel");
        let opaque: Vec<_> = img.pixels().filter(|p| p.0[3] == 255).collect();
        assert!(!opaque.is_empty());
        let coloured = opaque.iter().filter(|p| p.0[..3] == [200, 30, 40]).count();
        assert!(
            coloured * 2 > opaque.len(),
            "modules are not the line colour"
        );
        assert!(decode(&bytes).ends_with("?scene=c"));
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_jpeg_code_is_drawn_in_its_line_color() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let body = json!({"scene": "red", "line_color": {"r": 220, "g": 0, "b": 0}});
    let (_, bytes) = code(&sim, &token, UNLIMITED, body).await;
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let reddish = img
        .pixels()
        .filter(|p| p.0[0] > 170 && p.0[1] < 60 && p.0[2] < 60)
        .count();
    assert!(reddish > 1000, "only {reddish} red pixels");
    sim.stop().await;
}

#[tokio::test]
async fn code_parameters_are_checked_with_their_errcodes() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let cases = [
        (UNLIMITED, json!({"page": "pages/index/index"}), 40169),
        (UNLIMITED, json!({"scene": 12}), 40169),
        (UNLIMITED, json!({"scene": "x".repeat(33)}), 40169),
        (UNLIMITED, json!({"scene": "a%20b"}), 40129),
        (UNLIMITED, json!({"scene": "中文"}), 40129),
        (
            UNLIMITED,
            json!({"scene": "a", "page": "/pages/index/index"}),
            41030,
        ),
        (
            UNLIMITED,
            json!({"scene": "a", "page": "pages/index/index?x=1"}),
            41030,
        ),
        (
            UNLIMITED,
            json!({"scene": "a", "page": "pages/unpublished"}),
            41030,
        ),
        (UNLIMITED, json!({"scene": "scancode_time=1"}), 85096),
        (
            UNLIMITED,
            json!({"scene": "a", "page": "pages/scancode_time"}),
            85096,
        ),
        (
            UNLIMITED,
            json!({"scene": "a", "env_version": "beta"}),
            40097,
        ),
        (LIMITED, json!({}), 40159),
        (LIMITED, json!({"path": ""}), 40159),
        (LIMITED, json!({"path": "p".repeat(1025)}), 40159),
        (
            LIMITED,
            json!({"path": "pages/index/index?scancode_time=1"}),
            85096,
        ),
        (QRCODE, json!({"path": "p".repeat(129)}), 40159),
        (QRCODE, json!({"path": "pages/a?scancode_time=2"}), 85096),
    ];
    for (api, body, errcode) in cases {
        let resp = sim
            .post(&format!("{api}?access_token={token}"), &body)
            .await;
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let answer: Value = resp.json().await.unwrap();
        assert_errcode(&answer, errcode);
    }
    sim.stop().await;
}

#[tokio::test]
async fn an_unpublished_page_is_allowed_with_check_path_false() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let body = json!({"scene": "a", "page": "pages/draft/draft", "check_path": false});
    let (ct, bytes) = code(&sim, &token, UNLIMITED, body).await;
    assert_eq!(ct, "image/jpeg");
    assert!(decode(&bytes).contains("/pages/draft/draft?scene=a"));
    sim.stop().await;
}

#[tokio::test]
async fn an_identical_request_is_rendered_once() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let body = json!({"scene": "same", "width": 430, "line_color": {"r": 0, "g": 0, "b": 0}});
    let (_, first) = code(&sim, &token, UNLIMITED, body.clone()).await;
    // The same request written differently (default width, string colour) is the same.
    let same = json!({"scene": "same", "line_color": {"r": "0", "g": "0", "b": "0"}});
    let (_, second) = code(&sim, &token, UNLIMITED, same).await;
    assert_eq!(first, second);
    let counters = sim.counters().await;
    assert_eq!(counters["images_rendered"], 1);
    assert_eq!(counters["image_cache_hits"], 1);
    sim.stop().await;
}

#[tokio::test]
async fn unlimited_codes_over_the_minute_limit_get_45011() {
    let sim = spawn().await;
    sim.set_limits(json!({"unlimited_per_minute": 2})).await;
    let token = sim.classic_token().await;
    for scene in ["a", "b"] {
        let (ct, _) = code(&sim, &token, UNLIMITED, json!({"scene": scene})).await;
        assert_eq!(ct, "image/jpeg");
    }
    let over = sim
        .post_json(
            &format!("{UNLIMITED}?access_token={token}"),
            &json!({"scene": "c"}),
        )
        .await;
    assert_errcode(&over, 45011);
    sim.advance(60).await;
    let (ct, _) = code(&sim, &token, UNLIMITED, json!({"scene": "c"})).await;
    assert_eq!(ct, "image/jpeg");
    sim.stop().await;
}

#[tokio::test]
async fn limited_codes_and_qrcodes_share_a_lifetime_quota_answered_with_45029() {
    let sim = spawn().await;
    sim.set_limits(json!({"code_lifetime": 2})).await;
    let token = sim.classic_token().await;
    code(&sim, &token, LIMITED, json!({"path": "pages/a"})).await;
    code(&sim, &token, QRCODE, json!({"path": "pages/b"})).await;
    // A repeat of an identical request does not count again.
    let (ct, _) = code(&sim, &token, LIMITED, json!({"path": "pages/a"})).await;
    assert_eq!(ct, "image/jpeg");
    let over = sim
        .post_json(
            &format!("{LIMITED}?access_token={token}"),
            &json!({"path": "pages/c"}),
        )
        .await;
    assert_errcode(&over, 45029);
    // The quota is per app, and the control API can preset it.
    let other = sim.classic_token_for(OTHER_APP_ID, OTHER_SECRET).await;
    let (ct, _) = code(&sim, &other, QRCODE, json!({"path": "pages/c"})).await;
    assert_eq!(ct, "image/jpeg");
    sim.control(
        Method::POST,
        "/quota",
        json!({"appid": OTHER_APP_ID, "codes_used": 2}),
    )
    .await;
    let over = sim
        .post_json(
            &format!("{QRCODE}?access_token={other}"),
            &json!({"path": "pages/d"}),
        )
        .await;
    assert_errcode(&over, 45029);
    sim.stop().await;
}

#[tokio::test]
async fn code_apis_take_only_post_and_refuse_bad_tokens() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    let get = sim
        .get_json(&format!("{UNLIMITED}?access_token={token}"))
        .await;
    assert_errcode(&get, 43002);
    let bad = sim
        .post_json(
            &format!("{UNLIMITED}?access_token={}", "B".repeat(100)),
            &json!({"scene": "a"}),
        )
        .await;
    assert_errcode(&bad, 40001);
    sim.stop().await;
}
