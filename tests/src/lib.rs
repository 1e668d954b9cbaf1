//! Runs the real Komek binaries for end-to-end tests and the benchmark.
//!
//! - [`Mesh`]: starts the four service processes (from `target/<profile>/`) against the machine's
//!   Redis and RabbitMQ with a unique key prefix and queue names, waits until all are ready, and
//!   kills them on drop. Their logs go to `target/e2e-logs/<prefix>/`.
//! - [`Endpoints`]: the four services' base URLs (a mesh's, or the chart's pods') and the calls the
//!   journeys share: [`Endpoints::post_request`], [`Endpoints::login`], [`Endpoints::take_next`],
//!   [`Endpoints::escalate`], [`Endpoints::resolve`], [`Endpoints::survey_url`],
//!   [`Endpoints::wait_for_status`], [`Endpoints::get_as`] / [`Endpoints::post_as`] for any other
//!   call as a signed-in user, and [`poll_json`] / [`wait_until_ok`] to poll an HTTP answer until
//!   it is what the test waits for. A [`Mesh`] derefs to its first replica's.
//! - [`journey::kazakh`]: the Kazakh journey (web -> agent -> billing -> resolved -> survey), run
//!   in-process by tests/journey.rs and against the pods by `pods-journey`.
//! - [`bench`]: helpers the benchmark binaries share.
//! - [`browser`]: Chromium through chromedriver for the page tests.
//! - [`mail::Relay`]: a real SMTP relay (aiosmtpd) collecting the mail intake sends.
//! - [`otlp::Receiver`]: a minimal OTLP/HTTP JSON receiver that collects spans in memory.
//! - [`pipeline`]: queue and outbox depths and the consumers' lag histograms, for the benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod bench;
pub mod browser;
pub mod journey;
pub mod mail;
pub mod otlp;
pub mod pipeline;

use std::net::TcpListener;
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use komek_settings::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long the end-to-end tests wait for asynchronous work across the services.
pub const WAIT: Duration = Duration::from_secs(30);

pub const SERVICES: [&str; 4] = ["intake", "workspace", "escalation", "survey"];

/// How to start the mesh.
#[derive(Default, Clone)]
pub struct MeshOptions {
    /// Short tag in the unique prefix.
    pub tag: &'static str,
    /// `debug` (tests) or `release` (bench).
    pub profile: Option<&'static str>,
    /// OTLP/HTTP endpoint the services export to.
    pub otlp: Option<String>,
    /// Extra `KOMEK__...` variables, e.g. a proxied Redis or AMQP URL.
    pub env: Vec<(String, String)>,
    /// Processes of each service (0 means 1); all share Redis and RabbitMQ.
    pub replicas: usize,
    /// The services to start (empty: all four); a test of one service's replicas starts only it.
    pub services: Vec<&'static str>,
}

pub struct Mesh {
    pub settings: Settings,
    /// The first replica's base URLs: the journeys' calls ([`Endpoints`]) are made on them
    /// (`mesh.login(..)` and so on, through `Deref`).
    pub endpoints: Endpoints,
    /// Per replica, the ports of intake, workspace, escalation, survey.
    pub ports: Vec<[u16; 4]>,
    pub logs: PathBuf,
    /// The services started (all four unless [`MeshOptions::services`] says otherwise).
    pub services: Vec<&'static str>,
    /// Each process with its service and replica.
    children: Vec<(&'static str, usize, Child)>,
}

/// First and one past the last port [`free_port`] hands out: below the kernel's ephemeral range
/// (32768-60999 on Linux), so no socket is ever given one of them by the kernel.
const PICKED_PORTS: (u32, u32) = (20_000, 32_768);

/// A port nobody listens on right now, for a process the test starts (a service, Kannel, the
/// mail relay, chromedriver) to bind. Not one the kernel hands out: a port taken from its
/// ephemeral range (binding port 0) was free when checked but could be given to another socket's
/// outgoing connection before the child bound it (seen in CI on a busy machine: Kannel's bearerbox
/// died with "Address already in use"). Each process starts at its own offset so parallel test
/// binaries do not walk the same ports, and a port is checked free before it is handed out.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (low, high) = PICKED_PORTS;
    let span = high - low;
    let start = std::process::id().wrapping_mul(2_654_435_761) % span;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(low + (start + n) % span).unwrap();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The base URLs of the four services (intake, workspace, escalation, survey) and the calls the
/// journeys make on them: used on a [`Mesh`] of processes and on services running elsewhere (the
/// chart's pods, `pods-journey`).
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// Base URL (scheme, host, port; no trailing slash) per service, in [`SERVICES`] order.
    pub bases: [String; 4],
}

impl Endpoints {
    /// The services on 127.0.0.1 at `ports` (intake, workspace, escalation, survey).
    pub fn on_ports(ports: [u16; 4]) -> Self {
        Self {
            bases: ports.map(|p| format!("http://127.0.0.1:{p}")),
        }
    }

