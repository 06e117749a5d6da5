//! Every token the simulator issued: who owns it, its kind, its expiry, and when it stopped
//! being accepted (superseded, force-refreshed or revoked).

use std::collections::HashMap;
use std::sync::Mutex;

use super::onetime::random_alnum;
use super::state::lock;

/// A token's lifetime.
pub const LIFETIME_SECS: i64 = 7_200;
/// How long a superseded token keeps working, and how early stable tokens rotate.
pub const OVERLAP_SECS: i64 = 300;
/// Records are forgotten this long after their expiry (until then they answer 42001).
const KEEP_AFTER_EXPIRY_SECS: i64 = 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `cgi-bin/token`.
    Classic,
    /// `cgi-bin/stable_token`.
    Stable,
    /// An Open Platform authorizer_access_token.
    Authorizer,
    /// An Open Platform component_access_token.
    Component,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Classic => "classic",
            TokenKind::Stable => "stable",
            TokenKind::Authorizer => "authorizer",
            TokenKind::Component => "component",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Classic,
            Self::Stable,
            Self::Authorizer,
            Self::Component,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A token handed out, with its remaining lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub token: String,
    pub expires_in: i64,
}

#[derive(Debug)]
struct Rec {
    appid: String,
    kind: TokenKind,
    expires_at: i64,
    invalid_after: Option<i64>,
}

impl Rec {
    fn live(&self, now: i64) -> bool {
        now < self.expires_at && self.invalid_after.is_none_or(|t| now < t)
    }
}

type Owner = (TokenKind, String);

#[derive(Debug, Default)]
struct Inner {
    by_token: HashMap<String, Rec>,
    current: HashMap<Owner, String>,
    previous: HashMap<Owner, String>,
    last_force: HashMap<String, i64>,
    minted: u64,
    /// Of new tokens; 0 means `LIFETIME_SECS`.
    lifetime: i64,
}

impl Inner {
    fn mint(&mut self, kind: TokenKind, appid: &str, now: i64) -> Issued {
        self.minted += 1;
        if self.minted % 4096 == 0 {
            self.by_token
                .retain(|_, r| r.expires_at + KEEP_AFTER_EXPIRY_SECS > now);
        }
        let token = random_alnum(128);
        let lifetime = match self.lifetime {
            0 => LIFETIME_SECS,
            secs => secs,
        };
        let rec = Rec {
            appid: appid.to_owned(),
            kind,
            expires_at: now + lifetime,
            invalid_after: None,
        };
        self.by_token.insert(token.clone(), rec);
        let owner = (kind, appid.to_owned());
        if let Some(old) = self.current.insert(owner.clone(), token.clone()) {
            self.previous.insert(owner, old);
        }
        Issued {
            token,
            expires_in: lifetime,
        }
    }

    fn live_current(&self, kind: TokenKind, appid: &str, now: i64) -> Option<(&String, &Rec)> {
        let token = self.current.get(&(kind, appid.to_owned()))?;
        let rec = self.by_token.get(token)?;
        rec.live(now).then_some((token, rec))
    }

    /// Makes the token stop working at `at` (or keeps an earlier end).
    fn end(&mut self, token: &str, at: i64) {
        if let Some(rec) = self.by_token.get_mut(token) {
            rec.invalid_after = Some(rec.invalid_after.map_or(at, |t| t.min(at)));
        }
    }
}

/// How a stable_token call was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StableAnswer {
    Issued { issued: Issued, minted: bool },
    ForceCapReached,
}

#[derive(Debug, Default)]
pub struct TokenStore {
    inner: Mutex<Inner>,
}

impl TokenStore {
    /// The lifetime of tokens issued from now on (`token_lifetime_secs` of the limits).
    pub fn set_lifetime(&self, secs: i64) {
        lock(&self.inner).lifetime = secs.max(1);
    }

    /// A new token that replaces the current one of its kind; the old one keeps working for
    /// the overlap (classic, authorizer and component tokens).
    pub fn rotate(&self, kind: TokenKind, appid: &str, now: i64) -> Issued {
        let mut inner = lock(&self.inner);
        if let Some(old) = inner.current.get(&(kind, appid.to_owned())).cloned() {
            inner.end(&old, now + OVERLAP_SECS);
        }
        inner.mint(kind, appid, now)
    }

