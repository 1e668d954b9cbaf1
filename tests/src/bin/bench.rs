//! komek-bench: how fast Komek takes in customer requests **and keeps pace with them end to end**
//! on this machine, and how close that is to what its two backing steps can do on their own.
//!
//! Run it with `make bench`: it starts Komek's durable bench Redis (`appendonly yes`,
//! `appendfsync always`, port 6391, `scripts/deps.sh bench-redis`), builds the release binaries and
//! runs this with `KOMEK__REDIS__URL` pointing at that Redis. By hand:
//!
//! ```text
//! scripts/deps.sh bench-redis
//! cargo build --release --bins
//! KOMEK__REDIS__URL=redis://127.0.0.1:6391 cargo run --release -p komek-e2e --bin komek-bench
//! ```
//!
//! It starts the four release binaries (`komek_e2e::Mesh`) under a unique prefix, then measures:
//!
//! 1. **Acceptance**, open loop: `POST /api/v1/requests` at `KOMEK_BENCH_RATE` (1,000/s). Send
//!    times are scheduled up front and each latency counts from its *scheduled* time, so a slow
//!    server cannot hide its queueing delay (coordinated omission).
//! 2. **Sustained end to end**: the same open loop at each rate of `KOMEK_BENCH_RATES` in turn.
//!    While it runs, every consumer queue and the outbox are sampled (passive declares, `XLEN`);
//!    after it, the run waits until all are empty and reads the consumers' lag histograms
//!    (`komek_event_lag_seconds`, from an event's `occurred_at` to its consumer's outcome) from
//!    `/metrics`. A rate **holds** when every call was accepted, the backlog at the end of the load
//!    was under one second of it, and the p99 lag of every consumer of `request.created` (routing in
//!    the workspace, spike detection in escalation, the notifier in intake) was at most 1 s. The
//!    steps stop at the first rate that does not hold; the highest that held is the result.
//! 3. **A burst in one category and region**: `KOMEK_BENCH_BURST` (20,000) requests about no
//!    signal from customers the directory places in one region, at the highest rate that held. It
//!    reports when the candidate problem opened (polling `spike:open:…` every 10 ms) against when
//!    the threshold's request was accepted, the spike detector's lag, and that every request joined.
//! 4. **Front door**: N workers back to back as fast as intake answers (what acceptance alone can
//!    take), and how long the pipeline needs afterwards to catch up.
//! 5. **Redis bytes per request**: `used_memory` before and after storing
//!    `KOMEK_BENCH_MEM_REQUESTS` queued requests (with history, index, queue and deadline
//!    entries), then after taking each through assigned, in progress (a reply), resolved and closed.
//! 6. **Ceilings** without Komek's HTTP layer, from N tasks, on a quiet machine: the Redis commit
//!    script alone (`Store::create_request` on the same Redis), and confirmed publishes alone
//!    (persistent, mandatory, ~600-byte JSON to a durable quorum queue, each confirm awaited).
//!
//! It prints each phase, the share of the lower ceiling reached by acceptance and by the sustained
//! end-to-end rate, and the same figures as one `BENCH_JSON {...}` line at the end.
//!
//! Settings (environment): `KOMEK_BENCH_RATE` (acceptance rate, 1000), `KOMEK_BENCH_RATES`
//! (sustained steps, "500,1000,1500,2000,2500,3000"), `KOMEK_BENCH_STEP_SECS` (seconds per step, 30),
//! `KOMEK_BENCH_SECS` (seconds per other phase, 10),
//! `KOMEK_BENCH_BURST` (20000), `KOMEK_BENCH_CONCURRENCY` (front-door workers and ceiling tasks,
//! 32), `KOMEK_BENCH_DRAIN_SECS` (how long to wait for the pipeline to catch up, 300),
//! `KOMEK_BENCH_MEM_REQUESTS` (2000), `KOMEK_BENCH_ONLY=acceptance` (phase 1 only: a steady load to
//! profile with `perf record -a` alongside).
//!
//! Exits non-zero only when setup fails (mesh, Redis or RabbitMQ not usable); errors under load
//! are counted and reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use komek_domain::events::{Envelope, kind};
use komek_domain::{HistoryEntry, Message, MessageKind, Msisdn, Request, Status, classify, lang};
use komek_e2e::bench::{
    RequestSpec, bench_json, env_or, fill_queued, heading, percentile, phone, redis_conn, round2,
    setup_failed, text, web_request,
};
use komek_e2e::pipeline::{Buckets, Depths, Probe, lag};
use komek_e2e::{Mesh, MeshOptions};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::customers::RecordChange;
use komek_store::directory::DirectoryCustomer;
use komek_store::requests::{Created, Mutation};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Ceiling publishes go out in this many channels (each with publisher confirms).
const AMQP_CHANNELS: usize = 4;

