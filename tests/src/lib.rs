//! Runs the real Komek binaries for end-to-end tests and the benchmark.
//!
//! - [`Mesh`]: starts the four service processes (from `target/<profile>/`) against the machine's
//!   Redis and RabbitMQ with a unique key prefix and queue names, waits until all are ready, and
//!   kills them on drop. Their logs go to `target/e2e-logs/<prefix>/`.
//! - [`otlp::Receiver`]: a minimal OTLP/HTTP JSON receiver that collects spans in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod otlp;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use komek_settings::Settings;

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
}

pub struct Mesh {
    pub settings: Settings,
    /// Per replica, the ports of intake, workspace, escalation, survey.
    pub ports: Vec<[u16; 4]>,
    pub logs: PathBuf,
    children: Vec<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
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
        let mut mesh = Mesh {
            settings,
            ports: ports.clone(),
            logs,
            children: Vec::new(),
        };
        for (replica, ports) in ports.into_iter().enumerate() {
            for svc in SERVICES {
                mesh.spawn(svc, replica, ports, profile, &opts);
            }
        }
        mesh.wait_ready().await;
        mesh
    }

    fn spawn(
        &mut self,
        svc: &str,
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
        self.children.push(cmd.spawn().unwrap());
    }

    /// A URL on the first replica of `service`.
    pub fn url(&self, service: &str, path: &str) -> String {
        self.url_on(0, service, path)
    }

    /// A URL on replica `replica` of `service`.
    pub fn url_on(&self, replica: usize, service: &str, path: &str) -> String {
        let i = SERVICES.iter().position(|s| *s == service).unwrap();
        format!("http://127.0.0.1:{}{path}", self.ports[replica][i])
    }

    pub async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        for (replica, svc) in
            (0..self.ports.len()).flat_map(|r| SERVICES.iter().map(move |s| (r, *s)))
        {
            let url = self.url_on(replica, svc, "/readyz");
            let logs = self.logs.clone();
            komek_testkit::eventually(
                Duration::from_secs(60),
                &format!("{svc} ready (logs in {})", logs.display()),
                || {
                    let http = http.clone();
                    let url = url.clone();
                    async move {
                        http.get(&url)
                            .send()
                            .await
                            .ok()
                            .filter(|r| r.status().is_success())
                            .map(|_| ())
                    }
                },
            )
            .await;
        }
    }

    /// The log of one service so far.
    pub fn log(&self, service: &str) -> String {
        std::fs::read_to_string(self.logs.join(format!("{service}.log"))).unwrap_or_default()
    }

    /// Stops the processes (SIGKILL; the tests that need a graceful stop send their own signal).
    pub fn stop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.children.clear();
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        self.stop();
    }
}
