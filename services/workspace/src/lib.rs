//! komek-workspace: where agents and supervisors work requests.
//!
//! - [`startup`]: the app factory (seeds demo data when `seed.demo`), used by `main` and tests.
//! - [`routes`]: login, the queue, and the actions on one request.
//! - [`consumer`]: applies events from other services to requests: a new request enters the queue,
//!   a department's answer returns the request to its agent, a bad survey score reopens it.

pub mod consumer;
pub mod routes;
pub mod startup;
