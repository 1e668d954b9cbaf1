//! komek-workspace: where agents and supervisors work requests.
//!
//! - [`startup`]: the app factory (seeds demo data when `seed.demo`), used by `main` and tests.
//! - [`routes`]: login, the queue, and the actions on one request.
//! - [`consumer`]: applies events from other services to requests: a new request enters the queue,
//!   a department's answer returns the request to its agent, a bad survey score reopens it.
//! - [`live`]: WebSocket sessions (an actor each) and the per-replica hub that pushes events to them.
//! - [`offers`]: offered assignment (push) with a timeout.
//! - [`watcher`]: fires deadline warnings and breaches, once across replicas and restarts.

pub mod consumer;
pub mod live;
pub mod offers;
pub mod routes;
pub mod startup;
pub mod watcher;

/// What the consumer and the watcher need, shared by the tasks of one replica.
pub struct Deps {
    pub store: komek_store::Store,
    pub settings: komek_settings::Settings,
    pub calendar: komek_domain::calendar::Calendar,
}
