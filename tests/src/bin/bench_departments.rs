//! komek-bench-departments: how fast the department side resolves problems, counts spikes and
//! watches department deadlines on this machine.
//!
//! Run it with a release build of every binary first:
//!
//! ```text
//! cargo build --release --workspace --bins
//! cargo run --release -p komek-e2e --bin komek-bench-departments
//! ```
//!
//! Against the machine's Redis (127.0.0.1:6379) and RabbitMQ (127.0.0.1:5672), each part under a
//! unique prefix of its own (`komek_testkit::test_settings`, removed at the end with
//! `komek_testkit::cleanup`), it measures:
//!
//! 1. **Problem resolution**: 2,000 open requests stored directly, as intake and the workspace
//!    consumer store them (create, then `new → queued`, the store deriving the queue and deadline
//!    entries in one commit; languages kk / ru / en, web customers with a phone number only, and
//!    the test settings have SMS and mail off), their outbox events dropped so no consumer sees
//!    them; then the four release binaries (`komek_e2e::Mesh`, on that prefix, demo data seeded)
//!    and the supervisor saule signed in. One problem is opened through the escalation service
//!    (`POST /api/v1/problems`), the requests are linked by number in batches of 1,000
//!    (`POST /api/v1/problems/{id}/requests`: time per batch, and the time until the workspace has
//!    applied every `problem.linked`), then `POST /api/v1/problems/{id}/resolve` with a text per
//!    language. Each request's `resolved_by_problem` history line carries the time the workspace
//!    resolved it; throughput = requests / (last of those − the moment the resolve call was sent).
//!    Checks: every request `resolved`, each with exactly one `resolved_by_problem` line.
//! 2. **Spike detection cost** (no HTTP, no bus): what `services/escalation/src/spikes.rs` does per
//!    `request.created` when no candidate is open — `Store::spike_record` (the counting script),
//!    the read of the `spike_open` guard and `komek_domain::spike::decide` — for 20,000 events over
//!    200 keys (category × region), timed one day of traffic apart, first from one caller, then from
//!    16 concurrent callers sharing one `Store` (fresh keys for each phase). Per event p50/p99 and
//!    events/s; `decide` alone (CPU); `Store::spike_window` over the sliding window.
//! 3. **Department deadline watcher lag**: the release `komek-escalation` binary alone (demo
//!    departments stored first); 1,000 escalations stored as its consumer stores them
//!    (`Escalation::open`, `create_doc` with the department index and the `esc:deadlines` entry
//!    `{id}|0`, as `deadlines::sync_ops` makes it), due evenly within 5 s starting 3 s ahead. Lag =
//!    the `at` of the escalation's `breached` step (the time of the watcher tick that claimed it)
//!    minus the due time: p50/p99/max; beside it, the first poll (every 250 ms) that saw the
//!    breach committed, minus the due time. Checks: each breached exactly once (one `breached` step,
//!    `breaches` 1), nothing due left unclaimed or still claimed.
//!    Beside it, the department page's live socket (`/api/v1/live`): a supervisor's and a billing
//!    staff member's WebSocket are open throughout; push lag = when the `escalation.breached` push
//!    arrived minus the due time (and minus the breach's `at`), and the billing socket must get
//!    exactly billing's breaches and nothing of another department's.
//!
//! Settings (environment), defaults in brackets: `KOMEK_BENCHDEPT_REQUESTS` [2000],
//! `KOMEK_BENCHDEPT_LINK_BATCH` [1000] (at most 1,000, the API's limit), `KOMEK_BENCHDEPT_EVENTS`
//! [20000], `KOMEK_BENCHDEPT_KEYS` [200], `KOMEK_BENCHDEPT_CONCURRENCY` [16],
//! `KOMEK_BENCHDEPT_ESCALATIONS` [1000], `KOMEK_BENCHDEPT_WINDOW_SECS` [5],
//! `KOMEK_BENCHDEPT_LEAD_SECS` [3].
//!
//! It prints a plain-text report and ends with one `BENCH_JSON {...}` line. It exits non-zero only
//! when setup fails; errors under load are counted and reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use komek_domain::escalation::Escalation;
use komek_domain::events::{Envelope, kind};
use komek_domain::spike::{Thresholds, decide};
use komek_domain::staff::Role;
use komek_domain::{
    Category, HistoryEntry, Lang, Msisdn, Priority, Request, RequestId, RequestNumber, Status,
};
use komek_e2e::bench::{
    FILL_TASKS, RequestSpec, Rng, Solo, Stats, TEXTS, Ws, banner, bench_json, count_warnings,
    env_or, epoch_ms, fill_queued, heading, http_client, now_ms, part_store, redis_conn, round2,
    setup_failed, web_request,
};
use komek_e2e::{Mesh, MeshOptions};
use komek_settings::Settings;
use komek_store::routing::{CATEGORIES, LANGS};
use komek_store::{Op, Outcome, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// Per-call timeout of the HTTP client (a link batch of 1,000 is 1,000 commits).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// How often part 3 looks for breaches.
const POLL_MS: u64 = 250;

/// Docs read per pipelined round trip while polling.
const READ_CHUNK: usize = 500;

/// The supervisor of the demo data (`config/demo-logins.txt`).
const SUPERVISOR: (&str, &str) = ("saule", "komek-super");

#[derive(Debug, Clone, Copy)]
struct Config {
    requests: u64,
    link_batch: usize,
    events: u64,
    keys: usize,
    concurrency: usize,
    escalations: u64,
    window_secs: u64,
    lead_secs: u64,
}

impl Config {
    fn from_env() -> Self {
        let c = Self {
            requests: env_or("KOMEK_BENCHDEPT_REQUESTS", 2_000),
            link_batch: env_or("KOMEK_BENCHDEPT_LINK_BATCH", 1_000),
            events: env_or("KOMEK_BENCHDEPT_EVENTS", 20_000),
            keys: env_or("KOMEK_BENCHDEPT_KEYS", 200),
            concurrency: env_or("KOMEK_BENCHDEPT_CONCURRENCY", 16),
            escalations: env_or("KOMEK_BENCHDEPT_ESCALATIONS", 1_000),
            window_secs: env_or("KOMEK_BENCHDEPT_WINDOW_SECS", 5),
            lead_secs: env_or("KOMEK_BENCHDEPT_LEAD_SECS", 3),
        };
        let valid = c.requests > 0
            && (1..=1_000).contains(&c.link_batch)
            && c.events > 0
            && c.keys > 0
            && c.concurrency > 0
            && c.escalations > 0
            && c.window_secs > 0
            && c.lead_secs > 0;
        if !valid {
            eprintln!(
                "komek-bench-departments: every setting must be positive and the link batch at most 1000; setup failed"
            );
            std::process::exit(2);
        }
        c
    }
}

/// Reads the JSON of many versioned documents (`HGET key json`), `READ_CHUNK` per round trip.
async fn read_docs<T: serde::de::DeserializeOwned>(
    redis: &mut redis::aio::MultiplexedConnection,
    keys: &[String],
) -> Vec<Option<T>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(READ_CHUNK) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.hget(k, "json");
        }
        let raw: Vec<Option<String>> = match pipe.query_async(redis).await {
            Ok(r) => r,
            Err(_) => vec![None; chunk.len()],
        };
        out.extend(
            raw.into_iter()
                .map(|s| s.and_then(|s| serde_json::from_str(&s).ok())),
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Part 1: problem resolution
// ---------------------------------------------------------------------------------------------

/// The i-th open request: a web request from a phone number, in kk / ru / en in turn, category
/// spread, normal priority, deadlines from the policy.
fn build_request(settings: &Settings, i: u64) -> (Request, HistoryEntry, Envelope) {
    let mut rng = Rng::new(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED);
    let _ = rng.next_u64();
    let category = CATEGORIES[rng.below(CATEGORIES.len())];
    let lang_ix = (i % 3) as usize;
    let spec = RequestSpec {
        msisdn: Msisdn::parse(&format!("+7701{:07}", (i * 7919) % 10_000_000)).ok(),
        language: LANGS[lang_ix],
        category,
        priority: Priority::Normal,
        text: TEXTS[lang_ix][0].to_owned(),
    };
    web_request(settings, i, spec)
}

/// Polls the documents of the requests still pending every `every` until `done` holds for each,
/// or `within` passes; returns how many passed and when the last one was first seen passing.
async fn wait_requests(
    redis: &mut redis::aio::MultiplexedConnection,
    doc_keys: &[String],
    every: Duration,
    within: Duration,
    done: impl Fn(&Request) -> bool,
) -> (usize, Instant) {
    let until = Instant::now() + within;
    let mut pending: Vec<String> = doc_keys.to_vec();
    let mut last = Instant::now();
    loop {
        let docs: Vec<Option<Request>> = read_docs(redis, &pending).await;
        let before = pending.len();
        pending = pending
            .into_iter()
            .zip(docs)
            .filter(|(_, d)| !d.as_ref().is_some_and(&done))
            .map(|(k, _)| k)
            .collect();
        if pending.len() < before {
            last = Instant::now();
        }
        if pending.is_empty() || Instant::now() >= until {
            return (doc_keys.len() - pending.len(), last);
        }
        tokio::time::sleep(every).await;
    }
}

/// `ms` and `resolved` of the workspace's "problem resolution applied" log lines.
fn resolution_log_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| l.contains("problem resolution applied"))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            let f = if v.get("fields").is_some() {
                v["fields"].clone()
            } else {
                v
            };
            json!({"ms": f["ms"], "linked": f["linked"], "resolved": f["resolved"], "failed": f["failed"]})
        })
        .collect()
}

