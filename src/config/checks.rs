//! What types alone cannot check: URLs, cross-field rules, the gateway's clients and the
//! image store. Each failure names its key in one line.

use secrecy::ExposeSecret;

use super::*;

impl Settings {
    /// Checks what types alone cannot: URLs, cross-field rules.
    pub(super) fn validated(self) -> Result<Self, ConfigError> {
        check_database_url(self.database.url.expose_secret())?;
        check_http_url("wechat.base_url", &self.wechat.base_url)?;
        check_http_url("server.public_url", &self.server.public_url)?;
        if self.wechat.token_mode == TokenMode::Remote {
            check_http_url("wechat.remote_url", &self.wechat.remote_url)?;
            if self.wechat.remote_key.expose_secret().is_empty() {
                return Err(ConfigError::key(
                    "wechat.remote_key",
                    "required when token_mode = \"remote\"",
                ));
            }
        }
        if !self
            .wechat
            .mini_program
            .contains_key(&self.wechat.default_app)
        {
            return Err(ConfigError::key(
                "wechat.default_app",
                format!(
                    "no [wechat.mini_program.{}] section",
                    self.wechat.default_app
                ),
            ));
        }
        let aes_key = self.open_platform.aes_key.expose_secret();
        if !self.open_platform.app_id.is_empty()
            && (aes_key.len() != 43 || !aes_key.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(ConfigError::key(
                "open_platform.aes_key",
                "must be 43 letters and digits",
            ));
        }
        let previous = self.open_platform.previous_aes_key.expose_secret();
        if !previous.is_empty()
            && (previous.len() != 43 || !previous.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(ConfigError::key(
                "open_platform.previous_aes_key",
                "must be empty or 43 letters and digits",
            ));
        }
        if self.schemes.default_expire_days == 0 || self.schemes.default_expire_days > 30 {
            return Err(ConfigError::key(
                "schemes.default_expire_days",
                "must be 1..=30 (WeChat's window)",
            ));
        }
        check_storage(&self.storage)?;
        if self.codes.unlimited_per_minute == 0 {
            return Err(ConfigError::key(
                "codes.unlimited_per_minute",
                "must be at least 1",
            ));
        }
        self.check_gateway()?;
        Ok(self)
    }

    /// Client names become metric labels and part of stand-in tokens, so they are short
    /// and plain; every app a client names must exist; keys must be set and distinct
    /// (a key picks its client).
    fn check_gateway(&self) -> Result<(), ConfigError> {
        let gateway = &self.gateway;
        if gateway.token_ttl_secs == 0 || gateway.token_ttl_secs > 7200 {
            return Err(ConfigError::key(
                "gateway.token_ttl_secs",
                "must be 1..=7200 (SDKs expect WeChat's lifetime at most)",
            ));
        }
        let mut keys: Vec<(&str, &str)> = Vec::new();
        for (name, client) in &gateway.clients {
            let at = |field: &str| format!("gateway.clients.{name}.{field}");
            let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
            if name.is_empty() || name.len() > 64 || !name.bytes().all(plain) {
                return Err(ConfigError::key(
                    &format!("gateway.clients.{name}"),
                    "a client name is 1..=64 letters, digits, `_` or `-`",
                ));
            }
            for app in &client.apps {
                if !self.wechat.mini_program.contains_key(app) {
                    return Err(ConfigError::key(
                        &at("apps"),
                        format!("unknown app `{app}` (no [wechat.mini_program.{app}] section)"),
                    ));
                }
            }
            for pattern in &client.allow {
                if let Err(rule) = check_allow_pattern(pattern) {
                    return Err(ConfigError::key(
                        &at("allow"),
                        format!("`{pattern}`: {rule}"),
                    ));
                }
            }
            let key = client.key.expose_secret();
            if gateway.enabled && key.is_empty() {
                return Err(ConfigError::key(
                    &at("key"),
                    "required when gateway.enabled",
                ));
            }
            if let Some((other, _)) = keys.iter().find(|(_, k)| !key.is_empty() && *k == key) {
                return Err(ConfigError::key(
                    &at("key"),
                    format!("the same key as gateway.clients.{other}: a key must name one client"),
                ));
            }
            keys.push((name, key));
        }
        Ok(())
    }
}

/// An `allow` entry: `*`, or an API path (`wxa/getwxacodeunlimit`) that may end in `*`.
fn check_allow_pattern(pattern: &str) -> Result<(), &'static str> {
    let path = pattern.strip_suffix('*').unwrap_or(pattern);
    if pattern.is_empty() {
        return Err("an empty pattern matches nothing");
    }
    if path.starts_with('/') {
        return Err("write API paths without the leading `/` (`wxa/*`)");
    }
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/');
    if !path.bytes().all(plain) || path.contains("//") || path.split('/').any(|s| s == "..") {
        return Err("letters, digits, `_`, `-`, `.` and `/`, with `*` only at the end");
    }
    Ok(())
}

fn check_database_url(url: &str) -> Result<(), ConfigError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| ConfigError::key("database.url", format!("not a valid URL ({e})")))?;
    match parsed.scheme() {
        "sqlite" | "postgres" | "postgresql" | "mysql" | "mariadb" => Ok(()),
        other => Err(ConfigError::key(
            "database.url",
            format!("unsupported scheme `{other}` (use sqlite://, postgres:// or mysql://)"),
        )),
    }
}

fn check_storage(storage: &StorageSettings) -> Result<(), ConfigError> {
    if !storage.public_base_url.is_empty() {
        check_http_url("storage.public_base_url", &storage.public_base_url)?;
    }
    if storage.backend == StorageBackend::Fs {
        return Ok(());
    }
    let required = |key: &str, value: &str| {
        if value.trim().is_empty() {
            Err(ConfigError::key(key, "required when backend = \"s3\""))
        } else {
            Ok(())
        }
    };
    required("storage.bucket", &storage.bucket)?;
    required("storage.region", &storage.region)?;
    required("storage.access_key_id", &storage.access_key_id)?;
    required(
        "storage.secret_access_key",
        storage.secret_access_key.expose_secret(),
    )?;
    if !storage.endpoint.is_empty() {
        check_http_url("storage.endpoint", &storage.endpoint)?;
    }
    let prefix = storage.prefix.trim_matches('/');
    let bad_segment = prefix.split('/').any(|s| matches!(s, "" | "." | ".."));
    if (!prefix.is_empty() && bad_segment) || prefix.contains(['\\', '?', '#']) {
        return Err(ConfigError::key(
            "storage.prefix",
            "must be path segments like \"wxa/\" (no empty, . or .. segments)",
        ));
    }
    Ok(())
}

fn check_http_url(key: &str, value: &str) -> Result<(), ConfigError> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        Ok(_) => Err(ConfigError::key(key, "must be an http(s) URL")),
        Err(e) => Err(ConfigError::key(key, format!("not a valid URL ({e})"))),
    }
}