/// Per-call timeout of the load client and of each publish confirm: a stuck call becomes an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The goal every consumer's p99 lag is held to, in seconds.
const LAG_GOAL_S: f64 = 1.0;

/// The burst's customers live here (the directory says so), so the burst has its own spike key.
const BURST_REGION: &str = "Kyzylorda";

/// The burst's text: a network complaint.
const BURST_TEXT: &str = "Не могу дозвониться, нет связи уже третий раз";

/// What the run is asked to do.
#[derive(Debug, Clone)]
struct Config {
    /// Acceptance phase, requests per second.
    rate: f64,
    /// Sustained steps, requests per second, ascending.
    rates: Vec<f64>,
    /// Length of each measured phase.
    secs: u64,
    /// Length of each sustained step: long enough that a backlog growing slowly shows.
    step_secs: u64,
    /// Requests in the burst.
    burst: u64,
    /// Front-door workers, and tasks in each ceiling.
    concurrency: usize,
    /// How long to wait for the pipeline to catch up after a phase.
    drain_secs: u64,
    /// Requests stored to weigh one in Redis.
    mem_requests: u64,
}

impl Config {
    fn from_env() -> Self {
        let rates: String = env_or(
            "KOMEK_BENCH_RATES",
            "500,1000,1500,2000,2500,3000".to_owned(),
        );
        let mut parsed: Vec<f64> = rates
            .split(',')
            .filter(|r| !r.trim().is_empty())
            .map(|r| {
                r.trim().parse::<f64>().unwrap_or_else(|_| {
                    eprintln!("komek-bench: KOMEK_BENCH_RATES={rates:?} is not a list of rates; setup failed");
                    std::process::exit(2);
                })
            })
            .collect();
        parsed.sort_by(f64::total_cmp);
        let c = Self {
            rate: env_or("KOMEK_BENCH_RATE", 1000.0),
            rates: parsed,
            secs: env_or("KOMEK_BENCH_SECS", 10),
            step_secs: env_or("KOMEK_BENCH_STEP_SECS", 30),
            burst: env_or("KOMEK_BENCH_BURST", 20_000),
            concurrency: env_or("KOMEK_BENCH_CONCURRENCY", 32),
            drain_secs: env_or("KOMEK_BENCH_DRAIN_SECS", 300),
            mem_requests: env_or("KOMEK_BENCH_MEM_REQUESTS", 2000),
        };
        let bad_rate = |r: f64| !r.is_finite() || r <= 0.0;
        if bad_rate(c.rate)
            || c.rates.is_empty()
            || c.rates.iter().any(|r| bad_rate(*r))
            || c.secs == 0
            || c.step_secs == 0
            || c.concurrency == 0
        {
            eprintln!("komek-bench: rates, secs and concurrency must be positive; setup failed");
            std::process::exit(2);
        }
        c
    }

    fn phase(&self) -> Duration {
        Duration::from_secs(self.secs)
    }