async fn part_problems(cfg: &Config) -> Value {
    heading(&format!(
        "1. Problem resolution: {} open requests linked in batches of {}, then resolved",
        cfg.requests, cfg.link_batch
    ));
    let (settings, store) = part_store("benchdept-prob").await;
    let prefix = settings.redis.prefix.clone();
    let mut redis = redis_conn(&settings).await;
    let keys = store.keys().clone();

    // The requests first, their outbox events dropped: no consumer or spike counter sees them.
    let t = Instant::now();
    let requests = fill_queued(&store, &settings, 0, cfg.requests, true, build_request).await;
    let fill_secs = t.elapsed().as_secs_f64();
    let _: u64 = redis::cmd("DEL")
        .arg(keys.outbox())
        .query_async(&mut redis)
        .await
        .unwrap_or_else(|e| setup_failed("drop the outbox", &e));
    let mut by_lang: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &requests {
        *by_lang.entry(r.language.as_str()).or_default() += 1;
    }
    println!(
        "  {:<24}{} queued requests stored in {:.2} s ({:?}; outbox events dropped)",
        "requests",
        requests.len(),
        fill_secs,
        by_lang
    );

    // The mesh on the same prefix (later variables win over the mesh's own prefix).
    let mut mesh = Mesh::start(MeshOptions {
        tag: "benchdept-mesh",
        profile: Some("release"),
        env: vec![
            ("KOMEK__REDIS__PREFIX".into(), prefix.clone()),
            ("KOMEK__AMQP__PREFIX".into(), settings.amqp.prefix.clone()),
        ],
        ..Default::default()
    })
    .await;
    println!(
        "  {:<24}release binaries ready; logs {}",
        "mesh",
        mesh.logs.display()
    );
    let http = http_client(CALL_TIMEOUT);
    let token = mesh.login(&http, SUPERVISOR.0, SUPERVISOR.1).await;

    // The problem.
    let t = Instant::now();
    let r = mesh
        .post_as(
            &http,
            "escalation",
            "/api/v1/problems",
            &token,
            &json!({
                "title": "Bench: mobile internet down",
                "description": "komek-bench-departments",
                "department": "network",
                "category": "internet",
            }),
        )
        .await;
    let create_ms = t.elapsed().as_secs_f64() * 1000.0;
    if r.status() != StatusCode::CREATED {
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        mesh.stop();
        setup_failed("open the problem", &format!("{status}: {body}"));
    }
    let problem: Value = r.json().await.unwrap();
    let problem_id = problem["id"].as_str().unwrap_or_default().to_owned();
    let problem_number = problem["number"].as_str().unwrap_or_default().to_owned();
    println!(
        "  {:<24}{} opened in {:.2} ms",
        "problem", problem_number, create_ms
    );

    // Linking, batch by batch.
    let link_path = format!("/api/v1/problems/{problem_id}/requests");
    let numbers: Vec<String> = requests.iter().map(|r| r.number.0.clone()).collect();
    let mut batch_ms = Vec::new();
    let (mut linked, mut already, mut refused) = (0u64, 0u64, 0u64);
    let mut link_errors: BTreeMap<String, u64> = BTreeMap::new();
    let link_started = Instant::now();
    for chunk in numbers.chunks(cfg.link_batch) {
        let t = Instant::now();
        let r = mesh
            .post_as(
                &http,
                "escalation",
                &link_path,
                &token,
                &json!({ "numbers": chunk }),
            )
            .await;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        if r.status() == StatusCode::OK {
            let v: Value = r.json().await.unwrap_or_default();
            linked += v["linked"].as_u64().unwrap_or(0);
            already += v["already"].as_u64().unwrap_or(0);
            refused += v["refused"].as_array().map_or(0, |a| a.len() as u64);
            batch_ms.push(took);
        } else {
            *link_errors.entry(r.status().to_string()).or_default() += 1;
        }
    }
    let link_secs = link_started.elapsed().as_secs_f64();
    let batch_count = batch_ms.len();
    let batches = Stats::of(batch_ms.clone());
    println!(
        "  {:<24}{} linked, {} already, {} refused in {} batches ({:.2} s); errors {:?}",
        "link", linked, already, refused, batch_count, link_secs, link_errors
    );
    println!(
        "  {:<24}{} ms (each: {})",
        "per batch",
        batches.line(),
        batch_ms
            .iter()
            .map(|m| format!("{m:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let per_link_ms = if linked > 0 {
        batch_ms.iter().sum::<f64>() / linked as f64
    } else {
        0.0
    };
    println!("  {:<24}{:.3} ms per linked request", "", per_link_ms);

    // The workspace applies each problem.linked (request.problem and a history line).
    let doc_keys: Vec<String> = requests.iter().map(|r| keys.request(r.id)).collect();
    let wanted = problem_id.parse::<Uuid>().ok();
    let (applied, applied_at) = wait_requests(
        &mut redis,
        &doc_keys,
        Duration::from_millis(250),
        Duration::from_secs(120),
        |r| r.problem.as_ref().map(|p| p.id) == wanted,
    )
    .await;
    let linked_applied_secs = applied_at
        .saturating_duration_since(link_started)
        .as_secs_f64();
    println!(
        "  {:<24}{} of {} requests show the problem, the last {:.2} s after the first link call",
        "problem.linked applied",
        applied,
        requests.len(),
        linked_applied_secs
    );

    // Resolve.
    let messages = json!({"messages": {
        "kk": "Мобильді интернет қалпына келтірілді. Кешіріңіз.",
        "ru": "Мобильный интернет восстановлен. Приносим извинения.",
        "en": "Mobile internet is restored. We apologise.",
    }});
    let sent_ms = now_ms();
    let sent = Instant::now();
    let r = mesh
        .post_as(
            &http,
            "escalation",
            &format!("/api/v1/problems/{problem_id}/resolve"),
            &token,
            &messages,
        )
        .await;
    let resolve_call_ms = sent.elapsed().as_secs_f64() * 1000.0;
    let resolve_status = r.status();
    if resolve_status != StatusCode::OK {
        let body = r.text().await.unwrap_or_default();
        println!("  resolve call answered {resolve_status}: {body}");
    }
    let within = Duration::from_secs(120 + cfg.requests / 20);
    let (resolved, observed) = wait_requests(
        &mut redis,
        &doc_keys,
        Duration::from_millis(500),
        within,
        |r| r.status == Status::Resolved,
    )
    .await;
    let observed_secs = observed.saturating_duration_since(sent).as_secs_f64();

    // Every request's history: its resolved_by_problem lines and their times.
    let mut lines_of: Vec<Vec<HistoryEntry>> = Vec::with_capacity(requests.len());
    for chunk in requests.chunks(READ_CHUNK) {
        let mut pipe = redis::pipe();
        for r in chunk {
            pipe.lrange(keys.history(r.id), 0, -1);
        }
        let raw: Vec<Vec<String>> = pipe.query_async(&mut redis).await.unwrap_or_default();
        for lines in raw {
            lines_of.push(
                lines
                    .iter()
                    .filter_map(|l| serde_json::from_str::<HistoryEntry>(l).ok())
                    .filter(|h| h.action == "resolved_by_problem")
                    .collect(),
            );
        }
    }
    let exactly_one = lines_of.iter().filter(|l| l.len() == 1).count();
    let none = lines_of.iter().filter(|l| l.is_empty()).count();
    let more = lines_of.iter().filter(|l| l.len() > 1).count();
    let mut at: Vec<i64> = lines_of
        .iter()
        .filter_map(|l| l.first().map(|h| epoch_ms(h.at)))
        .collect();
    at.sort_unstable();
    let first_ms = at.first().map_or(0, |a| a - sent_ms);
    let last_ms = at.last().map_or(0, |a| a - sent_ms);
    let span_ms = match (at.first(), at.last()) {
        (Some(a), Some(b)) => b - a,
        _ => 0,
    };
    let throughput = if last_ms > 0 {
        at.len() as f64 / (last_ms as f64 / 1000.0)
    } else {
        0.0
    };
    let consumer_throughput = if span_ms > 0 {
        at.len() as f64 / (span_ms as f64 / 1000.0)
    } else {
        0.0
    };
    let log_lines = resolution_log_lines(&mesh.log("workspace"));
    let warnings: BTreeMap<&str, usize> = komek_e2e::SERVICES
        .iter()
        .map(|s| (*s, count_warnings(&mesh.logs.join(format!("{s}.log")))))
        .collect();
    println!(
        "  {:<24}{} in {:.2} ms",
        "resolve call", resolve_status, resolve_call_ms
    );
    println!(
        "  {:<24}{} of {} resolved; first {} ms, last {} ms after the call was sent (all seen by polling at {:.2} s)",
        "resolution",
        resolved,
        requests.len(),
        first_ms,
        last_ms,
        observed_secs
    );
    println!(
        "  {:<24}{:.0} requests/s from the call; {:.0} requests/s from the first to the last resolution",
        "throughput", throughput, consumer_throughput
    );
    println!(
        "  {:<24}{} with exactly one resolved_by_problem line, {} without, {} with more",
        "check", exactly_one, none, more
    );
    println!(
        "  {:<24}{}",
        "workspace log",
        log_lines
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!("  {:<24}{:?}", "WARN/ERROR log lines", warnings);
    mesh.stop();
    komek_testkit::cleanup(&settings).await;
    komek_testkit::cleanup(&mesh.settings).await;
    json!({
        "requests": requests.len(),
        "by_language": by_lang,
        "fill_secs": round2(fill_secs),
        "problem_create_ms": round2(create_ms),
        "link_batch": cfg.link_batch,
        "linked": linked,
        "already": already,
        "refused": refused,
        "link_errors": link_errors,
        "link_batches": batches.json(),
        "link_batch_ms": batch_ms.iter().map(|m| round2(*m)).collect::<Vec<_>>(),
        "per_linked_request_ms": round2(per_link_ms),
        "linked_applied": applied,
        "linked_applied_secs": round2(linked_applied_secs),
        "resolve_status": resolve_status.as_u16(),
        "resolve_call_ms": round2(resolve_call_ms),
        "resolved": resolved,
        "first_resolution_ms": first_ms,
        "last_resolution_ms": last_ms,
        "all_seen_resolved_secs": round2(observed_secs),
        "throughput_per_sec": round2(throughput),
        "consumer_throughput_per_sec": round2(consumer_throughput),
        "exactly_one_line": exactly_one,
        "without_line": none,
        "more_than_one_line": more,
        "workspace_log": log_lines,
        "log_warnings": warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// Part 2: the cost of spike detection per event
// ---------------------------------------------------------------------------------------------

/// One event: key index, event time, request id.
type Event = (usize, OffsetDateTime, String);

/// `n` events over `keys` keys at random, one day of traffic ending now, in time order.
fn spike_events(n: u64, keys: usize, seed: u64) -> Vec<Event> {
    let mut rng = Rng::new(seed);
    let day_ms: i64 = 24 * 3_600_000;
    let start = now_ms() - day_ms;
    (0..n)
        .map(|i| {
            let at = start + day_ms * i as i64 / n as i64;
            let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
                .unwrap_or_else(|_| OffsetDateTime::now_utc());
            (rng.below(keys), t, Uuid::new_v4().to_string())
        })
        .collect()
}

/// What one phase of spike events measured.
struct SpikePhase {
    latencies: Vec<f64>,
    wall_secs: f64,
    spikes: u64,
    errors: u64,
}

/// What the escalation service does per `request.created` without an open candidate, for each
/// event, from `concurrency` callers sharing `store`.
async fn spike_phase(
    store: &Store,
    settings: &Settings,
    events: Arc<Vec<Event>>,
    key_names: Arc<Vec<(String, String)>>,
    concurrency: usize,
) -> SpikePhase {
    let cfg = settings.spikes.clone();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (store, cfg, next, events, key_names) = (
                store.clone(),
                cfg.clone(),
                next.clone(),
                events.clone(),
                key_names.clone(),
            );
            tokio::spawn(async move {
                let thresholds = Thresholds {
                    min_count: cfg.min_count,
                    factor: cfg.factor,
                    sigmas: cfg.sigmas,
                };
                let window_ms = i64::from(cfg.window_minutes.max(1)) * 60_000;
                let (mut lat, mut spikes, mut errors) = (Vec::new(), 0u64, 0u64);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some((k, at, member)) = events.get(i) else {
                        return (lat, spikes, errors);
                    };
                    let (category, region) = &key_names[*k];
                    let t0 = Instant::now();
                    let counts = store
                        .spike_record(
                            category,
                            region,
                            member,
                            *at,
                            window_ms,
                            cfg.baseline_windows,
                        )
                        .await;
                    let guard = store
                        .get_string(&store.keys().spike_open(category, region))
                        .await;
                    let spike = match (counts, guard) {
                        (Ok(Some(c)), Ok(_)) => decide(c.count, &c.baseline, &thresholds).spike,
                        (Ok(None), Ok(_)) => false,
                        _ => {
                            errors += 1;
                            continue;
                        }
                    };
                    lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    spikes += u64::from(spike);
                }
            })
        })
        .collect();
    let mut out = SpikePhase {
        latencies: Vec::new(),
        wall_secs: 0.0,
        spikes: 0,
        errors: 0,
    };
    for t in tasks {
        let (lat, spikes, errors) = t.await.unwrap();
        out.latencies.extend(lat);
        out.spikes += spikes;
        out.errors += errors;
    }
    out.wall_secs = started.elapsed().as_secs_f64();
    out
}

async fn part_spikes(cfg: &Config) -> Value {
    heading(&format!(
        "2. Spike detection per event: {} events over {} keys, 1 and {} callers",
        cfg.events, cfg.keys, cfg.concurrency
    ));
    let (settings, store) = part_store("benchdept-spike").await;
    let s = &settings.spikes;
    println!(
        "  {:<24}window {} min, {} baseline windows, min_count {}, factor {}, sigmas {}",
        "settings", s.window_minutes, s.baseline_windows, s.min_count, s.factor, s.sigmas
    );
    let names = |phase: &str| -> Arc<Vec<(String, String)>> {
        Arc::new(
            (0..cfg.keys)
                .map(|k| {
                    let category: Category = CATEGORIES[k % CATEGORIES.len()];
                    (
                        category.as_str().to_owned(),
                        format!("{phase}-region-{:03}", k / CATEGORIES.len()),
                    )
                })
                .collect(),
        )
    };
    let mut phases = Vec::new();
    for (concurrency, tag, seed) in [
        (1usize, "c1", 0xC0FF_EE01u64),
        (cfg.concurrency, "cn", 0xC0FF_EE02u64),
    ] {
        let events = Arc::new(spike_events(cfg.events, cfg.keys, seed));
        let p = spike_phase(&store, &settings, events, names(tag), concurrency).await;
        let stats = Stats::of(p.latencies.clone());
        let rate = stats.n as f64 / p.wall_secs.max(1e-9);
        println!(
            "  {:<24}{} ms; {:.0} events/s ({} events in {:.2} s, {} spike verdicts, errors {})",
            format!("{concurrency} caller(s)"),
            stats.line(),
            rate,
            stats.n,
            p.wall_secs,
            p.spikes,
            p.errors
        );
        phases.push(json!({
            "callers": concurrency,
            "per_event": stats.json(),
            "events_per_sec": round2(rate),
            "wall_secs": round2(p.wall_secs),
            "spike_verdicts": p.spikes,
            "errors": p.errors,
        }));
    }

    // The decision alone: CPU only, a full baseline.
    let baseline: Vec<u64> = (0..u64::from(s.baseline_windows)).map(|i| i % 7).collect();
    let thresholds = Thresholds {
        min_count: s.min_count,
        factor: s.factor,
        sigmas: s.sigmas,
    };
    let rounds = 100_000u64;
    let t = Instant::now();
    let mut hits = 0u64;
    for i in 0..rounds {
        hits += u64::from(decide(std::hint::black_box(i % 40), &baseline, &thresholds).spike);
    }
    let decide_ns = t.elapsed().as_secs_f64() * 1e9 / rounds as f64;
    std::hint::black_box(hits);
    println!(
        "  {:<24}{:.0} ns per call ({} baseline windows)",
        "decide alone", decide_ns, s.baseline_windows
    );

    // The sliding window's ids, as read when a candidate opens or is open.
    let key_names = names("c1");
    let window = time::Duration::minutes(i64::from(s.window_minutes.max(1)));
    let until = OffsetDateTime::now_utc();
    let mut rng = Rng::new(0x51DE);
    let (mut lat, mut ids) = (Vec::new(), 0usize);
    for _ in 0..1_000 {
        let (category, region) = &key_names[rng.below(key_names.len())];
        let t0 = Instant::now();
        if let Ok(v) = store
            .spike_window(category, region, until - window, until)
            .await
        {
            lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            ids += v.len();
        }
    }
    let window_stats = Stats::of(lat);
    let mean_ids = ids as f64 / window_stats.n.max(1) as f64;
    println!(
        "  {:<24}{} ms ({:.1} ids per window on average)",
        "spike_window",
        window_stats.line(),
        mean_ids
    );
    komek_testkit::cleanup(&settings).await;
    json!({
        "events": cfg.events,
        "keys": cfg.keys,
        "phases": phases,
        "decide_ns": round2(decide_ns),
        "spike_window": window_stats.json(),
        "spike_window_mean_ids": round2(mean_ids),
    })
}

// ---------------------------------------------------------------------------------------------
// Part 3: the department deadline watcher
// ---------------------------------------------------------------------------------------------

/// Stores escalation `k` of `departments` as the escalation consumer does on `request.escalated`,
/// due at `due_ms`.
async fn store_escalation(
    store: &Store,
    settings: &Settings,
    departments: &[String],
    k: u64,
    due_ms: i64,
) -> Result<Uuid, String> {
    let keys = store.keys();
    let now = OffsetDateTime::now_utc();
    let due = OffsetDateTime::from_unix_timestamp_nanos(i128::from(due_ms) * 1_000_000)
        .map_err(|e| e.to_string())?;
    let department = &departments[(k as usize) % departments.len()];
    let category = CATEGORIES[(k as usize) % CATEGORIES.len()];
    let esc = Escalation::open(
        Uuid::now_v7(),
        RequestId::new(),
        RequestNumber::format(&settings.requests.number_prefix, k + 1),
        department,
        "komek-bench-departments",
        "bench-agent",
        Some(category),
        Some(due),
        now,
    );
    // deadlines::sync_ops(keys, None, &esc) for an active escalation: its entry `{id}|0`.
    let ops = vec![
        Op::ZAdd {
            key: keys.department_escalations(&esc.department),
            member: esc.id.to_string(),
            score: epoch_ms(esc.created_at),
        },
        Op::ZAdd {
            key: keys.esc_deadlines(),
            member: format!("{}|{}", esc.id, esc.breaches),
            score: due_ms,
        },
    ];
    match store
        .create_doc(&keys.escalation(esc.id), &esc, None, None, ops)
        .await
    {
        Ok(Outcome::Done { .. }) => Ok(esc.id),
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// `escalation.breached` pushes on one live socket: escalation id → when it arrived (epoch ms);
/// and how many pushes named none of the socket's departments.
#[derive(Default)]
struct Pushes {
    at: HashMap<Uuid, i64>,
    foreign: u64,
}

/// A supervisor's and a billing staff member's live sockets on the escalation service.
struct LiveWatch {
    supervisor: Arc<std::sync::Mutex<Pushes>>,
    billing: Arc<std::sync::Mutex<Pushes>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl LiveWatch {
    async fn open(store: &Store, settings: &Settings, port: u16) -> Self {
        let tokens = komek_auth::Tokens::new(&settings.auth);
        let staff =
            |login: &str, role, department: Option<&str>, level| komek_domain::staff::User {
                login: login.to_owned(),
                name: login.to_owned(),
                role,
                department: department.map(str::to_owned),
                languages: vec![Lang::Ru],
                categories: vec![],
                capacity: 1,
                level,
                password_hash: String::new(),
                active: true,
                sessions_after: 0,
            };
        let saule = staff(SUPERVISOR.0, Role::Supervisor, None, 2);
        let billing1 = staff("billing1", Role::DepartmentStaff, Some("billing"), 1);
        // Every token stands for a stored person with a session (komek_auth::sessions).
        for user in [&saule, &billing1] {
            store
                .put_user(user, None)
                .await
                .unwrap_or_else(|e| setup_failed("store a staff member", &e));
        }
        let mut watch = Self {
            supervisor: Arc::default(),
            billing: Arc::default(),
            readers: Vec::new(),
        };
        for (user, into, department) in [
            (saule, watch.supervisor.clone(), None),
            (billing1, watch.billing.clone(), Some("billing")),
        ] {
            let token = komek_auth::sessions::open(store, &tokens, &user)
                .await
                .unwrap_or_else(|e| setup_failed("open a session", &e))
                .token;
            let mut ws = Ws::connect(port, &format!("/api/v1/live?token={token}"))
                .await
                .unwrap_or_else(|e| setup_failed("open a live connection", &e));
            watch.readers.push(tokio::spawn(async move {
                while let Ok(Some(text)) = ws.next_text().await {
                    let at = now_ms();
                    let Ok(v) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    let mut p = into.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(d) = department
                        && !v["departments"]
                            .as_array()
                            .is_some_and(|ds| ds.iter().any(|x| x == d))
                    {
                        p.foreign += 1;
                    }
                    if v["type"] == kind::ESCALATION_BREACHED
                        && let Some(id) = v["escalation_id"].as_str().and_then(|s| s.parse().ok())
                    {
                        p.at.entry(id).or_insert(at);
                    }
                }
            }));
        }
        watch
    }

    fn supervisor_count(&self) -> usize {
        self.supervisor.lock().map_or(0, |p| p.at.len())
    }

    fn billing_count(&self) -> usize {
        self.billing.lock().map_or(0, |p| p.at.len())
    }

    /// Prints and returns the push lags; stops the readers.
    fn report(
        &self,
        due: &HashMap<Uuid, i64>,
        breached_at: &HashMap<Uuid, i64>,
        billing_due: usize,
    ) -> Value {
        for r in &self.readers {
            r.abort();
        }
        let sup = self.supervisor.lock().unwrap_or_else(|e| e.into_inner());
        let billing = self.billing.lock().unwrap_or_else(|e| e.into_inner());
        let lag = |f: &dyn Fn(&Uuid) -> Option<i64>| {
            Stats::of(
                sup.at
                    .iter()
                    .filter_map(|(id, at)| f(id).map(|t| (at - t) as f64))
                    .collect(),
            )
        };
        let vs_due = lag(&|id| due.get(id).copied());
        let vs_breach = lag(&|id| breached_at.get(id).copied());
        println!(
            "  {:<24}supervisor socket: {} of {} breaches pushed; billing socket: {} of billing's {}, {} of other departments",
            "live pushes",
            sup.at.len(),
            breached_at.len(),
            billing.at.len(),
            billing_due,
            billing.foreign
        );
        println!("  {:<24}{}", "push − due, ms", vs_due.line());
        println!("  {:<24}{}", "push − breach at, ms", vs_breach.line());
        json!({
            "supervisor_pushes": sup.at.len(),
            "billing_pushes": billing.at.len(),
            "billing_due": billing_due,
            "billing_foreign": billing.foreign,
            "push_minus_due": vs_due.json(),
            "push_minus_breach": vs_breach.json(),
        })
    }
}

async fn part_deadlines(cfg: &Config) -> Value {
    heading(&format!(
        "3. Department deadline watcher: {} escalations due within {} s",
        cfg.escalations, cfg.window_secs
    ));
    let (settings, store) = part_store("benchdept-esc").await;
    let mut redis = redis_conn(&settings).await;
    let keys = store.keys().clone();
    let departments: Vec<String> = komek_store::directory::demo_departments()
        .into_iter()
        .map(|d| d.code)
        .collect();
    for d in komek_store::directory::demo_departments() {
        store
            .add_department(&d)
            .await
            .unwrap_or_else(|e| setup_failed("store the departments", &e));
    }

    let esc = Solo::start("escalation", &settings);
    esc.wait_ready().await;
    let live = LiveWatch::open(&store, &settings, esc.port).await;
    let w = &settings.watcher;
    println!(
        "  {:<24}release komek-escalation on port {} (watcher every {} ms, batch {}, lease {} ms); log {}",
        "watcher",
        esc.port,
        w.interval.as_millis(),
        w.batch,
        w.lease.as_millis(),
        esc.log.display()
    );

    // The escalations, due evenly over the window from `lead_secs` ahead.
    let n = cfg.escalations;
    let window_ms = i64::try_from(cfg.window_secs * 1000).unwrap_or(5_000);
    let t_first = now_ms() + i64::try_from(cfg.lead_secs * 1000).unwrap_or(3_000);
    let due_of = move |k: u64| t_first + window_ms * k as i64 / n as i64;
    let t = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let departments = Arc::new(departments);
    let tasks: Vec<_> = (0..FILL_TASKS)
        .map(|_| {
            let (store, settings, next, departments) = (
                store.clone(),
                settings.clone(),
                next.clone(),
                departments.clone(),
            );
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= n {
                        return Ok::<_, String>(out);
                    }
                    let due = due_of(k);
                    let id = store_escalation(&store, &settings, &departments, k, due).await?;
                    out.push((id, due));
                }
            })
        })
        .collect();
    let mut due_by_id: HashMap<Uuid, i64> = HashMap::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(stored) => due_by_id.extend(stored),
            Err(e) => {
                drop(esc);
                setup_failed("store an escalation", &e);
            }
        }
    }
    let stored_ms = now_ms();
    let store_secs = t.elapsed().as_secs_f64();
    println!(
        "  {:<24}{} stored in {:.2} s, {} ms before the first was due",
        "escalations",
        due_by_id.len(),
        store_secs,
        t_first - stored_ms
    );

    // Poll until every escalation shows its breach.
    let ids: Vec<Uuid> = due_by_id.keys().copied().collect();
    let doc_keys: Vec<String> = ids.iter().map(|id| keys.escalation(*id)).collect();
    let until = Instant::now()
        + Duration::from_millis(u64::try_from(t_first - now_ms() + window_ms).unwrap_or(0))
        + Duration::from_secs(60);
    let mut breached_at: HashMap<Uuid, i64> = HashMap::new();
    let mut seen_at: HashMap<Uuid, i64> = HashMap::new();
    loop {
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        let polled = now_ms();
        let pending: Vec<(Uuid, String)> = ids
            .iter()
            .zip(&doc_keys)
            .filter(|(id, _)| !breached_at.contains_key(id))
            .map(|(id, k)| (*id, k.clone()))
            .collect();
        let pk: Vec<String> = pending.iter().map(|(_, k)| k.clone()).collect();
        let docs: Vec<Option<Escalation>> = read_docs(&mut redis, &pk).await;
        for ((id, _), doc) in pending.iter().zip(docs) {
            if let Some(step) =
                doc.and_then(|e| e.steps.into_iter().find(|s| s.action == "breached"))
            {
                breached_at.insert(*id, epoch_ms(step.at));
                seen_at.insert(*id, polled);
            }
        }
        if breached_at.len() == ids.len() || Instant::now() >= until {
            break;
        }
    }
    // A second look a watcher interval or two later: a double breach would show by now.
    tokio::time::sleep(settings.watcher.interval * 4).await;
    let docs: Vec<Option<Escalation>> = read_docs(&mut redis, &doc_keys).await;
    let (mut once, mut twice, mut never) = (0usize, 0usize, 0usize);
    for d in &docs {
        let steps = d.as_ref().map_or(0, |e| {
            e.steps.iter().filter(|s| s.action == "breached").count()
        });
        let breaches = d.as_ref().map_or(0, |e| e.breaches);
        match (steps, breaches) {
            (1, 1) => once += 1,
            (0, _) => never += 1,
            _ => twice += 1,
        }
    }
    let lags: Vec<f64> = breached_at
        .iter()
        .map(|(id, at)| (at - due_by_id[id]) as f64)
        .collect();
    let early = lags.iter().filter(|l| **l < 0.0).count();
    let lag = Stats::of(lags);
    let seen = Stats::of(
        seen_at
            .iter()
            .map(|(id, at)| (at - due_by_id[id]) as f64)
            .collect(),
    );
    let left_due: u64 = redis::cmd("ZCOUNT")
        .arg(keys.esc_deadlines())
        .arg("-inf")
        .arg(now_ms())
        .query_async(&mut redis)
        .await
        .unwrap_or(0);
    let left_claimed: u64 = redis::cmd("ZCARD")
        .arg(keys.esc_deadlines_claimed())
        .query_async(&mut redis)
        .await
        .unwrap_or(0);
    // The pushes of the breaches seen, within a few seconds more.
    let billing_due = (0..n)
        .filter(|k| departments[(*k as usize) % departments.len()] == "billing")
        .count();
    let push_until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < push_until
        && (live.supervisor_count() < breached_at.len() || live.billing_count() < billing_due)
    {
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
    let live_report = live.report(&due_by_id, &breached_at, billing_due);
    let warnings = esc.warnings();
    drop(esc);
    println!(
        "  {:<24}{} of {} breached ({} before their due time); exactly once {}, more than once {}, never {}",
        "breaches",
        breached_at.len(),
        ids.len(),
        early,
        once,
        twice,
        never
    );
    println!(
        "  {:<24}{} due entries left unclaimed, {} still claimed; {} WARN/ERROR log lines",
        "index", left_due, left_claimed, warnings
    );
    println!("  {:<24}{}", "lag (at − due), ms", lag.line());
    println!(
        "  {:<24}{} (an upper bound: polled every {POLL_MS} ms)",
        "seen − due, ms",
        seen.line()
    );
    komek_testkit::cleanup(&settings).await;
    json!({
        "live": live_report,
        "escalations": ids.len(),
        "window_secs": cfg.window_secs,
        "lead_secs": cfg.lead_secs,
        "store_secs": round2(store_secs),
        "stored_before_first_due_ms": t_first - stored_ms,
        "interval_ms": settings.watcher.interval.as_millis() as u64,
        "batch": settings.watcher.batch,
        "breached": breached_at.len(),
        "breached_early": early,
        "exactly_once": once,
        "more_than_once": twice,
        "never": never,
        "left_due": left_due,
        "left_claimed": left_claimed,
        "log_warnings": warnings,
        "lag": lag.json(),
        "seen_lag": seen.json(),
        "poll_ms": POLL_MS,
    })
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() {
    let cfg = Config::from_env();
    let cores = banner("komek-bench-departments", &cfg);
    let started = Instant::now();

    let problems = part_problems(&cfg).await;
    let spikes = part_spikes(&cfg).await;
    let watcher = part_deadlines(&cfg).await;

    println!();
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    let report = json!({
        "config": {
            "cores": cores,
            "requests": cfg.requests,
            "link_batch": cfg.link_batch,
            "events": cfg.events,
            "keys": cfg.keys,
            "concurrency": cfg.concurrency,
            "escalations": cfg.escalations,
            "window_secs": cfg.window_secs,
            "lead_secs": cfg.lead_secs,
        },
        "problems": problems,
        "spikes": spikes,
        "watcher": watcher,
        "total_secs": round2(started.elapsed().as_secs_f64()),
    });
    bench_json(&report);
}
