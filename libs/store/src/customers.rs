//! Customer data kept in Redis for `komek-customers`: the built-in directory's records and email
//! index, the Billing/CRM adapter's answer cache, and a customer's requests read from the search
//! index's per-contact sets. The records' meaning (their JSON) is the customers crate's; this
//! module only reads and writes them.
//!
//! | key | type | content |
//! |---|---|---|
//! | `{p}:customers` | hash msisdn → JSON | one directory record per customer |
//! | `{p}:customers:email` | hash email → msisdn | customers found by email |
//! | `{p}:cache:customer:{contact}` | string JSON, TTL | what Billing/CRM answered for a contact |

use komek_domain::{Email, Msisdn, Request, RequestId};
use redis::{AsyncCommands, Script};
use uuid::Uuid;

use crate::commit::{Store, StoreError};

/// Compare-and-set of one directory record, with its email index.
/// KEYS: customers hash, email hash. ARGV: msisdn, the JSON read ('' = none), the new JSON, the old
/// email ('' = none), the new email ('' = none).
const PUT_LUA: &str = r"
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return 'conflict' end
if ARGV[5] ~= '' then
  local owner = redis.call('HGET', KEYS[2], ARGV[5])
  if owner and owner ~= ARGV[1] then return 'email:' .. owner end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] ~= '' and ARGV[4] ~= ARGV[5] and redis.call('HGET', KEYS[2], ARGV[4]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[4])
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[5], ARGV[1]) end
return 'ok'
";

/// What a compare-and-set of a directory record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    Written,
    /// The record is no longer what was read: read again.
    Conflict,
    /// The new email already belongs to this other customer (msisdn); nothing was written.
    EmailTaken(String),
}

/// One compare-and-set of a directory record (see [`Store::put_customer_record`]).
pub struct RecordChange<'a> {
    pub msisdn: &'a str,
    /// The JSON read before the change (`None`: there was no record).
    pub read: Option<&'a str>,
    pub json: &'a str,
    /// The email of the record read, and of the new one.
    pub old_email: Option<&'a str>,
    pub new_email: Option<&'a str>,
}

impl Store {
    /// The directory record (JSON) of `msisdn`, if any.
    pub async fn customer_record(&self, msisdn: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn();
        Ok(c.hget(self.keys().customers(), msisdn).await?)
    }

    /// The msisdn whose directory record has `email`.
    pub async fn customer_msisdn_of(&self, email: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn();
        Ok(c.hget(self.keys().customer_emails(), email).await?)
    }

    /// Writes a directory record only if it is still what was read, and moves the email index
    /// with it (one script: two writers never lose each other's changes, and an email never
    /// points at two customers).
    pub async fn put_customer_record(&self, change: &RecordChange<'_>) -> Result<Put, StoreError> {
        let keys = self.keys();
        let mut c = self.conn();
        let outcome: String = Script::new(PUT_LUA)
            .key(keys.customers())
            .key(keys.customer_emails())
            .arg(change.msisdn)
            .arg(change.read.unwrap_or_default())
            .arg(change.json)
            .arg(change.old_email.unwrap_or_default())
            .arg(change.new_email.unwrap_or_default())
            .invoke_async(&mut c)
            .await?;
        Ok(match outcome.as_str() {
            "ok" => Put::Written,
            "conflict" => Put::Conflict,
            other => Put::EmailTaken(other.strip_prefix("email:").unwrap_or(other).to_owned()),
        })
    }

    /// What Billing/CRM answered for `contact` (JSON), while cached.
    pub async fn cached_customer(&self, contact: &str) -> Result<Option<String>, StoreError> {
        self.get_string(&self.keys().customer_cache(contact)).await
    }

    /// Caches Billing/CRM's answer for `contact` for `ttl_secs` (at least 1).
    pub async fn cache_customer(
        &self,
        contact: &str,
        json: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut c = self.conn();
        let () = c
            .set_ex(self.keys().customer_cache(contact), json, ttl_secs.max(1))
            .await?;
        Ok(())
    }

    /// How many requests came from any of `phones` and `emails`, and the newest `limit` of them,
    /// newest first. The per-contact index sets are united (`ZUNIONSTORE … AGGREGATE MAX`, so the
    /// score stays the creation time) into a scratch key, the newest page is read and the scratch
    /// key deleted, all in one `MULTI`; one contact alone is read straight from its set.
    pub async fn requests_from(
        &self,
        phones: &[Msisdn],
        emails: &[Email],
        limit: usize,
    ) -> Result<(u64, Vec<Request>), StoreError> {
        let k = self.keys();
        let mut sets: Vec<String> = phones.iter().map(|m| k.ix_phone(m.as_str())).collect();
        sets.extend(emails.iter().map(|e| k.ix_email(e.as_str())));
        sets.sort();
        sets.dedup();
        if sets.is_empty() || limit == 0 {
            return Ok((0, Vec::new()));
        }
        let stop = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
        let mut pipe = redis::pipe();
        pipe.atomic();
        let source = if sets.len() == 1 {
            sets[0].clone()
        } else {
            let scratch = k.ix_scratch(Uuid::now_v7());
            pipe.cmd("ZUNIONSTORE")
                .arg(&scratch)
                .arg(sets.len())
                .arg(&sets)
                .arg("AGGREGATE")
                .arg("MAX")
                .ignore();
            scratch
        };
        pipe.cmd("ZCARD").arg(&source);
        pipe.cmd("ZRANGE").arg(&source).arg(0).arg(stop).arg("REV");
        if sets.len() > 1 {
            // Same transaction: the scratch key never outlives this read.
            pipe.cmd("DEL").arg(&source).ignore();
        }
        let mut c = self.conn();
        let (total, ids): (u64, Vec<String>) = pipe.query_async(&mut c).await?;
        let ids: Vec<RequestId> = ids.iter().filter_map(|id| id.parse().ok()).collect();
        Ok((total, self.requests(&ids).await?))
    }
}