    fn drain(&self) -> Duration {
        Duration::from_secs(self.drain_secs)
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
#[derive(Clone)]
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

/// What an open-loop phase did: its figures, when it ended, and when each accepted call returned
/// (ascending).
#[derive(Clone)]
struct Paced {
    summary: Summary,
    end: Instant,
    accepted_at: Vec<Instant>,
}

/// Fixed rate, open loop: request i is due at `start + i / rate`, whatever happened to the others.
async fn open_loop(
    http: &reqwest::Client,
    url: &str,
    rate: f64,
    total: u64,
    body: impl Fn(u64) -> serde_json::Value,
    seq: &Arc<AtomicU64>,
) -> Paced {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Result<(), String>, Duration, Instant)>();
    let start = Instant::now();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let (http, url, tx) = (http.clone(), url.to_owned(), tx.clone());
        let body = body(seq.fetch_add(1, Ordering::Relaxed));
        tokio::spawn(async move {
            let result = post(&http, &url, &body).await;
            // From the scheduled time, not from when the task got to send it.
            let _ = tx.send((result, due.elapsed(), Instant::now()));
        });
    }
    drop(tx);
    let mut tally = Tally::default();
    let mut accepted_at = Vec::new();
    while let Some((result, latency, at)) = rx.recv().await {
        if result.is_ok() {
            accepted_at.push(at);
        }
        tally.record(result, latency);
    }
    accepted_at.sort();
    let end = Instant::now();
    Paced {
        summary: tally.summary(end - start),
        end,
        accepted_at,
    }
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
// End to end: every consumer keeps pace
// ---------------------------------------------------------------------------------------------

/// The consumers of `request.created`: routing (workspace), spike detection (escalation) and the
/// notifier (intake). A phase is over when each has handled every accepted request.
const CREATED_CONSUMERS: [&str; 3] = ["workspace", "escalation", "intake"];

/// Each service's `/metrics` text, scraped one after the other.
#[derive(Default)]
struct Scrape(Vec<(&'static str, String)>);

impl Scrape {
    fn text(&self, service: &str) -> &str {
        self.0
            .iter()
            .find(|(s, _)| *s == service)
            .map_or("", |(_, t)| t.as_str())
    }
}

/// One consumer's lag for one event type over a phase (bucket upper bounds, seconds).
#[derive(Debug, Clone)]
struct LagRow {
    queue: &'static str,
    event: String,
    count: u64,
    p50: Option<f64>,
    p99: Option<f64>,
}

impl LagRow {
    fn json(&self) -> serde_json::Value {
        let s = |v: Option<f64>| {
            v.map(|x| {
                if x.is_finite() {
                    json!(x)
                } else {
                    json!("inf")
                }
            })
        };
        json!({ "queue": self.queue, "event": self.event, "count": self.count, "p50_le_s": s(self.p50), "p99_le_s": s(self.p99) })
    }
}

fn secs_le(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x.is_finite() => format!("<= {x} s"),
        Some(_) => "> 300 s".into(),
    }
}

/// Everything the run needs between phases.
struct Ctx<'a> {
    mesh: &'a Mesh,
    http: reqwest::Client,
    url: String,
    seq: Arc<AtomicU64>,
    probe: Option<Probe>,
    cfg: &'a Config,
}

/// What one phase under load did to the whole pipeline.
struct Phase {
    paced: Paced,
    /// The highest backlog (every consumer queue and the outbox) sampled during the load.
    max_backlog: u64,
    /// The backlog when the load ended.
    end_backlog: Depths,
    /// From the end of the load until every consumer of `request.created` had handled every
    /// accepted request and every queue was empty; `None` when the drain deadline passed.
    caught_up: Option<Duration>,
    lags: Vec<LagRow>,
}

impl Phase {
    fn lag_of(&self, queue: &str, event: &str) -> Option<&LagRow> {
        self.lags
            .iter()
            .find(|r| r.queue == queue && r.event == event)
    }

    /// Why this phase does not count as keeping pace at `rate` (empty: it does).
    fn shortfalls(&self, rate: f64, offered: u64) -> Vec<String> {
        let mut why = Vec::new();
        let s = &self.paced.summary;
        if s.ok < offered {
            why.push(format!("{} of {offered} accepted", s.ok));
        }
        if self.end_backlog.total() as f64 > rate {
            why.push(format!(
                "backlog {} at the end of the load (over 1 s of it)",
                self.end_backlog.total()
            ));
        }
        if self.caught_up.is_none() {
            why.push("did not catch up before the drain deadline".into());
        }
        for row in &self.lags {
            if row.p99.is_some_and(|p| p > LAG_GOAL_S) {
                why.push(format!(
                    "{} lag of {} p99 {}",
                    row.queue,
                    row.event,
                    secs_le(row.p99)
                ));
            }
        }
        why
    }

