//! Link parameters, parsed at the edge against WeChat's own limits
//! (docs/wechat.md#links), so the link service never sees a value WeChat would refuse
//! for its form.

use crate::error::{AppError, AppResult};

mod nfc;
mod plain;
pub use nfc::NfcScheme;
pub use plain::{Cq, PlainScheme};

/// `query` (and a short link's query part): WeChat's 40212 limit.
pub const MAX_QUERY_CHARS: usize = 1024;
/// Page paths: WeChat states no figure for links; 1024 is its limit for code paths.
pub const MAX_PATH_CHARS: usize = 1024;
/// `page_url` of a short link: WeChat's 40066 limit.
pub const MAX_PAGE_URL_CHARS: usize = 1024;
/// `page_title`: WeChat shows 20 characters and cuts the rest; ours bounds the record.
pub const MAX_TITLE_CHARS: usize = 64;
/// WeChat's window for scheme and URL-link expiry: more than 1 minute, at most 30 days
/// (85401 outside it).
pub const MIN_EXPIRY_SECS: i64 = 60;
pub const MAX_EXPIRY_DAYS: i64 = 30;
pub const DAY_SECS: i64 = 86_400;
/// A short-term short link lives 30 days (WeChat's rule; the caller cannot choose).
pub const SHORT_LINK_SECS: i64 = 30 * DAY_SECS;

/// The two link kinds that jump from outside WeChat and share inputs and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JumpKind {
    /// `weixin://dl/business/?t=...` (`wxa/generatescheme`).
    Scheme,
    /// `https://wxaurl.cn/...` (`wxa/generate_urllink`).
    UrlLink,
}

impl JumpKind {
    /// The `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JumpKind::Scheme => "scheme",
            JumpKind::UrlLink => "url_link",
        }
    }
}

/// A published page, without a query; `""` is the home page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PagePath(String);

impl PagePath {
    pub fn parse(field: &'static str, raw: Option<String>) -> AppResult<Self> {
        let path = raw.unwrap_or_default();
        page_rules(field, &path, MAX_PATH_CHARS)?;
        if path.contains('?') {
            return Err(AppError::invalid(
                field,
                "不能携带 query(参数请放在 query 字段)",
            ));
        }
        Ok(PagePath(path))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn page_rules(field: &'static str, page: &str, max_chars: usize) -> AppResult<()> {
    if page.starts_with('/') {
        return Err(AppError::invalid(field, "不能以 / 开头"));
    }
    if page.chars().count() > max_chars {
        return Err(AppError::invalid(
            field,
            format!("长度不能超过 {max_chars} 个字符"),
        ));
    }
    if page.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::invalid(field, "不能包含空白或控制字符"));
    }
    Ok(())
}

/// The query handed to the page: at most 1024 characters of
/// `0-9a-zA-Z!#$&'()*+,/:;=?@-._~%` (other characters must be URL-encoded).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkQuery(String);

impl LinkQuery {
    pub fn parse(field: &'static str, raw: Option<String>) -> AppResult<Self> {
        let query = raw.unwrap_or_default();
        query_rules(field, &query)?;
        Ok(LinkQuery(query))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn query_rules(field: &'static str, query: &str) -> AppResult<()> {
    // The charset is ASCII, so bytes count characters once it holds.
    if !query.chars().all(query_char) {
        return Err(AppError::invalid(
            field,
            "只能包含 0-9a-zA-Z 和 !#$&'()*+,/:;=?@-._~%(其他字符请先 URL 编码)",
        ));
    }
    if query.len() > MAX_QUERY_CHARS {
        return Err(AppError::invalid(
            field,
            format!("长度不能超过 {MAX_QUERY_CHARS} 个字符"),
        ));
    }
    Ok(())
}

pub(crate) fn query_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$&'()*+,/:;=?@-._~%".contains(c)
}

/// Which version of the mini program opens (only outside WeChat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvVersion {
    Release,
    Trial,
    Develop,
}

impl EnvVersion {
    /// Absent or empty: `release`, WeChat's default.
    pub fn parse(field: &'static str, raw: Option<String>) -> AppResult<Self> {
        match raw.as_deref().unwrap_or("") {
            "" | "release" => Ok(EnvVersion::Release),
            "trial" => Ok(EnvVersion::Trial),
            "develop" => Ok(EnvVersion::Develop),
            _ => Err(AppError::invalid(field, "只能是 release、trial 或 develop")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EnvVersion::Release => "release",
            EnvVersion::Trial => "trial",
            EnvVersion::Develop => "develop",
        }
    }
}

/// When a scheme or URL link stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expiry {
    /// At this unix second (`expire_time`).
    At(i64),
    /// This many days after it is made (`expire_interval`, or the configured default).
    InDays(i64),
}

impl Expiry {
    /// Either `expire_time` or `expire_interval` (not both); neither: `default_days`.
    pub fn parse(
        expire_time: Option<i64>,
        expire_interval: Option<i64>,
        default_days: u32,
        now: i64,
    ) -> AppResult<Self> {
        match (expire_time, expire_interval) {
            (Some(_), Some(_)) => Err(AppError::invalid(
                "expire_interval",
                "不能与 expire_time 同时使用",
            )),
            (Some(at), None) => {
                let left = at.saturating_sub(now);
                if left <= MIN_EXPIRY_SECS || left > MAX_EXPIRY_DAYS * DAY_SECS {
                    return Err(AppError::invalid(
                        "expire_time",
                        "必须是 1 分钟之后、30 天之内的 unix 时间戳(秒)",
                    ));
                }
                Ok(Expiry::At(at))
            }
            (None, Some(days)) => {
                if !(1..=MAX_EXPIRY_DAYS).contains(&days) {
                    return Err(AppError::invalid(
                        "expire_interval",
                        "必须是 1 到 30 之间的整数(天)",
                    ));
                }
                Ok(Expiry::InDays(days))
            }
            (None, None) => Ok(Expiry::InDays(i64::from(default_days))),
        }
    }

