//! What `/metrics` tells an operator, besides the HTTP histogram ([`crate::middleware`]) and the
//! broker counters ([`komek_bus::metrics`]).
//!
//! Counters move where things happen (deadline watchers, live sessions). Gauges that describe the
//! shared state (outbox, requests by status, waiting queue, open escalations, parking queue) are
//! read at scrape time by [`Scrape`], each with a timeout, so `/metrics` answers even when Redis or
//! RabbitMQ does not (`komek_redis_up 0` / `komek_amqp_up 0` then, and those gauges keep their
//! last value).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use komek_bus::metrics::registered;
use komek_bus::{BusStatus, ParkingProbe};
use komek_store::{Store, StoreError};
use prometheus::{Gauge, IntCounterVec, IntGauge, IntGaugeVec, Opts};

fn int_gauge(name: &str, help: &str) -> Option<IntGauge> {
    registered(IntGauge::new(name, help))
}

fn gauge(name: &str, help: &str) -> Option<Gauge> {
    registered(Gauge::new(name, help))
}

fn int_gauge_vec(name: &str, help: &str, label: &str) -> Option<IntGaugeVec> {
    registered(IntGaugeVec::new(Opts::new(name, help), &[label]))
}

static BUILD_INFO: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    registered(IntGaugeVec::new(
        Opts::new(
            "komek_build_info",
            "Always 1; the labels say which build of which service runs",
        ),
        &["version", "service"],
    ))
});
static OUTBOX_ENTRIES: LazyLock<Option<IntGauge>> = LazyLock::new(|| {
    int_gauge(
        "komek_outbox_entries",
        "Events in the Redis outbox not yet confirmed by RabbitMQ",
    )
});
static OUTBOX_OLDEST: LazyLock<Option<Gauge>> = LazyLock::new(|| {
    gauge(
        "komek_outbox_oldest_age_seconds",
        "Age of the oldest outbox event (0 when empty)",
    )
});
static REQUESTS: LazyLock<Option<IntGaugeVec>> =
    LazyLock::new(|| int_gauge_vec("komek_requests", "Requests by status", "status"));
static WAITING: LazyLock<Option<IntGauge>> = LazyLock::new(|| {
    int_gauge(
        "komek_waiting_requests",
        "Requests waiting in the queue for an agent",
    )
});
static WAITING_OLDEST: LazyLock<Option<Gauge>> = LazyLock::new(|| {
    gauge(
        "komek_waiting_oldest_age_seconds",
        "How long the longest-waiting request has waited (0 when none waits)",
    )
});
static OPEN_ESCALATIONS: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    int_gauge_vec(
        "komek_open_escalations",
        "Escalations not yet answered, by department",
        "department",
    )
});
static LIVE_SESSIONS: LazyLock<Option<IntGauge>> = LazyLock::new(|| {
    int_gauge(
        "komek_live_sessions",
        "Staff WebSocket sessions connected to this process",
    )
});
static REDIS_UP: LazyLock<Option<IntGauge>> = LazyLock::new(|| {
    int_gauge(
        "komek_redis_up",
        "1 when this process read Redis during the scrape",
    )
});
static AMQP_UP: LazyLock<Option<IntGauge>> = LazyLock::new(|| {
    int_gauge(
        "komek_amqp_up",
        "1 when this process's broker connections (relay, consumer) are up",
    )
});
static PARKED: LazyLock<Option<IntGauge>> = LazyLock::new(|| {
    int_gauge(
        "komek_parked_messages",
        "Messages in the parking queue (events that could not be handled)",
    )
});
static DEADLINE_WARNINGS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    registered(IntCounterVec::new(
        Opts::new(
            "komek_deadline_warnings_total",
            "Deadline warnings fired, by deadline kind",
        ),
        &["kind"],
    ))
});
static DEADLINE_BREACHES: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    registered(IntCounterVec::new(
        Opts::new(
            "komek_deadline_breaches_total",
            "Deadline breaches fired, by deadline kind",
        ),
        &["kind"],
    ))
});

/// The deadline kinds the counters are labelled with.
pub const DEADLINE_KINDS: [&str; 3] = ["first_response", "resolution", "escalation"];

