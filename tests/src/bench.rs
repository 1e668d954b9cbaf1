//! Small pieces the benchmark binaries share: settings from the environment, percentiles, report
//! headings, the one way a benchmark gives up during set-up, a seeded random source, generated
//! customer texts and numbers, requests built and stored as intake and the workspace consumer
//! store them, and one release service binary started alone.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use komek_domain::events::{Envelope, RequestChanged, kind};
use komek_domain::{
    Category, Channel, Customer, HistoryEntry, Lang, Msisdn, Priority, Request, RequestNumber,
    Status,
};
use komek_settings::Settings;
use komek_store::requests::{Created, Mutation};
use komek_store::{Store, deadlines};
use time::OffsetDateTime;

/// The program's name, for messages.
fn program() -> String {
    std::env::args()
        .next()
        .and_then(|p| p.rsplit('/').next().map(str::to_owned))
        .unwrap_or_else(|| "komek-bench".into())
}

/// `name` from the environment, or `default`; a value that does not parse stops the benchmark.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!(
                "{}: {name}={v:?} is not a valid value; setup failed",
                program()
            );
            std::process::exit(2);
        }),
        Err(_) => default,
    }
}

/// Set-up failed: the only case where a benchmark exits non-zero.
pub fn setup_failed(what: &str, e: &dyn std::fmt::Display) -> ! {
    eprintln!("{}: setup failed: could not {what}: {e}", program());
    std::process::exit(1);
}

/// Nearest-rank percentile of an ascending slice (0 when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A report section title, underlined.
pub fn heading(title: &str) {
    println!();
    println!("{title}");
    println!("{}", "-".repeat(title.chars().count()));
}

/// Percentiles of a set of samples in milliseconds, for a report line and its JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Stats {
    pub fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let mean = if n == 0 {
            0.0
        } else {
            samples.iter().sum::<f64>() / n as f64
        };
        Self {
            n,
            p50: percentile(&samples, 50.0),
            p90: percentile(&samples, 90.0),
            p99: percentile(&samples, 99.0),
            max: samples.last().copied().unwrap_or(0.0),
            mean,
        }
    }

    /// `p50 … p90 … p99 … max … (mean …, n …)`, two decimals.
    pub fn line(&self) -> String {
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  (mean {:.2}, n {})",
            self.p50, self.p90, self.p99, self.max, self.mean, self.n
        )
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "n": self.n,
            "p50_ms": round2(self.p50),
            "p90_ms": round2(self.p90),
            "p99_ms": round2(self.p99),
            "max_ms": round2(self.max),
            "mean_ms": round2(self.mean),
        })
    }
}

/// Milliseconds since the Unix epoch (the scores of Komek's time-ordered sets).
pub fn epoch_ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Lines of a service's JSON log at WARN or ERROR.
pub fn count_warnings(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
        .count()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    epoch_ms(OffsetDateTime::now_utc())
}

/// A connection to the Redis of `settings`; failing to get one stops the benchmark.
pub async fn redis_conn(settings: &Settings) -> redis::aio::MultiplexedConnection {
    use secrecy::ExposeSecret;
    let client = redis::Client::open(settings.redis.url.expose_secret())
        .unwrap_or_else(|e| setup_failed("open Redis", &e));
    client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| setup_failed("connect to Redis", &e))
}

/// xorshift64*: reproducible from its seed, no extra crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------------
// Generated customers and requests
// ---------------------------------------------------------------------------------------------

/// Customer texts: six each in Kazakh, Russian and English (the order of
/// `komek_store::routing::LANGS`), touching every category and priority.
pub const TEXTS: [&[&str]; 3] = [
    &[
        "Интернет жұмыс істемейді",
        "Балансымнан ақша жоғалып кетті, тексеріңізші",
        "Қоңырау шала алмаймын, байланыс жоқ",
        "Шетелде роуминг қосылмай тұр",
        "Тарифімді ауыстырғым келеді",
        "Телефонымды ұрлап кетті, нөмірді бұғаттаңыз",
    ],
    &[
        "Не работает мобильный интернет",
        "С баланса списали деньги без причины",
        "Не могу дозвониться, нет связи уже третий раз",
        "За границей не работает роуминг",
        "Хочу сменить тариф на более дешёвый",
        "Мошенники звонят с вашего номера, срочно помогите",
    ],
    &[
        "Mobile internet is not working since this morning",
        "I was charged twice on my bill",
        "No signal at home, calls keep dropping",
        "Roaming does not work abroad",
        "I want to change my tariff plan",
        "My SIM card was stolen, please block it",
    ],
];

/// Kazakhstan mobile codes for the generated numbers.
pub const OPERATORS: &[&str] = &["701", "702", "705", "707", "747", "771", "775", "777"];