    /// The unix second a link made at `now` stops working.
    pub fn until(self, now: i64) -> i64 {
        match self {
            Expiry::At(at) => at,
            Expiry::InDays(days) => now + days * DAY_SECS,
        }
    }
}

/// A scheme or URL link request: where it jumps and how long it lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JumpLink {
    pub path: PagePath,
    pub query: LinkQuery,
    pub env_version: EnvVersion,
    pub expiry: Expiry,
}

/// A short link's page with its optional query, e.g. `pages/item/item?id=7`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageUrl {
    page: String,
    query: String,
}

impl PageUrl {
    pub fn parse(field: &'static str, raw: String) -> AppResult<Self> {
        if raw.chars().count() > MAX_PAGE_URL_CHARS {
            return Err(AppError::invalid(
                field,
                format!("长度不能超过 {MAX_PAGE_URL_CHARS} 个字符"),
            ));
        }
        let (page, query) = raw.split_once('?').unwrap_or((&raw, ""));
        if page.is_empty() {
            return Err(AppError::invalid(field, "必须以页面路径开头"));
        }
        page_rules(field, page, MAX_PAGE_URL_CHARS)?;
        query_rules(field, query)?;
        Ok(PageUrl {
            page: page.to_owned(),
            query: query.to_owned(),
        })
    }

    pub fn page(&self) -> &str {
        &self.page
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    /// What WeChat is sent: the page, and `?query` when there is one.
    pub fn to_url(&self) -> String {
        if self.query.is_empty() {
            self.page.clone()
        } else {
            format!("{}?{}", self.page, self.query)
        }
    }
}

/// The title WeChat shows in a short link (it cuts it to 20 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageTitle(String);

impl PageTitle {
    pub fn parse(field: &'static str, raw: Option<String>) -> AppResult<Self> {
        let title = raw.unwrap_or_default();
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(AppError::invalid(
                field,
                format!("长度不能超过 {MAX_TITLE_CHARS} 个字符(微信只显示前 20 个)"),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err(AppError::invalid(field, "不能包含控制字符"));
        }
        Ok(PageTitle(title))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Short Link request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortLink {
    pub page_url: PageUrl,
    pub page_title: PageTitle,
    /// Permanent links never expire but count against WeChat's 100,000 per app.
    pub permanent: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn field_of(err: AppError) -> String {
        match err {
            AppError::Invalid { field, .. } => field.into_owned(),
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn expiry_window_is_more_than_a_minute_and_at_most_thirty_days() {
        let at = |t| Expiry::parse(Some(t), None, 30, NOW);
        assert!(at(NOW + 60).is_err());
        assert_eq!(at(NOW + 61).ok(), Some(Expiry::At(NOW + 61)));
        assert!(at(NOW + 30 * DAY_SECS).is_ok());
        assert!(at(NOW + 30 * DAY_SECS + 1).is_err());
        assert!(at(NOW + 330 * DAY_SECS).is_err()); // the original's 11 months
        assert!(at(i64::MIN).is_err());
        let days = |d| Expiry::parse(None, Some(d), 30, NOW);
        assert!(days(0).is_err() && days(31).is_err());
        assert_eq!(days(30).ok(), Some(Expiry::InDays(30)));
        assert_eq!(
            Expiry::parse(None, None, 7, NOW).ok(),
            Some(Expiry::InDays(7))
        );
        let both = Expiry::parse(Some(NOW + 3600), Some(1), 30, NOW).unwrap_err();
        assert_eq!(field_of(both), "expire_interval");
    }

    #[test]
    fn queries_keep_to_wechats_charset_and_length() {
        let q = |s: &str| LinkQuery::parse("query", Some(s.to_owned()));
        assert!(q("a=1&b=%E4%B8%AD").is_ok());
        assert!(q("!#$&'()*+,/:;=?@-._~%").is_ok());
        assert!(q("a=中").is_err());
        assert!(q("a=1 b").is_err());
        assert!(q(&"x".repeat(1024)).is_ok());
        assert!(q(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn paths_carry_no_query_and_no_leading_slash() {
        let p = |s: &str| PagePath::parse("path", Some(s.to_owned()));
        assert!(p("pages/index/index").is_ok());
        assert!(p("").is_ok());
        assert!(p("pages/index/index?a=1").is_err());
        assert!(p("/pages/index/index").is_err());
        assert!(p("pages/ index").is_err());
    }

    #[test]
    fn page_urls_split_into_page_and_query() {
        let u = PageUrl::parse("page_url", "pages/item/item?id=7".into()).unwrap();
        assert_eq!((u.page(), u.query()), ("pages/item/item", "id=7"));
        assert_eq!(u.to_url(), "pages/item/item?id=7");
        let bare = PageUrl::parse("page_url", "pages/item/item?".into()).unwrap();
        assert_eq!(bare.to_url(), "pages/item/item");
        assert!(PageUrl::parse("page_url", "?id=7".into()).is_err());
        assert!(PageUrl::parse("page_url", "pages/a?id=中".into()).is_err());
    }

    #[test]
    fn env_version_defaults_to_release() {
        assert_eq!(
            EnvVersion::parse("env_version", None).ok(),
            Some(EnvVersion::Release)
        );
        assert!(EnvVersion::parse("env_version", Some("beta".into())).is_err());
    }
}
