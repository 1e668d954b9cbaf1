//! The broker topology, declared idempotently by every service at start and after each reconnect.
//!
//! ```text
//! {p}.events  (topic)  --request.created, escalation.answered, ...-->  {p}.workspace
//!                      --request.escalated, request.created, ...-->     {p}.escalation
//!                      --request.resolved-->                            {p}.survey
//!                      --request.created, request.replied, ...-->       {p}.intake
//!                      --the kinds each live page shows-->              one private queue per
//!                                                                       workspace/escalation
//!                                                                       replica (`fanout`)
//! a message nacked without requeue, or delivered more than amqp.delivery_limit times,
//! goes to {p}.dlx (fanout) --> {p}.parking
//! ```
//! Every service declares every queue, so an event published before its consumer ever ran waits
//! in its queue instead of being unroutable. Only `SUBSCRIPTIONS` and the live feeds bind: an
//! event type nobody subscribes to costs its publish and no delivery.
//!
//! Earlier versions also kept a copy of every event in a `{p}.audit` queue that nothing read (one
//! more delivery per event; the request history in Redis is the record). `declare` deletes that
//! queue if a broker still has it, so an upgraded install stops filling it.

use komek_domain::events::SUBSCRIPTIONS;
use lapin::options::{
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

/// Names derived from `amqp.prefix`.
#[derive(Debug, Clone)]
pub struct Names {
    pub exchange: String,
    pub dlx: String,
    pub parking: String,
    prefix: String,
}

impl Names {
    pub fn new(prefix: &str) -> Self {
        Self {
            exchange: format!("{prefix}.events"),
            dlx: format!("{prefix}.dlx"),
            parking: format!("{prefix}.parking"),
            prefix: prefix.to_owned(),
        }
    }

    /// The queue a consuming service reads.
    pub fn queue(&self, service: &str) -> String {
        format!("{}.{service}", self.prefix)
    }

    /// Every queue name, for tests that clean up.
    pub fn all_queues(&self) -> Vec<String> {
        let mut q: Vec<String> = SUBSCRIPTIONS.iter().map(|(s, _)| self.queue(s)).collect();
        q.push(self.parking.clone());
        q
    }

    /// Queues of earlier versions that `declare` removes.
    pub fn retired_queues(&self) -> Vec<String> {
        vec![format!("{}.audit", self.prefix)]
    }
}

fn quorum(extra: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = FieldTable::default();
    t.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    for (k, v) in extra {
        t.insert((*k).into(), v.clone());
    }
    t
}

pub async fn declare(ch: &Channel, names: &Names, delivery_limit: u32) -> Result<(), lapin::Error> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    ch.exchange_declare(
        names.exchange.as_str().into(),
        ExchangeKind::Topic,
        durable,
        FieldTable::default(),
    )
    .await?;
    ch.exchange_declare(
        names.dlx.as_str().into(),
        ExchangeKind::Fanout,
        durable,
        FieldTable::default(),
    )
    .await?;
    let qopts = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    ch.queue_declare(names.parking.as_str().into(), qopts, quorum(&[]))
        .await?;
    ch.queue_bind(
        names.parking.as_str().into(),
        names.dlx.as_str().into(),
        "".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    for (service, keys) in SUBSCRIPTIONS {
        let queue = names.queue(service);
        let args = quorum(&[
            (
                "x-delivery-limit",
                AMQPValue::LongLongInt(i64::from(delivery_limit)),
            ),
            (
                "x-dead-letter-exchange",
                AMQPValue::LongString(names.dlx.as_str().into()),
            ),
        ]);
        ch.queue_declare(queue.as_str().into(), qopts, args).await?;
        for key in *keys {
            ch.queue_bind(
                queue.as_str().into(),
                names.exchange.as_str().into(),
                (*key).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        }
    }
    // Deleting a queue that does not exist succeeds (RabbitMQ 3.x), so this costs nothing once
    // the old queue is gone and never closes the channel. Its messages were only copies.
    for q in names.retired_queues() {
        ch.queue_delete(q.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    Ok(())
}

/// Deletes every exchange and queue of `names` (tests).
pub async fn delete_all(ch: &Channel, names: &Names) -> Result<(), lapin::Error> {
    for q in names.all_queues() {
        ch.queue_delete(q.as_str().into(), Default::default())
            .await?;
    }
    for x in [&names.exchange, &names.dlx] {
        ch.exchange_delete(x.as_str().into(), Default::default())
            .await?;
    }
    Ok(())
}
