//! What intake's notifier keeps in Redis: the sent marker per (event, recipient), written in one
//! transaction with the delivery-status event it appends to the outbox. (The inbound SMS flood
//! counter uses [`Store::count_hits`] of `outbox.rs`.)

use komek_domain::events::Envelope;

use crate::commit::{Store, StoreError};

impl Store {
    /// Whether `key` exists (e.g. a sent marker).
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let mut c = self.conn();
        Ok(redis::AsyncCommands::exists(&mut c, key).await?)
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
