//! komek-bench: how many customer requests Komek accepts per second on this machine, and how
//! close that is to what its two backing steps can do on their own.
//!
//! Run it with `make bench` (release build of every binary first), or after a release build:
//!
//! ```text
//! cargo build --release --bins
//! cargo run --release -p komek-e2e --bin komek-bench
//! ```
//!
//! It starts the four release binaries (`komek_e2e::Mesh`) against the machine's Redis
//! (127.0.0.1:6379) and RabbitMQ (127.0.0.1:5672) under a unique prefix, then measures:
//!
//! 1. **Open loop**: `POST /api/v1/requests` on intake at a fixed rate. Send times are scheduled up
//!    front and each latency is counted from its *scheduled* time, so a slow server cannot hide its
//!    queueing delay by slowing the client down (coordinated omission).
//! 2. **Closed loop**: the same call from N workers back to back, as fast as intake answers.
//! 3. After each, that every accepted request reached the workspace queue (`ZCARD {prefix}:queue`,
//!    polled until a deadline): the outbox relay, RabbitMQ and the workspace consumer caught up.
//! 4. **Ceilings** without Komek's HTTP layer, from N tasks for the same time: the Redis commit
//!    script alone (`Store::create_request`, separate prefix), and confirmed publishes alone
//!    (persistent, mandatory, ~600-byte JSON to a durable quorum queue, each confirm awaited).
//!
//! For each it prints throughput, errors and latency percentiles (a sorted vector, no histogram),
//! then Komek's closed-loop throughput as a share of the lower ceiling, and the same figures as one
//! `BENCH_JSON {...}` line at the end.
//!
//! Settings (environment): `KOMEK_BENCH_RATE` (open-loop requests/s, default 200),
//! `KOMEK_BENCH_SECS` (seconds per phase, default 10), `KOMEK_BENCH_CONCURRENCY` (closed-loop
//! workers and ceiling tasks, default 32), `KOMEK_BENCH_DRAIN_SECS` (how long to wait for the
//! queue to catch up, default 120).
//!
//! Exits non-zero only when setup fails (mesh, Redis or RabbitMQ not usable); errors under load
//! are counted and reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use komek_domain::events::{Envelope, kind};
use komek_domain::{HistoryEntry, Message, MessageKind, Msisdn, Request, classify, lang};
use komek_e2e::bench::{
    RequestSpec, bench_json, env_or, heading, percentile, phone, redis_conn, round2, setup_failed,
    text, web_request,
};
use komek_e2e::{Mesh, MeshOptions};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Ceiling publishes go out in this many channels (each with publisher confirms).
const AMQP_CHANNELS: usize = 4;

/// Per-call timeout of the load client and of each publish confirm: a stuck call becomes an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What the run is asked to do.
#[derive(Debug, Clone, Copy)]
struct Config {
    /// Open-loop requests per second.
    rate: f64,
    /// Length of each measured phase.
    secs: u64,
    /// Closed-loop workers, and tasks in each ceiling.
    concurrency: usize,
    /// How long to wait for the workspace queue to catch up after a phase.
    drain_secs: u64,
}

impl Config {
    fn from_env() -> Self {
        let c = Self {
            rate: env_or("KOMEK_BENCH_RATE", 200.0),
            secs: env_or("KOMEK_BENCH_SECS", 10),
            concurrency: env_or("KOMEK_BENCH_CONCURRENCY", 32),
            drain_secs: env_or("KOMEK_BENCH_DRAIN_SECS", 120),
        };
        if !c.rate.is_finite() || c.rate <= 0.0 || c.secs == 0 || c.concurrency == 0 {
            eprintln!("komek-bench: rate, secs and concurrency must be positive; setup failed");
            std::process::exit(2);
        }
        c
    }

