//! The consumer loop every consuming service runs on its own queue.
//!
//! A message is acked only after the handler stored its effect. The handler decides between a
//! transient failure and a permanent one (straight to parking). A transient failure (Redis away, a
//! conflict) is first retried here with backoff for up to `amqp.retry_window_ms` (`AmqpSettings::retry_window`), so an outage of
//! Redis pauses consumption instead of burning deliveries; only then is the message requeued, and
//! the quorum queue dead-letters it to the parking queue past `amqp.delivery_limit`. Every
//! failure is logged with its reason and attempt number. Handlers are idempotent (the handled-event
//! marker is written with the effect), so a redelivery has no second effect.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use komek_domain::events::Envelope;
use komek_settings::Settings;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use tokio::sync::watch;
use tracing::Instrument;

use crate::topology::{Names, declare};
use crate::{Backoff, BusError, BusStatus, connect};

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Might work later (Redis down, a conflict): requeue.
    #[error("transient: {0}")]
    Retry(String),
    /// Will never work (bad payload, impossible transition): park it now.
    #[error("permanent: {0}")]
    Reject(String),
}

/// Consumes `service`'s queue until `shutdown`, reconnecting with backoff. On shutdown it stops
/// taking deliveries (cancels its consumer), lets the handlers in flight finish and settle their
/// message, then closes its channel: what was prefetched but not started goes back to the queue.
pub async fn run_consumer<H, F>(
    settings: Settings,
    service: &'static str,
    status: BusStatus,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Fn(Envelope) -> F,
    F: Future<Output = Result<(), HandleError>>,
{
    let mut backoff = Backoff::new(&settings.amqp);
    status.set_consumer(false);
    crate::metrics::touch_queue(service);
    loop {
        if stopping(&shutdown) {
            return;
        }
        let result = session(
            &settings,
            service,
            &status,
            &handler,
            &mut backoff,
            &mut shutdown,
        )
        .await;
        status.set_consumer(false);
        match result {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, service, "consumer lost its connection; reconnecting");
                tokio::select! {
                    _ = backoff.wait() => {}
                    _ = stop_asked(&mut shutdown) => return,
                }
            }
        }
    }
}

/// Resolves once shutdown is asked for (or its sender is gone with the service). The guard
/// `wait_for` returns is dropped here: it must not live across an await (it is not `Send`).
pub(crate) async fn stop_asked(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// Shutdown was asked for (or its sender is gone with the service).
pub(crate) fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

async fn session<H, F>(
    settings: &Settings,
    service: &'static str,
    status: &BusStatus,
    handler: &H,
    backoff: &mut Backoff,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), BusError>
where
    H: Fn(Envelope) -> F,
    F: Future<Output = Result<(), HandleError>>,
{
    let names = Names::new(&settings.amqp.prefix);
    let queue = names.queue(service);
    let setup = async {
        let conn = connect(&settings.amqp, &format!("komek-{service}-consumer")).await?;
        let ch = conn.create_channel().await?;
        declare(&ch, &names, settings.amqp.delivery_limit).await?;
        ch.basic_qos(settings.amqp.prefetch, BasicQosOptions::default())
            .await?;
        let consumer = ch
            .basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok::<_, BusError>((conn, ch, consumer))
    };
    let (conn, ch, mut consumer) = tokio::select! {
        r = setup => r?,
        _ = stop_asked(shutdown) => return Ok(()),
    };
    status.set_consumer(true);
    backoff.reset();
    tracing::info!(service, queue = %queue, "consumer connected");
    // A dropped connection does not always end the delivery stream: look at the connection too.
    let mut watchdog = tokio::time::interval(Duration::from_secs(1));
    // Several deliveries are handled at once: each effect is its own version-checked commit, so
    // they cannot corrupt one another, and a conflict is simply retried.
    let most = usize::from(settings.amqp.concurrency.max(1));
    let mut inflight = futures_util::stream::FuturesUnordered::new();
    let mut draining = false;
    loop {
        if draining && inflight.is_empty() {
            break;
        }
        tokio::select! {
            next = consumer.next(), if !draining && inflight.len() < most => match next {
                Some(delivery) => inflight.push(handle_one(settings, service, &queue, handler, delivery?)),
                None => return Err(BusError::Refused("consumer stream ended".into())),
            },
            Some(done) = inflight.next(), if !inflight.is_empty() => done?,
            _ = stop_asked(shutdown), if !draining => {
                draining = true;
                tracing::info!(service, queue = %queue, in_flight = inflight.len(), "consumer stopping: finishing what it holds");
                let cancel = ch.basic_cancel(consumer.tag(), BasicCancelOptions::default());
                if let Err(e) = settle(settings.amqp.publish_timeout, async { cancel.await.map(|()| true) }).await {
                    tracing::warn!(error = %e, service, "consumer cancel failed; closing the channel instead");
                }
            }
            _ = watchdog.tick() => {
                if !conn.status().connected() {
                    return Err(BusError::Refused("connection lost".into()));
                }
            }
        }
    }
    // Deliveries received but never started are unacked: closing gives them back to the queue
    // at once, for another replica.
    let timeout = settings.amqp.publish_timeout;
    let _ = settle(timeout, async {
        ch.close(200, "shutdown".into()).await.map(|()| true)
    })
    .await;
    let _ = settle(timeout, async {
        conn.close(200, "shutdown".into()).await.map(|()| true)
    })
    .await;
    tracing::info!(service, queue = %queue, "consumer stopped");
    Ok(())
}

/// The trace context carried in a delivery's headers, and which attempt this delivery is: one
/// more than the quorum queue's `x-delivery-count`. Headers come from whoever published, so a
/// count out of range (negative, or `i64::MAX`, which overflowed `+ 1`) counts as none or as
/// the last possible attempt.
pub(crate) fn header_map(headers: Option<&FieldTable>) -> (HashMap<String, String>, i64) {
    let mut carrier = HashMap::new();
    let mut count = 0;
    if let Some(h) = headers {
        for (k, v) in h.inner() {
            match v {
                AMQPValue::LongString(s) => {
                    carrier.insert(k.to_string(), s.to_string());
                }
                AMQPValue::ShortString(s) => {
                    carrier.insert(k.to_string(), s.to_string());
                }
                AMQPValue::LongLongInt(n) if k.as_str() == "x-delivery-count" => count = *n,
                AMQPValue::LongInt(n) if k.as_str() == "x-delivery-count" => count = i64::from(*n),
                _ => {}
            }
        }
    }
    (carrier, count.max(0).saturating_add(1))
}

/// An ack or nack, given up after `timeout` (on a dead connection it may never return).
async fn settle(
    timeout: Duration,
    f: impl Future<Output = lapin::Result<bool>>,
) -> lapin::Result<bool> {
    match tokio::time::timeout(timeout, f).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {timeout:?}"),
        )
        .into()),
    }
}

