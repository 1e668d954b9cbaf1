//! komek-workspace: where agents and supervisors work requests.
//!
//! - [`startup`]: the app factory (seeds demo data when `seed.demo`), used by `main` and tests.
//! - [`routes`]: login, the queue, and the actions on one request.
//! - [`consumer`]: applies events from other services to requests: a new request enters the queue,
//!   a department's answer returns the request to its agent, a bad survey score reopens it, a
//!   customer's message is added (and ends a wait for the customer, or reopens a resolved request).
//! - [`effects`]: effects with more than one caller: the resolution clock resuming, an agent's
//!   resolution and its `request.resolved` event.
//! - [`live`]: who each event concerns, pushed over the shared live sockets ([`komek_web::live`]).
//! - [`offers`]: offered assignment (push) with a timeout.
//! - [`watcher`]: fires deadline warnings and breaches, once across replicas and restarts.

pub mod consumer;
pub mod effects;
pub mod live;
pub mod offers;
pub mod routes;
pub mod startup;
pub mod watcher;

#[cfg(test)]
mod fuzz_tests;

/// What the consumer and the watcher need, shared by the tasks of one replica. The store places
/// deadline warnings by `settings.deadlines` on `calendar` ([`komek_store::Store::with_deadlines`]).
pub struct Deps {
    pub store: komek_store::Store,
    pub settings: komek_settings::Settings,
    pub calendar: komek_domain::calendar::Calendar,
}
