//! komek-customers against the machine's Redis (a unique prefix per test, removed at the end) and,
//! for the HTTP adapter, a test server inside the test that speaks CONTRACT.md. One test binary;
//! one module per part.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod directory;
mod helpers;
mod history;
mod http;
