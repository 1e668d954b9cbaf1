//! The app factory every service uses, from `main` and from tests alike.
//!
//! [`Runtime::start`] connects to Redis and starts this replica's outbox relay; a consuming service
//! adds its consumer with [`Runtime::spawn_consumer`]; [`Runtime::serve`] binds the HTTP server
//! (port 0 picks a free port; [`Application::port`] reads it back). [`Application::run_until_stopped`]
//! serves until SIGTERM or SIGINT, then shuts down gracefully (settings `[shutdown]`):
//!
//! 1. `/readyz` answers 503 at once, while the server keeps serving for `drain_delay_secs`
//!    (load balancers and Kubernetes endpoints stop sending meanwhile);
//! 2. the consumers stop taking deliveries and finish (and settle) those in flight, the watchers
//!    and live feeds stop, live WebSocket sessions are closed ("going away"), and the HTTP server
//!    stops accepting and finishes its in-flight requests (actix's graceful stop); this step has
//!    four fifths of `grace_secs`;
//! 3. then the outbox relay publishes, with confirms, what those requests and messages wrote,
//!    and stops, in what is left of the grace period;
//! 4. the process exits 0, all within `grace_secs` of the end of the drain.
//!
//! A second signal meanwhile exits at once (status 1); what was in flight is redelivered or
//! retried by its client, and the outbox keeps what the relay had not published.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use komek_bus::{BusStatus, HandleError};
use komek_domain::events::Envelope;
use komek_settings::Settings;
use komek_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::body::limits;
use crate::live::{GoingAway, Hub};
use crate::metrics::{Hook, Scrape};
use crate::ops::{self, OpenApiJson, Readiness};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot reach Redis at start: {0}")]
    Store(#[from] komek_store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// A route of the OpenAPI document without an access rule, or a rule named twice
    /// ([`crate::access::Policy::annotate`]): a build that must not ship.
    #[error("access policy incomplete: {}", .0.join("; "))]
    Policy(Vec<String>),
}

/// What a running service holds besides its HTTP server.
pub struct Runtime {
    pub service: &'static str,
    pub settings: Settings,
    pub store: Store,
    pub bus: BusStatus,
    /// Stops the consumers, watchers and feeds (step 2 of the shutdown).
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Tells the relay to flush and stop (step 3), once nothing else writes events.
    flush: watch::Sender<bool>,
    relay: JoinHandle<()>,
    pub(crate) hubs: Vec<actix::Addr<Hub>>,
    hooks: Vec<Hook>,
    draining: Arc<AtomicBool>,
}

impl Runtime {
    /// Connects to Redis (retrying for a while, so a service started with its Redis comes up) and
    /// starts the outbox relay of this replica.
    pub async fn start(service: &'static str, settings: Settings) -> Result<Self, StartError> {
        let mut wait = Duration::from_millis(100);
        let mut attempts = 0;
        let store = loop {
            match Store::connect(&settings.redis).await {
                Ok(s) => break s,
                Err(e) if attempts < 15 => {
                    tracing::warn!(error = %e, "Redis not reachable yet; retrying");
                    attempts += 1;
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e.into()),
            }
        };
        crate::metrics::init(service);
        let (shutdown, _) = watch::channel(false);
        let (flush, rx) = watch::channel(false);
        let bus = BusStatus::default();
        let relay_name = format!("{service}-{}", uuid::Uuid::now_v7().simple());
        let relay = tokio::spawn(komek_bus::run_relay(
            store.clone(),
            settings.clone(),
            relay_name,
            bus.clone(),
            rx,
        ));
        Ok(Self {
            service,
            settings,
            store,
            bus,
            shutdown,
            tasks: Vec::new(),
            flush,
            relay,
            hubs: Vec::new(),
            hooks: Vec::new(),
            draining: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Adds a scrape-time read of the store to `/metrics` (e.g. [`crate::metrics::requests`]).
    pub fn scrape(&mut self, hook: Hook) {
        self.hooks.push(hook);
    }

    /// Consumes the queue of `queue_service` with `handler`.
    pub fn spawn_consumer<H, F>(&mut self, queue_service: &'static str, handler: H)
    where
        H: Fn(Envelope) -> F + Send + Sync + 'static,
        F: Future<Output = Result<(), HandleError>> + Send + 'static,
    {
        let task = komek_bus::run_consumer(
            self.settings.clone(),
            queue_service,
            self.bus.clone(),
            handler,
            self.shutdown.subscribe(),
        );
        self.tasks.push(tokio::spawn(task));
    }

    /// Runs a background loop of this replica (e.g. the deadline watcher) until shutdown.
    pub fn spawn_task<F, Fut>(&mut self, f: F)
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(f(self.shutdown.subscribe())));
    }

    /// Binds the HTTP server with the shared routes (ops, metrics, spans) and the service's own.
    /// `rules` is the service's access table (every route `configure` mounts, besides the
    /// shared ones of [`crate::access::shared`]): enforced before every handler, and written into
    /// `doc`, which is served at `/openapi.json`; a documented operation without a rule stops
    /// the start.
    pub fn serve<F>(
        self,
        port: u16,
        mut doc: utoipa::openapi::OpenApi,
        rules: Vec<crate::access::Rule>,
        configure: F,
    ) -> Result<Application, StartError>
    where
        F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let policy = crate::access::Policy::new([crate::access::shared().as_slice(), &rules]);
        doc.merge(<crate::ops::ApiDoc as utoipa::OpenApi>::openapi());
        policy.annotate(&mut doc).map_err(StartError::Policy)?;
        let openapi_json = doc.to_json().unwrap_or_default();
        let policy = web::Data::new(policy);
        let addr = format!("{}:{port}", self.settings.http.host);
        let listener = TcpListener::bind(&addr).map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: addr.clone(),
                source,
            })?
            .port();
        let readiness = web::Data::new(Readiness {
            store: self.store.clone(),
            bus: self.bus.clone(),
            draining: self.draining.clone(),
        });
        // A scrape never waits on Redis or the broker for long: below a typical scrape timeout.
        let scrape = web::Data::new(Scrape::new(
            self.store.clone(),
            self.bus.clone(),
            komek_bus::ParkingProbe::new(self.settings.clone()),
            self.hooks.clone(),
            Duration::from_secs(2).min(self.settings.redis.response_timeout),
        ));
        let openapi = web::Data::new(OpenApiJson(openapi_json));
        let limit = self.settings.http.body_limit_bytes;
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(crate::access::enforce))
                .wrap(actix_web::middleware::from_fn(
                    crate::middleware::security_headers,
                ))
                .wrap(actix_web::middleware::from_fn(crate::middleware::observe))
                .app_data(readiness.clone())
                .app_data(scrape.clone())
                .app_data(openapi.clone())
                .app_data(policy.clone())
                .configure(|cfg| limits(cfg, limit))
                .configure(ops::configure)
                .configure(configure.clone())
        })
        .keep_alive(self.settings.http.keep_alive)
        // Signals are ours (see `run_until_stopped`): actix would stop at once, without the drain.
        .disable_signals()
        .shutdown_timeout(work_grace(self.settings.shutdown.grace).as_secs().max(1));
        if self.settings.http.workers > 0 {
            server = server.workers(self.settings.http.workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartError::Bind { addr, source })?
            .run();
        tracing::info!(service = self.service, port, env = %self.settings.env, "listening");
        Ok(Application {
            port,
            server,
            runtime: self,
        })
    }
}

