//! Redis is Komek's system of record; this crate is the only code that speaks to it.
//!
//! - [`keys`]: the key scheme, every key under one prefix (tests use a unique prefix each).
//! - [`commit`]: [`Store`], the connection manager, and the one atomic write every change goes
//!   through: version check + new state + history line + outbox event + handled-event marker +
//!   index operations, in a single server-side script.
//! - [`requests`]: the request aggregate: create (with idempotency key), load, update with retry on
//!   version conflicts, the agent queue.
//! - [`docs`]: other versioned documents (escalations, surveys) on the same commit.
//! - [`directory`]: users, departments and demo customers, and the demo seed.
//! - [`outbox`]: reading and acknowledging the outbox stream (used by the relay in komek-bus).

pub mod commit;
pub mod directory;
pub mod docs;
pub mod keys;
pub mod outbox;
pub mod requests;

pub use commit::{Commit, Op, Outcome, Store, StoreError};
pub use keys::Keys;
