//! Layered settings: built-in defaults, `config/default.toml`, `config/{APP_ENV}.toml`,
//! `--config FILE`, then `APP__SECTION__KEY` environment variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The shipped defaults, compiled in so the binary runs from any directory.
const BUILT_IN_DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub wechat: WechatSettings,
    pub codes: CodesSettings,
    pub schemes: SchemesSettings,
    pub storage: StorageSettings,
    pub admin: AdminSettings,
    pub internal: InternalSettings,
    pub open_platform: OpenPlatformSettings,
    pub redis: RedisSettings,
    pub session: SessionSettings,
    pub log: LogSettings,
    pub limits: LimitsSettings,
    pub gateway: GatewaySettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub public_url: String,
    pub workers: usize,
    /// Served at `/` (the H5 jump page, the admin page).
    pub static_dir: PathBuf,
    /// Peers (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
}

/// `server.trusted_proxies`, parsed at start: `"10.0.0.1"` or `"10.0.0.0/8"` each.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn contains(&self, ip: &std::net::IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<String>::deserialize(d)?;
        items
            .iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        serde::de::Error::custom(format!(
                            "`{s}` is neither an IP address nor a CIDR range"
                        ))
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

/// What an anonymous caller may cost (SPEC section 13).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    /// New WeChat work (a new code, link, login or phone binding) per client address and
    /// minute; 0 = off.
    pub per_ip_per_minute: u32,
    /// A request body must have arrived within this; else 408 and the connection closes.
    pub body_timeout_secs: u64,
    /// Open connections at most, all workers together.
    pub max_connections: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password, so it is kept secret.
    pub url: SecretString,
    pub max_connections: u32,
    /// How long a request waits for a connection before it is a 503 (a database that is
    /// down must not hold requests).
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenMode {
    Stable,
    Classic,
    Remote,
}

