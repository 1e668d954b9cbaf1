//! Where customer data comes from: the [`CustomerSource`] trait and its errors. The sources
//! ([`crate::directory`], [`crate::http`]) implement it; [`crate::Customers`] picks one.

use std::future::Future;

use komek_store::StoreError;

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
