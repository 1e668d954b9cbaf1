//! RabbitMQ for Komek. Redis holds the truth; the bus carries events between services.
//!
//! - [`topology`]: exchange, per-service quorum queues with a delivery limit, dead-letter exchange
//!   and parking queue; declared at start and after every reconnect.
//! - [`relay`]: publishes the Redis outbox with publisher confirms (persistent, mandatory, with a
//!   timeout) and forgets an entry only after its confirm.
//! - [`consumer`]: the consumer loop: manual ack after the effect is stored, retry by requeue up to
//!   the delivery limit, then the parking queue, with a log line saying why.
//! - [`fanout`]: the event types a live page shows, to every replica (a private queue each, bound
//!   to those types only), for live notifications.
//! - [`metrics`]: relay, consumer and parking-queue metrics for `/metrics`.
//! - [`status`]: whether this process currently holds working broker connections (for /readyz).
//! - [`stamp`]: puts the current trace context into an event before it is stored.

pub mod consumer;
pub mod fanout;
pub mod metrics;
pub mod relay;
pub mod status;
pub mod topology;

#[cfg(test)]
mod fuzz_tests;

use std::time::Duration;

use komek_domain::events::Envelope;
use secrecy::ExposeSecret;

pub use consumer::{HandleError, run_consumer};
pub use fanout::run_fanout;
pub use metrics::ParkingProbe;
pub use relay::run_relay;
pub use status::BusStatus;
pub use topology::Names;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("amqp: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("store: {0}")]
    Store(#[from] komek_store::StoreError),
    #[error("broker did not confirm within {0:?}")]
    ConfirmTimeout(Duration),
    #[error("broker refused the message: {0}")]
    Refused(String),
}

/// Records the current span's W3C trace context in the event, so its consumers continue the trace.
pub fn stamp(event: &mut Envelope) {
    let headers = komek_telemetry::inject(&tracing::Span::current());
    event.traceparent = headers.get("traceparent").cloned();
    event.tracestate = headers.get("tracestate").cloned().filter(|s| !s.is_empty());
}

pub(crate) async fn connect(
    settings: &komek_settings::AmqpSettings,
    name: &str,
) -> Result<lapin::Connection, BusError> {
    let props = lapin::ConnectionProperties::default().with_connection_name(name.into());
    Ok(lapin::Connection::connect(settings.url.expose_secret(), props).await?)
}

/// Exponential backoff between reconnect attempts, capped by settings.
pub(crate) struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(s: &komek_settings::AmqpSettings) -> Self {
        let min = s.reconnect_min;
        Self {
            next: min,
            min,
            max: s.reconnect_max,
        }
    }
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
    pub(crate) async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
    }
}

/// An event about request `request_id`, stamped in the request's journey trace (`journey` is the
/// traceparent the request, escalation or survey keeps), so its consumers join that trace.
pub fn journey_event<P: serde::Serialize>(
    kind: &str,
    request_id: komek_domain::RequestId,
    journey: Option<&str>,
    payload: &P,
    now: time::OffsetDateTime,
) -> Envelope {
    let mut e = Envelope::new(kind, request_id, payload, now);
    let _journey = komek_telemetry::journey(kind, journey).entered();
    stamp(&mut e);
    e
}

/// The common case: `actor` did something to `r` (payload `RequestChanged`).
pub fn request_changed(
    kind: &str,
    r: &komek_domain::Request,
    actor: &str,
    detail: Option<String>,
    now: time::OffsetDateTime,
) -> Envelope {
    let payload = komek_domain::events::RequestChanged {
        number: r.number.clone(),
        actor: actor.to_owned(),
        detail,
    };
    journey_event(kind, r.id, r.trace.as_deref(), &payload, now)
}