impl TokenMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenMode::Stable => "stable",
            TokenMode::Classic => "classic",
            TokenMode::Remote => "remote",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatSettings {
    pub base_url: String,
    pub token_mode: TokenMode,
    pub remote_url: String,
    pub remote_key: SecretString,
    pub refresh_margin_secs: u64,
    pub timeout_ms: u64,
    pub max_retries: u32,
    pub default_app: String,
    #[serde(default)]
    pub mini_program: BTreeMap<String, MiniProgramApp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiniProgramApp {
    pub app_id: String,
    pub secret: SecretString,
    /// Published pages; read by the simulator only.
    #[serde(default)]
    pub pages: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodesSettings {
    pub limited_quota: u64,
    pub unlimited_per_minute: u32,
    /// `limited`/`qrcode` codes (a lifetime quota) without a bearer: the seed's way.
    pub public_limited: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemesSettings {
    pub default_expire_days: u32,
    pub reuse_min_remaining_secs: u64,
}

/// Where code images live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// A local folder (`storage.dir`): one instance, or a shared volume.
    Fs,
    /// An S3-compatible bucket: what a cluster shares.
    S3,
}

/// How the bucket is named in S3 request URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressingStyle {
    /// Virtual-hosted on AWS, Aliyun OSS and Tencent COS endpoints, else path-style.
    Auto,
    /// `endpoint/bucket/key`: MinIO and most S3-compatible servers and gateways.
    Path,
    /// `bucket.endpoint/key`: required by Aliyun OSS, preferred by AWS and COS.
    Virtual,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    pub backend: StorageBackend,
    /// `fs`: the image folder.
    pub dir: PathBuf,
    pub bucket: String,
    /// Empty: AWS S3 in `region`.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    /// Key prefix inside the bucket (`wxa/`); empty = the bucket's root.
    pub prefix: String,
    /// Set: image URLs are `public_base_url/<file>` (a CDN or the bucket's own URL).
    pub public_base_url: String,
    pub addressing_style: AddressingStyle,
}

impl StorageSettings {
    /// Whether requests name the bucket in the host (`auto` resolved by the endpoint).
    pub fn virtual_hosted(&self) -> bool {
        match self.addressing_style {
            AddressingStyle::Path => false,
            AddressingStyle::Virtual => true,
            AddressingStyle::Auto => {
                // These providers refuse (OSS) or are phasing out (AWS, COS) path-style
                // requests; everything else (MinIO, gateways) is path-style by default.
                let host = url::Url::parse(&self.endpoint)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
                match host {
                    None => self.endpoint.is_empty(),
                    Some(host) => ["amazonaws.com", "aliyuncs.com", "myqcloud.com"]
                        .iter()
                        .any(|d| host == *d || host.ends_with(&format!(".{d}"))),
                }
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub token: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalSettings {
    pub keys: Vec<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenPlatformSettings {
    pub app_id: String,
    pub secret: SecretString,
    pub token: SecretString,
    pub aes_key: SecretString,
    /// The EncodingAESKey being replaced: still accepted during rotation; empty = none.
    pub previous_aes_key: SecretString,
    /// Host of the PC authorization page (`componentloginpage`); the simulator in tests.
    pub login_page_base: String,
    /// Host of the mobile authorization page (`bindcomponent`); the simulator in tests.
    pub mobile_page_base: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: SecretString,
    /// Prefix of every key, so deployments (and tests) can share one Redis.
    pub key_prefix: String,
    /// Deadline of one command (and of a connection attempt): what a request pays at
    /// most when Redis is unreachable, before the breaker stops trying for a while.
    pub timeout_ms: u64,
}

/// Login sessions (`/api/login` bearer tokens).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub ttl_secs: u64,
}

/// The WeChat API gateway (`/wx/`): other services' SDKs, each with a client key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    pub enabled: bool,
    /// Lifetime of the stand-in tokens handed to clients.
    pub token_ttl_secs: u64,
    #[serde(default)]
    pub clients: BTreeMap<String, GatewayClient>,
}

impl GatewaySettings {
    /// `/wx/` exists only when enabled with at least one client.
    pub fn is_on(&self) -> bool {
        self.enabled && !self.clients.is_empty()
    }
}

/// One service allowed through the gateway; its name shows in metrics and logs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayClient {
    /// The client's stand-in for the app secret; required once the gateway is enabled.
    #[serde(default = "no_secret")]
    pub key: SecretString,
    /// Names of `[wechat.mini_program.<name>]` it may act for.
    #[serde(default)]
    pub apps: Vec<String>,
    /// It may also act for any Open Platform authorizer.
    #[serde(default)]
    pub authorizers: bool,
    /// API paths it may call: `wxa/*`, `sns/jscode2session`, `*` for all.
    #[serde(default)]
    pub allow: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

/// A configuration problem, rendered as one line that names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn key(key: &str, problem: impl std::fmt::Display) -> Self {
        ConfigError(format!("`{key}`: {problem}"))
    }
}

impl Settings {
    /// Loads every layer. `.env` is read first and only fills variables not already set.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let app_env = std::env::var("APP_ENV").ok().filter(|v| !v.is_empty());
        Self::figment(Path::new("config"), app_env.as_deref(), config_file)?
            .merge(Env::prefixed("APP__").split("__"))
            .extract::<Settings>()
            .map_err(first_figment_error)
            .and_then(Settings::validated)
    }

    /// The compiled-in defaults alone: no files, no environment (tests build on these).
    pub fn built_in() -> Result<Self, ConfigError> {
        Figment::from(Toml::string(BUILT_IN_DEFAULTS))
            .extract::<Settings>()
            .map_err(first_figment_error)
            .and_then(Settings::validated)
    }

    fn figment(
        dir: &Path,
        app_env: Option<&str>,
        config_file: Option<&Path>,
    ) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Toml::string(BUILT_IN_DEFAULTS))
            .merge(Toml::file(dir.join("default.toml")));
        if let Some(env) = app_env {
            figment = figment.merge(Toml::file(dir.join(format!("{env}.toml"))));
        }
        if let Some(file) = config_file {
            if !file.is_file() {
                return Err(ConfigError(format!(
                    "--config {}: file not found",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        Ok(figment)
    }

    /// Checks what types alone cannot: URLs, cross-field rules.
    fn validated(self) -> Result<Self, ConfigError> {
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

    /// The app named `name`, or the default app.
    pub fn app(&self, name: Option<&str>) -> Option<(&str, &MiniProgramApp)> {
        let name = name.unwrap_or(&self.wechat.default_app);
        self.wechat
            .mini_program
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
    }
}

fn no_secret() -> SecretString {
    SecretString::from("")
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

fn first_figment_error(err: figment::Error) -> ConfigError {
    // Figment can report several problems; the first one is the one to fix.
    let first = err.into_iter().next();
    match first {
        Some(e) => {
            let key = e.path.join(".");
            let mut kind = e.kind.to_string();
            if let Some(source) = &e.metadata.and_then(|m| m.source) {
                kind = format!("{kind} (from {source})");
            }
            if key.is_empty() {
                ConfigError(kind)
            } else {
                ConfigError::key(&key, kind)
            }
        }
        None => ConfigError("unreadable configuration".into()),
    }
}

fn check_database_url(url: &str) -> Result<(), ConfigError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| ConfigError::key("database.url", format!("not a valid URL ({e})")))?;
    match parsed.scheme() {
        "sqlite" | "postgres" | "postgresql" => Ok(()),
        other => Err(ConfigError::key(
            "database.url",
            format!("unsupported scheme `{other}` (use sqlite:// or postgres://)"),
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

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail API fixes the closure's error type
mod tests {
    use super::*;
    use figment::Jail;

    fn load_in_jail(jail: &Jail, file: Option<&Path>) -> Result<Settings, ConfigError> {
        let dir = jail.directory().join("config");
        let app_env = std::env::var("APP_ENV").ok();
        Settings::figment(&dir, app_env.as_deref(), file)?
            .merge(Env::prefixed("APP__").split("__"))
            .extract::<Settings>()
            .map_err(first_figment_error)
            .and_then(Settings::validated)
    }

    #[test]
    fn defaults_load_with_the_spec_key_names() {
        Jail::expect_with(|jail| {
            let s = load_in_jail(jail, None).expect("defaults are valid");
            assert_eq!(s.server.port, 8080);
            assert_eq!(s.wechat.token_mode, TokenMode::Stable);
            assert_eq!(s.wechat.default_app, "default");
            assert_eq!(s.codes.limited_quota, 100_000);
            assert_eq!(s.storage.dir, PathBuf::from("public/image"));
            Ok(())
        });
    }

    #[test]
    fn layers_apply_from_low_to_high() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file(
                "config/default.toml",
                "[server]\nport = 1000\nhost = \"0.0.0.0\"",
            )?;
            jail.create_file("config/staging.toml", "[server]\nport = 2000")?;
            jail.create_file(
                "extra.toml",
                "[server]\nport = 3000\n[log]\nformat = \"json\"",
            )?;
            jail.set_env("APP_ENV", "staging");
            let s = load_in_jail(jail, None).expect("valid");
            assert_eq!((s.server.port, s.server.host.as_str()), (2000, "0.0.0.0"));
            let s = load_in_jail(jail, Some(Path::new("extra.toml"))).expect("valid");
            assert_eq!(s.server.port, 3000);
            assert_eq!(s.log.format, LogFormat::Json);
            jail.set_env("APP__SERVER__PORT", "4000");
            jail.set_env("APP__WECHAT__MINI_PROGRAM__SHOP__APP_ID", "wxshop");
            jail.set_env("APP__WECHAT__MINI_PROGRAM__SHOP__SECRET", "s3cret");
            let s = load_in_jail(jail, Some(Path::new("extra.toml"))).expect("valid");
            assert_eq!(s.server.port, 4000);
            assert_eq!(
                s.app(Some("shop")).map(|(_, a)| a.app_id.as_str()),
                Some("wxshop")
            );
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("APP__WECHAT__TOKEN_MODE", "sometimes", "wechat.token_mode"),
            ("APP__SERVER__PORT", "70000", "server.port"),
            ("APP__DATABASE__URL", "not a url", "database.url"),
            ("APP__DATABASE__URL", "mysql://x/y", "database.url"),
            ("APP__WECHAT__DEFAULT_APP", "nope", "wechat.default_app"),
            ("APP__SERVER__PROT", "1", "server.prot"),
            (
                "APP__GATEWAY__CLIENTS__PHP__APPS",
                "[\"nope\"]",
                "gateway.clients.php.apps",
            ),
            (
                "APP__GATEWAY__CLIENTS__PHP__ALLOW",
                "[\"/wxa/../*\"]",
                "gateway.clients.php.allow",
            ),
            (
                "APP__GATEWAY__TOKEN_TTL_SECS",
                "0",
                "gateway.token_ttl_secs",
            ),
        ];
        for (var, value, key) in cases {
            Jail::expect_with(|jail| {
                jail.set_env(var, value);
                let err = load_in_jail(jail, None)
                    .expect_err("must be rejected")
                    .to_string();
                assert!(
                    err.contains(key),
                    "{var}={value}: `{err}` should name {key}"
                );
                assert!(!err.contains('\n'), "one line: {err}");
                Ok(())
            });
        }
    }

    #[test]
    fn gateway_clients_need_their_own_key_once_enabled() {
        Jail::expect_with(|jail| {
            jail.set_env("APP__GATEWAY__CLIENTS__PHP__APPS", "[\"default\"]");
            let s = load_in_jail(jail, None).expect("a keyless client is fine while disabled");
            assert!(!s.gateway.is_on());
            jail.set_env("APP__GATEWAY__ENABLED", "true");
            let err = load_in_jail(jail, None).expect_err("no key").to_string();
            assert!(err.contains("gateway.clients.php.key"), "{err}");
            jail.set_env("APP__GATEWAY__CLIENTS__PHP__KEY", "shared-key");
            jail.set_env("APP__GATEWAY__CLIENTS__JAVA__KEY", "shared-key");
            let err = load_in_jail(jail, None)
                .expect_err("one key, two clients")
                .to_string();
            assert!(err.contains("gateway.clients.php.key"), "{err}");
            jail.set_env("APP__GATEWAY__CLIENTS__JAVA__KEY", "its-own-key");
            let s = load_in_jail(jail, None).expect("valid");
            assert!(s.gateway.is_on());
            assert!(!format!("{s:?}").contains("shared-key"), "keys never print");
            Ok(())
        });
    }

    #[test]
    fn secrets_never_print() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "APP__WECHAT__MINI_PROGRAM__DEFAULT__SECRET",
                "topsecretvalue",
            );
            jail.set_env("APP__ADMIN__TOKEN", "admintokenvalue");
            jail.set_env("APP__STORAGE__SECRET_ACCESS_KEY", "bucketsecretvalue");
            let s = load_in_jail(jail, None).expect("valid");
            let shown = format!("{s:?}");
            assert!(!shown.contains("topsecretvalue") && !shown.contains("admintokenvalue"));
            assert!(!shown.contains("bucketsecretvalue"));
            Ok(())
        });
    }

    #[test]
    fn an_s3_store_names_the_first_missing_or_bad_key() {
        let s3 = [
            ("APP__STORAGE__BACKEND", "s3"),
            ("APP__STORAGE__BUCKET", "codes"),
            ("APP__STORAGE__ACCESS_KEY_ID", "id"),
            ("APP__STORAGE__SECRET_ACCESS_KEY", "secret"),
        ];
        let with = |extra: (&'static str, &'static str)| {
            let mut vars = s3.to_vec();
            vars.push(extra);
            vars
        };
        let cases = [
            (s3[..1].to_vec(), "storage.bucket"),
            (s3[..2].to_vec(), "storage.access_key_id"),
            (s3[..3].to_vec(), "storage.secret_access_key"),
            (
                with(("APP__STORAGE__ENDPOINT", "minio:9000")),
                "storage.endpoint",
            ),
            (
                with(("APP__STORAGE__PREFIX", "wxa//codes")),
                "storage.prefix",
            ),
            (with(("APP__STORAGE__PREFIX", "../up")), "storage.prefix"),
            (vec![("APP__STORAGE__BACKEND", "gcs")], "storage.backend"),
        ];
        for (vars, key) in cases {
            Jail::expect_with(|jail| {
                for (var, value) in &vars {
                    jail.set_env(var, value);
                }
                let err = load_in_jail(jail, None).expect_err(key).to_string();
                assert!(err.contains(key), "`{err}` should name {key}");
                assert!(!err.contains('\n'), "one line: {err}");
                Ok(())
            });
        }
        Jail::expect_with(|jail| {
            jail.set_env("APP__STORAGE__PUBLIC_BASE_URL", "cdn.example.com");
            let err = load_in_jail(jail, None).expect_err("not a URL").to_string();
            assert!(err.contains("storage.public_base_url"), "{err}");
            for (var, value) in s3 {
                jail.set_env(var, value);
            }
            jail.set_env(
                "APP__STORAGE__PUBLIC_BASE_URL",
                "https://cdn.example.com/codes/",
            );
            jail.set_env("APP__STORAGE__PREFIX", "/wxa/");
            let s = load_in_jail(jail, None).expect("a complete s3 store");
            assert_eq!(s.storage.backend, StorageBackend::S3);
            assert_eq!(s.storage.region, "us-east-1");
            Ok(())
        });
    }

    #[test]
    fn addressing_is_virtual_hosted_on_aws_oss_and_cos_and_path_style_elsewhere() {
        let mut storage = Settings::built_in().expect("built-in settings").storage;
        for (endpoint, virtual_hosted) in [
            ("", true),
            ("https://s3.eu-west-1.amazonaws.com", true),
            ("https://oss-cn-hangzhou.aliyuncs.com", true),
            ("https://cos.ap-guangzhou.myqcloud.com", true),
            ("http://127.0.0.1:9000", false),
            ("https://minio.internal.example.com", false),
            ("https://notaliyuncs.com", false),
        ] {
            storage.endpoint = endpoint.into();
            assert_eq!(storage.virtual_hosted(), virtual_hosted, "{endpoint}");
        }
        storage.addressing_style = AddressingStyle::Path;
        storage.endpoint = "https://oss-cn-hangzhou.aliyuncs.com".into();
        assert!(!storage.virtual_hosted());
        storage.addressing_style = AddressingStyle::Virtual;
        storage.endpoint = "http://127.0.0.1:9000".into();
        assert!(storage.virtual_hosted());
    }
}
