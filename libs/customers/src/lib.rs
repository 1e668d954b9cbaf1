//! Customer 360: who the customer behind a request is, what Billing and CRM know about them, and
//! every request of theirs on every channel (product brief M1, P1, M10).
//!
//! - [`model`]: [`Customer360`]: the profile (name, language, segment, region, tariff, balance),
//!   charges and payments, services; [`Contact`], a phone number or an email.
//! - [`source`]: the [`CustomerSource`] trait (lookup by phone or email), [`SourceError`], and
//!   [`Customers`], the source `[customers] source` picks.
//! - [`directory`]: [`DirectorySource`], the built-in directory in Redis (`{p}:customers`, with an
//!   email index), changed by compare-and-set.
//! - [`import`]: CSV import into the directory, with a report of added, updated, unchanged and
//!   rejected rows.
//! - [`http`]: [`HttpSource`], the adapter to the operator's Billing/CRM (CONTRACT.md): timeout,
//!   circuit breaker, Redis cache with a TTL.
//! - [`breaker`]: the circuit breaker state machine (closed, open, half-open).
//! - [`history`]: the customer's requests from the search index's per-contact sets, newest first.
//! - [`view`]: [`CustomerView`], the 360 view the workspace serves; degraded, never failed, when
//!   the source is down.
//! - [`demo`]: the demo customers (`config/demo-customers.csv` and a few charges and services).

pub mod breaker;
pub mod demo;
pub mod directory;
pub mod history;
pub mod http;
pub mod import;
pub mod model;
pub mod source;
pub mod view;

pub use directory::DirectorySource;
pub use http::{HttpConfig, HttpSource};
pub use import::{ImportError, ImportReport, RejectedLine};
pub use model::{Contact, Customer360, Movement, Profile, Service};
pub use source::{CustomerSource, Customers, SourceError};
pub use view::{CustomerView, customer_view, request_customer_view};
