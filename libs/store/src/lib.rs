//! Redis is Komek's system of record; this crate is the only code that speaks to it.
//!
//! - [`keys`]: the key scheme, every key under one prefix (tests use a unique prefix each).
//! - [`commit`]: [`Store`], the connection manager, and the one atomic write every change goes
//!   through: version check + new state + history line + outbox event + handled-event marker +
//!   index operations, in a single server-side script.
//! - [`requests`]: the request aggregate: create (with idempotency key), load, update with retry on
//!   version conflicts, the agent queue; every commit also moves the keys the request's state
//!   implies (queues, offer, owner set, deadline and search index: [`Store::bookkeeping_ops`]).
//! - [`docs`]: other versioned documents (escalations, surveys) on the same commit.
//! - [`customers`]: the customer directory's records and email index, the Billing/CRM answer
//!   cache, and a customer's requests by contact (for `komek-customers`).
//! - [`directory`]: users, departments and demo customers, and the demo seed.
//! - [`deadlines`]: the deadline index (one sorted set), derived from each request commit, the
//!   watch list, and the watchers' atomic claim.
//! - [`routing`]: skill queues, presence and the assignment of the most urgent request an agent may
//!   take; queue and owner-set membership derived from each request commit.
//! - [`offers`]: offered assignment's keys: making, withdrawing, expiring and listing offers.
//! - [`templates`]: reply templates per category and language (a hash), and their seed.
//! - [`search`]: the search index kept in every request commit, search with paging, similar resolved requests.
//! - [`notify`]: sent markers written with their delivery-status event (intake's notifier).
//! - [`limits`]: fixed-window counters for anti-spam rate limits.
//! - [`sessions`]: staff sessions (refresh-secret hashes, rotation) and the sign-in throttle's keys.
//! - [`status`]: status tokens (only their hashes) and the request each opens.
//! - [`problems`]: problem records, their linked requests, and the spike counters.
//! - [`gauges`]: the cheap reads `/metrics` makes at scrape time (outbox, requests by status,
//!   the waiting queue, open escalations per department).
//! - [`outbox`]: reading and acknowledging the outbox stream (used by the relay in komek-bus).

pub mod commit;
pub mod customers;
pub mod deadlines;
pub mod directory;
pub mod docs;
pub mod gauges;
pub mod keys;
pub mod limits;
pub mod notify;
pub mod offers;
pub mod outbox;
pub mod problems;
pub mod requests;
pub mod routing;
pub mod search;
pub mod sessions;
pub mod status;
pub mod templates;

#[cfg(test)]
mod fuzz_tests;

pub use commit::{Commit, Op, Outcome, Store, StoreError};
pub use keys::Keys;
