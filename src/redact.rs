//! Credentials in `Debug` output: a token, a refresh token or a code shows its first
//! characters and its length, never itself, so a `{:?}` in a log or a panic cannot leak it.

use std::fmt;

/// Shows the first 8 characters of a credential and its length.
pub struct Redacted<'a>(pub &'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(self.0))
    }
}

/// The first 8 characters and the length: enough to tell two tokens apart in a log.
pub fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(8).collect();
    format!("{head}…({} chars)", secret.chars().count())
}

#[cfg(test)]
mod tests {
    use crate::services::token::AccessToken;
    use crate::store::tokens::StoredToken;
    use crate::wechat::component::{AuthorizationInfo, AuthorizerToken, ComponentToken};

    const SECRET: &str = "ACCESS_TOKEN_abcdefghijklmnopqrstuvwxyz_0123456789";
    const REFRESH: &str = "refreshtoken@@@zyxwvutsrqponmlkjihgfedcba_98765";

    #[test]
    fn no_credential_prints_itself_through_debug() {
        let shown = [
            format!(
                "{:?}",
                AccessToken {
                    value: SECRET.into(),
                    expires_at: 1
                }
            ),
            format!(
                "{:?}",
                StoredToken {
                    token: SECRET.into(),
                    expires_at: 1,
                    refreshed_at: 0,
                    refresh_count: 0
                }
            ),
            format!(
                "{:?}",
                ComponentToken {
                    component_access_token: SECRET.into(),
                    expires_in: 1
                }
            ),
            format!(
                "{:?}",
                AuthorizerToken {
                    authorizer_access_token: SECRET.into(),
                    expires_in: 1,
                    authorizer_refresh_token: REFRESH.into(),
                }
            ),
            format!(
                "{:?}",
                AuthorizationInfo {
                    authorizer_appid: "wxa0a0a0a0a0a0a0a0".into(),
                    authorizer_access_token: SECRET.into(),
                    expires_in: 1,
                    authorizer_refresh_token: REFRESH.into(),
                    func_info: Vec::new(),
                }
            ),
        ];
        for text in shown {
            assert!(!text.contains(SECRET) && !text.contains(REFRESH), "{text}");
            assert!(
                text.contains("ACCESS_T…(50 chars)") || text.contains("refresht…"),
                "{text}"
            );
        }
    }
}
