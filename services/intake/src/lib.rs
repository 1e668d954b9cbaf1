//! komek-intake: where every customer request enters Komek.
//!
//! - [`startup`]: the app factory used by `main` and the tests.
//! - [`routes`]: `POST /api/v1/requests` (idempotent acceptance, acknowledgment in the customer's
//!   language) and `GET /api/v1/requests/{number}/public` (status for the customer).
//! - [`intake`]: turning a validated submission into a stored request and its `request.created` event.

pub mod intake;
pub mod routes;
pub mod startup;
