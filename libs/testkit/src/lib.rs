//! Test helpers shared by every crate's tests (dev-dependency only).
//!
//! - [`test_settings`]: the `test` layer with a unique Redis key prefix and AMQP name prefix, so
//!   tests run side by side on one Redis and one RabbitMQ without seeing each other.
//! - [`cleanup`]: deletes a test's Redis keys and RabbitMQ queues and exchanges.
//! - [`tap`]: a queue that gets a copy of every event from then on, for tests that look at
//!   what was published (the services keep no such queue).
//! - [`new_request`]: a new web request as intake stores it, the one fixture every test seeds
//!   requests from (each test changes what it is about with struct update syntax).
//! - [`eventually`]: poll a condition until it holds or a deadline passes; never a fixed sleep.
//! - [`stored_text`]: every key and value under a test's prefix as text, for tests that prove a
//!   secret is stored nowhere.
//! - [`proxy::TcpProxy`]: a TCP proxy a test can cut and restore, to take Redis or RabbitMQ away
//!   from the services without touching the shared servers.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod proxy;

use std::future::Future;
use std::time::{Duration, Instant};

use komek_domain::{
    Category, Channel, Customer, Due, Lang, Priority, Request, RequestId, RequestNumber, Status,
};
use komek_settings::Settings;
use secrecy::ExposeSecret;
use time::OffsetDateTime;

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

/// A new request as intake stores it: `number`, from `customer`, made at `created_at`, status new,
/// due in 4 h (first response) and 24 h (resolution), no owner, messages, notes or trace. A web
/// request in Russian about the internet; a test changes what its case is about with struct
/// update syntax: `Request { language: Lang::Kk, ..new_request(number, customer, now) }`.
pub fn new_request(
    number: RequestNumber,
    customer: Customer,
    created_at: OffsetDateTime,
) -> Request {
    Request {
        id: RequestId::new(),
        number,
        version: 0,
        channel: Channel::Web,
        customer,
        language: Lang::Ru,
        category: Category::Internet,
        priority: Priority::Normal,
        subject: None,
        text: "Не работает интернет".into(),
        status: Status::New,
        owner: None,
        due: Due {
            first_response: created_at + time::Duration::hours(4),
            resolution: created_at + time::Duration::hours(24),
        },
        created_at,
        first_response_at: None,
        resolved_at: None,
        resolution: None,
        escalation: None,
        messages: Vec::new(),
        notes: Vec::new(),
        trace: None,
        paused_at: None,
        problem: None,
    }
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
/// Declares the test's event exchange (as the services do) and `{prefix}.tap`, a queue bound
/// to it with `#`, and returns the queue's name: from now on it holds a copy of every published
/// event, for a test to read with `basic_get`. Call it before the events of interest are
/// published; [`cleanup`] deletes it.
pub async fn tap(s: &Settings) -> String {
    use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
    use lapin::types::FieldTable;
    let conn = lapin::Connection::connect(s.amqp.url.expose_secret(), Default::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let p = &s.amqp.prefix;
    let (exchange, queue) = (format!("{p}.events"), format!("{p}.tap"));
    ch.exchange_declare(
        exchange.as_str().into(),
        lapin::ExchangeKind::Topic,
        ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        queue.as_str().into(),
        exchange.as_str().into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let _ = conn.close(200, "bye".into()).await;
    queue
}

/// Every key under the test's prefix with its whole value as text (a hash's fields and values,
/// a list's, set's or sorted set's members, a stream's entries), for a test that proves a secret
/// is kept nowhere in Redis.
pub async fn stored_text(s: &Settings) -> Vec<(String, String)> {
    let client = redis::Client::open(s.redis.url.expose_secret()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("{}:*", s.redis.prefix);
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut c)
            .await
            .unwrap();
        let mut cmd = match kind.as_str() {
            "string" => redis::cmd("GET"),
            "hash" => redis::cmd("HGETALL"),
            "list" => redis::cmd("LRANGE"),
            "set" => redis::cmd("SMEMBERS"),
            "zset" => redis::cmd("ZRANGE"),
            "stream" => redis::cmd("XRANGE"),
            // Gone between SCAN and TYPE.
            "none" => continue,
            other => panic!("{key}: unexpected type {other}"),
        };
        cmd.arg(&key);
        match kind.as_str() {
            "list" | "zset" => {
                cmd.arg(0).arg(-1);
            }
            "stream" => {
                cmd.arg("-").arg("+");
            }
            _ => {}
        }
        let value: redis::Value = cmd.query_async(&mut c).await.unwrap();
        out.push((key, text_of(&value)));
    }
    out
}

/// A Redis reply's strings, joined by newlines.
fn text_of(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::Int(i) => i.to_string(),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            items.iter().map(text_of).collect::<Vec<_>>().join("\n")
        }
        redis::Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| format!("{}\n{}", text_of(k), text_of(v)))
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("{other:?}"),
    }
}

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
        "tap",
        // Left by earlier versions (the services now delete it when they declare).
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
