//! komek-bench-workspace: how fast the workspace routes work and watches deadlines on this machine.
//!
//! Run it with `make bench` (release build of every binary first, then `komek-bench`, then this),
//! or after a release build:
//!
//! ```text
//! cargo build --release --workspace --bins
//! cargo run --release -p komek-e2e --bin komek-bench-workspace
//! ```
//!
//! Against the machine's Redis (127.0.0.1:6379) and RabbitMQ (127.0.0.1:5672), each part under a
//! unique prefix of its own (`komek_testkit::test_settings`, removed at the end with
//! `komek_testkit::cleanup`), it measures:
//!
//! 1. **Assignment decision time** (`Store::take_next_for`, no HTTP): 10,000 queued requests spread
//!    over categories, languages and priorities, stored as intake and the workspace consumer store
//!    them (create, then `new → queued`, the store deriving the queue and deadline entries,
//!    in one commit), and 500 online agents with varied languages, categories, capacities and
//!    levels (`Store::add_user`, `Store::set_presence`). Agents with room left are picked at
//!    random; first one caller at a time, then 32 concurrent callers (the queue is topped up to
//!    10,000 before each phase). Latency of each call that assigned a request and of the calls
//!    that returned nothing (counted by agent level, and whether the agent had just been filled
//!    by another caller), and a check that no request was assigned twice and every owner set
//!    holds what was assigned.
//! 2. **Intake to offer on the live connection**: the four release binaries (`komek_e2e::Mesh`),
//!    the demo agents aigerim, daniyar and marat signed in, their WebSockets open
//!    (`/api/v1/live`), online; requests posted open loop at a fixed rate; per request, the time
//!    from sending `POST /api/v1/requests` to the `offer.made` push on any socket. Each agent
//!    accepts its offers (`POST /api/v1/offers/{id}/accept`) and resolves them at once
//!    (`POST /api/v1/requests/{id}/resolve`), so capacity frees up.
//! 3. **Deadline watcher lag with 1,000,000 open entries**: the deadline index `{prefix}:deadlines`
//!    filled with 1,000,000 `{uuid}|fr_warn|{ms}` entries due over the next hours (pipelined
//!    `ZADD`); the time of one `Store::claim_due` with nothing due and with a full batch due; then
//!    the release `komek-workspace` binary runs its watcher while 2,000 real queued requests get a
//!    first-response warning due within a few seconds. Lag = the `at` of each request's
//!    `deadline_warning` history line (taken by `watcher::fire` just before its commit) minus the
//!    entry's due time.
//!
//! The WebSocket client is `komek_e2e::bench::Ws` (tokio-tungstenite).
//!
//! Settings (environment), defaults in brackets: `KOMEK_BENCHWS_WAITING` [10000],
//! `KOMEK_BENCHWS_AGENTS` [500], `KOMEK_BENCHWS_SEQUENTIAL` [1000] and `KOMEK_BENCHWS_CONCURRENT`
//! [2000] (assignments per phase), `KOMEK_BENCHWS_CONCURRENCY` [32], `KOMEK_BENCHWS_RATE` [20
//! requests/s] and `KOMEK_BENCHWS_SECS` [10] (part 2), `KOMEK_BENCHWS_DEADLINES` [1000000],
//! `KOMEK_BENCHWS_FIRINGS` [2000] and `KOMEK_BENCHWS_WINDOW_SECS` [5] (part 3).
//!
//! It prints a plain-text report and ends with one `BENCH_JSON {...}` line. It exits non-zero only
//! when setup fails; errors under load are counted and reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use komek_domain::events::{Envelope, kind};
use komek_domain::staff::{Presence, Role, User};
use komek_domain::{Category, HistoryEntry, Lang, Msisdn, Priority, Request, RequestId, Status};
use komek_e2e::bench::{
    FILL_TASKS, OPERATORS, RequestSpec, Rng, Solo, Stats, TEXTS, Ws, banner, bench_json, env_or,
    epoch_ms, fill_queued, heading, http_client, now_ms, part_store, phone, redis_conn, round2,
    setup_failed, text, web_request,
};
use komek_e2e::{Mesh, MeshOptions};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::routing::{CATEGORIES, LANGS};
use serde_json::{Value, json};

/// Per-call timeout of the HTTP client.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Members per `ZADD` and `ZADD`s per pipelined round trip when filling the deadline index.
const ZADD_MEMBERS: usize = 5_000;
const ZADD_PER_PIPE: usize = 10;

#[derive(Debug, Clone, Copy)]
struct Config {
    waiting: u64,
    agents: usize,
    sequential: u64,
    concurrent: u64,
    concurrency: usize,
    rate: f64,
    secs: u64,
    deadlines: u64,
    firings: u64,
    window_secs: u64,
}