    fn phase(&self) -> Duration {
        Duration::from_secs(self.secs)
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

/// The raw outcome of one phase: successes with their latencies, and errors by kind.
#[derive(Default)]
struct Tally {
    /// Latency of every successful call, in milliseconds.
    latencies_ms: Vec<f64>,
    /// Failed calls by kind ("HTTP 503", "timeout", ...).
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, result: Result<(), String>, latency: Duration) {
        match result {
            Ok(()) => self.latencies_ms.push(latency.as_secs_f64() * 1000.0),
            Err(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies_ms.extend(other.latencies_ms);
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
    }

    fn summary(mut self, elapsed: Duration) -> Summary {
        self.latencies_ms.sort_by(f64::total_cmp);
        let l = &self.latencies_ms;
        let ok = l.len() as u64;
        Summary {
            ok,
            errors: self.errors.values().sum(),
            error_kinds: self.errors,
            secs: elapsed.as_secs_f64(),
            per_sec: ok as f64 / elapsed.as_secs_f64().max(1e-9),
            p50: percentile(l, 50.0),
            p90: percentile(l, 90.0),
            p99: percentile(l, 99.0),
            max: l.last().copied().unwrap_or(0.0),
        }
    }
}

/// One phase's figures.
struct Summary {
    ok: u64,
    errors: u64,
    error_kinds: BTreeMap<String, u64>,
    /// From the phase start until its last call returned.
    secs: f64,
    per_sec: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

impl Summary {
    fn print(&self, unit: &str) {
        println!(
            "  {:<22}{:>10.1} {unit}/s  ({} in {:.2} s)",
            "throughput", self.per_sec, self.ok, self.secs
        );
        let kinds = if self.error_kinds.is_empty() {
            String::new()
        } else {
            let parts: Vec<String> = self
                .error_kinds
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            format!("  ({})", parts.join(", "))
        };
        println!("  {:<22}{:>10}{kinds}", "errors", self.errors);
        println!(
            "  {:<22}p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            "latency ms", self.p50, self.p90, self.p99, self.max
        );
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "ok": self.ok,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "secs": round2(self.secs),
            "per_sec": round2(self.per_sec),
            "p50_ms": round2(self.p50),
            "p90_ms": round2(self.p90),
            "p99_ms": round2(self.p99),
            "max_ms": round2(self.max),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The HTTP load client
// ---------------------------------------------------------------------------------------------

/// The i-th generated submission: varied number, channel and text.
fn submission(i: u64) -> serde_json::Value {
    let channel = if i % 4 == 3 { "sms" } else { "web" };
    json!({
        "channel": channel,
        "customer": { "msisdn": phone(i) },
        "text": text(i),
    })
}

/// One `POST /api/v1/requests`; `Ok` only for 201 Created.
async fn post(http: &reqwest::Client, url: &str, body: &serde_json::Value) -> Result<(), String> {
    let resp = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| transport_error(&e))?;
    let status = resp.status();
    // Read the body so the connection goes back to the pool.
    let _ = resp.bytes().await;
    if status == reqwest::StatusCode::CREATED {
        Ok(())
    } else {
        Err(format!("HTTP {}", status.as_u16()))
    }
}

fn transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else {
        "transport".into()
    }
}

/// Fixed rate, open loop: request i is due at `start + i / rate`, whatever happened to the others.
async fn open_loop(
    http: &reqwest::Client,
    url: &str,
    cfg: &Config,
    seq: &Arc<AtomicU64>,
) -> (Summary, Instant) {
    let total = (cfg.rate * cfg.secs as f64).round() as u64;
    let (tx, mut rx) = mpsc::unbounded_channel::<(Result<(), String>, Duration)>();
    let start = Instant::now();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / cfg.rate);
        tokio::time::sleep_until(due).await;
        let (http, url, tx) = (http.clone(), url.to_owned(), tx.clone());
        let body = submission(seq.fetch_add(1, Ordering::Relaxed));
        tokio::spawn(async move {
            let result = post(&http, &url, &body).await;
            // From the scheduled time, not from when the task got to send it.
            let _ = tx.send((result, due.elapsed()));
        });
    }
    drop(tx);
    let mut tally = Tally::default();
    while let Some((result, latency)) = rx.recv().await {
        tally.record(result, latency);
    }
    let end = Instant::now();
    (tally.summary(end - start), end)
}

/// Full speed, closed loop: `concurrency` workers, each sending its next request when the last returned.
async fn closed_loop(
    http: &reqwest::Client,
    url: &str,
    cfg: &Config,
    seq: &Arc<AtomicU64>,
) -> (Summary, Instant) {
    let start = Instant::now();
    let stop = start + cfg.phase();
    let workers: Vec<_> = (0..cfg.concurrency)
        .map(|_| {
            let (http, url, seq) = (http.clone(), url.to_owned(), seq.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < stop {
                    let body = submission(seq.fetch_add(1, Ordering::Relaxed));
                    let t0 = Instant::now();
                    let result = post(&http, &url, &body).await;
                    tally.record(result, t0.elapsed());
                }
                tally
            })
        })
        .collect();
    let tally = join_tallies(workers).await;
    let end = Instant::now();
    (tally.summary(end - start), end)
}

async fn join_tallies(workers: Vec<tokio::task::JoinHandle<Tally>>) -> Tally {
    let mut all = Tally::default();
    for w in workers {
        match w.await {
            Ok(t) => all.merge(t),
            Err(e) => *all.errors.entry(format!("worker died: {e}")).or_default() += 1,
        }
    }
    all
}

// ---------------------------------------------------------------------------------------------
// End to end: the workspace queue catches up
// ---------------------------------------------------------------------------------------------

struct CatchUp {
    expected: u64,
    arrived: u64,
    /// From the end of the phase until the queue held every accepted request (or the deadline).
    waited: Duration,
    caught_up: bool,
}

impl CatchUp {
    fn print(&self) {
        if self.caught_up {
            println!(
                "  {:<22}{} of {} accepted requests queued; caught up {:.2} s after the load ended",
                "workspace queue",
                self.arrived,
                self.expected,
                self.waited.as_secs_f64()
            );
        } else {
            println!(
                "  {:<22}only {} of {} accepted requests queued when the {:.0} s deadline passed",
                "workspace queue",
                self.arrived,
                self.expected,
                self.waited.as_secs_f64()
            );
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "expected": self.expected,
            "arrived": self.arrived,
            "caught_up": self.caught_up,
            "catch_up_s": round2(self.waited.as_secs_f64()),
        })
    }
}