/// Says which build of `service` runs; every metric is registered from here on, so a scrape
/// shows each series (at zero) before the first event.
pub fn init(service: &str) {
    if let Some(g) = &*BUILD_INFO {
        g.with_label_values(&[env!("CARGO_PKG_VERSION"), service])
            .set(1);
    }
    for kind in DEADLINE_KINDS {
        for c in [&*DEADLINE_WARNINGS, &*DEADLINE_BREACHES]
            .into_iter()
            .flatten()
        {
            let _ = c.with_label_values(&[kind]);
        }
    }
    LazyLock::force(&LIVE_SESSIONS);
    LazyLock::force(&komek_bus::metrics::RELAY_PUBLISHED);
    LazyLock::force(&komek_bus::metrics::RELAY_FAILURES);
    LazyLock::force(&komek_bus::metrics::EVENTS_HANDLED);
    LazyLock::force(&komek_bus::metrics::EVENTS_RETRIED);
    LazyLock::force(&komek_bus::metrics::EVENTS_PARKED);
    LazyLock::force(&komek_bus::metrics::EVENT_HANDLING);
}

/// A deadline warning fired (`kind`: one of [`DEADLINE_KINDS`]).
pub fn deadline_warning(kind: &str) {
    if let Some(c) = &*DEADLINE_WARNINGS {
        c.with_label_values(&[kind]).inc();
    }
}

/// A deadline breach fired (`kind`: one of [`DEADLINE_KINDS`]).
pub fn deadline_breach(kind: &str) {
    if let Some(c) = &*DEADLINE_BREACHES {
        c.with_label_values(&[kind]).inc();
    }
}

pub(crate) fn live_session_opened() {
    if let Some(g) = &*LIVE_SESSIONS {
        g.inc();
    }
}

pub(crate) fn live_session_closed() {
    if let Some(g) = &*LIVE_SESSIONS {
        g.dec();
    }
}

/// A service's own scrape-time reads from the store (see [`requests`], [`escalations`]).
pub type Hook = Arc<
    dyn Fn(Store) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>> + Send + Sync,
>;

/// Requests by status and the waiting queue (the workspace, which owns the requests' lifecycle).
pub fn requests() -> Hook {
    Arc::new(|store: Store| {
        Box::pin(async move {
            let g = store.request_gauges().await?;
            if let Some(v) = &*REQUESTS {
                for (status, n) in &g.by_status {
                    v.with_label_values(&[status.as_str()]).set(as_i64(*n));
                }
            }
            if let Some(w) = &*WAITING {
                w.set(as_i64(g.waiting));
            }
            if let Some(w) = &*WAITING_OLDEST {
                w.set(g.waiting_oldest_age_secs);
            }
            Ok(())
        })
    })
}

/// Open escalations per department (the escalation service).
pub fn escalations() -> Hook {
    Arc::new(|store: Store| {
        Box::pin(async move {
            let open = store.open_escalations().await?;
            if let Some(v) = &*OPEN_ESCALATIONS {
                // A department removed since the last scrape leaves no stale series behind.
                v.reset();
                for (department, n) in &open {
                    v.with_label_values(&[department.as_str()]).set(as_i64(*n));
                }
            }
            Ok(())
        })
    })
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// What the `/metrics` handler reads at scrape time.
pub struct Scrape {
    store: Store,
    bus: BusStatus,
    parking: ParkingProbe,
    hooks: Vec<Hook>,
    timeout: Duration,
    /// One scrape at a time: the gauges are process-wide.
    busy: tokio::sync::Mutex<()>,
}

impl Scrape {
    pub fn new(
        store: Store,
        bus: BusStatus,
        parking: ParkingProbe,
        hooks: Vec<Hook>,
        timeout: Duration,
    ) -> Self {
        Self {
            store,
            bus,
            parking,
            hooks,
            timeout,
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// Sets the scrape-time gauges; never takes much longer than `timeout`.
    pub async fn collect(&self) {
        let Ok(_one) = tokio::time::timeout(self.timeout, self.busy.lock()).await else {
            return;
        };
        let store = async {
            let o = self.store.outbox_gauges().await?;
            if let Some(g) = &*OUTBOX_ENTRIES {
                g.set(as_i64(o.entries));
            }
            if let Some(g) = &*OUTBOX_OLDEST {
                g.set(o.oldest_age_secs);
            }
            for hook in &self.hooks {
                hook(self.store.clone()).await?;
            }
            Ok::<_, StoreError>(())
        };
        let (store, parked) = tokio::join!(
            tokio::time::timeout(self.timeout, store),
            self.parking.parked(self.timeout)
        );
        let redis_up = match store {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "metrics: store not read");
                !e.is_unavailable()
            }
            Err(_) => false,
        };
        if let Some(g) = &*REDIS_UP {
            g.set(i64::from(redis_up));
        }
        if let Some(g) = &*AMQP_UP {
            g.set(i64::from(self.bus.is_ready()));
        }
        if let (Some(g), Some(n)) = (&*PARKED, parked) {
            g.set(i64::from(n));
        }
    }
}