/// The i-th of all [`TEXTS`] in turn (Kazakh, then Russian, then English).
pub fn text(i: u64) -> &'static str {
    let all: Vec<&'static str> = TEXTS.iter().flat_map(|t| t.iter().copied()).collect();
    all[(i % all.len() as u64) as usize]
}

/// The i-th generated mobile number: `+7`, an operator of [`OPERATORS`] in turn, seven digits.
pub fn phone(i: u64) -> String {
    let op = OPERATORS[(i % OPERATORS.len() as u64) as usize];
    format!("+7{op}{:07}", (i * 7919) % 10_000_000)
}

/// What a generated request is about; the rest is as intake makes a web request.
pub struct RequestSpec {
    pub msisdn: Option<Msisdn>,
    pub language: Lang,
    pub category: Category,
    pub priority: Priority,
    pub text: String,
}

/// Request `i` (numbered `i + 1` under the settings' prefix) as intake builds a web request: status
/// new, deadlines from the policy over the business calendar, no messages; with its `created`
/// history line and its `request.created` event (not stamped).
pub fn web_request(
    settings: &Settings,
    i: u64,
    spec: RequestSpec,
) -> (Request, HistoryEntry, Envelope) {
    let RequestSpec {
        msisdn,
        language,
        category,
        priority,
        text,
    } = spec;
    let now = OffsetDateTime::now_utc();
    let number = RequestNumber::format(&settings.requests.number_prefix, i + 1);
    let calendar = &settings.calendar;
    let (due, _) = settings
        .deadlines
        .due(calendar, category, priority, Channel::Web, now);
    let customer = Customer {
        msisdn,
        email: None,
        name: None,
    };
    let request = Request {
        language,
        category,
        priority,
        text,
        due,
        ..komek_testkit::new_request(number, customer, now)
    };
    let (history, event) = komek_domain::events::created(&request, "customer:web");
    (request, history, event)
}

/// Tasks that store generated requests.
pub const FILL_TASKS: usize = 16;

/// Builds request `i` of a benchmark.
pub type BuildRequest = fn(&Settings, u64) -> (Request, HistoryEntry, Envelope);

/// Stores a built request (status new, with `request.created`) and moves it to queued the way the
/// workspace consumer does: one commit with the handled marker and `request.queued` (the store
/// derives the queue and deadline entries; without `register` the deadline entries are taken out
/// again), warnings placed by the settings' deadline policy as in the workspace.
pub async fn store_queued(
    store: &Store,
    settings: &Settings,
    (request, history, event): (Request, HistoryEntry, Envelope),
    register: bool,
) -> Request {
    match store
        .create_request(&request, &history, &event, None, 3600)
        .await
    {
        Ok(Created::New(_)) => {}
        other => setup_failed("store a request", &format!("{other:?}")),
    }
    // Warnings placed as the workspace places them.
    let store = store
        .clone()
        .with_deadlines(settings.deadlines.clone(), settings.calendar.clone());
    let keys = store.keys().clone();
    let marker = Some(keys.handled("workspace", event.id));
    let now = OffsetDateTime::now_utc();
    let queued = store
        .update_request(request.id, marker, |r| {
            // The store moves it into its queues and (by its deadline policy) the deadline index.
            let change = r.move_to(Status::Queued, "system:workspace", "queued", None, now)?;
            let queued = Envelope::new(
                kind::REQUEST_QUEUED,
                r.id,
                &RequestChanged {
                    number: r.number.clone(),
                    actor: "system:workspace".into(),
                    detail: None,
                },
                now,
            );
            Ok::<_, komek_domain::TransitionError>(Mutation {
                change,
                event: Some(queued),
                ops: vec![],
            })
        })
        .await
        .unwrap_or_else(|e| setup_failed("queue a request", &e));
    if !register {
        // Without deadline entries of its own: the caller adds the ones it measures.
        let mut c = store.conn();
        let members = deadlines::members_of(&queued);
        let _: i64 = redis::AsyncCommands::zrem(&mut c, keys.deadlines(), &members)
            .await
            .unwrap_or_else(|e| setup_failed("take out the deadline entries", &e));
    }
    queued
}