    fn print(&self) {
        self.paced.summary.print("accepted");
        println!(
            "  {:<22}max {} during the load; {} at its end ({})",
            "backlog",
            self.max_backlog,
            self.end_backlog.total(),
            self.end_backlog.describe()
        );
        match self.caught_up {
            Some(d) => println!(
                "  {:<22}every consumer done {:.2} s after the load ended",
                "caught up",
                d.as_secs_f64()
            ),
            None => println!("  {:<22}NOT within the drain deadline", "caught up"),
        }
        for row in &self.lags {
            println!(
                "  {:<22}{:<11}{:<30}{:>7}  p50 {:<10} p99 {}",
                "lag",
                row.queue,
                row.event,
                row.count,
                secs_le(row.p50),
                secs_le(row.p99)
            );
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "accepted": self.paced.summary.json(),
            "max_backlog": self.max_backlog,
            "end_backlog": self.end_backlog.total(),
            "caught_up_s": self.caught_up.map(|d| round2(d.as_secs_f64())),
            "lags": self.lags.iter().map(LagRow::json).collect::<Vec<_>>(),
        })
    }
}

impl Ctx<'_> {
    async fn scrape(&self) -> Scrape {
        let mut out = Vec::new();
        for svc in &self.mesh.services {
            let text = match self.http.get(self.mesh.url(svc, "/metrics")).send().await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            out.push((*svc, text));
        }
        Scrape(out)
    }

    /// Runs `load` while sampling the backlog, then waits until the pipeline caught up and reads
    /// the lags the phase added.
    async fn measure(&mut self, load: impl std::future::Future<Output = Paced>) -> Phase {
        let before = self.scrape().await;
        let mut probe = self.probe.take().expect("probe");
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut max = 0;
                while !stop.load(Ordering::Relaxed) {
                    max = max.max(probe.depths().await.total());
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                (probe, max)
            })
        };
        let paced = load.await;
        stop.store(true, Ordering::Relaxed);
        let (mut probe, max_backlog) = sampler.await.expect("sampler");
        let end_backlog = probe.depths().await;
        let n = paced.summary.ok;
        let deadline = paced.end + self.cfg.drain();
        let caught_up = loop {
            let now = self.scrape().await;
            let all_handled = CREATED_CONSUMERS.iter().all(|q| {
                let d = lag(now.text(q), q, kind::REQUEST_CREATED).since(&lag(
                    before.text(q),
                    q,
                    kind::REQUEST_CREATED,
                ));
                d.count() >= n
            });
            if all_handled && probe.depths().await.total() == 0 {
                break Some(paced.end.elapsed());
            }
            if Instant::now() >= deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let after = self.scrape().await;
        self.probe = Some(probe);
        let mut lags = Vec::new();
        for (svc, text) in &after.0 {
            for event in Buckets::events_of(text, svc) {
                let d = lag(text, svc, &event).since(&lag(before.text(svc), svc, &event));
                if d.count() > 0 {
                    lags.push(LagRow {
                        queue: svc,
                        event,
                        count: d.count(),
                        p50: d.quantile(0.50),
                        p99: d.quantile(0.99),
                    });
                }
            }
        }
        Phase {
            paced,
            max_backlog,
            end_backlog,
            caught_up,
            lags,
        }
    }

    /// An open-loop phase of `total` requests at `rate`, measured end to end.
    async fn paced(&mut self, rate: f64, total: u64, body: fn(u64) -> serde_json::Value) -> Phase {
        let (http, url, seq) = (self.http.clone(), self.url.clone(), self.seq.clone());
        let load = async move { open_loop(&http, &url, rate, total, body, &seq).await };
        self.measure(load).await
    }
}

