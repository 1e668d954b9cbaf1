//! What `KOMEK_ENV=production` refuses: secrets shipped in this repository (anyone can read them,
//! so a token signed with them would be accepted), brokers on their default credentials, and demo
//! data (its logins and passwords are public too). One line per problem, like every other check.

use secrecy::ExposeSecret;

use crate::{
    AmqpSettings, AuthSettings, EmailSettings, RedisSettings, SeedSettings, SmsSettings,
    SurveySettings,
};

/// The settings files this repository ships; their secrets are public.
const SHIPPED: [(&str, &str); 4] = [
    ("default.toml", include_str!("../../../config/default.toml")),
    ("local.toml", include_str!("../../../config/local.toml")),
    ("test.toml", include_str!("../../../config/test.toml")),
    (
        "production.toml",
        include_str!("../../../config/production.toml"),
    ),
];

/// Where a value was shipped, if it was: the file naming it under `key`.
fn shipped_in(key: &str, value: &str) -> Option<&'static str> {
    SHIPPED.iter().find_map(|(name, text)| {
        let layer = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .ok()?;
        (layer.get_string(key).ok()? == value).then_some(*name)
    })
}

/// Notes `key` when `value` is one this repository ships.
fn not_shipped(bad: &mut Vec<String>, key: &str, value: &str) {
    if let Some(file) = shipped_in(key, value) {
        let var = format!("KOMEK__{}", key.replace('.', "__").to_uppercase());
        bad.push(format!(
            "setting {key}: the value shipped in config/{file} is public; production needs its own \
             ({var} or {var}_FILE)"
        ));
    }
}

/// The user and password of a broker URL (`scheme://user:password@host...`); empty when absent.
fn credentials(url: &str) -> (String, String) {
    match url::Url::parse(url) {
        Ok(u) => (
            u.username().to_owned(),
            u.password().unwrap_or_default().to_owned(),
        ),
        Err(_) => (String::new(), String::new()),
    }
}

pub(crate) fn refusals(
    redis: &RedisSettings,
    amqp: &AmqpSettings,
    auth: &AuthSettings,
    sms: &SmsSettings,
    email: &EmailSettings,
    seed: &SeedSettings,
    survey: &SurveySettings,
) -> Vec<String> {
    let mut bad = Vec::new();
    not_shipped(&mut bad, "auth.jwt_secret", auth.jwt_secret.expose_secret());
    for (id, secret) in &auth.previous {
        if shipped_in("auth.jwt_secret", secret.expose_secret()).is_some() {
            bad.push(format!(
                "setting auth.jwt_previous: key {id} is the secret shipped in the repository"
            ));
        }
    }
    not_shipped(
        &mut bad,
        "sms.inbound_secret",
        sms.inbound_secret.expose_secret(),
    );
    if sms.sendsms_url.is_some() {
        not_shipped(&mut bad, "sms.password", sms.password.expose_secret());
    }
    if !email.username.is_empty() {
        not_shipped(&mut bad, "email.password", email.password.expose_secret());
    }
    // Anyone with the shipped key could compute every survey's link.
    not_shipped(&mut bad, "survey.link_secret", survey.link_secret());
    // lapin logs in as guest:guest when the URL names no user.
    let (user, password) = credentials(amqp.url.expose_secret());
    if user.is_empty() || user == "guest" || password.is_empty() || password == "guest" {
        bad.push(
            "setting amqp.url: RabbitMQ's default credentials (guest, or none); production needs \
             its own user and password"
                .to_owned(),
        );
    }
    // Redis without a password (or the `default` user without one) lets anyone who reaches it in.
    let (_, password) = credentials(redis.url.expose_secret());
    if password.is_empty() {
        bad.push(
            "setting redis.url: no password (Redis' default); production needs \
             redis://[user]:password@host"
                .to_owned(),
        );
    }
    if seed.demo {
        bad.push(
            "setting seed.demo: demo staff and customers (public logins) are not for production"
                .to_owned(),
        );
    }
    bad
}
