//! WeChat-style errors: HTTP 200, a JSON body with `errcode` and an `errmsg` that ends in
//! ` rid: xxxxxxxx-xxxxxxxx-xxxxxxxx`, as the real servers answer.

use std::borrow::Cow;

use actix_web::HttpResponse;
use actix_web::http::header::CONTENT_TYPE;
use rand::Rng;

/// The Content-Type WeChat sends with its JSON answers (errors and token bodies).
pub const JSON_CONTENT_TYPE: &str = "application/json; encoding=utf-8";

/// One WeChat error answer (errcode and errmsg without the rid suffix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WxErr {
    pub code: i64,
    pub msg: Cow<'static, str>,
}

impl WxErr {
    /// The error with the errmsg WeChat sends for this errcode.
    pub fn of(code: i64) -> Self {
        Self {
            code,
            msg: Cow::Borrowed(default_msg(code)),
        }
    }

    /// The HTTP answer: 200, JSON, errmsg with a fresh request id.
    pub fn to_response(&self, now: i64) -> HttpResponse {
        let body = serde_json::json!({
            "errcode": self.code,
            "errmsg": format!("{} rid: {}", self.msg, rid(now)),
        });
        json_response(&body)
    }
}

/// A JSON answer with WeChat's Content-Type.
pub fn json_response(body: &serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, JSON_CONTENT_TYPE))
        .body(body.to_string())
}

/// A request id like the real ones: the time in hex, then two random groups.
pub fn rid(now: i64) -> String {
    let mut rng = rand::thread_rng();
    format!(
        "{:08x}-{:08x}-{:08x}",
        (now as u64) & 0xffff_ffff,
        rng.r#gen::<u32>(),
        rng.r#gen::<u32>()
    )
}

/// errmsg texts as seen on the wire (docs/wechat.md), English where WeChat sends English.
fn default_msg(code: i64) -> &'static str {
    match code {
        -1 => "system error",
        40001 => {
            "invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r"
        }
        40002 => "invalid grant_type",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40029 => "invalid code",
        40066 => "invalid url",
        40097 => "invalid args",
        40125 => "invalid appsecret",
        40129 => "invalid scene",
        40159 => "invalid length for path, or the data is not json string",
        40163 => "code been used",
        40165 => "invalid weapp pagepath",
        40169 => "invalid length for scene, or the data is not json string",
        40212 => "invalid query",
        40225 => "invalid page title",
        41001 => "access_token missing",
        41002 => "appid missing",
        41004 => "appsecret missing",
        41008 => "missing code",
        41018 => "missing component_appid",
        41030 => "invalid page",
        42001 => "access_token expired",
        43001 => "require GET method",
        43002 => "require POST method",
        44002 => "empty post data",
        44990 => "reach max api second frequence limit",
        44993 => "reach max api day frequence limit",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit, must slower, retry next minute",
        45029 => "qrcode count out of limit",
        47001 => "data format error",
        48001 => "api unauthorized",
        61003 => "component is not authorized by this account",
        61005 => "component ticket is expired",
        61006 => "component ticket is invalid",
        61009 => "code is invalid",
        61010 => "code is expired",
        61011 => "invalid component",
        61014 => "must use component token for component api",
        61023 => "refresh_token is invalid",
        61024 => "must use api(api_component_token) to get token for component acct",
        85088 => "no qbase privilege",
        85096 => "not allow include scancode_time field",
        85400 => "reach max long time quota limit",
        85401 => "time limit between 1min and 30days",
        85402 => "invalid env_version",
        85403 => "not found",
        85405 => "appid or path not support plain scheme",
        85406 => "daily visit limit",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rid_has_three_groups_of_eight_hex_digits() {
        let r = rid(0x64a5_51f6);
        let groups: Vec<&str> = r.split('-').collect();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0], "64a551f6");
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 8 && g.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }
}
