//! The gateway's own answers in WeChat's shape: an errcode from WeChat's table and an
//! errmsg ending in ` rid: ` and three groups of 8 hex digits, as WeChat writes them, so
//! an SDK handles them as it handles WeChat's. Also what the product's own errors become.

use rand::Rng;

use crate::error::AppError;
use crate::services::token::now_unix;
use crate::wechat::WechatFault;

/// Busy or failing: SDKs retry later.
pub const SYSTEM_ERROR: i64 = -1;
/// Not a live stand-in token: SDKs fetch a new one and retry.
pub const INVALID_CREDENTIAL: i64 = 40001;
pub const INVALID_GRANT_TYPE: i64 = 40002;
pub const INVALID_APPID: i64 = 40013;
pub const INVALID_APPSECRET: i64 = 40125;
pub const APPID_MISSING: i64 = 41002;
pub const APPSECRET_MISSING: i64 = 41004;
pub const REQUIRE_GET: i64 = 43001;
pub const REQUIRE_POST: i64 = 43002;
pub const MEDIA_TOO_LARGE: i64 = 45001;
pub const MINUTE_QUOTA: i64 = 45011;
pub const CODE_QUOTA: i64 = 45029;
pub const DATA_FORMAT: i64 = 47001;
pub const API_UNAUTHORIZED: i64 = 48001;

fn default_msg(errcode: i64) -> &'static str {
    match errcode {
        SYSTEM_ERROR => "system error",
        INVALID_CREDENTIAL => {
            "invalid credential, access_token is invalid or not latest, get a new one from this gateway"
        }
        INVALID_GRANT_TYPE => "invalid grant_type",
        INVALID_APPID => "invalid appid",
        INVALID_APPSECRET => "invalid appsecret",
        APPID_MISSING => "appid missing",
        APPSECRET_MISSING => "appsecret missing",
        REQUIRE_GET => "require GET method",
        REQUIRE_POST => "require POST method",
        MEDIA_TOO_LARGE => "media size out of limit: the gateway takes bodies up to 10 MiB",
        MINUTE_QUOTA => "api minute-quota reach limit, must slower, retry next minute",
        CODE_QUOTA => "qrcode count out of limit",
        DATA_FORMAT => "data format error",
        API_UNAUTHORIZED => "api unauthorized",
        _ => "error",
    }
}

/// `errcode` with WeChat's usual errmsg.
pub fn refusal(errcode: i64) -> WechatFault {
    with_msg(errcode, default_msg(errcode))
}

/// `errcode` with our own errmsg (no secrets in it: the client sees it).
pub fn with_msg(errcode: i64, msg: &str) -> WechatFault {
    WechatFault {
        errcode,
        errmsg: format!("{msg} rid: {}", rid(now_unix())),
    }
}

/// A request id in WeChat's style: the time in hex, then two random groups.
fn rid(now: i64) -> String {
    let mut rng = rand::thread_rng();
    format!(
        "{:08x}-{:08x}-{:08x}",
        (now as u64) & 0xffff_ffff,
        rng.r#gen::<u32>(),
        rng.r#gen::<u32>()
    )
}

/// What a failure of the product itself (fetching the real token, the quota ledger)
/// looks like to an SDK: WeChat's own fault when WeChat gave one, else `-1` (retry
/// later), or 40013 for an appid that is no (longer an) authorizer. Details stay in
/// the log.
pub fn from_app_error(error: &AppError) -> WechatFault {
    match error {
        AppError::Wechat(fault)
        | AppError::RateLimited {
            wechat: Some(fault),
            ..
        } => fault.clone(),
        AppError::Invalid { field, .. } if field == "appid" => refusal(INVALID_APPID),
        AppError::Upstream(_) => with_msg(SYSTEM_ERROR, "system error: wechat unreachable"),
        AppError::RateLimited { .. } => refusal(MINUTE_QUOTA),
        _ => refusal(SYSTEM_ERROR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errmsg_ends_with_a_wechat_style_rid() {
        let fault = refusal(API_UNAUTHORIZED);
        let (msg, rid) = fault.errmsg.split_once(" rid: ").unwrap();
        assert_eq!((fault.errcode, msg), (48001, "api unauthorized"));
        let groups: Vec<&str> = rid.split('-').collect();
        assert_eq!(groups.len(), 3);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 8 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn product_errors_keep_wechat_faults_and_hide_the_rest() {
        let wechat = WechatFault {
            errcode: 40164,
            errmsg: "invalid ip rid: x".into(),
        };
        assert_eq!(from_app_error(&AppError::Wechat(wechat.clone())), wechat);
        let internal = from_app_error(&AppError::internal("database: password=hunter2"));
        assert_eq!(internal.errcode, -1);
        assert!(!internal.errmsg.contains("hunter2"));
        assert_eq!(
            from_app_error(&AppError::invalid("appid", "不是已授权的小程序")).errcode,
            40013
        );
    }
}