pub struct Application {
    port: u16,
    server: Server,
    runtime: Runtime,
}

impl Application {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully (see the module's doc); also
    /// returns, after the same clean-up, if the server stops on its own.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server, runtime, ..
        } = self;
        let handle = server.handle();
        let mut server = std::pin::pin!(server);
        let s = runtime.settings.shutdown.clone();
        let service = runtime.service;
        // When step 2 began: the grace period counts from there.
        let mut began = None;
        let result = tokio::select! {
            r = &mut server => r,
            signal = stop_signal() => {
                runtime.draining.store(true, Ordering::Relaxed);
                // A second signal (an impatient Ctrl-C) stops at once, without the rest.
                tokio::spawn(async move {
                    let again = stop_signal().await;
                    tracing::warn!(service, signal = again, "second signal: exiting now, in-flight work abandoned");
                    std::process::exit(1);
                });
                tracing::info!(service, signal, drain_delay_secs = s.drain_delay.as_secs(), grace_secs = s.grace.as_secs(),
                    "shutting down: readiness off, still serving while load balancers notice");
                tokio::select! {
                    r = &mut server => r,
                    _ = tokio::time::sleep(s.drain_delay) => {
                        began = Some(tokio::time::Instant::now());
                        tracing::info!(service, "drain over: finishing in-flight work");
                        let _ = runtime.shutdown.send(true);
                        for hub in &runtime.hubs {
                            hub.do_send(GoingAway);
                        }
                        // Graceful: stop accepting, finish in-flight requests (up to grace_secs).
                        let (r, ()) = tokio::join!(&mut server, handle.stop(true));
                        r
                    }
                }
            }
        };
        let began = began.unwrap_or_else(tokio::time::Instant::now);
        let deadline = began + s.grace;
        // HTTP requests and background tasks (a consumer retrying in place while Redis is away,
        // say) have four fifths of the grace; the rest is the relay's, to publish what they wrote.
        let tasks_deadline = began + work_grace(s.grace);
        let _ = runtime.shutdown.send(true);
        for t in runtime.tasks {
            if tokio::time::timeout_at(tasks_deadline, t).await.is_err() {
                tracing::warn!(
                    service,
                    "a background task did not finish within the grace period"
                );
            }
        }
        // Nothing of this process writes events any more: publish what is left, then stop.
        let _ = runtime.flush.send(true);
        if tokio::time::timeout_at(deadline, runtime.relay)
            .await
            .is_err()
        {
            tracing::warn!(
                service,
                "the outbox relay did not flush within the grace period; another replica's relay publishes the rest"
            );
        }
        tracing::info!(service, "stopped");
        result
    }
}

/// The part of the grace period in-flight HTTP requests and messages may take (four fifths);
/// the relay's flush has the rest.
fn work_grace(grace: Duration) -> Duration {
    grace.mul_f64(0.8)
}

/// Waits for SIGTERM (Kubernetes, `kill`) or SIGINT (Ctrl-C); returns its name.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => {
                tracing::error!("cannot listen for SIGTERM/SIGINT; stop with SIGKILL");
                std::future::pending().await
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Start-up for `main`: loads and checks settings (one line per bad setting, exit code 2) and
/// installs telemetry. The returned guard flushes spans when dropped.
pub fn boot(service: &str) -> (Settings, komek_telemetry::TelemetryGuard) {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("{service}: {line}");
            }
            std::process::exit(2);
        }
    };
    match komek_telemetry::init(
        service,
        &settings.telemetry.log_filter,
        settings.otlp_endpoint(),
    ) {
        Ok(guard) => (settings, guard),
        Err(e) => {
            eprintln!("{service}: {e}");
            std::process::exit(2);
        }
    }
}
