//! Komek's settings: one typed tree shared by every service, loaded in layers and checked once.
//!
//! Layers, later wins: `config/default.toml`, `config/{KOMEK_ENV}.toml` (optional), then environment
//! variables `KOMEK__SECTION__KEY` (e.g. `KOMEK__REDIS__URL`). The config directory is `KOMEK_CONFIG_DIR`,
//! else the nearest `config/` holding `default.toml` above the working directory.
//!
//! The files are read into [`RawSettings`] (the operators' contract, unknown keys refused); each
//! section then checks itself ([`Section`]) into the typed [`Settings`] services read: durations
//! as `Duration`, URLs as [`HttpUrl`], the business calendar as a parsed
//! [`komek_domain::calendar::Calendar`], the survey link through [`SurveySettings::link`]. Loading
//! returns every problem at once, one line each naming the setting, so a bad deployment says all
//! that is wrong in one go; a service holding a `Settings` never parses or falls back again.
//!
//! Modules:
//! - [`raw`]: the serde mirror of the files.
//! - `check`: the [`Section`] trait, the per-section [`Problems`] list, [`HttpUrl`].
//! - `sections`: the typed sections and the rules each checks.

use std::path::{Path, PathBuf};

use komek_domain::calendar::Calendar;
use komek_domain::deadline::DeadlinePolicy;

mod check;
mod files;
mod production;
pub mod raw;
mod sections;

#[cfg(test)]
mod fuzz_tests;

pub use check::{HttpUrl, Problems, Section};
pub use raw::RawSettings;
pub use sections::{
    AmqpSettings, AuthSettings, CustomerSettings, CustomerSource, CustomerSourceKind,
    EmailSettings, EscalationSettings, HttpSettings, LoginLimits, OutboxSettings, RedisSettings,
    RequestSettings, RoutingSettings, SeedSettings, ServicePorts, ShutdownSettings, SmsSettings,
    SpikeSettings, SurveySettings, TelemetrySettings, WatcherSettings, WebSettings,
};

/// Every setting, typed and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Name of the layer picked by KOMEK_ENV; shown in logs and /readyz.
    pub env: String,
    pub http: HttpSettings,
    pub services: ServicePorts,
    pub redis: RedisSettings,
    pub amqp: AmqpSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    pub requests: RequestSettings,
    /// The company's business calendar deadlines are counted in (`[calendar]`).
    pub calendar: Calendar,
    pub deadlines: DeadlinePolicy,
    pub watcher: WatcherSettings,
    pub routing: RoutingSettings,
    pub survey: SurveySettings,
    pub outbox: OutboxSettings,
    pub seed: SeedSettings,
    pub customers: CustomerSettings,
    pub web: WebSettings,
    pub sms: SmsSettings,
    pub email: EmailSettings,
    pub escalation: EscalationSettings,
    pub spikes: SpikeSettings,
    pub shutdown: ShutdownSettings,
}

/// The `KOMEK_ENV` under which shipped secrets, default credentials and demo data are refused.
pub const PRODUCTION: &str = "production";

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings: cannot find config/default.toml (set KOMEK_CONFIG_DIR)")]
    NoConfigDir,
    #[error("settings: {0}")]
    Load(#[from] config::ConfigError),
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    #[error("setting {key}: cannot read {path}: {source}")]
    SecretFile {
        key: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("setting {0}: set either the variable or its _FILE variant, not both")]
    Twice(String),
}

impl RawSettings {
    /// Reads the layers for `env` from `dir`, unchecked (no extra file).
    pub fn load_from(dir: &Path, env: &str) -> Result<Self, SettingsError> {
        Self::load_layers(dir, env, None, std::env::vars())
    }

