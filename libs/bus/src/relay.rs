//! The outbox relay: Redis outbox stream -> RabbitMQ, at least once.
//!
//! Each service replica runs one relay; they share the stream through a consumer group. An entry
//! is deleted from the outbox only after the broker confirmed it (ack, not returned as
//! unroutable). A relay that dies leaves its entries pending; another relay claims them after
//! `outbox.claim_idle_ms`. Consumers are idempotent, so a second publish after a crash is harmless.
//!
//! An event type a service consumes (`SUBSCRIPTIONS`) is published `mandatory`: its queue is
//! always declared, so a return means a broken topology and counts as a failure. Any other type
//! reaches only the replicas' live feeds, which come and go with their connections: it is
//! published without `mandatory`, and the broker drops it when no live feed is bound.

use std::collections::HashMap;
use std::time::Duration;

use komek_domain::events::{Envelope, SUBSCRIPTIONS};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::outbox::OutboxEntry;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, PublisherConfirm};
use tokio::sync::watch;
use tracing::Instrument;

use crate::topology::{Names, declare};
use crate::{Backoff, BusError, BusStatus, connect};

/// Runs until `shutdown` turns true, then flushes: publishes (with confirms) what the outbox
/// holds until a read finds nothing new, and returns. The service sets `shutdown` only after its
/// HTTP server and consumers stopped, so what they wrote last is published by this replica
/// instead of waiting `outbox.claim_idle_ms` for another. `name` identifies this replica's relay
/// in the consumer group.
pub async fn run_relay(
    store: Store,
    settings: Settings,
    name: String,
    status: BusStatus,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(&settings.amqp);
    loop {
        let result = relay_session(
            &store,
            &settings,
            &name,
            &status,
            &mut backoff,
            &mut shutdown,
        )
        .await;
        status.set_relay(false);
        match result {
            Ok(()) => {
                tracing::info!(relay = %name, "outbox relay flushed and stopped");
                return;
            }
            Err(e) => {
                crate::metrics::relay_failed();
                tracing::warn!(error = %e, relay = %name, "outbox relay lost its connection; reconnecting");
                // Shutting down with the broker away: what is left waits in the outbox for
                // another replica's relay (nothing is lost, it is only later).
                if crate::consumer::stopping(&shutdown) {
                    return;
                }
                tokio::select! {
                    _ = backoff.wait() => {}
                    _ = crate::consumer::stop_asked(&mut shutdown) => return,
                }
            }
        }
    }
}

