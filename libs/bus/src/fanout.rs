//! The events a replica's live handler pushes, to every replica: a private, exclusive queue per
//! process, bound to the exchange with only the routing keys its caller names (an event type, or a
//! topic pattern). Every binding costs one broker delivery per matching event per replica, so a
//! handler that ignores a kind must not bind it.
//!
//! Used for live notifications (WebSocket pushes), which are best effort by nature: the state they
//! describe is in Redis, and a client that reconnects reloads it. So this queue is auto-acked,
//! transient, and goes away with its connection.

use std::future::Future;

use futures_util::StreamExt;
use komek_domain::events::Envelope;
use komek_settings::Settings;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use tokio::sync::watch;

use crate::topology::{Names, declare};
use crate::{Backoff, BusError, connect};

/// Calls `handler` for every event published to the exchange whose routing key matches one of
/// `keys`, until `shutdown`.
pub async fn run_fanout<H, F>(
    settings: Settings,
    name: String,
    keys: Vec<String>,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Fn(Envelope) -> F,
    F: Future<Output = ()>,
{
    let mut backoff = Backoff::new(&settings.amqp);
    loop {
        let result = tokio::select! {
            r = session(&settings, &name, &keys, &handler, &mut backoff) => r,
            _ = shutdown.changed() => return,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "live feed lost its connection; reconnecting");
        }
        tokio::select! {
            _ = backoff.wait() => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn session<H, F>(
    settings: &Settings,
    name: &str,
    keys: &[String],
    handler: &H,
    backoff: &mut Backoff,
) -> Result<(), BusError>
where
    H: Fn(Envelope) -> F,
    F: Future<Output = ()>,
{
    let names = Names::new(&settings.amqp.prefix);
    let conn = connect(&settings.amqp, name).await?;
    let ch = conn.create_channel().await?;
    declare(&ch, &names, settings.amqp.delivery_limit).await?;
    let opts = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..Default::default()
    };
    let q = ch
        .queue_declare("".into(), opts, FieldTable::default())
        .await?;
    for key in keys {
        ch.queue_bind(
            q.name().clone(),
            names.exchange.as_str().into(),
            key.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    let mut consumer = ch
        .basic_consume(
            q.name().clone(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    backoff.reset();
    tracing::info!(queue = %q.name(), "live feed connected");
    let mut watchdog = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            next = consumer.next() => match next {
                Some(d) => {
                    if let Ok(env) = Envelope::decode(&d?.data) {
                        handler(env).await;
                    }
                }
                None => return Err(BusError::Refused("live feed ended".into())),
            },
            _ = watchdog.tick() => {
                if !conn.status().connected() {
                    return Err(BusError::Refused("connection lost".into()));
                }
            }
        }
    }
}
