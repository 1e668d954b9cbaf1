//! What intake's notifier keeps in Redis: the sent marker per (event, recipient), written in one
//! transaction with the delivery-status event it appends to the outbox, and the daily count of
//! messages per recipient. (The inbound SMS flood counter uses [`Store::count_hits`] of
//! `limits.rs`.)

use komek_domain::events::Envelope;

use crate::commit::{Store, StoreError};

/// The rank of `ARGV[1]` (an event id) among the day's messages to one recipient: its old rank
/// when it was counted before (a redelivery is not a second message), else the next one; only
/// ranks up to `ARGV[3]` (the cap) are stored, so the hash never outgrows the cap.
const DAILY_RANK_LUA: &str = r#"
local r = redis.call('HGET', KEYS[1], ARGV[1])
if r then return tonumber(r) end
local n = redis.call('HLEN', KEYS[1]) + 1
if n <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], n)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return n
"#;

impl Store {
    /// Whether `key` exists (e.g. a sent marker).
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let mut c = self.conn();
        Ok(redis::AsyncCommands::exists(&mut c, key).await?)
    }

    /// Takes `key` for `ttl_ms` unless someone holds it (`SET NX PX`); whether it was taken.
    pub async fn claim_send(&self, key: &str, ttl_ms: u64) -> Result<bool, StoreError> {
        let mut c = self.conn();
        let set: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms.max(1))
            .query_async(&mut c)
            .await?;
        Ok(set.is_some())
    }

    /// Gives back what [`Store::claim_send`] took.
    pub async fn release_send(&self, key: &str) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: i64 = redis::AsyncCommands::del(&mut c, key).await?;
        Ok(())
    }

    /// Counts event `event` once in `key` (a [`crate::Keys::daily_sent`] hash) and returns its
    /// rank in the day; a rank above `cap` means the recipient has had `cap` messages already.
    pub async fn daily_rank(
        &self,
        key: &str,
        event: uuid::Uuid,
        cap: u64,
        ttl_secs: u64,
    ) -> Result<u64, StoreError> {
        let mut c = self.conn();
        Ok(redis::Script::new(DAILY_RANK_LUA)
            .key(key)
            .arg(event.to_string())
            .arg(ttl_secs.max(1))
            .arg(cap)
            .invoke_async(&mut c)
            .await?)
    }

    /// Writes the marker `key` (TTL `ttl_secs`) and appends `event` to the outbox, in one
    /// transaction: a delivery is recorded once, with its status event.
    pub async fn mark_with_event(
        &self,
        key: &str,
        ttl_secs: u64,
        event: &Envelope,
    ) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: (String, String) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(key)
            .arg("1")
            .arg("EX")
            .arg(ttl_secs.max(1))
            .add_command(crate::outbox::append(&self.keys().outbox(), event)?)
            .query_async(&mut c)
            .await?;
        Ok(())
    }
}