async fn relay_session(
    store: &Store,
    settings: &Settings,
    name: &str,
    status: &BusStatus,
    backoff: &mut Backoff,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), BusError> {
    let names = Names::new(&settings.amqp.prefix);
    let block = settings.outbox.block;
    let setup = async {
        let conn = connect(&settings.amqp, &format!("{name}-relay")).await?;
        let ch = conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        declare(&ch, &names, settings.amqp.delivery_limit).await?;
        store.ensure_relay_group().await?;
        let reader = store.dedicated(block).await?;
        Ok::<_, BusError>((conn, ch, reader))
    };
    // Connecting is given up at shutdown; once connected, a batch is always finished.
    let (conn, ch, mut reader) = tokio::select! {
        r = setup => r?,
        _ = crate::consumer::stop_asked(shutdown) => return Ok(()),
    };
    status.set_relay(true);
    backoff.reset();
    tracing::info!(relay = %name, exchange = %names.exchange, "outbox relay connected");
    let timeout = settings.amqp.publish_timeout;
    let mut since_claim = Duration::MAX;
    loop {
        let flushing = crate::consumer::stopping(shutdown);
        let mut entries = Vec::new();
        // Take over what a dead relay left behind, now and then.
        if !flushing && since_claim >= settings.outbox.claim_idle / 2 {
            entries = store
                .claim_stale_outbox(
                    name,
                    millis(settings.outbox.claim_idle),
                    settings.outbox.batch,
                )
                .await?;
            since_claim = Duration::ZERO;
        }
        if entries.is_empty() {
            let started = std::time::Instant::now();
            // Flushing reads without waiting (1 ms: a BLOCK of 0 would wait forever).
            let block_ms = if flushing {
                1
            } else {
                usize::try_from(millis(block)).unwrap_or(1000)
            };
            entries = store
                .read_outbox(&mut reader, name, settings.outbox.batch, block_ms)
                .await?;
            since_claim = since_claim.saturating_add(started.elapsed());
        }
        if entries.is_empty() {
            if flushing {
                let _ = tokio::time::timeout(timeout, ch.close(200, "shutdown".into())).await;
                let _ = tokio::time::timeout(timeout, conn.close(200, "shutdown".into())).await;
                return Ok(());
            }
            if !conn.status().connected() {
                return Err(BusError::Refused("connection closed".into()));
            }
            continue;
        }
        // Publish the whole batch, then collect the confirms: the broker confirms a channel's
        // messages in order, and waiting for each one before the next would cap throughput at one
        // round trip per event.
        let mut confirmed = Vec::with_capacity(entries.len());
        let mut failure = None;
        let mut waiting = Vec::with_capacity(entries.len());
        for entry in &entries {
            match start_publish(&ch, &names, entry, timeout).await {
                Ok(confirm) => waiting.push((entry, confirm)),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        for (entry, confirm) in waiting {
            match tokio::time::timeout_at(deadline, confirm).await {
                Ok(Ok(c)) if c.is_ack() => match c.take_message() {
                    None => confirmed.push(entry.id.clone()),
                    Some(returned) => {
                        failure.get_or_insert(BusError::Refused(format!(
                            "{} returned: {}",
                            entry.kind, returned.reply_text
                        )));
                    }
                },
                Ok(Ok(_)) => {
                    failure.get_or_insert(BusError::Refused(format!("nack for {}", entry.kind)));
                }
                Ok(Err(e)) => {
                    failure.get_or_insert(e.into());
                }
                Err(_) => {
                    failure.get_or_insert(BusError::ConfirmTimeout(timeout));
                }
            }
        }
        store.ack_outbox(&confirmed).await?;
        crate::metrics::relay_published(confirmed.len());
        if let Some(e) = failure {
            return Err(e);
        }
    }
}

/// Does a service's queue subscribe to events of this type?
fn consumed(kind: &str) -> bool {
    SUBSCRIPTIONS.iter().any(|(_, keys)| keys.contains(&kind))
}

/// Sends one outbox entry (persistent, mandatory when a service consumes its type, with the
/// trace context in its headers) and returns the broker's confirm to wait for.
async fn start_publish(
    ch: &Channel,
    names: &Names,
    entry: &OutboxEntry,
    timeout: Duration,
) -> Result<PublisherConfirm, BusError> {
    let envelope = Envelope::decode(&entry.event).ok();
    let span = tracing::info_span!(
        "publish",
        otel.name = %format!("publish {}", entry.kind),
        otel.kind = "producer",
        { komek_telemetry::attr::MESSAGING_SYSTEM } = "rabbitmq",
        { komek_telemetry::attr::MESSAGING_DESTINATION } = %names.exchange,
        { komek_telemetry::attr::EVENT_TYPE } = %entry.kind,
    );
    let mut message_id = String::new();
    if let Some(env) = &envelope {
        let mut carrier = HashMap::new();
        if let Some(tp) = &env.traceparent {
            carrier.insert("traceparent".to_owned(), tp.clone());
        }
        if let Some(ts) = &env.tracestate {
            carrier.insert("tracestate".to_owned(), ts.clone());
        }
        komek_telemetry::extract(&span, &carrier);
        message_id = env.id.to_string();
    }
    async {
        let mut headers = FieldTable::default();
        for (k, v) in komek_telemetry::inject(&tracing::Span::current()) {
            headers.insert(k.as_str().into(), AMQPValue::LongString(v.as_str().into()));
        }
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message_id.as_str().into())
            .with_type(entry.kind.as_str().into())
            .with_headers(headers);
        let opts = BasicPublishOptions {
            mandatory: consumed(&entry.kind),
            ..Default::default()
        };
        tokio::time::timeout(
            timeout,
            ch.basic_publish(
                names.exchange.as_str().into(),
                entry.kind.as_str().into(),
                opts,
                &entry.event,
                props,
            ),
        )
        .await
        .map_err(|_| BusError::ConfirmTimeout(timeout))?
        .map_err(BusError::from)
    }
    .instrument(span)
    .await
}

/// Whole milliseconds, as Redis's stream commands take them.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use komek_domain::events::kind;

    #[test]
    fn only_consumed_kinds_must_be_routed() {
        assert!(super::consumed(kind::REQUEST_CREATED));
        assert!(super::consumed(kind::REQUEST_ESCALATED));
        // Reach only the live feeds, which may all be away (a restart, a one-service test).
        assert!(!super::consumed(kind::REQUEST_QUEUED));
        assert!(!super::consumed(kind::DEPARTMENT_CHANGED));
        assert!(!super::consumed(kind::STAFF_CHANGED));
    }
}
