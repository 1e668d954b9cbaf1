//! Test helpers shared by every crate's tests (dev-dependency only).
//!
//! - [`test_settings`]: the `test` layer with a unique Redis key prefix and AMQP name prefix, so
//!   tests run side by side on one Redis and one RabbitMQ without seeing each other.
//! - [`cleanup`]: deletes a test's Redis keys and RabbitMQ queues and exchanges.
//! - [`eventually`]: poll a condition until it holds or a deadline passes; never a fixed sleep.
//! - [`proxy::TcpProxy`]: a TCP proxy a test can cut and restore, to take Redis or RabbitMQ away
//!   from the services without touching the shared servers.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod proxy;

use std::future::Future;
use std::time::{Duration, Instant};

use komek_settings::Settings;
use secrecy::ExposeSecret;

/// A short unique name for one test's keys and queues.
pub fn unique(tag: &str) -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("t-{tag}-{}", &id[id.len() - 12..])
}

/// The repository's `test` settings with a fresh prefix for Redis and RabbitMQ.
pub fn test_settings(tag: &str) -> Settings {
    let mut s = Settings::load_from(&komek_settings::repo_config_dir(), "test")
        .expect("test settings load");
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
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Removes everything a test made: its Redis keys and its RabbitMQ queues and exchanges.
pub async fn cleanup(s: &Settings) {
    let client = redis::Client::open(s.redis.url.expose_secret()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("{}:*", s.redis.prefix);
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: u64 = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(&mut c)
                .await
                .unwrap();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let conn = lapin::Connection::connect(s.amqp.url.expose_secret(), Default::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let p = &s.amqp.prefix;
    for q in [
        "workspace",
        "escalation",
        "survey",
        "intake",
        "parking",
        "audit",
    ] {
        let _ = ch
            .queue_delete(format!("{p}.{q}").as_str().into(), Default::default())
            .await;
    }
    for x in ["events", "dlx"] {
        let _ = ch
            .exchange_delete(format!("{p}.{x}").as_str().into(), Default::default())
            .await;
    }
    let _ = conn.close(200, "bye".into()).await;
}
