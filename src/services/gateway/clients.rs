//! The gateway's clients from `[gateway.clients.<name>]`: who a key belongs to, which
//! apps a client may act for, which API paths it may call.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Settings;

pub type HmacSha256 = Hmac<Sha256>;

/// Fixed context of the per-client signing key, so the key signs nothing else.
const SIGNING_CONTEXT: &[u8] = b"wxa-backend gateway stand-in token v1";

pub struct Client {
    pub name: String,
    key: SecretString,
    /// HMAC keyed with the key derived from the client's key: a new client key makes
    /// every stand-in token signed with the old one fail.
    signer: HmacSha256,
    /// `(config name, appid)` of each app it may act for.
    apps: Vec<(String, String)>,
    pub authorizers: bool,
    pub allow: Vec<String>,
}

impl Client {
    fn new(name: &str, key: &SecretString, apps: Vec<(String, String)>) -> Option<Self> {
        let mut derive = HmacSha256::new_from_slice(key.expose_secret().as_bytes()).ok()?;
        derive.update(SIGNING_CONTEXT);
        let derived = derive.finalize().into_bytes();
        Some(Client {
            name: name.to_owned(),
            key: key.clone(),
            signer: HmacSha256::new_from_slice(&derived).ok()?,
            apps,
            authorizers: false,
            allow: Vec::new(),
        })
    }

    /// A fresh MAC keyed for this client (cloned: the key is hashed once, at start).
    pub fn signer(&self) -> HmacSha256 {
        self.signer.clone()
    }

    /// The config name of the app with `appid`, when this client may act for it.
    pub fn app_named(&self, appid: &str) -> Option<&str> {
        self.apps
            .iter()
            .find(|(_, id)| id == appid)
            .map(|(name, _)| name.as_str())
    }

    pub fn app_names(&self) -> impl Iterator<Item = &str> {
        self.apps.iter().map(|(name, _)| name.as_str())
    }

    /// The `allow` pattern that lets this client call `api` (a checked API path), if any.
    pub fn allowed(&self, api: &str) -> Option<&str> {
        self.allow
            .iter()
            .find(|pattern| pattern_matches(pattern, api))
            .map(String::as_str)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.name)
            .field("apps", &self.apps)
            .field("authorizers", &self.authorizers)
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

/// `*` alone matches every path; a trailing `*` matches any rest; else the exact path.
pub fn pattern_matches(pattern: &str, api: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => api.starts_with(prefix),
        None => pattern == api,
    }
}

#[derive(Debug, Default)]
pub struct Clients(Vec<Client>);

impl Clients {
    pub fn from_settings(settings: &Settings) -> Self {
        let mut clients = Vec::new();
        for (name, cfg) in &settings.gateway.clients {
            // Apps were checked with the configuration; the lookup cannot miss.
            let apps = cfg
                .apps
                .iter()
                .filter_map(|app| {
                    let app_id = &settings.wechat.mini_program.get(app)?.app_id;
                    Some((app.clone(), app_id.clone()))
                })
                .collect();
            let Some(mut client) = Client::new(name, &cfg.key, apps) else {
                continue;
            };
            client.authorizers = cfg.authorizers;
            client.allow = cfg
                .allow
                .iter()
                .map(|p| p.trim_start_matches('/').to_owned())
                .collect();
            clients.push(client);
        }
        Clients(clients)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.0.iter()
    }

    pub fn by_name(&self, name: &str) -> Option<&Client> {
        self.0.iter().find(|c| c.name == name)
    }

    /// The client whose key is `key`. Every key is compared, in constant time, so the
    /// answer's timing tells nothing about any key.
    pub fn by_key(&self, key: &str) -> Option<&Client> {
        let mut found = None;
        for client in &self.0 {
            let stored = client.key.expose_secret().as_bytes();
            if bool::from(stored.ct_eq(key.as_bytes())) && !stored.is_empty() {
                found = Some(client);
            }
        }
        found
    }

    /// Whether `appid` may be asked for at all: a configured app some client serves, or
    /// possibly an authorizer when some client acts for authorizers.
    pub fn may_serve(&self, appid: &str) -> bool {
        self.0
            .iter()
            .any(|c| c.authorizers || c.app_named(appid).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exactly_or_by_prefix() {
        assert!(pattern_matches("*", "cgi-bin/message/custom/send"));
        assert!(pattern_matches("wxa/*", "wxa/getwxacodeunlimit"));
        assert!(pattern_matches("wxa/*", "wxa/business/getuserphonenumber"));
        assert!(!pattern_matches("wxa/*", "wxaapp/createwxaqrcode"));
        assert!(!pattern_matches("wxa/*", "cgi-bin/wxaapp/createwxaqrcode"));
        assert!(pattern_matches("sns/jscode2session", "sns/jscode2session"));
        assert!(!pattern_matches(
            "sns/jscode2session",
            "sns/jscode2sessionx"
        ));
    }

    #[test]
    fn keys_pick_their_client_and_never_print() {
        let mut settings = Settings::built_in().unwrap();
        settings
            .wechat
            .mini_program
            .get_mut("default")
            .unwrap()
            .app_id = "wx1".into();
        for (name, key) in [("php", "key-of-php"), ("java", "key-of-java")] {
            settings.gateway.clients.insert(
                name.into(),
                crate::config::GatewayClient {
                    key: key.into(),
                    apps: vec!["default".into()],
                    authorizers: false,
                    allow: vec!["/wxa/*".into()],
                },
            );
        }
        let clients = Clients::from_settings(&settings);
        assert_eq!(clients.by_key("key-of-java").unwrap().name, "java");
        assert!(clients.by_key("key-of-jav").is_none());
        assert!(clients.by_key("").is_none());
        let php = clients.by_name("php").unwrap();
        assert_eq!(php.app_named("wx1"), Some("default"));
        assert_eq!(php.allowed("wxa/getwxacode"), Some("wxa/*"));
        assert!(php.allowed("cgi-bin/menu/create").is_none());
        assert!(!format!("{php:?}").contains("key-of-php"));
        assert!(clients.may_serve("wx1") && !clients.may_serve("wx2"));
    }
}