// ---------------------------------------------------------------------------------------------
// The burst: one category, one region
// ---------------------------------------------------------------------------------------------

fn burst_phone(i: u64) -> String {
    format!("+7700{:07}", i % 10_000_000)
}

fn burst_submission(i: u64) -> serde_json::Value {
    json!({ "channel": "web", "customer": { "msisdn": burst_phone(i) }, "text": BURST_TEXT })
}

/// Puts customers `0..n` of the burst in the directory, in [`BURST_REGION`].
async fn seed_burst_customers(store: &Store, n: u64) {
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, next) = (store.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    let msisdn = burst_phone(i);
                    let record = DirectoryCustomer {
                        msisdn: msisdn.clone(),
                        name: format!("Bench customer {i}"),
                        language: komek_domain::Lang::Ru,
                        region: BURST_REGION.into(),
                        tariff: "bench".into(),
                    };
                    let json = serde_json::to_string(&record).expect("record");
                    let change = RecordChange {
                        msisdn: &msisdn,
                        read: None,
                        json: &json,
                        old_email: None,
                        new_email: None,
                    };
                    store
                        .put_customer_record(&change)
                        .await
                        .unwrap_or_else(|e| setup_failed("seed the directory", &e));
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("seed task");
    }
}

struct Burst {
    rate: f64,
    phase: Phase,
    /// The threshold's request (the `min_count`-th accepted) was answered at this point.
    threshold: u64,
    /// From that answer until `spike:open:…` appeared (negative: the detector was first).
    opened_after_ms: Option<f64>,
    /// Requests of the burst linked to the candidate when the pipeline caught up.
    linked: u64,
}

impl Burst {
    fn json(&self) -> serde_json::Value {
        json!({
            "rate": self.rate,
            "phase": self.phase.json(),
            "threshold": self.threshold,
            "candidate_opened_after_ms": self.opened_after_ms.map(round2),
            "linked": self.linked,
        })
    }
}

async fn burst(ctx: &mut Ctx<'_>, settings: &Settings, store: &Store, rate: f64) -> Burst {
    let n = ctx.cfg.burst;
    seed_burst_customers(store, n).await;
    let category = classify::classify(None, BURST_TEXT).0;
    let open_key = store.keys().spike_open(category.as_str(), BURST_REGION);
    let threshold = settings.spikes.min_count.max(1);
    // Watches for the candidate from outside, every 10 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, open_key) = (stop.clone(), open_key.clone());
        let mut redis = redis_conn(settings).await;
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let v: Option<String> = redis::cmd("GET")
                    .arg(&open_key)
                    .query_async(&mut redis)
                    .await
                    .unwrap_or(None);
                if let Some(id) = v {
                    return Some((Instant::now(), id));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            None
        })
    };
    // The burst numbers its customers from 0, as seeded: not from the run's sequence.
    let run_seq = std::mem::replace(&mut ctx.seq, Arc::new(AtomicU64::new(0)));
    let phase = ctx.paced(rate, n, burst_submission).await;
    ctx.seq = run_seq;
    stop.store(true, Ordering::Relaxed);
    let seen = watcher.await.expect("watcher");
    let threshold_at = usize::try_from(threshold - 1)
        .ok()
        .and_then(|i| phase.paced.accepted_at.get(i).copied());
    let opened_after_ms = match (seen.as_ref(), threshold_at) {
        (Some((at, _)), Some(t)) => Some(if *at >= t {
            (*at - t).as_secs_f64() * 1000.0
        } else {
            -((t - *at).as_secs_f64() * 1000.0)
        }),
        _ => None,
    };
    let linked = match seen.and_then(|(_, id)| id.parse::<uuid::Uuid>().ok()) {
        Some(id) => {
            let mut redis = redis_conn(settings).await;
            redis::cmd("SCARD")
                .arg(store.keys().problem_requests(id))
                .query_async(&mut redis)
                .await
                .unwrap_or(0)
        }
        None => 0,
    };
    Burst {
        rate,
        phase,
        threshold,
        opened_after_ms,
        linked,
    }
}

