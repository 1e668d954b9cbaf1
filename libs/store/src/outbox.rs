//! The outbox stream seen from the relay: a consumer group, so several relays (one per service
//! replica) share the work, and entries of a relay that died are claimed by another.

use komek_domain::events::Envelope;
use redis::Value;
use redis::aio::ConnectionManager;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamReadOptions, StreamReadReply,
};

use crate::commit::{Store, StoreError};

pub const RELAY_GROUP: &str = "relay";

/// One outbox entry: its stream id and the envelope JSON.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: String,
    pub kind: String,
    pub event: Vec<u8>,
}

/// The fields of an outbox entry: the event type and the envelope JSON. The commit script
/// (`lua/commit.lua`) writes the same two.
const TYPE_FIELD: &str = "type";
const EVENT_FIELD: &str = "event";

fn field(map: &std::collections::HashMap<String, Value>, name: &str) -> Vec<u8> {
    match map.get(name) {
        Some(Value::BulkString(b)) => b.clone(),
        Some(Value::SimpleString(s)) => s.clone().into_bytes(),
        _ => Vec::new(),
    }
}

impl OutboxEntry {
    fn of(e: redis::streams::StreamId) -> Self {
        Self {
            kind: String::from_utf8_lossy(&field(&e.map, TYPE_FIELD)).into_owned(),
            event: field(&e.map, EVENT_FIELD),
            id: e.id,
        }
    }
}

/// The `XADD` that appends `event` to the outbox `key`, alone or in a transaction.
pub(crate) fn append(key: &str, event: &Envelope) -> Result<redis::Cmd, StoreError> {
    let json = serde_json::to_string(event).map_err(|source| StoreError::Corrupt {
        key: key.to_owned(),
        source,
    })?;
    let mut cmd = redis::cmd("XADD");
    cmd.arg(key)
        .arg("*")
        .arg(TYPE_FIELD)
        .arg(&event.kind)
        .arg(EVENT_FIELD)
        .arg(json);
    Ok(cmd)
}

impl Store {
    /// Creates the relay group (from the stream's start, so nothing written before it is missed).
    pub async fn ensure_relay_group(&self) -> Result<(), StoreError> {
        let mut c = self.conn();
        let r: Result<String, redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys().outbox())
            .arg(RELAY_GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut c)
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// New entries for `consumer`, waiting up to `block_ms` on the dedicated connection `conn`.
    pub async fn read_outbox(
        &self,
        conn: &mut ConnectionManager,
        consumer: &str,
        count: usize,
        block_ms: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let opts = StreamReadOptions::default()
            .group(RELAY_GROUP, consumer)
            .count(count)
            .block(block_ms);
        let reply: Option<StreamReadReply> =
            redis::AsyncCommands::xread_options(conn, &[self.keys().outbox()], &[">"], &opts)
                .await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(OutboxEntry::of)
            .collect())
    }

    /// Entries another relay took and did not confirm within `min_idle_ms`: now ours.
    pub async fn claim_stale_outbox(
        &self,
        consumer: &str,
        min_idle_ms: u64,
        count: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut c = self.conn();
        let reply: StreamAutoClaimReply = redis::AsyncCommands::xautoclaim_options(
            &mut c,
            self.keys().outbox(),
            RELAY_GROUP,
            consumer,
            min_idle_ms,
            "0-0",
            StreamAutoClaimOptions::default().count(count),
        )
        .await?;
        Ok(reply.claimed.into_iter().map(OutboxEntry::of).collect())
    }

    /// Forgets entries the broker has confirmed.
    pub async fn ack_outbox(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let key = self.keys().outbox();
        let mut c = self.conn();
        let _: (u64, u64) = redis::pipe()
            .atomic()
            .cmd("XACK")
            .arg(&key)
            .arg(RELAY_GROUP)
            .arg(ids)
            .cmd("XDEL")
            .arg(&key)
            .arg(ids)
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// The newest ids (at most `limit`) in a sorted index scored by time (ms) from `since_ms` on.
    pub async fn ids_since(
        &self,
        key: &str,
        since_ms: i64,
        limit: isize,
    ) -> Result<Vec<komek_domain::RequestId>, StoreError> {
        let mut c = self.conn();
        let raw: Vec<String> =
            redis::AsyncCommands::zrevrangebyscore_limit(&mut c, key, "+inf", since_ms, 0, limit)
                .await?;
        Ok(raw.iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// Appends `event` to the outbox on its own, with no document change: for an event another
    /// service applies (intake's `request.customer_message`, applied by the workspace).
    pub async fn enqueue_event(&self, event: &Envelope) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: String = append(&self.keys().outbox(), event)?
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// Entries not yet confirmed by the broker (for readiness and tests).
    pub async fn outbox_len(&self) -> Result<u64, StoreError> {
        let mut c = self.conn();
        Ok(redis::AsyncCommands::xlen(&mut c, self.keys().outbox()).await?)
    }
}