impl Config {
    fn from_env() -> Self {
        let c = Self {
            waiting: env_or("KOMEK_BENCHWS_WAITING", 10_000),
            agents: env_or("KOMEK_BENCHWS_AGENTS", 500),
            sequential: env_or("KOMEK_BENCHWS_SEQUENTIAL", 1_000),
            concurrent: env_or("KOMEK_BENCHWS_CONCURRENT", 2_000),
            concurrency: env_or("KOMEK_BENCHWS_CONCURRENCY", 32),
            rate: env_or("KOMEK_BENCHWS_RATE", 20.0),
            secs: env_or("KOMEK_BENCHWS_SECS", 10),
            deadlines: env_or("KOMEK_BENCHWS_DEADLINES", 1_000_000),
            firings: env_or("KOMEK_BENCHWS_FIRINGS", 2_000),
            window_secs: env_or("KOMEK_BENCHWS_WINDOW_SECS", 5),
        };
        let positive = c.waiting > 0
            && c.agents > 0
            && c.concurrency > 0
            && c.rate.is_finite()
            && c.rate > 0.0
            && c.secs > 0
            && c.firings > 0
            && c.window_secs > 0;
        if !positive {
            eprintln!("komek-bench-workspace: every setting must be positive; setup failed");
            std::process::exit(2);
        }
        c
    }
}

// ---------------------------------------------------------------------------------------------
// Requests stored as intake and the workspace consumer store them
// ---------------------------------------------------------------------------------------------

/// The i-th generated request: category, language and priority spread (language weighted ru 5,
/// kk 3, en 2; priority urgent 1, high 4, normal 10, low 5 in 20), deadlines from the policy.
fn build_request(settings: &Settings, i: u64) -> (Request, HistoryEntry, Envelope) {
    let mut rng = Rng::new(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5A5_5A5A);
    let _ = rng.next_u64();
    let category = CATEGORIES[rng.below(CATEGORIES.len())];
    let language = match rng.below(10) {
        0..=4 => Lang::Ru,
        5..=7 => Lang::Kk,
        _ => Lang::En,
    };
    let priority = match rng.below(20) {
        0 => Priority::Urgent,
        1..=4 => Priority::High,
        5..=14 => Priority::Normal,
        _ => Priority::Low,
    };
    let lang_ix = LANGS.iter().position(|l| *l == language).unwrap_or(0);
    let spec = RequestSpec {
        msisdn: Msisdn::parse(&phone(i)).ok(),
        language,
        category,
        priority,
        text: TEXTS[lang_ix][rng.below(TEXTS[lang_ix].len())].to_owned(),
    };
    web_request(settings, i, spec)
}

// ---------------------------------------------------------------------------------------------
// Part 1: assignment decision time
// ---------------------------------------------------------------------------------------------

/// Agent `i`: languages, categories and capacity varied over the population.
fn bench_agent(i: usize) -> User {
    let languages = match i % 6 {
        0 => vec![Lang::Ru],
        1 => vec![Lang::Kk, Lang::Ru],
        2 => vec![Lang::Ru, Lang::En],
        3 => vec![Lang::Kk],
        4 => vec![Lang::En],
        _ => vec![Lang::Kk, Lang::Ru, Lang::En],
    };
    let categories = match (i / 6) % 5 {
        1 => vec![Category::Billing, Category::Tariff, Category::Other],
        2 => vec![Category::Network, Category::Internet],
        3 => vec![Category::Roaming, Category::SimCard, Category::Other],
        _ => Vec::new(),
    };
    // Through serde, so fields this bench does not set take their stored defaults. `level`
    // (1-3) is ignored by a `User` without it.
    serde_json::from_value(json!({
        "login": format!("bench-agent-{i:04}"),
        "name": format!("Bench agent {i}"),
        "role": Role::Agent,
        "languages": languages,
        "categories": categories,
        "capacity": 4 + (i % 9) as u32,
        "level": 1 + (i % 3) as u8,
        // Nobody signs in as these agents.
        "password_hash": "-",
    }))
    .expect("a valid user")
}

/// The agent's level as stored, or "-" for a `User` without one.
fn level_of(u: &User) -> String {
    serde_json::to_value(u)
        .ok()
        .and_then(|v| v["level"].as_u64())
        .map_or("-".into(), |l| l.to_string())
}

/// Agents with room left, as this run counts them (only the bench assigns under its prefix).
struct Pool {
    rng: Rng,
    load: Vec<u32>,
    open: Vec<usize>,
}

impl Pool {
    fn pick(&mut self, agents: &[User]) -> Option<usize> {
        while !self.open.is_empty() {
            let k = self.rng.below(self.open.len());
            let a = self.open[k];
            if self.load[a] < agents[a].capacity {
                return Some(a);
            }
            self.open.swap_remove(k);
        }
        None
    }
}

