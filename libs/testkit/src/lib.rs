//! Test helpers shared by every crate's tests (dev-dependency only).
//!
//! - [`test_settings`]: the `test` layer with a unique Redis key prefix and AMQP name prefix, so
//!   tests run side by side on one Redis and one RabbitMQ without seeing each other.
//! - [`eventually`]: poll a condition until it holds or a deadline passes; never a fixed sleep.
#![allow(clippy::expect_used)]

use std::future::Future;
use std::time::{Duration, Instant};

use komek_settings::Settings;

/// A short unique name for one test's keys and queues.
pub fn unique(tag: &str) -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("t-{tag}-{}", &id[id.len() - 12..])
}

/// The repository's `test` settings with a fresh prefix for Redis and RabbitMQ.
pub fn test_settings(tag: &str) -> Settings {
    let mut s = Settings::load_from(&komek_settings::repo_config_dir(), "test").expect("test settings load");
    let prefix = unique(tag);
    s.redis.prefix = prefix.clone();
    s.amqp.prefix = prefix;
    s
}

/// Polls `check` every 25 ms until it yields `Some`, or panics with `what` after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