    /// `cgi-bin/stable_token`. `allow_force` is asked (and counts) only for a force refresh
    /// that will really mint.
    pub fn stable(
        &self,
        appid: &str,
        now: i64,
        force: bool,
        spacing_secs: i64,
        allow_force: impl FnOnce() -> bool,
    ) -> StableAnswer {
        let mut inner = lock(&self.inner);
        let current = inner
            .live_current(TokenKind::Stable, appid, now)
            .map(|(t, r)| (t.clone(), r.expires_at));
        if force {
            let recent = inner
                .last_force
                .get(appid)
                .is_some_and(|last| now - last < spacing_secs);
            if let (true, Some((token, expires_at))) = (recent, &current) {
                let issued = Issued {
                    token: token.clone(),
                    expires_in: expires_at - now,
                };
                return StableAnswer::Issued {
                    issued,
                    minted: false,
                };
            }
            if !allow_force() {
                return StableAnswer::ForceCapReached;
            }
            let owner = (TokenKind::Stable, appid.to_owned());
            for old in [inner.current.get(&owner), inner.previous.get(&owner)]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
            {
                inner.end(&old, now);
            }
            inner.last_force.insert(appid.to_owned(), now);
            let issued = inner.mint(TokenKind::Stable, appid, now);
            return StableAnswer::Issued {
                issued,
                minted: true,
            };
        }
        match current {
            Some((token, expires_at)) if now < expires_at - OVERLAP_SECS => StableAnswer::Issued {
                issued: Issued {
                    token,
                    expires_in: expires_at - now,
                },
                minted: false,
            },
            // In the last 5 minutes (or with none live): a new token; the old one keeps
            // its natural expiry, so both work until then.
            _ => StableAnswer::Issued {
                issued: inner.mint(TokenKind::Stable, appid, now),
                minted: true,
            },
        }
    }

    /// The owner and kind of a token, or the errcode WeChat gives for it.
    pub fn check(&self, token: &str, now: i64) -> Result<(String, TokenKind), i64> {
        let inner = lock(&self.inner);
        let Some(rec) = inner.by_token.get(token) else {
            return Err(if well_formed(token) { 40001 } else { 40014 });
        };
        if rec.invalid_after.is_some_and(|t| now >= t) {
            return Err(40001);
        }
        if now >= rec.expires_at {
            return Err(42001);
        }
        Ok((rec.appid.clone(), rec.kind))
    }

    /// Stops tokens at once, as another holder's force refresh would: one `token`, or every
    /// live token of `appid` (of `kind`, or of every kind). Returns how many stopped.
    pub fn revoke(
        &self,
        appid: Option<&str>,
        kind: Option<TokenKind>,
        token: Option<&str>,
        now: i64,
    ) -> usize {
        let mut inner = lock(&self.inner);
        let mut stopped = 0;
        for (t, rec) in inner.by_token.iter_mut() {
            let matches = token.is_none_or(|x| x == t)
                && appid.is_none_or(|a| a == rec.appid)
                && kind.is_none_or(|k| k == rec.kind);
            if matches && rec.live(now) {
                rec.invalid_after = Some(now);
                stopped += 1;
            }
        }
        let by_token = &inner.by_token;
        let dead: Vec<Owner> = inner
            .current
            .iter()
            .filter(|(_, t)| by_token.get(*t).is_none_or(|r| !r.live(now)))
            .map(|(o, _)| o.clone())
            .collect();
        for owner in dead {
            inner.current.remove(&owner);
        }
        stopped
    }
}

/// Tokens are letters, digits, `_` and `-`; anything else is malformed (40014).
fn well_formed(token: &str) -> bool {
    token.len() >= 16
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_token_works_for_five_more_minutes() {
        let store = TokenStore::default();
        let old = store.rotate(TokenKind::Classic, "wx1", 1_000);
        let new = store.rotate(TokenKind::Classic, "wx1", 2_000);
        assert!(store.check(&old.token, 2_299).is_ok());
        assert_eq!(store.check(&old.token, 2_300), Err(40001));
        assert!(store.check(&new.token, 2_300).is_ok());
        assert_eq!(store.check(&new.token, 2_000 + LIFETIME_SECS), Err(42001));
    }

    #[test]
    fn unknown_tokens_are_40001_and_malformed_ones_40014() {
        let store = TokenStore::default();
        assert_eq!(store.check("ABCDEFGHIJKLMNOPQRSTUV", 0), Err(40001));
        assert_eq!(store.check("bad token!", 0), Err(40014));
    }
}