/// Polls `ZCARD {prefix}:queue` every 25 ms until it reaches `expected` or `within` has passed since `since`.
async fn wait_for_queue(
    redis: &mut redis::aio::MultiplexedConnection,
    key: &str,
    expected: u64,
    since: Instant,
    within: Duration,
) -> CatchUp {
    let deadline = since + within;
    loop {
        let arrived: u64 = redis::cmd("ZCARD")
            .arg(key)
            .query_async(redis)
            .await
            .unwrap_or(0);
        if arrived >= expected {
            return CatchUp {
                expected,
                arrived,
                waited: since.elapsed(),
                caught_up: true,
            };
        }
        if Instant::now() >= deadline {
            return CatchUp {
                expected,
                arrived,
                waited: since.elapsed(),
                caught_up: false,
            };
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Ceiling 1: the Redis commit script alone
// ---------------------------------------------------------------------------------------------

/// A new request, its first history line and its `request.created` event, built the way intake's
/// `accept` builds them (validation, detection, classification, deadlines, acknowledgment text);
/// only the number comes from a local counter instead of Redis `INCR`.
fn build_request(settings: &Settings, i: u64) -> (Request, HistoryEntry, Envelope) {
    let text = text(i).to_owned();
    let language = lang::detect(&text);
    let (category, priority) = classify::classify(None, &text);
    // Same work as intake: the deadline policy over the business calendar.
    let spec = RequestSpec {
        msisdn: Msisdn::parse(&phone(i)).ok(),
        language,
        category,
        priority,
        text,
    };
    let (mut request, history, mut event) = web_request(settings, i, spec);
    request.messages.push(Message {
        kind: MessageKind::Acknowledgment,
        text: komek_i18n::customer::acknowledgment(
            language,
            &request.number,
            request.due.resolution,
        ),
        at: request.created_at,
    });
    komek_bus::stamp(&mut event);
    (request, history, event)
}

async fn redis_ceiling(settings: &Settings, cfg: &Config) -> Summary {
    let store = Store::connect(&settings.redis)
        .await
        .unwrap_or_else(|e| setup_failed("connect to Redis", &e));
    let ttl = settings.requests.idempotency_ttl.as_secs();
    let seq = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let stop = start + cfg.phase();
    let workers: Vec<_> = (0..cfg.concurrency)
        .map(|_| {
            let (store, settings, seq) = (store.clone(), settings.clone(), seq.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < stop {
                    let (request, history, event) =
                        build_request(&settings, seq.fetch_add(1, Ordering::Relaxed));
                    let t0 = Instant::now();
                    let result = match store
                        .create_request(&request, &history, &event, None, ttl)
                        .await
                    {
                        Ok(Created::New(_)) => Ok(()),
                        Ok(other) => Err(format!("unexpected {other:?}")),
                        Err(e) if e.is_unavailable() => Err("unavailable".into()),
                        Err(_) => Err("script error".into()),
                    };
                    tally.record(result, t0.elapsed());
                }
                tally
            })
        })
        .collect();
    let tally = join_tallies(workers).await;
    let summary = tally.summary(start.elapsed());
    if let Err(e) = store.delete_all().await {
        eprintln!(
            "komek-bench: could not delete the Redis ceiling keys under {}: {e}",
            settings.redis.prefix
        );
    }
    summary
}

// ---------------------------------------------------------------------------------------------
// Ceiling 2: confirmed publishes alone
// ---------------------------------------------------------------------------------------------

/// A `request.created` envelope as the relay publishes it, padded to about 600 bytes.
fn publish_payload(settings: &Settings) -> Vec<u8> {
    let (_, _, mut event) = build_request(settings, 0);
    event.traceparent = Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
    let mut v = serde_json::to_value(&event).unwrap();
    let base = serde_json::to_vec(&v).unwrap().len();
    v["bench_padding"] = json!("x".repeat(600usize.saturating_sub(base + 20)));
    serde_json::to_vec(&v).unwrap()
}

struct AmqpCeiling {
    summary: Summary,
    payload_bytes: usize,
    /// Messages the queue held when it was deleted: should equal the confirmed count.
    in_queue_at_delete: Option<u32>,
}

async fn amqp_ceiling(settings: &Settings, cfg: &Config) -> AmqpCeiling {
    let props = ConnectionProperties::default().with_connection_name("komek-bench".into());
    let conn = Connection::connect(settings.amqp.url.expose_secret(), props)
        .await
        .unwrap_or_else(|e| setup_failed("connect to RabbitMQ", &e));
    let queue = format!("{}.bench-ceiling", settings.amqp.prefix);
    let admin = conn
        .create_channel()
        .await
        .unwrap_or_else(|e| setup_failed("open a channel", &e));
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    admin
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await
        .unwrap_or_else(|e| setup_failed("declare the quorum queue", &e));
    let mut channels = Vec::new();
    for _ in 0..AMQP_CHANNELS.min(cfg.concurrency) {
        let ch = conn
            .create_channel()
            .await
            .unwrap_or_else(|e| setup_failed("open a channel", &e));
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap_or_else(|e| setup_failed("enable publisher confirms", &e));
        channels.push(ch);
    }
    let payload = Arc::new(publish_payload(settings));
    let start = Instant::now();
    let stop = start + cfg.phase();
    let workers: Vec<_> = (0..cfg.concurrency)
        .map(|w| {
            let (ch, queue, payload) = (
                channels[w % channels.len()].clone(),
                queue.clone(),
                payload.clone(),
            );
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < stop {
                    let props = BasicProperties::default()
                        .with_delivery_mode(2)
                        .with_content_type("application/json".into())
                        .with_type(kind::REQUEST_CREATED.into());
                    let opts = BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    };
                    let t0 = Instant::now();
                    let confirmed = tokio::time::timeout(CALL_TIMEOUT, async {
                        ch.basic_publish("".into(), queue.as_str().into(), opts, &payload, props)
                            .await?
                            .await
                    })
                    .await;
                    let result = match confirmed {
                        Err(_) => Err("confirm timeout".to_owned()),
                        Ok(Err(_)) => Err("channel error".to_owned()),
                        Ok(Ok(c)) if !c.is_ack() => Err("nack".to_owned()),
                        Ok(Ok(c)) => match c.take_message() {
                            Some(_) => Err("returned".to_owned()),
                            None => Ok(()),
                        },
                    };
                    tally.record(result, t0.elapsed());
                }
                tally
            })
        })
        .collect();
    let tally = join_tallies(workers).await;
    let summary = tally.summary(start.elapsed());
    let in_queue_at_delete = match admin
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await
    {
        Ok(n) => Some(n),
        Err(e) => {
            eprintln!("komek-bench: could not delete queue {queue}: {e}");
            None
        }
    };
    let _ = conn.close(200, "bench done".into()).await;
    AmqpCeiling {
        summary,
        payload_bytes: payload.len(),
        in_queue_at_delete,
    }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/// `appendonly` and `appendfsync` of the Redis under test: they decide what a commit costs.