// ---------------------------------------------------------------------------------------------
// Redis bytes per request
// ---------------------------------------------------------------------------------------------

async fn used_memory(redis: &mut redis::aio::MultiplexedConnection) -> i64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(redis)
        .await
        .unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Takes a queued request through assigned, in progress (one reply), resolved and closed, one
/// commit each, as agents and the watcher do.
async fn close(store: &Store, id: komek_domain::RequestId) {
    let steps = [
        (Status::Assigned, "assigned"),
        (Status::InProgress, "replied"),
        (Status::Resolved, "resolved"),
        (Status::Closed, "closed"),
    ];
    for (to, action) in steps {
        let now = OffsetDateTime::now_utc();
        store
            .update_request(id, None, |r| {
                match to {
                    Status::Assigned => r.owner = Some("bench-agent".into()),
                    Status::InProgress => {
                        r.first_response_at = Some(now);
                        r.messages.push(Message {
                            kind: MessageKind::Reply,
                            text: "Проверили: на вашей базовой станции ведутся работы, связь восстановится к вечеру.".into(),
                            at: now,
                        });
                    }
                    Status::Resolved => r.messages.push(Message {
                        kind: MessageKind::Resolution,
                        text: "Работы завершены, связь восстановлена. Спасибо за терпение!".into(),
                        at: now,
                    }),
                    _ => {}
                }
                let change = r.move_to(to, "agent:bench-agent", action, None, now)?;
                Ok::<_, komek_domain::TransitionError>(Mutation {
                    change,
                    event: None,
                    ops: vec![],
                })
            })
            .await
            .unwrap_or_else(|e| setup_failed("close a request", &e));
    }
}

struct Memory {
    requests: u64,
    open_bytes: f64,
    closed_bytes: f64,
}

