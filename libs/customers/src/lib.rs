//! Customer 360: who the customer behind a request is, what Billing and CRM know about them, and
//! every request of theirs on every channel (product brief M1, P1, M10).
//!
//! - [`model`]: [`Customer360`]: the profile (name, language, segment, region, tariff, balance),
//!   charges and payments, services; [`Contact`], a phone number or an email.
//! - [`source`]: the [`CustomerSource`] trait (lookup by phone or email) and [`SourceError`].
//! - [`Customers`] (here, above the sources it dispatches to): the source `[customers] source` picks.
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

#[cfg(test)]
mod fuzz_tests;

pub use directory::DirectorySource;
pub use http::{HttpConfig, HttpSource};
pub use import::{ImportError, ImportReport, RejectedLine};
pub use model::{Contact, Customer360, Movement, Profile, Service};
pub use source::{CustomerSource, SourceError};
pub use view::{CustomerView, customer_view, request_customer_view};

use komek_settings::{CustomerSettings, CustomerSource as Configured};
use komek_store::Store;

/// The source `customers.source` names.
#[derive(Clone)]
pub enum Customers {
    Directory(DirectorySource),
    Http(HttpSource),
}

impl Customers {
    /// The configured source on `store` (the directory's hash, or the HTTP adapter's cache).
    pub fn from_settings(settings: &CustomerSettings, store: Store) -> Self {
        match &settings.source {
            Configured::Directory => Customers::Directory(DirectorySource::new(store)),
            Configured::Http { base_url } => Customers::Http(HttpSource::new(
                HttpConfig {
                    base_url: base_url.as_str().to_owned(),
                    timeout: settings.timeout,
                    cache_ttl: settings.cache_ttl,
                    breaker_failures: settings.breaker_failures,
                    breaker_cooldown: settings.breaker_cooldown,
                },
                store,
            )),
        }
    }
}

impl CustomerSource for Customers {
    async fn lookup(&self, contact: &Contact) -> Result<Option<Customer360>, SourceError> {
        match self {
            Customers::Directory(d) => d.lookup(contact).await,
            Customers::Http(h) => h.lookup(contact).await,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Customers::Directory(d) => d.name(),
            Customers::Http(h) => h.name(),
        }
    }
}