    /// Reads `default.toml`, `{env}.toml`, then `extra` (the operator's own TOML layer, e.g. a
    /// mounted ConfigMap), then the `KOMEK__...` variables in `vars`. A variable ending in `_FILE`
    /// names a file holding the setting's value (a mounted Secret): `KOMEK__AUTH__JWT_SECRET_FILE`
    /// sets `auth.jwt_secret`, one trailing newline removed.
    pub fn load_layers(
        dir: &Path,
        env: &str,
        extra: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let (plain, from_files) = files::split_vars(vars)?;
        let mut builder = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")))
            .add_source(config::File::from(dir.join(format!("{env}.toml"))).required(false));
        if let Some(extra) = extra {
            builder = builder.add_source(config::File::from(extra));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("KOMEK")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(plain)),
        );
        for (key, value) in from_files {
            builder = builder.set_override(key, value)?;
        }
        let raw = builder.set_override("env", env)?.build()?;
        Ok(raw.try_deserialize()?)
    }
}

impl Settings {
    /// Loads the layers for `KOMEK_ENV` and checks them. `KOMEK_CONFIG_FILE`, when set, names one
    /// more TOML layer read after `config/{KOMEK_ENV}.toml`. An unset `KOMEK_ENV` means `local`,
    /// said on stderr: the images set `production`, `make run` sets `local`.
    pub fn load() -> Result<Self, SettingsError> {
        let env = match std::env::var("KOMEK_ENV") {
            Ok(env) if !env.is_empty() => env,
            _ => {
                eprintln!("KOMEK_ENV is not set: using the `local` settings layer");
                "local".to_owned()
            }
        };
        let dir = config_dir().ok_or(SettingsError::NoConfigDir)?;
        let extra = std::env::var_os("KOMEK_CONFIG_FILE")
            .filter(|f| !f.is_empty())
            .map(PathBuf::from);
        RawSettings::load_layers(&dir, &env, extra.as_deref(), std::env::vars())?.try_into()
    }

    pub fn load_from(dir: &Path, env: &str) -> Result<Self, SettingsError> {
        RawSettings::load_from(dir, env)?.try_into()
    }

    /// The OTLP endpoint, if export is on.
    pub fn otlp_endpoint(&self) -> Option<&str> {
        self.telemetry.otlp_endpoint.as_ref().map(HttpUrl::as_str)
    }
}

impl TryFrom<RawSettings> for Settings {
    type Error = SettingsError;

    /// Checks every section, then the rules that span sections; one line per bad setting.
    fn try_from(r: RawSettings) -> Result<Self, SettingsError> {
        use check::section;
        let mut bad = Vec::new();
        let spikes = section::<SpikeSettings>(r.spikes, &mut bad);
        let escalation = section::<EscalationSettings>(r.escalation, &mut bad);
        let redis = section::<RedisSettings>(r.redis, &mut bad);
        let amqp = section::<AmqpSettings>(r.amqp, &mut bad);
        let auth = section::<AuthSettings>(r.auth, &mut bad);
        let http = section::<HttpSettings>(r.http, &mut bad);
        let services = section::<ServicePorts>(r.services, &mut bad);
        let requests = section::<RequestSettings>(r.requests, &mut bad);
        let calendar = section::<Calendar>(r.calendar, &mut bad);
        let watcher = section::<WatcherSettings>(r.watcher, &mut bad);
        let routing = section::<RoutingSettings>(r.routing, &mut bad);
        let deadlines = section::<DeadlinePolicy>(r.deadlines, &mut bad);
        let survey = section::<SurveySettings>(r.survey, &mut bad);
        let outbox = section::<OutboxSettings>(r.outbox, &mut bad);
        if let (Some(o), Some(redis)) = (&outbox, &redis)
            && o.block >= redis.response_timeout
        {
            bad.push(
                "setting outbox.block_ms: at least 10 and below redis.response_timeout_ms".into(),
            );
        }
        let customers = section::<CustomerSettings>(r.customers, &mut bad);
        let web = section::<WebSettings>(r.web, &mut bad);
        let sms = section::<SmsSettings>(r.sms, &mut bad);
        let email = section::<EmailSettings>(r.email, &mut bad);
        let telemetry = section::<TelemetrySettings>(r.telemetry, &mut bad);
        let seed = section::<SeedSettings>(r.seed, &mut bad);
        let shutdown = section::<ShutdownSettings>(r.shutdown, &mut bad);
        let (
            Some(http),
            Some(services),
            Some(redis),
            Some(amqp),
            Some(auth),
            Some(telemetry),
            Some(requests),
            Some(calendar),
            Some(deadlines),
            Some(watcher),
            Some(routing),
            Some(survey),
            Some(outbox),
            Some(seed),
            Some(customers),
            Some(web),
            Some(sms),
            Some(email),
            Some(escalation),
            Some(spikes),
            Some(shutdown),
        ) = (
            http, services, redis, amqp, auth, telemetry, requests, calendar, deadlines, watcher,
            routing, survey, outbox, seed, customers, web, sms, email, escalation, spikes,
            shutdown,
        )
        else {
            return Err(SettingsError::Invalid(bad));
        };
        if r.env == PRODUCTION {
            bad.extend(production::refusals(
                &redis, &amqp, &auth, &sms, &email, &seed, &survey,
            ));
        }
        if !bad.is_empty() {
            return Err(SettingsError::Invalid(bad));
        }
        Ok(Settings {
            env: r.env,
            http,
            services,
            redis,
            amqp,
            auth,
            telemetry,
            requests,
            calendar,
            deadlines,
            watcher,
            routing,
            survey,
            outbox,
            seed,
            customers,
            web,
            sms,
            email,
            escalation,
            spikes,
            shutdown,
        })
    }
}

