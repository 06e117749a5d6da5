//! Layered settings: built-in defaults, `config/default.toml`, `config/{APP_ENV}.toml`,
//! `--config FILE`, then `APP__SECTION__KEY` environment variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

mod checks;
mod proxies;

pub use proxies::TrustedProxies;

/// The shipped defaults, compiled in so the binary runs from any directory.
const BUILT_IN_DEFAULTS: &str = include_str!("../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub wechat: WechatSettings,
    pub codes: CodesSettings,
    pub schemes: SchemesSettings,
    pub links: LinksSettings,
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

/// What an anonymous caller may cost (README "What an anonymous caller cannot do").
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
    /// Memory for finished answers of repeated codes (`format=base64`, `/image/`), in MiB;
    /// 0 turns the hot cache off.
    pub hot_cache_mb: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemesSettings {
    pub default_expire_days: u32,
    pub reuse_min_remaining_secs: u64,
    /// Schemes and URL links made per app per Beijing day, counted across instances
    /// (WeChat's own cap is 500,000; past it WeChat answers 44993).
    pub daily_limit: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinksSettings {
    /// Permanent short links per app, for life (WeChat's cap is 100,000; then 85400).
    pub permanent_short_limit: u64,
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

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail API fixes the closure's error type
mod tests;