/// Builds requests `from..from + n` with `build` and stores them queued ([`store_queued`]) from
/// [`FILL_TASKS`] tasks; returns them in number order.
pub async fn fill_queued(
    store: &Store,
    settings: &Settings,
    from: u64,
    n: u64,
    register: bool,
    build: BuildRequest,
) -> Vec<Request> {
    let next = Arc::new(AtomicU64::new(from));
    let end = from + n;
    let tasks: Vec<_> = (0..FILL_TASKS)
        .map(|_| {
            let (store, settings, next) = (store.clone(), settings.clone(), next.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        return out;
                    }
                    let built = build(&settings, i);
                    out.push((i, store_queued(&store, &settings, built, register).await));
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

// ---------------------------------------------------------------------------------------------
// One service alone
// ---------------------------------------------------------------------------------------------

/// One release service binary alone, with the prefix of `settings`; killed on drop. Its log goes
/// to `target/e2e-logs/<prefix>/<service>.log`.
pub struct Solo {
    child: Child,
    pub service: String,
    pub port: u16,
    pub log: PathBuf,
}

impl Solo {
    /// Starts the release `komek-{service}` on a free port.
    pub fn start(service: &str, settings: &Settings) -> Self {
        let bin = crate::target_dir()
            .join("release")
            .join(format!("komek-{service}"));
        if !bin.exists() {
            setup_failed(
                &format!("find the release {service} binary"),
                &format!(
                    "{} is missing: run `cargo build --release --workspace --bins`",
                    bin.display()
                ),
            );
        }
        let logs = crate::target_dir()
            .join("e2e-logs")
            .join(&settings.redis.prefix);
        std::fs::create_dir_all(&logs)
            .unwrap_or_else(|e| setup_failed("create the log directory", &e));
        let log = logs.join(format!("{service}.log"));
        let out =
            std::fs::File::create(&log).unwrap_or_else(|e| setup_failed("create the log file", &e));
        let port = crate::free_port();
        let child = Command::new(&bin)
            .env("KOMEK_ENV", "test")
            .env("KOMEK_CONFIG_DIR", komek_settings::repo_config_dir())
            .env("KOMEK__REDIS__PREFIX", &settings.redis.prefix)
            .env("KOMEK__AMQP__PREFIX", &settings.amqp.prefix)
            .env(
                format!("KOMEK__SERVICES__{}", service.to_uppercase()),
                port.to_string(),
            )
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap_or_else(|e| setup_failed(&format!("start komek-{service}"), &e));
        Self {
            child,
            service: service.to_owned(),
            port,
            log,
        }
    }

    /// Waits (up to a minute) until its `/readyz` answers with success.
    pub async fn wait_ready(&self) {
        crate::wait_until_ok(
            &reqwest::Client::builder().no_proxy().build().unwrap(),
            &format!("http://127.0.0.1:{}/readyz", self.port),
            Duration::from_secs(60),
            &format!("komek-{} ready (log {})", self.service, self.log.display()),
        )
        .await;
    }

    /// Lines of its log at WARN or ERROR so far.
    pub fn warnings(&self) -> usize {
        count_warnings(&self.log)
    }
}

impl Drop for Solo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

/// The head of a report: `name` underlined, the machine, the backing services and `settings`.
/// Returns the number of cores.
pub fn banner(name: &str, settings: &dyn std::fmt::Debug) -> usize {
    let cores = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);
    println!("{name}");
    println!("{}", "=".repeat(name.chars().count()));
    println!("machine       {cores} cores; client, services, Redis and RabbitMQ share them");
    println!("redis         127.0.0.1:6379; rabbitmq 127.0.0.1:5672");
    println!("settings      {settings:?}");
    cores
}

/// The last line of a report: `BENCH_JSON` and the figures, after a blank line.
pub fn bench_json(report: &serde_json::Value) {
    println!();
    println!("BENCH_JSON {report}");
}

/// Settings under a unique prefix for one part of a benchmark (`tag` in the prefix, printed) and a
/// store on them.
pub async fn part_store(tag: &str) -> (Settings, Store) {
    let settings = komek_testkit::test_settings(tag);
    println!("  prefix {}", settings.redis.prefix);
    let store = Store::connect(&settings.redis)
        .await
        .unwrap_or_else(|e| setup_failed("connect to Redis", &e));
    (settings, store)
}

/// The benchmark's HTTP client: no proxy, `timeout` per call.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap_or_else(|e| setup_failed("build the HTTP client", &e))
}

/// A live WebSocket (`/api/v1/live?token=...`) for reading pushes.
pub struct Ws(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl Ws {
    pub async fn connect(port: u16, path: &str) -> std::io::Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}{path}"))
            .await
            .map_err(std::io::Error::other)?;
        Ok(Self(ws))
    }

    /// The next text message, or `None` when the server closed the connection. Pings are
    /// answered by the library as it reads.
    pub async fn next_text(&mut self) -> std::io::Result<Option<String>> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            match self.0.next().await {
                None | Some(Ok(Message::Close(_))) => return Ok(None),
                Some(Ok(Message::Text(t))) => return Ok(Some(t.as_str().to_owned())),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
    }
}
