//! What links carry beyond WeChat's API since its December 2023 rules: the plain-text
//! scheme, built here with no WeChat call, and `cq`, the developer's own parameter
//! appended to any encrypted scheme or URL link.

use super::{EnvVersion, JumpKind, PagePath, query_char};
use crate::error::{AppError, AppResult};

/// A plain-text scheme's query: WeChat's limit, before URL encoding.
pub const MAX_PLAIN_QUERY_CHARS: usize = 512;
/// `cq`: WeChat's limit.
pub const MAX_CQ_CHARS: usize = 256;

/// `weixin://dl/business/?appid=..&path=..&query=..&env_version=..`: no API call and no
/// generation quota; the app must have enabled plain-text schemes for the page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlainScheme {
    pub path: PagePath,
    /// As given (the scheme charset); URL-encoded into the link.
    pub query: String,
    pub env_version: EnvVersion,
}

impl PlainScheme {
    pub fn parse(
        path: Option<String>,
        query: Option<String>,
        env_version: EnvVersion,
    ) -> AppResult<Self> {
        let path = PagePath::parse("path", path)?;
        if path.as_str().is_empty() {
            return Err(AppError::invalid("path", "明文 scheme 必须指定页面路径"));
        }
        let query = query.unwrap_or_default();
        charset("query", &query, MAX_PLAIN_QUERY_CHARS)?;
        Ok(PlainScheme {
            path,
            query,
            env_version,
        })
    }

    /// The scheme for `app_id`.
    pub fn link(&self, app_id: &str) -> String {
        let mut link = format!(
            "weixin://dl/business/?appid={}&path={}",
            encode(app_id),
            encode(self.path.as_str())
        );
        if !self.query.is_empty() {
            link.push_str("&query=");
            link.push_str(&encode(&self.query));
        }
        if self.env_version != EnvVersion::Release {
            link.push_str("&env_version=");
            link.push_str(self.env_version.as_str());
        }
        link
    }
}

/// The developer's parameter of a scheme or URL link: not sent to WeChat, so a stored link
/// serves every `cq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cq(String);

impl Cq {
    /// Absent or empty: none.
    pub fn parse(raw: Option<String>) -> AppResult<Option<Self>> {
        let cq = raw.unwrap_or_default();
        if cq.is_empty() {
            return Ok(None);
        }
        charset("cq", &cq, MAX_CQ_CHARS)?;
        Ok(Some(Cq(cq)))
    }

    /// `link` with `cq` appended: `&cq=` after a scheme's `?t=`, `?cq=` after a URL link.
    pub fn append_to(&self, kind: JumpKind, link: &str) -> String {
        let sep = match kind {
            JumpKind::Scheme => '&',
            JumpKind::UrlLink if link.contains('?') => '&',
            JumpKind::UrlLink => '?',
        };
        format!("{link}{sep}cq={}", encode(&self.0))
    }
}

fn charset(field: &'static str, value: &str, max: usize) -> AppResult<()> {
    if !value.chars().all(query_char) {
        return Err(AppError::invalid(
            field,
            "只能包含 0-9a-zA-Z 和 !#$&'()*+,/:;=?@-._~%(其他字符请先 URL 编码)",
        ));
    }
    // The charset is ASCII: bytes count characters.
    if value.len() > max {
        return Err(AppError::invalid(
            field,
            format!("长度不能超过 {max} 个字符"),
        ));
    }
    Ok(())
}

/// Percent-encodes all but the unreserved characters; `%` stays, so a value the caller
/// already encoded is not encoded twice.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_scheme_encodes_its_query_and_names_a_non_release_version() {
        let plain = PlainScheme::parse(
            Some("pages/item/item".into()),
            Some("id=7&from=sms".into()),
            EnvVersion::Trial,
        )
        .unwrap();
        assert_eq!(
            plain.link("wx1234"),
            "weixin://dl/business/?appid=wx1234&path=pages%2Fitem%2Fitem&query=id%3D7%26from%3Dsms&env_version=trial"
        );
        let home = PlainScheme::parse(Some("pages/a".into()), None, EnvVersion::Release).unwrap();
        assert_eq!(
            home.link("wx1"),
            "weixin://dl/business/?appid=wx1&path=pages%2Fa"
        );
    }

    #[test]
    fn a_plain_scheme_needs_a_page_and_a_short_query_of_the_charset() {
        for (path, query, field) in [
            (None, None, "path"),
            (Some("/pages/a"), None, "path"),
            (Some("pages/a?x=1"), None, "path"),
            (Some("pages/a"), Some("名=1"), "query"),
            (Some("pages/a"), Some(&*"q".repeat(513)), "query"),
        ] {
            let err = PlainScheme::parse(
                path.map(str::to_owned),
                query.map(str::to_owned),
                EnvVersion::Release,
            )
            .unwrap_err();
            assert!(
                matches!(err, AppError::Invalid { field: f, .. } if f == field),
                "{path:?} {query:?}"
            );
        }
        assert!(
            PlainScheme::parse(
                Some("pages/a".into()),
                Some("q".repeat(512)),
                EnvVersion::Release
            )
            .is_ok()
        );
    }

    #[test]
    fn cq_is_appended_encoded_after_the_links_own_query() {
        let cq = Cq::parse(Some("src=mail&u=9".into())).unwrap().unwrap();
        assert_eq!(
            cq.append_to(JumpKind::Scheme, "weixin://dl/business/?t=ABC"),
            "weixin://dl/business/?t=ABC&cq=src%3Dmail%26u%3D9"
        );
        assert_eq!(
            cq.append_to(JumpKind::UrlLink, "https://wxaurl.cn/XYZ"),
            "https://wxaurl.cn/XYZ?cq=src%3Dmail%26u%3D9"
        );
        assert_eq!(Cq::parse(Some(String::new())).unwrap(), None);
        assert!(Cq::parse(Some("x".repeat(257))).is_err());
        assert!(Cq::parse(Some("a b".into())).is_err());
    }
}
