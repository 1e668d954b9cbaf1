//! The workspace's HTTP API and its consumer, in-process (the real app factory on port 0) against
//! the machine's Redis and RabbitMQ. One test binary; one module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod auth;
mod customer_message;
mod customers;
mod departments;
mod flow;
mod helpers;
mod openapi;
mod policy;
mod search;
mod templates;
