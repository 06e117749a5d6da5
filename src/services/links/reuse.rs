//! When a stored link may answer a request instead of a new one.
//!
//! A stored link is a candidate when it was made for the same app, kind, page, query and
//! env_version (short links: page_url, title and permanence). Then, by how the request
//! gives the expiry:
//! - `expire_time` T (absolute): the link must work until T at least (`expires_at >= T`),
//!   whatever it was made for; it may outlive T (the answer's `expire_time` says so).
//! - `expire_interval` N days, or the default (relative): the link must have been made
//!   for N days too, and still have `floor` seconds left: `schemes.reuse_min_remaining_secs`,
//!   or half of N days when that is shorter (so a 1-day link is reused while 12 hours are
//!   left), and never under a minute.
//! - Short-term short links count as made for 30 days (WeChat's fixed validity); permanent
//!   ones never expire and are always reused.

use crate::domain::links::{
    DAY_SECS, Expiry, JumpKind, JumpLink, MIN_EXPIRY_SECS, NfcScheme, PlainScheme, SHORT_LINK_SECS,
    ShortLink,
};
use crate::store::links::LinkTarget;

/// What the in-memory cache is keyed by: the request as parsed, expiry included, so a
/// cached link always suits the requests that share its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkKey {
    pub app_id: String,
    pub spec: Spec,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Spec {
    Jump(JumpKind, JumpLink),
    Short(ShortLink),
    /// Built here, never by WeChat; recorded like the others.
    Plain(PlainScheme),
    /// Never expires.
    Nfc(NfcScheme),
}

/// What a request accepts from the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// A stored link must expire at this unix second or later (0: any, permanent links).
    pub min_expires_at: i64,
    /// Days the stored link must have been made for; 0 = any.
    pub interval: i64,
    /// Seconds before its expiry when a link stops being reused for such requests.
    pub floor: i64,
}

impl Rule {
    /// Until when (unix seconds) a link expiring at `expires_at` (0 = never) suits
    /// requests like this one.
    pub fn reusable_until(&self, expires_at: i64) -> i64 {
        if expires_at == 0 {
            i64::MAX
        } else {
            expires_at - self.floor
        }
    }
}

impl LinkKey {
    /// The record's columns for this request.
    pub fn target(&self) -> LinkTarget<'_> {
        match &self.spec {
            Spec::Jump(kind, link) => LinkTarget {
                app_id: &self.app_id,
                kind: kind.as_str(),
                path: link.path.as_str(),
                query: link.query.as_str(),
                env_version: link.env_version.as_str(),
                title: "",
                permanent: false,
            },
            Spec::Plain(plain) => LinkTarget {
                app_id: &self.app_id,
                kind: "plain_scheme",
                path: plain.path.as_str(),
                query: &plain.query,
                env_version: plain.env_version.as_str(),
                title: "",
                permanent: true,
            },
            Spec::Nfc(nfc) => LinkTarget {
                app_id: &self.app_id,
                kind: "nfc_scheme",
                path: nfc.path.as_str(),
                query: nfc.query.as_str(),
                env_version: nfc.env_version.as_str(),
                title: &nfc.device,
                permanent: true,
            },
            Spec::Short(short) => LinkTarget {
                app_id: &self.app_id,
                kind: "short_link",
                path: short.page_url.page(),
                query: short.page_url.query(),
                env_version: "",
                title: short.page_title.as_str(),
                permanent: short.permanent,
            },
        }
    }

    /// When a link made now for this request expires (0 = never), and the days it is made
    /// for (0 = an absolute expiry, or never).
    pub fn lifetime(&self, now: i64) -> (i64, i64) {
        match &self.spec {
            Spec::Jump(_, link) => match link.expiry {
                Expiry::At(at) => (at, 0),
                Expiry::InDays(days) => (now + days * DAY_SECS, days),
            },
            Spec::Short(short) if short.permanent => (0, 0),
            Spec::Plain(_) | Spec::Nfc(_) => (0, 0),
            Spec::Short(_) => (now + SHORT_LINK_SECS, SHORT_LINK_SECS / DAY_SECS),
        }
    }

    pub fn rule(&self, now: i64, reuse_min_secs: i64) -> Rule {
        match self.lifetime(now) {
            (0, _) => Rule {
                min_expires_at: 0,
                interval: 0,
                floor: 0,
            },
            (at, 0) => Rule {
                min_expires_at: at,
                interval: 0,
                floor: 0,
            },
            (_, days) => {
                let floor = reuse_min_secs.min(days * DAY_SECS / 2).max(MIN_EXPIRY_SECS);
                Rule {
                    min_expires_at: now + floor,
                    interval: days,
                    floor,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::links::{EnvVersion, LinkQuery, PagePath, PageTitle, PageUrl};

    const NOW: i64 = 1_700_000_000;

    fn jump(expiry: Expiry) -> LinkKey {
        LinkKey {
            app_id: "wx1".into(),
            spec: Spec::Jump(
                JumpKind::Scheme,
                JumpLink {
                    path: PagePath::parse("path", None).unwrap(),
                    query: LinkQuery::parse("query", None).unwrap(),
                    env_version: EnvVersion::Release,
                    expiry,
                },
            ),
        }
    }

    fn short(permanent: bool) -> LinkKey {
        LinkKey {
            app_id: "wx1".into(),
            spec: Spec::Short(ShortLink {
                page_url: PageUrl::parse("page_url", "pages/a/a".into()).unwrap(),
                page_title: PageTitle::parse("page_title", None).unwrap(),
                permanent,
            }),
        }
    }

    #[test]
    fn a_thirty_day_request_reuses_thirty_day_links_with_a_day_left() {
        let rule = jump(Expiry::InDays(30)).rule(NOW, DAY_SECS);
        assert_eq!(
            rule,
            Rule {
                min_expires_at: NOW + DAY_SECS,
                interval: 30,
                floor: DAY_SECS
            }
        );
        assert_eq!(
            rule.reusable_until(NOW + 30 * DAY_SECS),
            NOW + 29 * DAY_SECS
        );
    }

    #[test]
    fn short_intervals_need_half_their_validity_and_at_least_a_minute() {
        assert_eq!(
            jump(Expiry::InDays(1)).rule(NOW, DAY_SECS).floor,
            DAY_SECS / 2
        );
        assert_eq!(jump(Expiry::InDays(30)).rule(NOW, 0).floor, 60);
    }

    #[test]
    fn an_absolute_expiry_takes_any_link_that_lasts_until_then() {
        let rule = jump(Expiry::At(NOW + 3600)).rule(NOW, DAY_SECS);
        assert_eq!(
            rule,
            Rule {
                min_expires_at: NOW + 3600,
                interval: 0,
                floor: 0
            }
        );
    }

    #[test]
    fn a_fresh_link_always_suits_its_own_request() {
        for key in [
            jump(Expiry::At(NOW + 61)),
            jump(Expiry::InDays(1)),
            short(false),
            short(true),
        ] {
            let (expires_at, _) = key.lifetime(NOW);
            let rule = key.rule(NOW, DAY_SECS);
            assert!(expires_at >= rule.min_expires_at);
            assert!(rule.reusable_until(expires_at) > NOW);
        }
    }

    #[test]
    fn short_term_short_links_live_thirty_days_and_permanent_ones_forever() {
        assert_eq!(short(false).lifetime(NOW), (NOW + 30 * DAY_SECS, 30));
        assert_eq!(short(true).lifetime(NOW), (0, 0));
        assert_eq!(short(true).rule(NOW, DAY_SECS).reusable_until(0), i64::MAX);
    }
}
