//! The app factory every service uses, from `main` and from tests alike.
//!
//! [`Runtime::start`] connects to Redis and starts this replica's outbox relay; a consuming service
//! adds its consumer with [`Runtime::spawn_consumer`]; [`Runtime::serve`] binds the HTTP server
//! (port 0 picks a free port; [`Application::port`] reads it back). [`Application::run_until_stopped`]
//! serves until SIGINT/SIGTERM, then stops the broker loops and lets in-flight work finish.

use std::future::Future;
use std::net::TcpListener;
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
}

/// What a running service holds besides its HTTP server.
pub struct Runtime {
    pub service: &'static str,
    pub settings: Settings,
    pub store: Store,
    pub bus: BusStatus,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
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
        let (shutdown, rx) = watch::channel(false);
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
            tasks: vec![relay],
        })
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
    pub fn serve<F>(
        self,
        port: u16,
        openapi_json: String,
        configure: F,
    ) -> Result<Application, StartError>
    where
        F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
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
        });
        let openapi = web::Data::new(OpenApiJson(openapi_json));
        let limit = self.settings.http.body_limit_bytes;
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(crate::middleware::observe))
                .app_data(readiness.clone())
                .app_data(openapi.clone())
                .configure(|cfg| limits(cfg, limit))
                .configure(ops::configure)
                .configure(configure.clone())
        })
        .keep_alive(self.settings.http.keep_alive)
        .shutdown_timeout(10);
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

    /// Serves until the server stops (signal or handle), then stops the broker loops.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        let _ = self.runtime.shutdown.send(true);
        for t in self.runtime.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        result
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
