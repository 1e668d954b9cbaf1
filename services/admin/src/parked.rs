//! The parking queue (`{p}.parking`): events a consumer rejected or could not handle within the
//! delivery limit, dead-lettered through `{p}.dlx`.
//!
//! - [`list`] takes every message without acknowledging it and lets the broker take them all
//!   back when the channel closes: nothing is lost, and the order stays.
//! - [`replay`] publishes each (or those of one original queue) to the queue it came from,
//!   through the default exchange, with publisher confirms, and acknowledges the parked copy only
//!   after the confirm. A crash in between delivers the event twice, which the idempotent
//!   consumers make harmless.

use std::io::Write;

use komek_bus::Names;
use komek_settings::Settings;
use lapin::options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use secrecy::ExposeSecret;

use crate::CliError;

/// Headers the broker adds when it dead-letters a message; a replayed message starts afresh.
const DEATH_HEADERS: &[&str] = &[
    "x-death",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-first-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-last-death-exchange",
    "x-delivery-count",
];

/// What a parked message says about itself.
pub struct Parked {
    /// The queue it was dead-lettered from.
    pub queue: Option<String>,
    /// `rejected` (a consumer said it can never be handled) or `delivery_limit`.
    pub reason: Option<String>,
    /// The event type (the routing key it was published with).
    pub kind: String,
    pub event_id: Option<String>,
}

fn text(v: &AMQPValue) -> Option<String> {
    match v {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

/// The first dead-lettering: `x-first-death-*`, or else the first `x-death` entry.
fn death(headers: Option<&FieldTable>, field: &str) -> Option<String> {
    let h = headers?;
    if let Some(v) = h.inner().get(format!("x-first-death-{field}").as_str()) {
        return text(v);
    }
    match h.inner().get("x-death")? {
        AMQPValue::FieldArray(a) => match a.as_slice().first()? {
            AMQPValue::FieldTable(t) => t.inner().get(field).and_then(text),
            _ => None,
        },
        _ => None,
    }
}

impl Parked {
    fn of(d: &lapin::message::Delivery) -> Self {
        let h = d.properties.headers().as_ref();
        let event_id = serde_json::from_slice::<serde_json::Value>(&d.data)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
        Self {
            queue: death(h, "queue"),
            reason: death(h, "reason"),
            kind: d.routing_key.to_string(),
            event_id,
        }
    }

    fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}",
            self.queue.as_deref().unwrap_or("?"),
            self.kind,
            self.reason.as_deref().unwrap_or("?"),
            self.event_id.as_deref().unwrap_or("?")
        )
    }
}

async fn channel(settings: &Settings) -> Result<(Connection, Channel), CliError> {
    let props = ConnectionProperties::default().with_connection_name("komek-admin".into());
    let conn = Connection::connect(settings.amqp.url.expose_secret(), props)
        .await
        .map_err(|e| CliError::Failed(format!("cannot reach RabbitMQ: {e}")))?;
    let ch = conn.create_channel().await.map_err(CliError::failed)?;
    // The topology as every service declares it (idempotent): the parking queue exists even if
    // no service ran yet.
    komek_bus::topology::declare(
        &ch,
        &Names::new(&settings.amqp.prefix),
        settings.amqp.delivery_limit,
    )
    .await
    .map_err(CliError::failed)?;
    Ok((conn, ch))
}

/// Takes every parked message without acknowledging it.
async fn take_all(ch: &Channel, parking: &str) -> Result<Vec<lapin::message::Delivery>, CliError> {
    let mut taken = Vec::new();
    while let Some(m) = ch
        .basic_get(parking.into(), BasicGetOptions { no_ack: false })
        .await
        .map_err(CliError::failed)?
    {
        taken.push(m.delivery);
    }
    Ok(taken)
}

/// Every parked message, one a line: original queue, event type, reason, event id. The messages
/// stay parked.
pub async fn list(settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let names = Names::new(&settings.amqp.prefix);
    let (conn, ch) = channel(settings).await?;
    let taken = take_all(&ch, &names.parking).await?;
    for d in &taken {
        crate::say(out, Parked::of(d).line())?;
    }
    crate::say(out, format!("{} parked in {}", taken.len(), names.parking))?;
    // Closing without acknowledging gives every message back to the queue.
    let _ = ch.close(200, "listed".into()).await;
    let _ = conn.close(200, "done".into()).await;
    Ok(())
}

/// Moves parked messages (all, or those from `only`) back to their original queue.
pub async fn replay(
    settings: &Settings,
    only: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let names = Names::new(&settings.amqp.prefix);
    let (conn, ch) = channel(settings).await?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(CliError::failed)?;
    let taken = take_all(&ch, &names.parking).await?;
    let (mut moved, mut left) = (0, 0);
    let mut failure = None;
    for d in taken {
        let p = Parked::of(&d);
        let Some(queue) = p.queue.clone().filter(|q| only.is_none_or(|o| o == q)) else {
            left += 1;
            continue;
        };
        match republish(&ch, &queue, &d, settings.amqp.publish_timeout).await {
            Ok(()) => {
                d.ack(BasicAckOptions::default())
                    .await
                    .map_err(CliError::failed)?;
                moved += 1;
                crate::say(out, format!("replayed {}", p.line()))?;
            }
            Err(e) => {
                left += 1;
                failure.get_or_insert(e);
            }
        }
    }
    // What was not moved goes back to the parking queue with the channel.
    let _ = ch.close(200, "replayed".into()).await;
    let _ = conn.close(200, "done".into()).await;
    crate::say(out, format!("{moved} replayed, {left} left parked"))?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Publishes a copy of `d` to `queue` (persistent, mandatory) and waits for the broker's confirm.
async fn republish(
    ch: &Channel,
    queue: &str,
    d: &lapin::message::Delivery,
    timeout: std::time::Duration,
) -> Result<(), CliError> {
    let mut headers = FieldTable::default();
    if let Some(h) = d.properties.headers() {
        for (k, v) in h.inner() {
            if !DEATH_HEADERS.contains(&k.as_str()) {
                headers.insert(k.clone(), v.clone());
            }
        }
    }
    let props: BasicProperties = d.properties.clone().with_headers(headers);
    let confirm = ch
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            &d.data,
            props,
        )
        .await
        .map_err(CliError::failed)?;
    let c = tokio::time::timeout(timeout, confirm)
        .await
        .map_err(|_| CliError::Failed(format!("no confirm from the broker within {timeout:?}")))?
        .map_err(CliError::failed)?;
    match (c.is_ack(), c.take_message()) {
        (true, None) => Ok(()),
        (true, Some(r)) => Err(CliError::Failed(format!(
            "{queue} refused the message: {}",
            r.reply_text
        ))),
        (false, _) => Err(CliError::Failed(format!(
            "{queue} did not take the message"
        ))),
    }
}
