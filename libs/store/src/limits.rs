//! Fixed-window counters for anti-spam rate limits (intake's customer pages and API): one counter
//! per action, client address, contact or request number, and window, under
//! [`crate::Keys::rate_limit`].

use crate::commit::{Store, StoreError};

impl Store {
    /// Counts one hit in each counter of `keys` (`INCR`, then `EXPIRE` so a counter lives at most
    /// `ttl_secs`), in one transaction; returns the counts in the same order.
    pub async fn count_hits(&self, keys: &[String], ttl_secs: u64) -> Result<Vec<u64>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for k in keys {
            pipe.cmd("INCR")
                .arg(k)
                .cmd("EXPIRE")
                .arg(k)
                .arg(ttl_secs)
                .ignore();
        }
        let mut c = self.conn();
        Ok(pipe.query_async(&mut c).await?)
    }

    /// Takes back one hit from each counter of `keys` (a hit counted before its outcome was
    /// known, then not held against the caller). The TTL is set again, so a counter whose window
    /// ended meanwhile does not stay behind.
    pub async fn refund_hits(&self, keys: &[String], ttl_secs: u64) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for k in keys {
            pipe.cmd("DECR")
                .arg(k)
                .ignore()
                .cmd("EXPIRE")
                .arg(k)
                .arg(ttl_secs)
                .ignore();
        }
        let mut c = self.conn();
        let _: () = pipe.query_async(&mut c).await?;
        Ok(())
    }
}
