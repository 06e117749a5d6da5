//! Layering, validation and secrecy of the settings.

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
        ("APP__DATABASE__URL", "mongodb://x/y", "database.url"),
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
