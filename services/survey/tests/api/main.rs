//! The survey service's pages, API and consumer, in-process (the real app factory on port 0)
//! against the machine's Redis and RabbitMQ. One test binary; one module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod openapi;
mod page;
mod policy;
mod respond;
mod secrets;