async fn memory(n: u64) -> Memory {
    let settings = komek_testkit::test_settings("bench-mem");
    let store = Store::connect(&settings.redis)
        .await
        .unwrap_or_else(|e| setup_failed("connect to Redis", &e));
    let mut redis = redis_conn(&settings).await;
    let before = used_memory(&mut redis).await;
    let requests = fill_queued(&store, &settings, 0, n, true, build_request).await;
    let open = used_memory(&mut redis).await;
    let next = Arc::new(AtomicU64::new(0));
    let ids: Arc<Vec<_>> = Arc::new(requests.iter().map(|r| r.id).collect());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, next, ids) = (store.clone(), next.clone(), ids.clone());
            tokio::spawn(async move {
                loop {
                    let i =
                        usize::try_from(next.fetch_add(1, Ordering::Relaxed)).unwrap_or(usize::MAX);
                    let Some(id) = ids.get(i) else { return };
                    close(&store, *id).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("close task");
    }
    let closed = used_memory(&mut redis).await;
    let _ = store.delete_all().await;
    let per = |bytes: i64| bytes as f64 / n.max(1) as f64;
    Memory {
        requests: n,
        open_bytes: per(open - before),
        closed_bytes: per(closed - before),
    }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/// `appendonly` and `appendfsync` of the Redis under test: they decide what a commit costs.
async fn redis_durability(redis: &mut redis::aio::MultiplexedConnection) -> (String, bool) {
    let mut values = Vec::new();
    let mut always = false;
    for name in ["appendonly", "appendfsync"] {
        let pair: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query_async(redis)
            .await
            .unwrap_or_default();
        let value = pair.get(1).map_or("?", String::as_str);
        if name == "appendfsync" && value == "always" {
            always = true;
        }
        values.push(format!("{name} {value}"));
    }
    let on: bool = values.first().is_some_and(|v| v.ends_with("yes"));
    (values.join(", "), on && always)
}

fn redis_address(settings: &Settings) -> String {
    let url = settings.redis.url.expose_secret();
    // Only host and port: the URL may carry a password.
    url.rsplit('@')
        .next()
        .unwrap_or(url)
        .trim_start_matches("redis://")
        .to_owned()
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
    let mut redis = redis_conn(&settings).await;
    let (durability, durable) = redis_durability(&mut redis).await;
    let store = Store::connect(&settings.redis)
        .await
        .unwrap_or_else(|e| setup_failed("connect to Redis", &e));
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(CALL_TIMEOUT)
        .pool_max_idle_per_host(cfg.concurrency.max(256))
        .build()
        .unwrap_or_else(|e| setup_failed("build the HTTP client", &e));

    println!("komek-bench");
    println!("===========");
    println!("machine       {cores} cores; client, four services, Redis and RabbitMQ share them");
    println!(
        "mesh          prefix {} (release binaries), intake at {url}",
        settings.redis.prefix
    );
    println!("redis         {}, {durability}", redis_address(&settings));
    if !durable {
        println!(
            "              WARNING: this Redis does not fsync every write; `make bench` starts one that does (scripts/deps.sh bench-redis)"
        );
    }
    println!("rabbitmq      127.0.0.1:5672");
    println!(
        "settings      acceptance {} req/s; steps {:?} req/s of {} s; {} s per other phase; burst {}; concurrency {}; drain deadline {} s",
        cfg.rate, cfg.rates, cfg.step_secs, cfg.secs, cfg.burst, cfg.concurrency, cfg.drain_secs
    );

    let mut ctx = Ctx {
        mesh: &mesh,
        http: http.clone(),
        url: url.clone(),
        seq: Arc::new(AtomicU64::new(0)),
        probe: Some(Probe::connect(&settings).await),
        cfg: &cfg,
    };

    heading(&format!(
        "1. Acceptance, open loop: POST /api/v1/requests at {} req/s for {} s",
        cfg.rate, cfg.secs
    ));
    let accept_total = (cfg.rate * cfg.secs as f64).round() as u64;
    let acceptance = ctx.paced(cfg.rate, accept_total, submission).await;
    acceptance.print();
    if std::env::var("KOMEK_BENCH_ONLY").is_ok_and(|v| v == "acceptance") {
        // For profiling one steady load (`perf record` alongside): nothing else.
        drop(ctx);
        mesh.stop();
        komek_testkit::cleanup(&settings).await;
        return;
    }

    heading(&format!(
        "2. Sustained end to end: each rate for {} s; holds when all is accepted, the backlog stays under 1 s of load and every consumer's p99 lag <= {LAG_GOAL_S} s",
        cfg.step_secs
    ));
    let mut steps = Vec::new();
    let mut sustained: Option<f64> = None;
    for &rate in &cfg.rates {
        println!("  --- {rate} req/s");
        let total = (rate * cfg.step_secs as f64).round() as u64;
        let phase = ctx.paced(rate, total, submission).await;
        phase.print();
        let why = phase.shortfalls(rate, total);
        if why.is_empty() {
            println!("  {:<22}yes", "holds");
            sustained = Some(rate);
        } else {
            println!("  {:<22}no: {}", "holds", why.join("; "));
        }
        let holds = why.is_empty();
        steps.push(json!({ "rate": rate, "holds": holds, "why_not": why, "phase": phase.json() }));
        if !holds {
            break;
        }
    }
    match sustained {
        Some(r) => println!("  highest rate that holds: {r} req/s"),
        None => println!("  no rate held"),
    }

    let burst_rate = sustained.unwrap_or(cfg.rates[0]);
    heading(&format!(
        "3. Burst: {} requests about no signal from customers in {BURST_REGION}, at {burst_rate} req/s",
        cfg.burst
    ));
    let burst = burst(&mut ctx, &settings, &store, burst_rate).await;
    burst.phase.print();
    let spike_lag = burst.phase.lag_of("escalation", kind::REQUEST_CREATED);
    println!(
        "  {:<22}{}",
        "candidate opened",
        burst.opened_after_ms.map_or("never".into(), |ms| format!(
            "{ms:.0} ms after the threshold's request (the {}th) was accepted",
            burst.threshold
        ))
    );
    println!(
        "  {:<22}{} of {} accepted requests joined it; spike detection p99 lag {}",
        "joined",
        burst.linked,
        burst.phase.paced.summary.ok,
        secs_le(spike_lag.and_then(|r| r.p99))
    );

    heading(&format!(
        "4. Front door: {} workers back to back for {} s, then the pipeline catches up",
        cfg.concurrency, cfg.secs
    ));
    let (http2, url2, seq2, cfg2) = (http.clone(), url.clone(), ctx.seq.clone(), cfg.clone());
    let front_phase = ctx
        .measure(async move {
            let (summary, end) = closed_loop(&http2, &url2, &cfg2, &seq2).await;
            Paced {
                summary,
                end,
                accepted_at: Vec::new(),
            }
        })
        .await;
    let front = front_phase.paced.clone();
    front_phase.print();
    let front_e2e = front_phase
        .caught_up
        .map(|d| front.summary.ok as f64 / (front.summary.secs + d.as_secs_f64()));
    if let Some(r) = front_e2e {
        println!(
            "  {:<22}{r:.1} req/s from the first call until every consumer was done",
            "end to end"
        );
    }

    drop(ctx);
    // The rest runs on a quiet machine: the services would only compete for the same cores.
    mesh.stop();

    heading(&format!(
        "5. Redis bytes per request ({} requests, used_memory deltas)",
        cfg.mem_requests
    ));
    let mem = memory(cfg.mem_requests).await;
    println!(
        "  {:<22}{:.0} bytes (queued: document, history, number, search index, queues, deadlines)",
        "open request", mem.open_bytes
    );
    println!(
        "  {:<22}{:.0} bytes (after assigned, a reply, resolved, closed: 5 history lines, 3 messages)",
        "closed request", mem.closed_bytes
    );

    let ceiling_settings = komek_testkit::test_settings("bench-ceiling");
    heading(&format!(
        "6a. Ceiling: Redis commit script alone (Store::create_request), {} tasks for {} s",
        cfg.concurrency, cfg.secs
    ));
    let redis_ceiling = redis_ceiling(&ceiling_settings, &cfg).await;
    redis_ceiling.print("ops");

    heading(&format!(
        "6b. Ceiling: confirmed publishes alone (durable quorum queue, {} tasks on {} channels) for {} s",
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
    let share = |x: f64| if lower > 0.0 { x / lower * 100.0 } else { 0.0 };
    heading("Share of the lower raw ceiling");
    println!(
        "  lower ceiling          {lower_name}, {lower:.1}/s (the same Redis work, or a confirmed publish, with no Komek around it)"
    );
    println!(
        "  front door             {:.1} req/s accepted = {:.1}%",
        front.summary.per_sec,
        share(front.summary.per_sec)
    );
    match sustained {
        Some(r) => println!(
            "  sustained end to end   {r:.1} req/s = {:.1}% (every consumer keeping pace, lag p99 <= {LAG_GOAL_S} s)",
            share(r)
        ),
        None => println!("  sustained end to end   no rate held"),
    }

    komek_testkit::cleanup(&settings).await;
    komek_testkit::cleanup(&ceiling_settings).await;

    let report = json!({
        "config": { "rate": cfg.rate, "rates": cfg.rates, "secs": cfg.secs, "step_secs": cfg.step_secs, "burst": cfg.burst, "concurrency": cfg.concurrency, "drain_secs": cfg.drain_secs, "cores": cores, "redis": durability },
        "acceptance": acceptance.json(),
        "steps": steps,
        "sustained_per_sec": sustained,
        "burst": burst.json(),
        "front_door": { "phase": front_phase.json(), "end_to_end_per_sec": front_e2e.map(round2) },
        "memory": { "requests": mem.requests, "open_bytes": round2(mem.open_bytes), "closed_bytes": round2(mem.closed_bytes) },
        "redis_ceiling": redis_ceiling.json(),
        "amqp_ceiling": { "summary": amqp.summary.json(), "payload_bytes": amqp.payload_bytes, "in_queue_at_delete": amqp.in_queue_at_delete },
        "share": { "lower_ceiling": lower_name, "lower_ceiling_per_sec": round2(lower), "front_door_percent": round2(share(front.summary.per_sec)), "sustained_percent": sustained.map(|r| round2(share(r))) },
    });
    bench_json(&report);
}
