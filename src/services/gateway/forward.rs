//! A client's call through the gateway: its stand-in token checked in memory, its API path
//! checked against `allow`, then the call sent to WeChat with the real token of its app
//! (refreshed once and retried when WeChat rejects it) and answered as WeChat answered.
//! The code APIs are metered like `/api/qr_code`: `getwxacode` and `createwxaqrcode`
//! against the lifetime quota ledger, `getwxacodeunlimit` through the same pace.

use std::borrow::Cow;

use bytes::Bytes;
use reqwest::header::HeaderValue;

use super::faults::{self, refusal};
use super::stats::{CallLabel, UNKNOWN_CLIENT};
use super::{GatewayService, stand_in};
use crate::domain::target::{Target, TokenSource};
use crate::error::AppError;
use crate::services::codes::{QUOTA_EXHAUSTED, Wait};
use crate::services::token::now_unix;
use crate::wechat::WechatError;
use crate::wechat::WechatFault;
use crate::wechat::api;
use crate::wechat::forward::{ForwardRequest, Forwarded};

/// Longest API path forwarded; WeChat's are far shorter.
const MAX_PATH_LEN: usize = 256;
/// The API label of a call refused before its client was known, or of a bad path.
const OTHER: &str = "other";
/// The API label of a call outside the client's `allow`.
const DENIED: &str = "denied";

/// A raw query string as pairs, kept byte for byte: whatever the client sent, other than
/// its credentials, reaches WeChat exactly as it was written.
pub(super) struct Query<'a> {
    /// `(raw pair, decoded key, decoded value)`.
    pairs: Vec<(&'a str, Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Query<'a> {
    pub(super) fn parse(raw: &'a str) -> Self {
        let pairs = raw
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter_map(|pair| {
                let (k, v) = url::form_urlencoded::parse(pair.as_bytes()).next()?;
                Some((pair, k, v))
            })
            .collect();
        Query { pairs }
    }

    /// The first value of `key`.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(_, k, _)| k == key)
            .map(|(_, _, v)| v.as_ref())
    }

    /// The query to send: every pair but the client's `access_token`, those named in
    /// `drop` and those `add` replaces, then `add`'s pairs.
    pub(super) fn with(&self, drop: &[&str], add: &[(&str, &str)]) -> String {
        let mut out = String::new();
        let replaced = |k: &str| {
            k == "access_token" || drop.contains(&k) || add.iter().any(|(key, _)| *key == k)
        };
        for (raw, k, _) in &self.pairs {
            if !replaced(k) {
                out.push_str(raw);
                out.push('&');
            }
        }
        for (key, value) in add {
            out.push_str(key);
            out.push('=');
            out.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
            out.push('&');
        }
        out.pop();
        out
    }
}

/// What a code API spends before it is forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meter {
    None,
    /// One unit of the lifetime quota, given back unless WeChat made the code.
    Quota,
    /// A slot of the `unlimited` pace.
    Pace,
}

impl Meter {
    fn of(path: &str) -> Meter {
        let is = |a: api::Api| a.path.trim_start_matches('/') == path;
        if is(api::GET_WXACODE) || is(api::CREATE_QRCODE) {
            Meter::Quota
        } else if is(api::GET_WXACODE_UNLIMIT) {
            Meter::Pace
        } else {
            Meter::None
        }
    }
}

/// A call that passed the checks: for whom, where, with what left of the client's query.
#[derive(Debug)]
pub struct Call {
    label: CallLabel,
    target: Target,
    path: String,
    /// The client's query, kept to be sent with the real token in place of its own.
    query: String,
    meter: Meter,
}

/// The request as the client sent it: method, Content-Type and body.
pub struct Outgoing {
    pub method: reqwest::Method,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
}

impl Outgoing {
    /// From the incoming request's parts (actix's and reqwest's header types differ).
    pub fn new(method: &str, content_type: Option<&[u8]>, body: Bytes) -> Self {
        Outgoing {
            method: reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET),
            content_type: content_type.and_then(|ct| HeaderValue::from_bytes(ct).ok()),
            body,
        }
    }
}

/// The API path of `/wx/<path>` when it is a plain one (segments of letters, digits, `_`,
/// `-` and `.`, no `.` or `..`): only such a path is matched against `allow` and sent.
fn api_path(path: &str) -> Option<&str> {
    let path = path.strip_prefix("/wx/")?;
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    let ok = !path.is_empty()
        && path.len() <= MAX_PATH_LEN
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.bytes().all(plain));
    ok.then_some(path)
}

impl GatewayService {
    /// Checks a call before its body is read: a live stand-in token (else 40001, so the
    /// SDK fetches a new one), a plain path inside the client's `allow` (else 48001).
    /// Everything here is in memory.
    pub fn authorize(&self, path: &str, raw_query: &str) -> Result<Call, WechatFault> {
        let mut label = CallLabel::new(UNKNOWN_CLIENT, OTHER);
        let result = self.authorize_for(path, raw_query, &mut label);
        if let Err(fault) = &result {
            self.stats.record(&label, fault.errcode);
        }
        result
    }

