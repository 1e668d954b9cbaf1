//! The built-in customer directory in Redis: the demo and test stand-in for Billing/CRM.
//!
//! | key | type | content |
//! |---|---|---|
//! | `{p}:customers` | hash msisdn → JSON | one [`DirectoryRecord`] per customer |
//! | `{p}:customers:email` | hash email → msisdn | customers found by email |
//!
//! `{p}:customers` is the hash `komek_store::directory` already seeds: its records
//! (`msisdn, name, language, region, tariff`) are read as they are, the newer fields taking their
//! defaults, and `komek_store::directory::DirectoryCustomer` still reads the records written here.
//! A record changes only through [`DirectorySource::update`]: read, change, then a compare-and-set
//! script (`Store::put_customer_record`) writes it only if it is still what was read (else read
//! again), and moves the email index with it, so two writers (a CSV import, the demo seed of another replica) never lose each
//! other's changes and an email never points at two customers.

use komek_domain::{Email, Lang, Msisdn};
use komek_store::customers::{Put, RecordChange};
use komek_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::model::{Contact, Customer360, Movement, Profile, Service};
use crate::source::{CustomerSource, SourceError};

/// One customer of the directory, as stored in `{p}:customers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryRecord {
    // The fields komek_store::directory::DirectoryCustomer has always had.
    pub msisdn: Msisdn,
    pub name: String,
    pub language: Lang,
    pub region: String,
    pub tariff: String,
    // Newer fields: records written before them read as their defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default)]
    pub segment: String,
    #[serde(default)]
    pub balance_tenge: i64,
    #[serde(default)]
    pub charges: Vec<Movement>,
    #[serde(default)]
    pub payments: Vec<Movement>,
    #[serde(default)]
    pub services: Vec<Service>,
}

impl DirectoryRecord {
    pub fn to_customer(&self) -> Customer360 {
        Customer360 {
            profile: Profile {
                msisdn: self.msisdn.clone(),
                email: self.email.clone(),
                name: self.name.clone(),
                language: self.language,
                segment: self.segment.clone(),
                region: self.region.clone(),
                tariff: self.tariff.clone(),
                balance_tenge: self.balance_tenge,
            },
            charges: self.charges.clone(),
            payments: self.payments.clone(),
            services: self.services.clone(),
        }
    }
}

/// What [`DirectorySource::update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Added,
    Updated,
    /// The change left the record as it was; nothing was written.
    Unchanged,
    /// The record's email already belongs to this other customer; nothing was written.
    EmailTaken(String),
}

/// Attempts of one update before it gives up on a record others keep changing.
const UPDATE_ATTEMPTS: usize = 16;

/// The built-in directory.
#[derive(Clone)]
pub struct DirectorySource {
    store: Store,
}

impl DirectorySource {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The record of `msisdn`, if any (an unreadable one counts as none and is logged).
    pub async fn record(&self, msisdn: &Msisdn) -> Result<Option<DirectoryRecord>, StoreError> {
        Ok(self
            .store
            .customer_record(msisdn.as_str())
            .await?
            .and_then(|raw| parse_record(msisdn.as_str(), &raw)))
    }

    /// The msisdn whose record has `email`.
    pub async fn msisdn_of(&self, email: &Email) -> Result<Option<Msisdn>, StoreError> {
        let raw = self.store.customer_msisdn_of(email.as_str()).await?;
        Ok(raw.and_then(|m| Msisdn::parse(&m).ok()))
    }

    /// Writes `change(current record)` as the record of `msisdn`, atomically against other
    /// writers (compare-and-set, read again on a conflict); `None` from `change` leaves the record
    /// as it is. `change` may run more than once.
    pub async fn update<F>(&self, msisdn: &Msisdn, change: F) -> Result<Written, StoreError>
    where
        F: Fn(Option<DirectoryRecord>) -> Option<DirectoryRecord>,
    {
        for _ in 0..UPDATE_ATTEMPTS {
            let raw = self.store.customer_record(msisdn.as_str()).await?;
            let current = raw
                .as_deref()
                .and_then(|r| parse_record(msisdn.as_str(), r));
            let old_email = current
                .as_ref()
                .and_then(|r| r.email.as_ref())
                .map(|e| e.as_str().to_owned());
            let existed = raw.is_some();
            let Some(mut next) = change(current.clone()) else {
                return Ok(Written::Unchanged);
            };
            next.msisdn = msisdn.clone();
            if current.as_ref() == Some(&next) {
                return Ok(Written::Unchanged);
            }
            let json = serde_json::to_string(&next).unwrap_or_default();
            let new_email = next.email.as_ref().map(|e| e.as_str().to_owned());
            let put = self
                .store
                .put_customer_record(&RecordChange {
                    msisdn: msisdn.as_str(),
                    read: raw.as_deref(),
                    json: &json,
                    old_email: old_email.as_deref(),
                    new_email: new_email.as_deref(),
                })
                .await?;
            match put {
                Put::Written if existed => return Ok(Written::Updated),
                Put::Written => return Ok(Written::Added),
                Put::Conflict => continue,
                Put::EmailTaken(owner) => return Ok(Written::EmailTaken(owner)),
            }
        }
        Err(StoreError::Reply(format!(
            "directory record {msisdn:?} changed by others on each of {UPDATE_ATTEMPTS} attempts"
        )))
    }
}

fn parse_record(msisdn: &str, raw: &str) -> Option<DirectoryRecord> {
    serde_json::from_str(raw)
        .map_err(|e| tracing::warn!(msisdn, error = %e, "unreadable directory record"))
        .ok()
}

impl CustomerSource for DirectorySource {
    async fn lookup(&self, contact: &Contact) -> Result<Option<Customer360>, SourceError> {
        let msisdn = match contact {
            Contact::Phone(m) => Some(m.clone()),
            Contact::Email(e) => self.msisdn_of(e).await?,
        };
        let Some(msisdn) = msisdn else {
            return Ok(None);
        };
        Ok(self.record(&msisdn).await?.map(|r| r.to_customer()))
    }

    fn name(&self) -> &'static str {
        "directory"
    }
}