    /// A URL on `service`.
    pub fn url(&self, service: &str, path: &str) -> String {
        let i = SERVICES.iter().position(|s| *s == service).unwrap();
        format!("{}{path}", self.bases[i])
    }

    /// Signs `who` in on the workspace and returns the bearer token.
    pub async fn login(&self, http: &reqwest::Client, who: &str, password: &str) -> String {
        let r = http
            .post(self.url("workspace", "/api/v1/auth/login"))
            .json(&json!({"login": who, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{who} signs in");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `GET path` on `service` as `token`.
    pub async fn get_as(
        &self,
        http: &reqwest::Client,
        service: &str,
        path: &str,
        token: &str,
    ) -> reqwest::Response {
        http.get(self.url(service, path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `POST path` on `service` as `token` with the JSON `body`.
    pub async fn post_as(
        &self,
        http: &reqwest::Client,
        service: &str,
        path: &str,
        token: &str,
        body: &Value,
    ) -> reqwest::Response {
        http.post(self.url(service, path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts `body` to intake as the web form or a channel would; intake answers 201 with the
    /// accepted request (its `id`, `number`, language, category, ...), which this returns.
    pub async fn post_request(&self, http: &reqwest::Client, body: &Value) -> Value {
        let r = http
            .post(self.url("intake", "/api/v1/requests"))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "intake accepts the request"
        );
        r.json().await.unwrap()
    }

    /// Takes the next request of the agent queue as `token`, polling `queue/next` until the
    /// workspace has queued one (within [`WAIT`]); returns the taken request.
    pub async fn take_next(&self, http: &reqwest::Client, token: &str) -> Value {
        let url = self.url("workspace", "/api/v1/queue/next");
        komek_testkit::eventually(WAIT, "a request reaches the agent queue", || {
            let req = http.post(&url).bearer_auth(token);
            async move {
                let r = req.send().await.ok()?;
                (r.status() == StatusCode::OK).then_some(())?;
                r.json::<Value>().await.ok()
            }
        })
        .await
    }

    /// Escalates request `id` as the agent `token` to `department` with `reason`; the workspace
    /// answers 201. Returns the escalation's id.
    pub async fn escalate(
        &self,
        http: &reqwest::Client,
        token: &str,
        id: &str,
        department: &str,
        reason: &str,
    ) -> String {
        let path = format!("/api/v1/requests/{id}/escalations");
        let body = json!({"department": department, "reason": reason});
        let r = self.post_as(http, "workspace", &path, token, &body).await;
        assert_eq!(r.status(), StatusCode::CREATED, "request {id} is escalated");
        r.json::<Value>().await.unwrap()["escalation_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Resolves request `id` as `token` with `resolution`; the workspace answers 200.
    pub async fn resolve(&self, http: &reqwest::Client, token: &str, id: &str, resolution: &str) {
        let r = http
            .post(self.url("workspace", &format!("/api/v1/requests/{id}/resolve")))
            .bearer_auth(token)
            .json(&json!({ "resolution": resolution }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "request {id} is resolved");
    }

    /// The survey link on the customer's public status page of request `number` (looked up with
    /// `contact`, spelled as the test chooses), once the survey service has made it.
    pub async fn survey_url(&self, http: &reqwest::Client, number: &str, contact: &str) -> String {
        let url = self.url(
            "intake",
            &format!("/api/v1/requests/{number}/public?contact={contact}"),
        );
        poll_json(
            http,
            &url,
            None,
            "the public status shows a survey link",
            |v| v["survey_url"].as_str().map(str::to_owned),
        )
        .await
    }

    /// Polls the workspace's view of request `id` (as `token`) until the request's status is
    /// `status`; returns the view (request and history).
    pub async fn wait_for_status(
        &self,
        http: &reqwest::Client,
        token: &str,
        id: &str,
        status: &str,
        what: &str,
    ) -> Value {
        let url = self.url("workspace", &format!("/api/v1/requests/{id}"));
        poll_json(http, &url, Some(token), what, |v| {
            (v["request"]["status"] == status).then(|| v.clone())
        })
        .await
    }
}

impl Mesh {
    pub async fn start(opts: MeshOptions) -> Self {
        let settings = komek_testkit::test_settings(opts.tag);
        let ports: Vec<[u16; 4]> = (0..opts.replicas.max(1))
            .map(|_| [free_port(), free_port(), free_port(), free_port()])
            .collect();
        let profile = opts.profile.unwrap_or("debug");
        let logs = target_dir().join("e2e-logs").join(&settings.redis.prefix);
        std::fs::create_dir_all(&logs).unwrap();
        let endpoints = Endpoints::on_ports(ports[0]);
        let services = if opts.services.is_empty() {
            SERVICES.to_vec()
        } else {
            opts.services.clone()
        };
        let mut mesh = Mesh {
            settings,
            endpoints,
            ports: ports.clone(),
            logs,
            services: services.clone(),
            children: Vec::new(),
        };
        for (replica, ports) in ports.into_iter().enumerate() {
            for svc in services.iter().copied() {
                mesh.spawn(svc, replica, ports, profile, &opts);
            }
        }
        mesh.wait_ready().await;
        mesh
    }

    fn spawn(
        &mut self,
        svc: &'static str,
        replica: usize,
        ports: [u16; 4],
        profile: &str,
        opts: &MeshOptions,
    ) {
        let bin = target_dir().join(profile).join(format!("komek-{svc}"));
        assert!(
            bin.exists(),
            "{} is missing: run `cargo build --workspace --bins` (make test does)",
            bin.display()
        );
        let name = if replica == 0 {
            svc.to_owned()
        } else {
            format!("{svc}-{replica}")
        };
        let log = std::fs::File::create(self.logs.join(format!("{name}.log"))).unwrap();
        let mut cmd = Command::new(&bin);
        cmd.env("KOMEK_ENV", "test")
            .env("KOMEK_CONFIG_DIR", komek_settings::repo_config_dir())
            .env("KOMEK__REDIS__PREFIX", &self.settings.redis.prefix)
            .env("KOMEK__AMQP__PREFIX", &self.settings.amqp.prefix)
            .env(
                "KOMEK__SURVEY__PUBLIC_BASE_URL",
                format!("http://127.0.0.1:{}", ports[3]),
            )
            .env(
                "KOMEK__WEB__PUBLIC_BASE_URL",
                format!("http://127.0.0.1:{}", ports[0]),
            )
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        for (name, port) in SERVICES.iter().zip(ports) {
            cmd.env(
                format!("KOMEK__SERVICES__{}", name.to_uppercase()),
                port.to_string(),
            );
        }
        if let Some(ep) = &opts.otlp {
            cmd.env("KOMEK__TELEMETRY__OTLP_ENDPOINT", ep);
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        self.children.push((svc, replica, cmd.spawn().unwrap()));
    }

    /// A URL on replica `replica` of `service`.
    pub fn url_on(&self, replica: usize, service: &str, path: &str) -> String {
        let i = SERVICES.iter().position(|s| *s == service).unwrap();
        format!("http://127.0.0.1:{}{path}", self.ports[replica][i])
    }

    pub async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        for (replica, svc) in
            (0..self.ports.len()).flat_map(|r| self.services.iter().map(move |s| (r, *s)))
        {
            wait_until_ok(
                &http,
                &self.url_on(replica, svc, "/readyz"),
                Duration::from_secs(60),
                &format!("{svc} ready (logs in {})", self.logs.display()),
            )
            .await;
        }
    }

    /// The log of one service so far.
    pub fn log(&self, service: &str) -> String {
        std::fs::read_to_string(self.logs.join(format!("{service}.log"))).unwrap_or_default()
    }

    /// Takes replica `replica` of `service` out of the mesh, still running, for a test that stops
    /// it its own way (a signal) and watches how it exits.
    pub fn take(&mut self, service: &str, replica: usize) -> Child {
        let i = self
            .children
            .iter()
            .position(|(s, r, _)| *s == service && *r == replica)
            .unwrap_or_else(|| panic!("no replica {replica} of {service}"));
        self.children.remove(i).2
    }

    /// Stops the processes (SIGKILL; the tests that need a graceful stop send their own signal).
    pub fn stop(&mut self) {
        for (_, _, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.children.clear();
    }
}

impl Mesh {
    /// Stops the processes, then removes the test's keys and queues: in that order, since a
    /// running service declares its queues again when they vanish under it.
    pub async fn finish(mut self) {
        self.stop();
        komek_testkit::cleanup(&self.settings).await;
    }
}

impl Deref for Mesh {
    type Target = Endpoints;

    fn deref(&self) -> &Endpoints {
        &self.endpoints
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        self.stop();
    }
}

/// GETs `url` (with `token` as bearer, if given) until its JSON body passes `check`, polling
/// within [`WAIT`], and returns what `check` made of it; panics with `what` when time is up.
pub async fn poll_json<T, F>(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    what: &str,
    check: F,
) -> T
where
    F: Fn(&Value) -> Option<T>,
{
    let check = &check;
    komek_testkit::eventually(WAIT, what, || {
        let mut req = http.get(url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let v: Value = req.send().await.ok()?.json().await.ok()?;
            check(&v)
        }
    })
    .await
}

/// Polls `url` until it answers with a success status, or panics with `what` after `within`.
pub async fn wait_until_ok(http: &reqwest::Client, url: &str, within: Duration, what: &str) {
    komek_testkit::eventually(within, what, || {
        let req = http.get(url);
        async move {
            req.send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
                .map(|_| ())
        }
    })
    .await;
}
