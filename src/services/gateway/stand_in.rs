//! Stand-in tokens: what a gateway client gets where WeChat would give an access_token.
//!
//! `gw1_` + base64url(payload) + base64url(HMAC-SHA256(client's signing key, payload)),
//! where payload = issued_at (8 bytes, big endian) ‖ name length (1 byte) ‖ client name ‖
//! appid. So a token:
//! - is checked in memory (no database, no shared state): any instance with the same
//!   configuration accepts a token another one minted;
//! - stops working when its client's key changes (the signing key derives from it), when
//!   `token_ttl_secs` have passed, or when the client loses the app;
//! - can never be a WeChat token: it has our prefix and our MAC, and WeChat refuses it.
//!
//! Only letters, digits, `_` and `-`; at most 4 + 183 + 43 = 230 characters (client names
//! are at most 64 bytes, appids at most 64), about 100 for a usual name and appid.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;

use super::clients::{Client, Clients};

const PREFIX: &str = "gw1_";
/// Length of the base64url MAC (32 bytes) at the end of a token.
const MAC_CHARS: usize = 43;
/// Longest appid put into a token; WeChat's are 18 characters.
pub const MAX_APPID_LEN: usize = 64;
/// A token minted by an instance whose clock runs ahead by up to this is still accepted.
const CLOCK_SKEW_SECS: i64 = 60;

/// A checked token: who may use it, for which appid.
#[derive(Debug, Clone)]
pub struct StandIn<'a> {
    pub client: &'a Client,
    pub appid: String,
}

fn payload(client: &str, appid: &str, issued_at: i64) -> Vec<u8> {
    let mut p = Vec::with_capacity(9 + client.len() + appid.len());
    p.extend_from_slice(&issued_at.to_be_bytes());
    // Client names are at most 64 bytes (checked with the configuration).
    p.push(u8::try_from(client.len()).unwrap_or(u8::MAX));
    p.extend_from_slice(client.as_bytes());
    p.extend_from_slice(appid.as_bytes());
    p
}

/// A token for `client` acting for `appid`, issued at unix second `issued_at`.
pub fn mint(client: &Client, appid: &str, issued_at: i64) -> String {
    let payload = payload(&client.name, appid, issued_at);
    let mut mac = client.signer();
    mac.update(&payload);
    let tag = mac.finalize().into_bytes();
    let mut token = String::with_capacity(PREFIX.len() + payload.len() * 4 / 3 + 4 + MAC_CHARS);
    token.push_str(PREFIX);
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    URL_SAFE_NO_PAD.encode_string(tag, &mut token);
    token
}

/// The token's client, appid and end, when it is one of ours, signed with its client's
/// current key and still within `ttl_secs` of its issue at unix second `now`.
pub fn check<'a>(
    clients: &'a Clients,
    token: &str,
    ttl_secs: i64,
    now: i64,
) -> Option<StandIn<'a>> {
    let rest = token.strip_prefix(PREFIX)?;
    if rest.len() <= MAC_CHARS || !rest.is_ascii() {
        return None;
    }
    let (payload_b64, tag_b64) = rest.split_at(rest.len() - MAC_CHARS);
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag_b64).ok()?;
    let (issued_at, rest) = payload.split_first_chunk::<8>()?;
    let (&name_len, rest) = rest.split_first()?;
    let (name, appid) = rest.split_at_checked(usize::from(name_len))?;
    let client = clients.by_name(std::str::from_utf8(name).ok()?)?;
    let mut mac = client.signer();
    mac.update(&payload);
    mac.verify_slice(&tag).ok()?;
    let issued_at = i64::from_be_bytes(*issued_at);
    let expires_at = issued_at.checked_add(ttl_secs)?;
    if issued_at > now + CLOCK_SKEW_SECS || now >= expires_at {
        return None;
    }
    let appid = std::str::from_utf8(appid).ok().filter(|a| !a.is_empty())?;
    Some(StandIn {
        client,
        appid: appid.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GatewayClient, Settings};

    const T0: i64 = 1_700_000_000;

    fn clients(key_of_php: &str) -> Clients {
        let mut settings = Settings::built_in().unwrap();
        for (name, key) in [("php", key_of_php), ("java", "key-of-java")] {
            settings.gateway.clients.insert(
                name.into(),
                GatewayClient {
                    key: key.into(),
                    apps: vec!["default".into()],
                    authorizers: false,
                    allow: vec!["*".into()],
                },
            );
        }
        Clients::from_settings(&settings)
    }

    #[test]
    fn a_token_carries_its_client_and_appid_in_the_allowed_alphabet() {
        let clients = clients("key-of-php");
        let php = clients.by_name("php").unwrap();
        let token = mint(php, "wx1111111111111111", T0);
        let longest = mint(php, &"w".repeat(MAX_APPID_LEN), T0);
        assert!(token.len() < 100 && longest.len() <= 230, "{longest}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        let checked = check(&clients, &token, 7200, T0 + 7199).expect("valid");
        assert_eq!(checked.client.name, "php");
        assert_eq!(checked.appid, "wx1111111111111111");
    }

    #[test]
    fn expired_early_forged_and_foreign_tokens_fail() {
        let clients = clients("key-of-php");
        let php = clients.by_name("php").unwrap();
        let token = mint(php, "wx1111111111111111", T0);
        assert!(
            check(&clients, &token, 7200, T0 + 7200).is_none(),
            "expired"
        );
        assert!(
            check(&clients, &token, 7200, T0 - 61).is_none(),
            "from the future"
        );
        // Another key for the same client name: every old token fails.
        let rotated = self::clients("new-key-of-php");
        assert!(check(&rotated, &token, 7200, T0).is_none());
        // Any changed character breaks the MAC or the payload.
        for i in PREFIX.len()..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(bytes).unwrap();
            assert!(check(&clients, &forged, 7200, T0).is_none(), "byte {i}");
        }
        // A WeChat token, and garbage, are not ours.
        for other in [
            "86_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "",
            "gw1_",
            "gw1_é",
        ] {
            assert!(check(&clients, other, 7200, T0).is_none(), "{other}");
        }
    }
}