/// One phase's calls.
#[derive(Default)]
struct Calls {
    assigned_ms: Vec<f64>,
    none_ms: Vec<f64>,
    /// The agent of each call that returned nothing.
    none_agents: Vec<usize>,
    /// Of those, calls whose agent was at capacity just after (another caller filled it first).
    none_at_capacity: u64,
    errors: BTreeMap<String, u64>,
    /// (request, agent index) per assignment.
    taken: Vec<(RequestId, usize)>,
}

impl Calls {
    fn merge(&mut self, o: Calls) {
        self.assigned_ms.extend(o.assigned_ms);
        self.none_ms.extend(o.none_ms);
        self.none_agents.extend(o.none_agents);
        self.none_at_capacity += o.none_at_capacity;
        self.taken.extend(o.taken);
        for (k, n) in o.errors {
            *self.errors.entry(k).or_default() += n;
        }
    }
}

struct Phase {
    callers: usize,
    waiting_at_start: u64,
    secs: f64,
    assigned: Stats,
    none: Stats,
    none_at_capacity: u64,
    /// Assignments and empty answers by the agent's level ("-" where `User` has none).
    by_level: BTreeMap<String, (u64, u64)>,
    errors: BTreeMap<String, u64>,
}

impl Phase {
    fn print(&self) {
        println!(
            "  {:<22}{} waiting at start, {} caller(s), {:.2} s, {:.0} assignments/s",
            "phase",
            self.waiting_at_start,
            self.callers,
            self.secs,
            self.assigned.n as f64 / self.secs.max(1e-9)
        );
        println!("  {:<22}{}", "assigned, ms", self.assigned.line());
        println!(
            "  {:<22}{} calls, {} of them with the agent at capacity right after{}",
            "nothing assigned",
            self.none.n,
            self.none_at_capacity,
            if self.none.n > 0 {
                format!("; ms {}", self.none.line())
            } else {
                String::new()
            }
        );
        let levels: Vec<String> = self
            .by_level
            .iter()
            .map(|(l, (a, n))| format!("level {l}: {a} assigned, {n} nothing"))
            .collect();
        println!("  {:<22}{}", "by agent level", levels.join("; "));
        println!("  {:<22}{:?}", "errors", self.errors);
    }

    fn json(&self) -> Value {
        json!({
            "callers": self.callers,
            "waiting_at_start": self.waiting_at_start,
            "secs": round2(self.secs),
            "per_sec": round2(self.assigned.n as f64 / self.secs.max(1e-9)),
            "assigned": self.assigned.json(),
            "none": self.none.json(),
            "none_at_capacity": self.none_at_capacity,
            "by_level": self.by_level.iter().map(|(l, (a, n))| (l.clone(), json!({"assigned": a, "nothing": n}))).collect::<BTreeMap<_, _>>(),
            "errors": self.errors,
        })
    }
}

/// `callers` tasks call `take_next_for` for random agents with room until `target` assignments.
async fn assign_phase(
    store: &Store,
    agents: &Arc<Vec<User>>,
    pool: &Arc<Mutex<Pool>>,
    callers: usize,
    target: u64,
) -> (Calls, f64) {
    let made = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (store, agents, pool, made) =
                (store.clone(), agents.clone(), pool.clone(), made.clone());
            tokio::spawn(async move {
                let mut calls = Calls::default();
                while made.load(Ordering::Relaxed) < target {
                    let Some(a) = pool.lock().unwrap().pick(&agents) else {
                        break;
                    };
                    let t0 = Instant::now();
                    let result = store
                        .take_next_for(&agents[a], |e: &mut Envelope, _: &Request| {
                            komek_bus::stamp(e)
                        })
                        .await;
                    let took = t0.elapsed().as_secs_f64() * 1000.0;
                    match result {
                        Ok(Some(r)) => {
                            made.fetch_add(1, Ordering::Relaxed);
                            pool.lock().unwrap().load[a] += 1;
                            calls.assigned_ms.push(took);
                            calls.taken.push((r.id, a));
                        }
                        Ok(None) => {
                            calls.none_ms.push(took);
                            calls.none_agents.push(a);
                            // Outside the timed call: was the agent full (a capacity race)?
                            let full = store.load_of(&agents[a].login).await.unwrap_or(0)
                                >= u64::from(agents[a].capacity);
                            calls.none_at_capacity += u64::from(full);
                        }
                        Err(e) => {
                            *calls.errors.entry(e.to_string()).or_default() += 1;
                        }
                    }
                }
                calls
            })
        })
        .collect();
    let mut all = Calls::default();
    for t in tasks {
        all.merge(t.await.unwrap());
    }
    (all, start.elapsed().as_secs_f64())
}

