//! Parsers under fuzz (docs/security.md): the layered settings, with one key of the `test` layer
//! overridden by an arbitrary value (as a `KOMEK__` variable, or in the operator's own TOML layer).
//! A bad value is a clear error naming its setting, never a panic, and a value that is accepted
//! never makes the code that uses it panic. `cargo test` runs a bounded number of cases; `make
//! fuzz` sets `FUZZ_CASES` for a long run.

use std::path::PathBuf;
use std::sync::LazyLock;

use komek_domain::{Category, Channel, Priority};
use proptest::prelude::*;

use crate::{RawSettings, Settings, SettingsError, repo_config_dir};

/// `FUZZ_CASES` when set (`make fuzz`) divided by `divisor`, else `ci`: what the bounded run
/// in CI affords. Every case here reads the setting files again, so long runs are scaled down.
fn config(ci: u32, divisor: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .map_or(ci, |n| (n / divisor).max(ci)),
        // A failure becomes a plain #[test] with its input, not a file beside the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every key of `config/default.toml`, dotted (`deadlines.first_response_minutes.low`); an array
/// (of values or of tables) is one key.
static KEYS: LazyLock<Vec<String>> = LazyLock::new(|| {
    fn walk(prefix: &str, table: &config::Map<String, config::Value>, out: &mut Vec<String>) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match &v.kind {
                config::ValueKind::Table(t) => walk(&key, t, out),
                _ => out.push(key),
            }
        }
    }
    let table: config::Map<String, config::Value> = config::Config::builder()
        .add_source(config::File::from(repo_config_dir().join("default.toml")))
        .build()
        .and_then(config::Config::try_deserialize)
        .unwrap_or_default();
    let mut out = Vec::new();
    walk("", &table, &mut out);
    out.sort();
    out
});

fn tricky(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => proptest::char::range(' ', '~'),
            1 => proptest::char::range('\0', '\u{1f}'),
            1 => proptest::char::range('\u{400}', '\u{4ff}'),
            1 => any::<char>(),
        ],
        0..=max,
    )
    .prop_map(String::from_iter)
}

/// A value as an operator might type it, right or wrong: numbers at and past every integer
/// bound, floats, booleans, durations with units, URLs of every scheme, time zones, times, dates.
fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        tricky(40),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "",
            " ",
            "0",
            "-0",
            "1",
            "-1",
            "+5",
            " 5 ",
            "255",
            "256",
            "65535",
            "65536",
            "4294967295",
            "4294967296",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "340282366920938463463374607431768211456",
            "1.5",
            "1e309",
            "-1e309",
            "NaN",
            "inf",
            "true",
            "false",
            "yes",
            "5s",
            "10ms",
            "1h",
            "PT5M",
            "http://",
            "http://x",
            "https://komek.kz/s",
            "ftp://x",
            "redis://",
            "rediss://h:1/",
            "amqp://",
            "amqps://u:p@h/%2f",
            "http://[::1",
            "//x",
            "Asia/Almaty",
            "Mars/Olympus",
            "../../etc/passwd",
            "24:00",
            "25:00",
            "09:60",
            "2026-02-30",
            "Komek <a@b.kz>",
            "a@b",
            "<>",
            "KM",
            "km",
            "ABCDEFGHI",
            "directory",
            "http",
            "urgent",
        ])
        .prop_map(str::to_owned),
    ]
}

/// A TOML literal: integers of any size, floats (with the special ones), booleans, strings of
/// any characters, arrays of those.
fn toml_literal() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| if f.is_nan() {
            "nan".to_owned()
        } else if f.is_infinite() {
            if f > 0.0 { "inf" } else { "-inf" }.to_owned()
        } else {
            format!("{f:?}")
        }),
        any::<bool>().prop_map(|b| b.to_string()),
        value_text().prop_map(|s| toml_string(&s)),
    ];
    prop_oneof![
        4 => scalar.clone(),
        1 => prop::collection::vec(scalar, 0..5).prop_map(|v| format!("[{}]", v.join(", "))),
        1 => prop::collection::vec(0i64..400, 0..9).prop_map(|v| format!("{v:?}")),
    ]
}

/// A TOML basic string holding `s` exactly.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS.clone())
}

/// The variable that sets `key`: `KOMEK__SECTION__KEY`.
fn var_of(key: &str) -> String {
    format!("KOMEK__{}", key.to_uppercase().replace('.', "__"))
}

