//! intake's HTTP API, in-process (the real app factory on port 0) against the machine's Redis and
//! RabbitMQ. One test binary; one module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod availability;
mod create;
mod helpers;
mod lookups;
mod openapi;
mod pages;
mod policy;
mod status;
