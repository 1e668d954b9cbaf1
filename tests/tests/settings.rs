//! A service refuses to start on bad settings and says which, one line each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// komek-intake is started with three bad settings from the environment; it exits with code 2
/// before touching Redis or RabbitMQ, and its error output names each setting on its own line.
#[test]
fn bad_settings_stop_the_service_with_one_line_each() {
    let bin = komek_e2e::target_dir().join("debug/komek-intake");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins`",
        bin.display()
    );
    let out = Command::new(bin)
        .env("KOMEK_ENV", "test")
        .env("KOMEK_CONFIG_DIR", komek_settings::repo_config_dir())
        .env("KOMEK__REDIS__URL", "http://127.0.0.1:6379")
        .env("KOMEK__AUTH__JWT_SECRET", "short")
        .env("KOMEK__SURVEY__REOPEN_AT_OR_BELOW", "9")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].contains("redis.url"), "{err}");
    assert!(lines[1].contains("auth.jwt_secret"), "{err}");
    assert!(lines[2].contains("survey.reopen_at_or_below"), "{err}");
}

/// A value of the wrong type is named too (the `config` crate's message carries the key).
#[test]
fn a_value_of_the_wrong_type_is_named() {
    let bin = komek_e2e::target_dir().join("debug/komek-intake");
    let out = Command::new(bin)
        .env("KOMEK_ENV", "test")
        .env("KOMEK_CONFIG_DIR", komek_settings::repo_config_dir())
        .env("KOMEK__AMQP__DELIVERY_LIMIT", "many")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("delivery_limit"), "{err}");
}