/// The `test` layer, then `extra` (a TOML layer, if any), then `vars`, checked.
fn load(
    extra: Option<&str>,
    vars: Vec<(String, String)>,
) -> Result<Result<Settings, SettingsError>, String> {
    let file = match extra {
        Some(text) => {
            let path =
                std::env::temp_dir().join(format!("komek-fuzz-settings-{}.toml", uuid_like(text)));
            std::fs::write(&path, text).map_err(|e| e.to_string())?;
            Some(path)
        }
        None => None,
    };
    let loaded = RawSettings::load_layers(&repo_config_dir(), "test", file.as_deref(), vars)
        .and_then(Settings::try_from);
    if let Some(path) = file {
        let _ = std::fs::remove_file::<PathBuf>(path);
    }
    Ok(loaded)
}

/// A name unique enough for a temporary file (tests run in parallel threads).
fn uuid_like(text: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    std::thread::current().id().hash(&mut h);
    format!("{}-{:x}", std::process::id(), h.finish())
}

/// What services do with their settings at start and with every request: none of it may panic
/// for settings that were accepted.
fn use_settings(s: &Settings) {
    let now = time::OffsetDateTime::now_utc();
    for category in [
        Category::Billing,
        Category::Network,
        Category::Internet,
        Category::Roaming,
        Category::Tariff,
        Category::SimCard,
        Category::Other,
    ] {
        for priority in [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ] {
            for channel in [Channel::Web, Channel::CallCenter, Channel::Sms] {
                let (due, _) = s
                    .deadlines
                    .due(&s.calendar, category, priority, channel, now);
                let _ = s.deadlines.warnings_for(&s.calendar, priority, now, &due);
            }
        }
    }
    let _ = s.survey.link("token");
    let _ = s.otlp_endpoint();
}

/// A bad setting's error says which setting: its section or its key.
fn names_the_setting(e: &SettingsError, key: &str) -> bool {
    let text = e.to_string().to_lowercase();
    let section = key.split('.').next().unwrap_or(key);
    let leaf = key.rsplit('.').next().unwrap_or(key);
    !text.is_empty() && (text.contains(section) || text.contains(leaf))
}

proptest! {
    #![proptest_config(config(150, 100))]

    /// Any value in a `KOMEK__` variable: settings that work, or an error naming the setting.
    #[test]
    fn fuzz_settings_from_variables(key in key(), value in value_text()) {
        match load(None, vec![(var_of(&key), value.clone())]).map_err(TestCaseError::fail)? {
            Ok(s) => use_settings(&s),
            Err(e) => prop_assert!(names_the_setting(&e, &key), "{key} = {value:?}: {e}"),
        }
    }

    /// Any TOML value in the operator's own layer: settings that work, or an error naming the
    /// setting.
    #[test]
    fn fuzz_settings_from_a_toml_layer(key in key(), value in toml_literal()) {
        let (table, leaf) = key.rsplit_once('.').unwrap_or(("", key.as_str()));
        let text = format!("[{table}]\n{leaf} = {value}\n");
        match load(Some(&text), Vec::new()).map_err(TestCaseError::fail)? {
            Ok(s) => use_settings(&s),
            Err(e) => prop_assert!(names_the_setting(&e, &key), "{text}: {e}"),
        }
    }

    /// Any `KOMEK__` variable names at all (unknown keys, odd separators, `_FILE` twins): an
    /// error or settings, never a panic.
    #[test]
    fn fuzz_settings_variable_names(
        names in prop::collection::vec(
            prop_oneof![
                key().prop_map(|k| var_of(&k)),
                tricky(20).prop_map(|s| format!("KOMEK__{s}")),
                "KOMEK(__[A-Z_]{0,12}){0,4}",
            ],
            0..4,
        ),
        value in value_text(),
    ) {
        let vars = names.into_iter().map(|n| (n, value.clone())).collect();
        if let Ok(s) = load(None, vars).map_err(TestCaseError::fail)? {
            use_settings(&s);
        }
    }
}

// Regression tests: inputs the fuzzer found, fixed at their cause.

/// `fuzz_settings_from_variables`: a deadline of `i64::MAX` minutes is positive, so accepted, and
/// then every new request panicked computing its deadlines (fixed in komek-domain's calendar and
/// deadline policy).
#[test]
fn regression_huge_deadline_minutes() {
    for key in [
        "deadlines.resolution_minutes.low",
        "deadlines.first_response_minutes.urgent",
    ] {
        let s = load(None, vec![(var_of(key), i64::MAX.to_string())])
            .unwrap()
            .unwrap();
        use_settings(&s);
    }
}
