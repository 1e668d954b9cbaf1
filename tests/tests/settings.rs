//! A service refuses to start on bad settings and says which, one line each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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

/// Every binary started as a container starts it (`KOMEK_ENV=production`, the repository's
/// config/ in place) refuses the secrets this repository ships, RabbitMQ's guest and a Redis without
/// a password, and demo seeding, one line each, before reaching anything.
#[test]
fn production_refuses_shipped_secrets_default_credentials_and_demo_data() {
    for service in ["intake", "workspace", "escalation", "survey"] {
        let bin = komek_e2e::target_dir().join(format!("debug/komek-{service}"));
        let out = Command::new(bin)
            .env("KOMEK_ENV", "production")
            .env("KOMEK_CONFIG_DIR", komek_settings::repo_config_dir())
            .env("KOMEK__SEED__DEMO", "true")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{service}");
        let err = String::from_utf8(out.stderr).unwrap();
        let keys: Vec<&str> = err
            .lines()
            .filter_map(|l| l.split("setting ").nth(1))
            .filter_map(|l| l.split(':').next())
            .collect();
        assert_eq!(
            keys,
            [
                "auth.jwt_secret",
                "sms.inbound_secret",
                "sms.password",
                "survey.link_secret",
                "amqp.url",
                "redis.url",
                "seed.demo"
            ],
            "{service}: {err}"
        );
    }
}

/// A token signed with the repository's JWT secret is what an attacker would try first: a
/// production service holding its own key (read from a file, as a mounted Secret gives it) never
/// gets that far with the shipped one.
#[test]
fn production_secrets_can_come_from_files() {
    let dir = std::env::temp_dir().join(format!("komek-secret-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, value: &str| {
        let p = dir.join(name);
        std::fs::write(&p, value).unwrap();
        p
    };
    let jwt = file("jwt", "only-this-deployment-knows-this-key-0001\n");
    let inbound = file("inbound", "only-this-deployment-knows-inbound\n");
    let survey = file("survey", "only-this-deployment-knows-survey-links\n");
    // Settings are complete and valid: the service gets past the checks and goes on to connect
    // to Redis (unreachable here), which it says in its log; it is stopped there.
    let mut child = Command::new(komek_e2e::target_dir().join("debug/komek-survey"))
        .env("KOMEK_ENV", "production")
        .env("KOMEK_CONFIG_DIR", komek_settings::repo_config_dir())
        .env("KOMEK__AUTH__JWT_SECRET_FILE", &jwt)
        .env("KOMEK__SMS__INBOUND_SECRET_FILE", &inbound)
        .env("KOMEK__SURVEY__LINK_SECRET_FILE", &survey)
        .env("KOMEK__SMS__SENDSMS_URL", "")
        .env(
            "KOMEK__AMQP__URL",
            "amqp://komek:pw-of-our-own@127.0.0.1:1/%2f",
        )
        .env("KOMEK__REDIS__URL", "redis://:pw-of-our-own@127.0.0.1:1/")
        .env("KOMEK__REDIS__CONNECT_TIMEOUT_MS", "100")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        let connecting = line.contains("Redis not reachable yet");
        seen.push(line);
        if connecting {
            break;
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        seen.iter().any(|l| l.contains("Redis not reachable yet")),
        "the service stopped before connecting: {seen:?} {err}"
    );
    assert!(!err.contains("setting "), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
