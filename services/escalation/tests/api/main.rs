//! The escalation service's HTTP API and consumer, in-process (the real app factory on port 0)
//! against the machine's Redis and RabbitMQ. One test binary; one module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod admin;
mod answer;
mod closing;
mod helpers;
mod lifecycle;
mod live;
mod openapi;
mod page;
mod policy;
mod problems;
mod quality;
mod spikes;
mod watcher;
