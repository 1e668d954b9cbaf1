//! The broker side of `/metrics`: what the relay published and failed, what each consumer handled,
//! retried and parked and how long handling took, and the parking queue's depth read at scrape
//! time. Registered in the process's default registry, which `/metrics` gathers.

use std::sync::LazyLock;
use std::time::Duration;

use komek_settings::Settings;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts};
use tokio::sync::Mutex;

use crate::topology::Names;
use crate::{BusError, connect};

/// Registers `metric` in the default registry. A metric that cannot be built or registered (a
/// name clash, which tests would catch) is logged and left out of `/metrics`; counting goes on.
pub fn registered<T: Collector + Clone + 'static>(
    metric: Result<T, prometheus::Error>,
) -> Option<T> {
    match metric {
        Ok(m) => {
            if let Err(e) = prometheus::register(Box::new(m.clone())) {
                tracing::warn!(error = %e, "metric not registered");
            }
            Some(m)
        }
        Err(e) => {
            tracing::warn!(error = %e, "metric not built");
            None
        }
    }
}

pub static RELAY_PUBLISHED: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    registered(IntCounter::new(
        "komek_relay_published_total",
        "Outbox events the broker confirmed",
    ))
});

pub static RELAY_FAILURES: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    registered(IntCounter::new(
        "komek_relay_failures_total",
        "Outbox relay failures (publish refused, unconfirmed, returned, connection lost); the entries are published again",
    ))
});

fn per_queue(name: &str, help: &str) -> Option<IntCounterVec> {
    registered(IntCounterVec::new(Opts::new(name, help), &["queue"]))
}

pub static EVENTS_HANDLED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    per_queue(
        "komek_events_handled_total",
        "Events a consumer handled and acknowledged, by queue",
    )
});

pub static EVENTS_RETRIED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    per_queue(
        "komek_events_retried_total",
        "Events given back to their queue after a transient failure, by queue",
    )
});

pub static EVENTS_PARKED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    per_queue(
        "komek_events_parked_total",
        "Events sent to the parking queue (rejected, or past the delivery limit), by queue",
    )
});

pub static EVENT_HANDLING: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    registered(HistogramVec::new(
        HistogramOpts::new(
            "komek_event_handling_seconds",
            "Time from an event's delivery to its outcome (retries in place included), by queue",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ]),
        &["queue"],
    ))
});

pub static EVENT_LAG: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    registered(HistogramVec::new(
        HistogramOpts::new(
            "komek_event_lag_seconds",
            "Time from an event's occurrence (its envelope's occurred_at, written with the commit that caused it) to its consumer acknowledging it, by queue and event type: how far behind the pipeline is",
        )
        .buckets(vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
        ]),
        &["queue", "event"],
    ))
});

/// The consumer of `queue` is running: its series exist from now on, at zero, so a rate over them
/// is defined before the first event.
pub(crate) fn touch_queue(queue: &str) {
    for c in [&*EVENTS_HANDLED, &*EVENTS_RETRIED, &*EVENTS_PARKED]
        .into_iter()
        .flatten()
    {
        let _ = c.with_label_values(&[queue]);
    }
    if let Some(h) = &*EVENT_HANDLING {
        let _ = h.with_label_values(&[queue]);
    }
}

/// How one delivery ended, for the counters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Handled,
    Retried,
    Parked,
}

pub(crate) fn observe(queue: &str, outcome: Outcome, took: Duration) {
    let counter = match outcome {
        Outcome::Handled => &*EVENTS_HANDLED,
        Outcome::Retried => &*EVENTS_RETRIED,
        Outcome::Parked => &*EVENTS_PARKED,
    };
    if let Some(c) = counter {
        c.with_label_values(&[queue]).inc();
    }
    if let Some(h) = &*EVENT_HANDLING {
        h.with_label_values(&[queue]).observe(took.as_secs_f64());
    }
}

/// An event handled by `queue`'s consumer `lag` after it occurred (negative lags, from clocks
/// apart between pods, count as zero).
pub(crate) fn observe_lag(queue: &str, event: &str, lag: time::Duration) {
    if let Some(h) = &*EVENT_LAG {
        h.with_label_values(&[queue, event])
            .observe(lag.as_seconds_f64().max(0.0));
    }
}

pub(crate) fn relay_published(n: usize) {
    if let Some(c) = &*RELAY_PUBLISHED {
        c.inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }
}

pub(crate) fn relay_failed() {
    if let Some(c) = &*RELAY_FAILURES {
        c.inc();
    }
}

/// Reads the parking queue's depth at scrape time: a passive declare on a channel kept between
/// scrapes (opened again after any failure), so a scrape costs one round trip.
pub struct ParkingProbe {
    settings: Settings,
    channel: Mutex<Option<(lapin::Connection, lapin::Channel)>>,
}

impl ParkingProbe {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            channel: Mutex::new(None),
        }
    }

    /// Messages in the parking queue, or `None` when the broker did not answer within `timeout`.
    pub async fn parked(&self, timeout: Duration) -> Option<u32> {
        let mut slot = tokio::time::timeout(timeout, self.channel.lock())
            .await
            .ok()?;
        match tokio::time::timeout(timeout, self.read(&mut slot)).await {
            Ok(Ok(n)) => Some(n),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "parking queue depth not read");
                None
            }
            Err(_) => {
                *slot = None;
                None
            }
        }
    }

    async fn read(
        &self,
        slot: &mut Option<(lapin::Connection, lapin::Channel)>,
    ) -> Result<u32, BusError> {
        // A failed passive declare (the queue not declared yet) closes only the channel: keep
        // the connection and open a new channel on it.
        let connected = slot.as_ref().is_some_and(|(c, _)| c.status().connected());
        if !connected {
            if let Some((old, _)) = slot.take() {
                let _ = old.close(200, "reconnecting".into()).await;
            }
            let conn = connect(&self.settings.amqp, "komek-metrics").await?;
            let ch = conn.create_channel().await?;
            *slot = Some((conn, ch));
        }
        let Some((conn, ch)) = slot.as_mut() else {
            return Err(BusError::Refused("no channel".into()));
        };
        if !ch.status().connected() {
            *ch = conn.create_channel().await?;
        }
        let names = Names::new(&self.settings.amqp.prefix);
        // Passive: only asks; a missing queue (never declared yet) closes the channel with 404.
        let q = ch
            .queue_declare(
                names.parking.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        Ok(q.message_count())
    }
}