async fn redis_durability(redis: &mut redis::aio::MultiplexedConnection) -> String {
    let mut values = Vec::new();
    for name in ["appendonly", "appendfsync"] {
        let pair: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query_async(redis)
            .await
            .unwrap_or_default();
        values.push(format!(
            "{name} {}",
            pair.get(1).map_or("?", String::as_str)
        ));
    }
    values.join(", ")
}

#[tokio::main]
async fn main() {
    let cfg = Config::from_env();
    let cores = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);

    let mut mesh = Mesh::start(MeshOptions {
        tag: "bench",
        profile: Some("release"),
        ..Default::default()
    })
    .await;
    let settings = mesh.settings.clone();
    let url = mesh.url("intake", "/api/v1/requests");
    let queue_key = format!("{}:queue", settings.redis.prefix);
    let mut redis = redis_conn(&settings).await;
    let durability = redis_durability(&mut redis).await;
    let baseline: u64 = redis::cmd("ZCARD")
        .arg(&queue_key)
        .query_async(&mut redis)
        .await
        .unwrap_or_else(|e| setup_failed("read the workspace queue", &e));
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(CALL_TIMEOUT)
        .pool_max_idle_per_host(cfg.concurrency.max(64))
        .build()
        .unwrap_or_else(|e| setup_failed("build the HTTP client", &e));

    println!("komek-bench");
    println!("===========");
    println!("machine       {cores} cores; client, four services, Redis and RabbitMQ share them");
    println!(
        "mesh          prefix {} (release binaries), intake at {url}",
        settings.redis.prefix
    );
    println!("redis         127.0.0.1:6379, {durability}");
    println!("rabbitmq      127.0.0.1:5672");
    println!(
        "settings      rate {} req/s, {} s per phase, concurrency {}, drain deadline {} s",
        cfg.rate, cfg.secs, cfg.concurrency, cfg.drain_secs
    );

    let seq = Arc::new(AtomicU64::new(0));
    let drain = Duration::from_secs(cfg.drain_secs);

    heading(&format!(
        "Komek, open loop: POST /api/v1/requests at {} req/s for {} s",
        cfg.rate, cfg.secs
    ));
    let (open, open_end) = open_loop(&http, &url, &cfg, &seq).await;
    open.print("accepted");
    let open_queue =
        wait_for_queue(&mut redis, &queue_key, baseline + open.ok, open_end, drain).await;
    open_queue.print();

    heading(&format!(
        "Komek, closed loop: {} workers at full speed for {} s",
        cfg.concurrency, cfg.secs
    ));
    let (closed, closed_end) = closed_loop(&http, &url, &cfg, &seq).await;
    closed.print("accepted");
    let closed_queue = wait_for_queue(
        &mut redis,
        &queue_key,
        baseline + open.ok + closed.ok,
        closed_end,
        drain,
    )
    .await;
    closed_queue.print();

    // The ceilings run on a quiet machine: the services would only compete for the same cores.
    mesh.stop();

    let ceiling_settings = komek_testkit::test_settings("bench-ceiling");
    heading(&format!(
        "Ceiling 1: Redis commit script alone (Store::create_request), {} tasks for {} s",
        cfg.concurrency, cfg.secs
    ));
    let redis_ceiling = redis_ceiling(&ceiling_settings, &cfg).await;
    redis_ceiling.print("ops");

    heading(&format!(
        "Ceiling 2: confirmed publishes alone (durable quorum queue, {} tasks on {} channels) for {} s",
        cfg.concurrency,
        AMQP_CHANNELS.min(cfg.concurrency),
        cfg.secs
    ));
    let amqp = amqp_ceiling(&ceiling_settings, &cfg).await;
    amqp.summary.print("msgs");
    println!(
        "  {:<22}{} bytes, persistent, mandatory; queue held {} at delete",
        "message",
        amqp.payload_bytes,
        amqp.in_queue_at_delete
            .map_or("?".into(), |n| n.to_string())
    );

    let (lower_name, lower) = if redis_ceiling.per_sec <= amqp.summary.per_sec {
        ("Redis commit script", redis_ceiling.per_sec)
    } else {
        ("confirmed publish", amqp.summary.per_sec)
    };
    let share = if lower > 0.0 {
        closed.per_sec / lower * 100.0
    } else {
        0.0
    };
    heading("Share");
    println!(
        "  Komek full speed {:.1} req/s = {:.1}% of the lower ceiling ({lower_name}, {:.1}/s)",
        closed.per_sec, share, lower
    );
    println!(
        "  Meaning: for every 100 operations the slower backing step completes alone with {} concurrent callers, \
         Komek's HTTP path (actix, JSON, validation, INCR + the same script; the publish happens later via the outbox) \
         completes {:.0}; the gap is the cost of the HTTP layer and of sharing {cores} cores with the client and the other services.",
        cfg.concurrency, share
    );

    komek_testkit::cleanup(&settings).await;
    komek_testkit::cleanup(&ceiling_settings).await;

    let report = json!({
        "config": { "rate": cfg.rate, "secs": cfg.secs, "concurrency": cfg.concurrency, "drain_secs": cfg.drain_secs, "cores": cores, "redis": durability },
        "open_loop": { "summary": open.json(), "queue": open_queue.json() },
        "closed_loop": { "summary": closed.json(), "queue": closed_queue.json() },
        "redis_ceiling": redis_ceiling.json(),
        "amqp_ceiling": { "summary": amqp.summary.json(), "payload_bytes": amqp.payload_bytes, "in_queue_at_delete": amqp.in_queue_at_delete },
        "share": { "lower_ceiling": lower_name, "lower_ceiling_per_sec": round2(lower), "komek_per_sec": round2(closed.per_sec), "percent": round2(share) },
    });
    bench_json(&report);
}