fn config_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("KOMEK_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    let mut here = std::env::current_dir().ok()?;
    loop {
        let candidate = here.join("config");
        if candidate.join("default.toml").is_file() {
            return Some(candidate);
        }
        if !here.pop() {
            return None;
        }
    }
}

/// The directory holding this repository's `config/`, for tests started from any crate.
pub fn repo_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn raw() -> RawSettings {
        RawSettings::load_from(&repo_config_dir(), "test").unwrap()
    }

    fn problems(r: RawSettings) -> Vec<String> {
        match Settings::try_from(r) {
            Err(SettingsError::Invalid(lines)) => lines,
            other => panic!("not Invalid: {other:?}"),
        }
    }

    /// The keys of `section` the problem lines name, in order.
    fn named<'a>(lines: &'a [String], section: &str) -> Vec<&'a str> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("setting {section}.")))
            .filter_map(|l| l.split(':').next())
            .collect()
    }

    #[test]
    fn repository_defaults_load_and_pass_checks() {
        let s = Settings::load_from(&repo_config_dir(), "test").unwrap();
        assert_eq!(s.env, "test");
        assert!(!s.redis.prefix.is_empty());
        Settings::load_from(&repo_config_dir(), "local").unwrap();
    }

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Production as shipped is refused, one line per public secret, default credential and
    /// demo switch; given its own secrets (one of them from a file) it starts.
    #[test]
    fn production_refuses_what_the_repository_ships() {
        let raw = RawSettings::load_layers(&repo_config_dir(), "production", None, vec![]).unwrap();
        let lines = problems(raw);
        let keys: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("setting "))
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
                "redis.url"
            ],
            "{lines:?}"
        );
        assert!(
            lines[0].contains("KOMEK__AUTH__JWT_SECRET_FILE"),
            "{}",
            lines[0]
        );

        let demo = RawSettings::load_layers(
            &repo_config_dir(),
            "production",
            None,
            vars(&[
                ("KOMEK__SEED__DEMO", "true"),
                ("KOMEK__AMQP__URL", "amqp://guest:guest@rabbit:5672/%2f"),
            ]),
        )
        .unwrap();
        let lines = problems(demo);
        assert!(
            lines.iter().any(|l| l.starts_with("setting seed.demo:")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("setting amqp.url:")),
            "{lines:?}"
        );

        let dir = std::env::temp_dir().join(format!("komek-prod-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let jwt = dir.join("jwt");
        std::fs::write(&jwt, "a-production-key-nobody-has-seen-0123\n").unwrap();
        let extra = dir.join("komek.toml");
        std::fs::write(
            &extra,
            "[sms]\nsendsms_url = \"\"\n[redis]\nprefix = \"komek-prod\"\n",
        )
        .unwrap();
        let own = vars(&[
            ("KOMEK__AUTH__JWT_SECRET_FILE", jwt.to_str().unwrap()),
            (
                "KOMEK__AUTH__JWT_PREVIOUS",
                "k0:the-previous-production-key-0123456",
            ),
            ("KOMEK__SMS__INBOUND_SECRET", "an-inbound-secret-of-our-own"),
            (
                "KOMEK__SURVEY__LINK_SECRET",
                "a-survey-link-key-nobody-has-seen-0123",
            ),
            (
                "KOMEK__AMQP__URL",
                "amqp://komek:s3cret-pw@rabbit:5672/komek",
            ),
            ("KOMEK__REDIS__URL", "redis://:s3cret-pw@redis:6379/0"),
        ]);
        let s: Settings =
            RawSettings::load_layers(&repo_config_dir(), "production", Some(&extra), own)
                .unwrap()
                .try_into()
                .unwrap();
        assert_eq!(s.redis.prefix, "komek-prod", "the extra layer is read");
        assert!(s.sms.sendsms_url.is_none());
        assert_eq!(s.auth.previous.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn previous_keys_are_checked_without_echoing_them() {
        let mut r = raw();
        r.auth.jwt_previous = SecretString::from("k1:too-short,bad id:x");
        let lines = problems(r);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("setting auth.jwt_previous: entry"))
        );
        assert!(lines.iter().all(|l| !l.contains("too-short")));
    }

    #[test]
    fn every_bad_setting_is_named() {
        let mut r = raw();
        r.redis.url = SecretString::from("http://nope");
        r.auth.jwt_secret = SecretString::from("short");
        r.survey.reopen_at_or_below = 9;
        r.http.keep_alive_secs = 0;
        let lines = problems(r);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].contains("redis.url"));
        assert!(lines[1].contains("auth.jwt_secret"));
        assert!(lines[2].contains("http.keep_alive_secs"));
        assert!(lines[3].contains("survey.reopen_at_or_below"));
    }

    #[test]
    fn shutdown_times_are_bounded() {
        let mut r = raw();
        r.shutdown.grace_secs = 0;
        r.shutdown.drain_delay_secs = 301;
        let lines = problems(r);
        assert_eq!(
            lines,
            [
                "setting shutdown.drain_delay_secs: 0 to 300",
                "setting shutdown.grace_secs: 1 to 600"
            ]
        );
        let s = Settings::try_from(raw()).unwrap();
        // config/test.toml: tests stop services quickly.
        assert_eq!(s.shutdown.grace, std::time::Duration::from_secs(10));
    }

    /// A survey's link token is the same for the same survey and key, differs between surveys
    /// and between keys, is URL-safe and carries 256 bits; a short key is refused.
    #[test]
    fn survey_link_tokens_are_keyed_per_survey() {
        let s = Settings::try_from(raw()).unwrap();
        let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let t = s.survey.token(a);
        assert_eq!(t, s.survey.token(a));
        assert_ne!(t, s.survey.token(b));
        assert_eq!(t.len(), 43);
        assert!(
            t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert!(s.survey.link_for(a).ends_with(&format!("/s/{t}")));
        let mut r = raw();
        r.survey.link_secret = SecretString::from("another-survey-link-key-0123456789-abc");
        let other = Settings::try_from(r).unwrap();
        assert_ne!(other.survey.token(a), t);
        let mut r = raw();
        r.survey.link_secret = SecretString::from("short");
        assert_eq!(
            problems(r),
            ["setting survey.link_secret: at least 32 characters"]
        );
    }

    /// A section that cannot be built (a bad URL, a bad calendar) still lets every other section
    /// report its problems.
    #[test]
    fn unbuildable_sections_do_not_hide_the_others() {
        let mut r = raw();
        r.survey.public_base_url = "survey.example".into();
        r.survey.ttl_hours = 0;
        r.calendar.time_zone = "Mars/Olympus".into();
        r.calendar.working_days = vec![];
        r.telemetry.otlp_endpoint = Some("localhost:4318".into());
        r.watcher.batch = 0;
        r.outbox.block_ms = 5000;
        let lines = problems(r);
        assert_eq!(
            lines,
            [
                "setting calendar.time_zone: unknown time zone Mars/Olympus",
                "setting watcher.batch: at least 1",
                "setting survey.public_base_url: must be an http(s) URL",
                "setting survey.ttl_hours: positive",
                "setting outbox.block_ms: at least 10 and below redis.response_timeout_ms",
                "setting telemetry.otlp_endpoint: must be an http(s) URL or empty",
            ],
        );
    }

    #[test]
    fn calendar_problems_name_their_key() {
        for (edit, key) in [
            (
                (|c: &mut raw::Calendar| c.open = "9am".into()) as fn(&mut raw::Calendar),
                "open",
            ),
            (|c| c.close = "08:00".into(), "close"),
            (|c| c.holidays = vec!["16.12.2026".into()], "holidays"),
            (|c| c.working_days = vec![8], "working_days"),
        ] {
            let mut r = raw();
            edit(&mut r.calendar);
            let lines = problems(r);
            assert_eq!(named(&lines, "calendar"), [key], "{lines:?}");
        }
    }

    #[test]
    fn settings_arrive_typed() {
        let s = Settings::load_from(&repo_config_dir(), "test").unwrap();
        assert_eq!(s.redis.response_timeout, std::time::Duration::from_secs(3));
        assert_eq!(s.auth.token_ttl, std::time::Duration::from_secs(15 * 60));
        assert_eq!(s.auth.session_max, std::time::Duration::from_secs(720 * 60));
        assert_eq!(s.otlp_endpoint(), None);
        assert_eq!(s.sms.sendsms_url, None);
        let mut r = raw();
        r.survey.public_base_url = "https://komek.kz/survey/".into();
        let s = Settings::try_from(r).unwrap();
        assert_eq!(s.survey.link("abc"), "https://komek.kz/survey/s/abc");
    }

    #[test]
    fn customer_settings_are_checked() {
        let s = Settings::load_from(&repo_config_dir(), "test").unwrap();
        assert_eq!(s.customers.source, CustomerSource::Directory);
        let mut r = raw();
        r.customers.source = CustomerSourceKind::Http;
        r.customers.http_base_url = "ftp://crm".into();
        r.customers.timeout_ms = 0;
        r.customers.cache_ttl_secs = 0;
        r.customers.breaker_failures = 0;
        r.customers.breaker_cooldown_secs = 0;
        let lines = problems(r.clone());
        assert_eq!(
            named(&lines, "customers"),
            [
                "http_base_url",
                "timeout_ms",
                "cache_ttl_secs",
                "breaker_failures",
                "breaker_cooldown_secs"
            ],
            "{lines:?}"
        );
        r.customers.http_base_url = "http://crm.internal:8080".into();
        r.customers.timeout_ms = 2000;
        r.customers.cache_ttl_secs = 300;
        r.customers.breaker_failures = 5;
        r.customers.breaker_cooldown_secs = 30;
        let s = Settings::try_from(r).unwrap();
        assert!(
            matches!(&s.customers.source, CustomerSource::Http { base_url } if base_url.as_str() == "http://crm.internal:8080")
        );
    }

    #[test]
    fn email_settings_are_checked() {
        let mut r = raw();
        r.email.relay_host = "127.0.0.1".into();
        r.email.relay_port = 0;
        r.email.from = "Komek <nobody>".into();
        r.email.username = "u".into();
        r.email.timeout_ms = 1;
        r.email.max_bytes = 1;
        r.email.domain = "a b".into();
        let lines = problems(r);
        assert_eq!(
            named(&lines, "email"),
            [
                "relay_port",
                "from",
                "password",
                "timeout_ms",
                "max_bytes",
                "domain"
            ],
            "{lines:?}"
        );
        assert!(check::valid_mailbox("Komek <support@komek.kz>"));
        assert!(check::valid_mailbox("support@komek.kz"));
        assert!(!check::valid_mailbox(
            "Komek <support@komek.kz>\r\nBcc: x@y.kz"
        ));
        assert!(!check::valid_mailbox("support"));
    }

    #[test]
    fn unknown_setting_is_refused() {
        let dir = std::env::temp_dir().join(format!("komek-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = std::fs::read_to_string(repo_config_dir().join("default.toml")).unwrap();
        std::fs::write(
            dir.join("default.toml"),
            base.replace("[http]", "[http]\nhots = \"x\""),
        )
        .unwrap();
        let err = Settings::load_from(&dir, "none").unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("hots"), "{err}");
    }
}