async fn part_assignment(cfg: &Config) -> Value {
    heading(&format!(
        "1. Assignment decision (Store::take_next_for): {} waiting requests, {} online agents",
        cfg.waiting, cfg.agents
    ));
    let (settings, store) = part_store("benchws-route").await;

    let t = Instant::now();
    fill_queued(&store, &settings, 0, cfg.waiting, true, build_request).await;
    let mut stored = cfg.waiting;
    let fill_secs = t.elapsed().as_secs_f64();
    let agents: Vec<User> = (0..cfg.agents).map(bench_agent).collect();
    for a in &agents {
        store
            .add_user(a)
            .await
            .unwrap_or_else(|e| setup_failed("add an agent", &e));
        store
            .set_presence(a, Presence::Online)
            .await
            .unwrap_or_else(|e| setup_failed("set presence", &e));
    }
    let capacity: u64 = agents.iter().map(|a| u64::from(a.capacity)).sum();
    println!(
        "  {:<22}{} requests stored and queued in {:.2} s ({} tasks; create + new→queued commits)",
        "setup", cfg.waiting, fill_secs, FILL_TASKS
    );
    println!(
        "  {:<22}{} agents, total capacity {}; 6 language sets, 4 category sets, capacity 4-12, level 1-3 (urgent work needs level 2+ where levels exist)",
        "agents", cfg.agents, capacity
    );
    let agents = Arc::new(agents);
    let pool = Arc::new(Mutex::new(Pool {
        rng: Rng::new(0x5EED_0001),
        load: vec![0; agents.len()],
        open: (0..agents.len()).collect(),
    }));

    let mut phases = Vec::new();
    let mut taken: Vec<(RequestId, usize)> = Vec::new();
    for (callers, target) in [(1, cfg.sequential), (cfg.concurrency, cfg.concurrent)] {
        if target == 0 {
            continue;
        }
        // Top the queue up to the configured number of waiting requests.
        let waiting = store.queue_len().await.unwrap();
        if waiting < cfg.waiting {
            let add = cfg.waiting - waiting;
            fill_queued(&store, &settings, stored, add, true, build_request).await;
            stored += add;
        }
        let waiting_at_start = store.queue_len().await.unwrap();
        println!();
        println!("  {} caller(s), until {} assignments", callers, target);
        let (calls, secs) = assign_phase(&store, &agents, &pool, callers, target).await;
        let mut by_level: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (_, a) in &calls.taken {
            by_level.entry(level_of(&agents[*a])).or_default().0 += 1;
        }
        for a in &calls.none_agents {
            by_level.entry(level_of(&agents[*a])).or_default().1 += 1;
        }
        let phase = Phase {
            by_level,
            none_at_capacity: calls.none_at_capacity,
            callers,
            waiting_at_start,
            secs,
            assigned: Stats::of(calls.assigned_ms),
            none: Stats::of(calls.none_ms),
            errors: calls.errors,
        };
        phase.print();
        taken.extend(calls.taken);
        phases.push(phase);
    }

    // Verification: each request assigned once, to the agent that got it, and the owner sets
    // hold exactly what was assigned, within capacity.
    let mut seen = HashSet::new();
    let duplicates = taken.iter().filter(|(id, _)| !seen.insert(*id)).count();
    let mut wrong_owner = 0;
    for (id, a) in &taken {
        match store.request(*id).await.unwrap() {
            Some(r)
                if r.status == Status::Assigned
                    && r.owner.as_deref() == Some(agents[*a].login.as_str()) => {}
            _ => wrong_owner += 1,
        }
    }
    let mut owned_total = 0;
    let mut over_capacity = 0;
    for a in agents.iter() {
        let load = store.load_of(&a.login).await.unwrap();
        owned_total += load;
        if load > u64::from(a.capacity) {
            over_capacity += 1;
        }
    }
    let queue_left = store.queue_len().await.unwrap();
    let queue_ok = queue_left + taken.len() as u64 == stored;
    let ok = duplicates == 0
        && wrong_owner == 0
        && owned_total == taken.len() as u64
        && over_capacity == 0
        && queue_ok;
    println!();
    println!(
        "  {:<22}{} assignments, {} assigned twice, {} with another status or owner, owner sets hold {}, {} agents over capacity, queue {} + assigned {} = stored {}: {}",
        "check",
        taken.len(),
        duplicates,
        wrong_owner,
        owned_total,
        over_capacity,
        queue_left,
        taken.len(),
        stored,
        if ok { "OK" } else { "FAILED" }
    );
    komek_testkit::cleanup(&settings).await;
    json!({
        "waiting": cfg.waiting,
        "agents": cfg.agents,
        "agent_capacity_total": capacity,
        "fill_secs": round2(fill_secs),
        "phases": phases.iter().map(Phase::json).collect::<Vec<_>>(),
        "check": {
            "assignments": taken.len(),
            "assigned_twice": duplicates,
            "wrong_status_or_owner": wrong_owner,
            "owner_sets_total": owned_total,
            "agents_over_capacity": over_capacity,
            "queue_left": queue_left,
            "stored": stored,
            "ok": ok,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Part 2: intake to offer on the live connection
// ---------------------------------------------------------------------------------------------

/// Shared by the post tasks and the socket readers.
#[derive(Default)]
struct OfferLog {
    /// Request id → when its POST was sent (only 201s).
    sent: HashMap<String, Instant>,
    /// Request id → when its first `offer.made` arrived, and on whose socket.
    offered: HashMap<String, (Instant, String)>,
    post_ms: Vec<f64>,
    post_errors: BTreeMap<String, u64>,
    accepted: u64,
    resolved: u64,
    work_errors: BTreeMap<String, u64>,
    pushes: u64,
}

fn submission(i: u64) -> Value {
    let op = OPERATORS[(i % OPERATORS.len() as u64) as usize];
    json!({
        "channel": "web",
        "customer": { "msisdn": format!("+7{op}{:07}", (i * 7919 + 17) % 10_000_000) },
        "text": text(i),
    })
}

/// Accepts the offer of request `id` as `token`, then resolves it.
async fn accept_and_resolve(
    http: reqwest::Client,
    base: String,
    token: String,
    id: String,
    log: Arc<Mutex<OfferLog>>,
) {
    let r = http
        .post(format!("{base}/api/v1/offers/{id}/accept"))
        .bearer_auth(&token)
        .send()
        .await;
    match r {
        Ok(r) if r.status() == reqwest::StatusCode::OK => {
            let _ = r.bytes().await;
            log.lock().unwrap().accepted += 1;
        }
        Ok(r) => {
            let key = format!("accept HTTP {}", r.status().as_u16());
            *log.lock().unwrap().work_errors.entry(key).or_default() += 1;
            return;
        }
        Err(_) => {
            *log.lock()
                .unwrap()
                .work_errors
                .entry("accept transport".into())
                .or_default() += 1;
            return;
        }
    }
    let r = http
        .post(format!("{base}/api/v1/requests/{id}/resolve"))
        .bearer_auth(&token)
        .json(&json!({"resolution": "Resolved by the benchmark."}))
        .send()
        .await;
    let mut log = log.lock().unwrap();
    match r {
        Ok(r) if r.status() == reqwest::StatusCode::OK => log.resolved += 1,
        Ok(r) => {
            *log.work_errors
                .entry(format!("resolve HTTP {}", r.status().as_u16()))
                .or_default() += 1
        }
        Err(_) => {
            *log.work_errors
                .entry("resolve transport".into())
                .or_default() += 1
        }
    }
}

/// Reads one agent's pushes; takes every offer made to them.
async fn agent_socket(
    mut ws: Ws,
    who: String,
    token: String,
    http: reqwest::Client,
    base: String,
    log: Arc<Mutex<OfferLog>>,
) {
    while let Ok(Some(text)) = ws.next_text().await {
        let at = Instant::now();
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if v["type"] != kind::OFFER_MADE || v["payload"]["agent"] != who.as_str() {
            continue;
        }
        let Some(id) = v["request_id"].as_str().map(str::to_owned) else {
            continue;
        };
        {
            let mut l = log.lock().unwrap();
            l.pushes += 1;
            l.offered.entry(id.clone()).or_insert((at, who.clone()));
        }
        tokio::spawn(accept_and_resolve(
            http.clone(),
            base.clone(),
            token.clone(),
            id,
            log.clone(),
        ));
    }
}

async fn part_offers(cfg: &Config) -> Value {
    const AGENTS: [&str; 3] = ["aigerim", "daniyar", "marat"];
    heading(&format!(
        "2. Intake to offer on a live connection: {} req/s for {} s, agents {}",
        cfg.rate,
        cfg.secs,
        AGENTS.join(", ")
    ));
    let mut mesh = Mesh::start(MeshOptions {
        tag: "benchws",
        profile: Some("release"),
        ..Default::default()
    })
    .await;
    let settings = mesh.settings.clone();
    println!("  prefix {} (release binaries)", settings.redis.prefix);
    let http = http_client(CALL_TIMEOUT);
    let base = mesh.url("workspace", "");
    let ws_port = mesh.ports[0][1];
    let log = Arc::new(Mutex::new(OfferLog::default()));
    let mut readers = Vec::new();
    let mut tokens = Vec::new();
    for who in AGENTS {
        let token = mesh.login(&http, who, "komek-agent").await;
        let ws = Ws::connect(ws_port, &format!("/api/v1/live?token={token}"))
            .await
            .unwrap_or_else(|e| setup_failed("open a live connection", &e));
        readers.push(tokio::spawn(agent_socket(
            ws,
            who.to_owned(),
            token.clone(),
            http.clone(),
            base.clone(),
            log.clone(),
        )));
        tokens.push(token);
    }
    for token in &tokens {
        let r = http
            .put(mesh.url("workspace", "/api/v1/presence"))
            .bearer_auth(token)
            .json(&json!({"state": "online"}))
            .send()
            .await
            .unwrap_or_else(|e| setup_failed("set presence", &e));
        if r.status() != reqwest::StatusCode::OK {
            setup_failed("set presence", &r.status());
        }
    }

    let url = mesh.url("intake", "/api/v1/requests");
    let total = (cfg.rate * cfg.secs as f64).round() as u64;
    let start = tokio::time::Instant::now();
    let mut posts = Vec::new();
    for i in 0..total {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / cfg.rate)).await;
        let (http, url, log) = (http.clone(), url.clone(), log.clone());
        posts.push(tokio::spawn(async move {
            let body = submission(i);
            let t0 = Instant::now();
            let r = http.post(&url).json(&body).send().await;
            let took = t0.elapsed().as_secs_f64() * 1000.0;
            match r {
                Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                    let v: Value = r.json().await.unwrap_or_default();
                    let mut l = log.lock().unwrap();
                    l.post_ms.push(took);
                    if let Some(id) = v["id"].as_str() {
                        l.sent.insert(id.to_owned(), t0);
                    } else {
                        *l.post_errors.entry("201 without id".into()).or_default() += 1;
                    }
                }
                Ok(r) => {
                    *log.lock()
                        .unwrap()
                        .post_errors
                        .entry(format!("HTTP {}", r.status().as_u16()))
                        .or_default() += 1
                }
                Err(_) => {
                    *log.lock()
                        .unwrap()
                        .post_errors
                        .entry("transport".into())
                        .or_default() += 1
                }
            }
        }));
    }
    for p in posts {
        let _ = p.await;
    }
    let load_secs = start.elapsed().as_secs_f64();
    // Wait (bounded) for the offers of the last requests and the agents' accept + resolve.
    let drain_until = Instant::now() + Duration::from_secs(15);
    loop {
        let done = {
            let l = log.lock().unwrap();
            let offered_all = l.sent.keys().all(|id| l.offered.contains_key(id));
            let worked = l.accepted + l.work_errors.values().sum::<u64>() >= l.pushes;
            offered_all && worked
        };
        if done || Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the last resolves return before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for r in &readers {
        r.abort();
    }
    let (latencies, by_agent, summary) = {
        let l = log.lock().unwrap();
        let mut lat = Vec::new();
        let mut by_agent: BTreeMap<String, u64> = BTreeMap::new();
        for (id, sent) in &l.sent {
            if let Some((at, who)) = l.offered.get(id) {
                lat.push(at.saturating_duration_since(*sent).as_secs_f64() * 1000.0);
                *by_agent.entry(who.clone()).or_default() += 1;
            }
        }
        let summary = json!({
            "posted": total,
            "accepted_at_intake": l.sent.len(),
            "post_errors": l.post_errors,
            "offered": lat.len(),
            "offer_accepted": l.accepted,
            "resolved": l.resolved,
            "work_errors": l.work_errors,
        });
        (lat, by_agent, (summary, Stats::of(l.post_ms.clone())))
    };
    let (summary, post) = summary;
    let offer = Stats::of(latencies);
    println!(
        "  {:<22}{} posted in {:.2} s, {} accepted (201), errors {}",
        "intake", total, load_secs, summary["accepted_at_intake"], summary["post_errors"]
    );
    println!("  {:<22}{}", "POST → 201, ms", post.line());
    println!(
        "  {:<22}{} of {} accepted requests (by agent {:?})",
        "offered", offer.n, summary["accepted_at_intake"], by_agent
    );
    println!("  {:<22}{}", "POST → offer.made, ms", offer.line());
    println!(
        "  {:<22}{} accepted, {} resolved, errors {}",
        "agents", summary["offer_accepted"], summary["resolved"], summary["work_errors"]
    );
    mesh.stop();
    komek_testkit::cleanup(&settings).await;
    json!({
        "rate": cfg.rate,
        "secs": cfg.secs,
        "agents": AGENTS,
        "summary": summary,
        "post_201": post.json(),
        "post_to_offer": offer.json(),
        "offered_by_agent": by_agent,
    })
}

// ---------------------------------------------------------------------------------------------
// Part 3: the watcher's lag with 1,000,000 entries in the deadline index
// ---------------------------------------------------------------------------------------------

/// Fills `{prefix}:deadlines` with `n` entries of made-up requests, due from `from_ms` over
/// `span_ms`, in pipelined multi-member ZADDs.
async fn fill_index(
    redis: &mut redis::aio::MultiplexedConnection,
    key: &str,
    n: u64,
    from_ms: i64,
    span_ms: i64,
) {
    let mut rng = Rng::new(0xDEAD_11E5);
    let mut i = 0u64;
    while i < n {
        let mut pipe = redis::pipe();
        for _ in 0..ZADD_PER_PIPE {
            if i >= n {
                break;
            }
            let mut cmd = redis::cmd("ZADD");
            cmd.arg(key);
            for _ in 0..ZADD_MEMBERS {
                if i >= n {
                    break;
                }
                let due = from_ms + (rng.next_u64() % span_ms.max(1) as u64) as i64;
                let deadline = due + 15 * 60_000;
                cmd.arg(due)
                    .arg(format!("{}|fr_warn|{deadline}", uuid::Uuid::new_v4()));
                i += 1;
            }
            pipe.add_command(cmd).ignore();
        }
        let () = pipe
            .query_async(redis)
            .await
            .unwrap_or_else(|e| setup_failed("fill the deadline index", &e));
    }
}

async fn part_watcher(cfg: &Config) -> Value {
    heading(&format!(
        "3. Deadline watcher: {} entries in the index, {} warnings due within {} s",
        cfg.deadlines, cfg.firings, cfg.window_secs
    ));
    let (settings, store) = part_store("benchws-watch").await;
    let mut redis = redis_conn(&settings).await;
    let keys = store.keys().clone();
    let index = keys.deadlines();
    let claimed = keys.deadlines_claimed();
    let batch = settings.watcher.batch;
    let lease = i64::try_from(settings.watcher.lease.as_millis()).unwrap_or(30_000);

    // The index: entries due from 10 minutes to 10 hours ahead, so none fires during the run.
    let t = Instant::now();
    fill_index(
        &mut redis,
        &index,
        cfg.deadlines,
        now_ms() + 10 * 60_000,
        10 * 3_600_000 - 10 * 60_000,
    )
    .await;
    let fill_secs = t.elapsed().as_secs_f64();
    let size: u64 = redis::cmd("ZCARD")
        .arg(&index)
        .query_async(&mut redis)
        .await
        .unwrap();
    let memory: Option<u64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&index)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut redis)
        .await
        .ok();
    println!(
        "  {:<22}{} entries in {:.2} s (ZADD x {} members, {} per round trip); {} MB in Redis",
        "index",
        size,
        fill_secs,
        ZADD_MEMBERS,
        ZADD_PER_PIPE,
        memory.map_or("?".into(), |m| format!("{:.0}", m as f64 / 1e6))
    );

    // One claim_due with nothing due, many times (the watcher's every tick on a quiet index).
    let _ = store.claim_due(now_ms(), lease, batch).await.unwrap();
    let mut empty = Vec::new();
    for _ in 0..200 {
        let t0 = Instant::now();
        let got = store.claim_due(now_ms(), lease, batch).await.unwrap();
        empty.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert!(got.is_empty(), "nothing is due yet");
    }
    let empty = Stats::of(empty);
    // One claim_due that takes a full batch: `batch` entries of missing requests due now.
    let mut full = Vec::new();
    for round in 0..5 {
        let now = now_ms();
        let members: Vec<String> = (0..batch)
            .map(|_| format!("{}|fr_warn|{now}", uuid::Uuid::new_v4()))
            .collect();
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(&index);
        for m in &members {
            cmd.arg(now - 1_000 - round).arg(m);
        }
        let _: u64 = cmd.query_async(&mut redis).await.unwrap();
        let t0 = Instant::now();
        let got = store.claim_due(now_ms(), lease, batch).await.unwrap();
        full.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(got.len(), batch, "the whole batch is claimed");
        let _: u64 = redis::cmd("ZREM")
            .arg(&claimed)
            .arg(&members)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    let full = Stats::of(full);
    println!("  {:<22}{} ms", "claim_due, none due", empty.line());
    let label = format!("claim_due, {batch} due");
    println!("  {label:<22}{} ms", full.line());

    // The requests behind the measured firings: real, queued, without deadline entries of their
    // own (their first-response warning is added below, due within the window).
    let t = Instant::now();
    let requests = fill_queued(&store, &settings, 0, cfg.firings, false, build_request).await;
    let create_secs = t.elapsed().as_secs_f64();
    // Their request.created / request.queued events are not needed: the outbox goes, so the
    // workspace's relay and consumer stay out of the measurement.
    let _: u64 = redis::cmd("DEL")
        .arg(keys.outbox())
        .query_async(&mut redis)
        .await
        .unwrap();
    println!(
        "  {:<22}{} queued requests stored in {:.2} s (their outbox events dropped)",
        "requests", cfg.firings, create_secs
    );

    let ws = Solo::start("workspace", &settings);
    ws.wait_ready().await;
    println!(
        "  {:<22}release komek-workspace on port {} (watcher every {} ms, batch {}, lease {} ms); log {}",
        "watcher",
        ws.port,
        settings.watcher.interval.as_millis(),
        batch,
        lease,
        ws.log.display()
    );

    // The measured entries: one first-response warning per request, spread evenly over the window.
    let window_ms = i64::try_from(cfg.window_secs * 1000).unwrap_or(5_000);
    let t_first = now_ms() + 2_000;
    let mut due_of: HashMap<RequestId, i64> = HashMap::new();
    let mut cmd = redis::cmd("ZADD");
    cmd.arg(&index);
    for (k, r) in requests.iter().enumerate() {
        let due = t_first + window_ms * k as i64 / requests.len() as i64;
        due_of.insert(r.id, due);
        cmd.arg(due).arg(format!(
            "{}|fr_warn|{}",
            r.id,
            epoch_ms(r.due.first_response)
        ));
    }
    let _: u64 = cmd.query_async(&mut redis).await.unwrap();

    // Wait until every warning is in its request's history (or a deadline passes).
    let wait_until =
        Instant::now() + Duration::from_millis(2_000 + window_ms as u64) + Duration::from_secs(60);
    let mut fired: HashMap<RequestId, i64> = HashMap::new();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let pending: Vec<&Request> = requests
            .iter()
            .filter(|r| !fired.contains_key(&r.id))
            .collect();
        let mut pipe = redis::pipe();
        for r in &pending {
            pipe.lrange(keys.history(r.id), 2, -1);
        }
        let lines: Vec<Vec<String>> = pipe.query_async(&mut redis).await.unwrap();
        for (r, lines) in pending.iter().zip(lines) {
            for l in lines {
                let Ok(h) = serde_json::from_str::<HistoryEntry>(&l) else {
                    continue;
                };
                if h.action == "deadline_warning" {
                    fired.insert(r.id, epoch_ms(h.at));
                }
            }
        }
        if fired.len() == requests.len() || Instant::now() >= wait_until {
            break;
        }
    }
    let lags: Vec<f64> = fired
        .iter()
        .map(|(id, at)| (at - due_of[id]) as f64)
        .collect();
    let early = lags.iter().filter(|l| **l < 0.0).count();
    let lag = Stats::of(lags);
    let left_due: u64 = redis::cmd("ZCOUNT")
        .arg(&index)
        .arg("-inf")
        .arg(now_ms())
        .query_async(&mut redis)
        .await
        .unwrap();
    let left_claimed: u64 = redis::cmd("ZCARD")
        .arg(&claimed)
        .query_async(&mut redis)
        .await
        .unwrap();
    let warnings = ws.warnings();
    drop(ws);
    println!(
        "  {:<22}{} of {} fired ({} before their due time); {} due entries left unclaimed, {} still claimed; {} WARN/ERROR log lines",
        "firings",
        fired.len(),
        requests.len(),
        early,
        left_due,
        left_claimed,
        warnings
    );
    println!("  {:<22}{}", "lag (at − due), ms", lag.line());
    komek_testkit::cleanup(&settings).await;
    json!({
        "index_entries": size,
        "index_fill_secs": round2(fill_secs),
        "index_memory_bytes": memory,
        "claim_due_none_due": empty.json(),
        "claim_due_full_batch": full.json(),
        "batch": batch,
        "interval_ms": settings.watcher.interval.as_millis() as u64,
        "firings": requests.len(),
        "window_secs": cfg.window_secs,
        "fired": fired.len(),
        "fired_early": early,
        "left_due": left_due,
        "left_claimed": left_claimed,
        "log_warnings": warnings,
        "lag": lag.json(),
    })
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() {
    let cfg = Config::from_env();
    let cores = banner("komek-bench-workspace", &cfg);
    let started = Instant::now();

    let assignment = part_assignment(&cfg).await;
    let offers = part_offers(&cfg).await;
    let watcher = part_watcher(&cfg).await;

    println!();
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    let report = json!({
        "config": {
            "cores": cores,
            "waiting": cfg.waiting,
            "agents": cfg.agents,
            "sequential": cfg.sequential,
            "concurrent": cfg.concurrent,
            "concurrency": cfg.concurrency,
            "rate": cfg.rate,
            "secs": cfg.secs,
            "deadlines": cfg.deadlines,
            "firings": cfg.firings,
            "window_secs": cfg.window_secs,
        },
        "assignment": assignment,
        "offers": offers,
        "watcher": watcher,
        "total_secs": round2(started.elapsed().as_secs_f64()),
    });
    bench_json(&report);
}