    fn authorize_for(
        &self,
        path: &str,
        raw_query: &str,
        label: &mut CallLabel,
    ) -> Result<Call, WechatFault> {
        let query = Query::parse(raw_query);
        let token = query.get("access_token").unwrap_or("");
        let stand_in = stand_in::check(&self.clients, token, self.ttl_secs, now_unix())
            .ok_or_else(|| refusal(faults::INVALID_CREDENTIAL))?;
        let client = stand_in.client;
        label.client.clone_from(&client.name);
        // The token is good only while its client may still act for its appid.
        let target = match client.app_named(&stand_in.appid) {
            Some(name) => Target::configured(name, &stand_in.appid),
            None if client.authorizers => Target {
                name: stand_in.appid.clone(),
                app_id: stand_in.appid.clone(),
                source: TokenSource::Authorizer,
            },
            None => return Err(refusal(faults::INVALID_CREDENTIAL)),
        };
        label.api = DENIED.to_owned();
        let path = api_path(path).ok_or_else(|| refusal(faults::API_UNAUTHORIZED))?;
        let pattern = client
            .allowed(path)
            .ok_or_else(|| refusal(faults::API_UNAUTHORIZED))?;
        label.api = pattern.to_owned();
        Ok(Call {
            label: label.clone(),
            target,
            path: path.to_owned(),
            query: raw_query.to_owned(),
            meter: Meter::of(path),
        })
    }

    /// Records and returns a refusal of a call that passed `authorize` (its body over the
    /// cap, or broken off).
    pub fn refuse(&self, call: &Call, errcode: i64) -> WechatFault {
        self.stats.record(&call.label, errcode);
        refusal(errcode)
    }

    /// Sends the call to WeChat with the real token and answers what WeChat answered.
    pub async fn forward(&self, call: Call, out: Outgoing) -> Result<Forwarded, WechatFault> {
        let result = self.metered(&call, &out).await;
        let errcode = match &result {
            Ok(answer) => answer.errcode(),
            Err(fault) => fault.errcode,
        };
        self.stats.record(&call.label, errcode);
        result
    }

    async fn metered(&self, call: &Call, out: &Outgoing) -> Result<Forwarded, WechatFault> {
        let app_id = &call.target.app_id;
        match call.meter {
            Meter::Quota => self.codes.reserve_quota(app_id).await.map_err(|e| {
                tracing::info!(client = %call.label.client, error = %e, "gateway: code quota refused");
                faults::with_msg(faults::CODE_QUOTA, "qrcode count out of limit (this product's ledger)")
            })?,
            Meter::Pace => self.codes.pace(app_id, Wait::Request).await.map_err(|_| {
                refusal(faults::MINUTE_QUOTA)
            })?,
            Meter::None => {}
        }
        let result = self.send(call, out).await;
        if call.meter == Meter::Quota {
            match &result {
                Ok(answer) if answer.is_binary_success() => {}
                Ok(answer) => {
                    let exhausted = answer.errcode() == QUOTA_EXHAUSTED;
                    self.codes.give_back_quota(app_id, exhausted).await;
                }
                Err(_) => self.codes.give_back_quota(app_id, false).await,
            }
        }
        result
    }

    /// With the target's token: on 40001/42001/40014 the token manager refreshes it (only
    /// if it is still the current one) and the call is sent once more; the client never
    /// sees the rejection.
    async fn send(&self, call: &Call, out: &Outgoing) -> Result<Forwarded, WechatFault> {
        let query = Query::parse(&call.query);
        let sent = self
            .mini_program
            .with_target_token(&call.target, |client, token| {
                let request = ForwardRequest {
                    method: out.method.clone(),
                    url: client.forward_url(
                        &call.path,
                        &query.with(&[], &[("access_token", &token.value)]),
                    ),
                    content_type: out.content_type.clone(),
                    body: out.body.clone(),
                    single_use: false,
                };
                async move {
                    let answer = client.forward(request).await?;
                    match answer.token_rejection() {
                        Some(fault) => Err(WechatError::Api(fault)),
                        None => Ok(answer),
                    }
                }
            })
            .await;
        sent.map_err(|e: AppError| {
            if !matches!(e, AppError::Wechat(_)) {
                tracing::warn!(client = %call.label.client, error = %e, "gateway: call failed");
            }
            faults::from_app_error(&e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_kept_byte_for_byte_but_for_the_credentials() {
        let q = Query::parse("access_token=gw1_x&type=image&name=a%20b+c&access_token=dup");
        assert_eq!(q.get("access_token"), Some("gw1_x"));
        assert_eq!(q.get("name"), Some("a b c"));
        assert_eq!(
            q.with(&[], &[("access_token", "REAL/token")]),
            "type=image&name=a%20b+c&access_token=REAL%2Ftoken"
        );
        let login = Query::parse("appid=wx1&secret=client-key&js_code=c&access_token=gw1_x");
        assert_eq!(
            login.with(&[], &[("secret", "s")]),
            "appid=wx1&js_code=c&secret=s"
        );
        assert_eq!(
            login.with(
                &["secret"],
                &[("component_appid", "wxc"), ("component_access_token", "t")]
            ),
            "appid=wx1&js_code=c&component_appid=wxc&component_access_token=t"
        );
    }

    #[test]
    fn only_plain_api_paths_are_forwarded() {
        assert_eq!(
            api_path("/wx/wxa/getwxacodeunlimit"),
            Some("wxa/getwxacodeunlimit")
        );
        assert_eq!(
            api_path("/wx/cgi-bin/media/upload"),
            Some("cgi-bin/media/upload")
        );
        for bad in [
            "/wx/",
            "/wx/wxa/../cgi-bin/x",
            "/wx/wxa//x",
            "/wx/wxa/%2e%2e/x",
            "/wx/./wxa",
            "/wx/wxa/x?y",
            "/other/wxa/x",
        ] {
            assert_eq!(api_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn code_apis_are_metered_like_the_products_own() {
        assert_eq!(Meter::of("wxa/getwxacode"), Meter::Quota);
        assert_eq!(Meter::of("cgi-bin/wxaapp/createwxaqrcode"), Meter::Quota);
        assert_eq!(Meter::of("wxa/getwxacodeunlimit"), Meter::Pace);
        assert_eq!(Meter::of("wxa/generatescheme"), Meter::None);
    }
}
