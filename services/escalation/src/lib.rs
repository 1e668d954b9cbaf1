//! komek-escalation: departments (billing, network, roaming, finance, legal, ...) work what agents
//! escalate to them.
//!
//! - [`startup`]: the app factory, used by `main` and tests.
//! - [`consumer`]: `request.escalated` becomes an escalation in the department's queue (once).
//! - [`routes`]: the department's own escalations, and the answer that goes back to the request.

pub mod consumer;
pub mod routes;
pub mod startup;
