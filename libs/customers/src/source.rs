//! Where customer data comes from: the [`CustomerSource`] trait, its errors, and [`Customers`],
//! the source the settings chose.

use std::future::Future;

use komek_settings::{CustomerSettings, CustomerSource as Configured};
use komek_store::{Store, StoreError};

use crate::directory::DirectorySource;
use crate::http::{HttpConfig, HttpSource};
use crate::model::{Contact, Customer360};

/// Why a source could not answer. The view shows the customer's requests anyway, marked degraded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The remote system did not answer in time, could not be reached, or answered with an error.
    #[error("the customer source is unavailable: {0}")]
    Unavailable(String),
    /// The remote system answered something that breaks the contract (CONTRACT.md).
    #[error("the customer source broke its contract: {0}")]
    Contract(String),
    /// The circuit breaker is open: recent calls failed, so this one was not made.
    #[error("the customer source is failing; calls are paused (circuit breaker open)")]
    BreakerOpen,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A customer's data, found by phone number or email.
pub trait CustomerSource {
    /// The customer with this contact; `None` when the source knows no such customer.
    fn lookup(
        &self,
        contact: &Contact,
    ) -> impl Future<Output = Result<Option<Customer360>, SourceError>> + Send;

    /// The source's name in the API (`directory`, `http`).
    fn name(&self) -> &'static str;
}

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