async fn handle_one<H, F>(
    settings: &Settings,
    service: &str,
    queue: &str,
    handler: &H,
    delivery: Delivery,
) -> Result<(), BusError>
where
    H: Fn(Envelope) -> F,
    F: Future<Output = Result<(), HandleError>>,
{
    let (carrier, attempt) = header_map(delivery.properties.headers().as_ref());
    let limit = i64::from(settings.amqp.delivery_limit);
    let kind = delivery.routing_key.to_string();
    let span = tracing::info_span!(
        "consume",
        otel.name = %format!("consume {kind}"),
        otel.kind = "consumer",
        { komek_telemetry::attr::MESSAGING_SYSTEM } = "rabbitmq",
        { komek_telemetry::attr::MESSAGING_DESTINATION } = %queue,
        { komek_telemetry::attr::EVENT_TYPE } = %kind,
        { komek_telemetry::attr::EVENT_ID } = tracing::field::Empty,
        { komek_telemetry::attr::REQUEST_ID } = tracing::field::Empty,
    );
    komek_telemetry::extract(&span, &carrier);
    let window = settings.amqp.retry_window;
    let received = std::time::Instant::now();
    let mut occurred = None;
    let outcome = async {
        let env = Envelope::decode(&delivery.data).map_err(|e| HandleError::Reject(e.to_string()))?;
        occurred = Some(env.occurred_at);
        let current = tracing::Span::current();
        current.record(komek_telemetry::attr::EVENT_ID, tracing::field::display(env.id));
        current.record(komek_telemetry::attr::REQUEST_ID, tracing::field::display(env.request_id));
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            match handler(env.clone()).await {
                Err(HandleError::Retry(why)) if started.elapsed() + pause < window => {
                    tracing::warn!(event_type = %env.kind, reason = %why, retry_in_ms = pause.as_millis() as u64, "event failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }
    .instrument(span.clone())
    .await;
    let counted = match &outcome {
        Ok(()) => crate::metrics::Outcome::Handled,
        Err(HandleError::Reject(_)) => crate::metrics::Outcome::Parked,
        Err(HandleError::Retry(_)) if attempt > limit => crate::metrics::Outcome::Parked,
        Err(HandleError::Retry(_)) => crate::metrics::Outcome::Retried,
    };
    crate::metrics::observe(service, counted, received.elapsed());
    if let (Ok(()), Some(at)) = (&outcome, occurred) {
        crate::metrics::observe_lag(service, &kind, time::OffsetDateTime::now_utc() - at);
    }
    let ack_timeout = settings.amqp.publish_timeout;
    // The span is attached to the future, never entered across an await: a guard held over an
    // await can end on another thread and corrupt its context stack.
    let done = async { match outcome {
        Ok(()) => settle(ack_timeout, delivery.ack(BasicAckOptions::default())).await,
        Err(HandleError::Reject(why)) => {
            tracing::error!(event_type = %kind, reason = %why, "event parked: it can never be handled");
            settle(
                ack_timeout,
                delivery.nack(BasicNackOptions {
                    requeue: false,
                    ..Default::default()
                }),
            )
            .await
        }
        Err(HandleError::Retry(why)) => {
            if attempt > limit {
                tracing::error!(event_type = %kind, reason = %why, attempt, limit, "event parked: delivery limit reached");
            } else {
                tracing::warn!(event_type = %kind, reason = %why, attempt, limit, "event failed; it will be redelivered");
            }
            settle(
                ack_timeout,
                delivery.nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                }),
            )
            .await
        }
    } }
    .instrument(span)
    .await;
    // An ack on a dead channel fails or never returns; either way the broker requeues the
    // message and we reconnect.
    done.map(|_| ()).map_err(BusError::from)
}
