//! Every request of one customer, on every channel, newest first.
//!
//! The search index already keeps, per contact, a sorted set of the requests from it scored by
//! creation time (`{p}:ix:phone:{msisdn}`, `{p}:ix:email:{email}`; `komek_store::search`). A
//! customer may have written from a phone and from an email: their sets are united
//! (`ZUNIONSTORE … AGGREGATE MAX`, so the score stays the creation time) into a scratch key, the
//! newest page is read and the scratch key deleted, all in one `MULTI`. One contact alone is read
//! straight from its set.

use komek_domain::{Channel, Email, Msisdn, Request, RequestId, Status};
use komek_store::{Store, StoreError};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// How much of a request's text the summary shows.
pub const SNIPPET_CHARS: usize = 160;
/// The most requests one history returns (the newest).
pub const MAX_REQUESTS: usize = 50;

/// One request of the customer, as the 360 view lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RequestSummary {
    pub id: RequestId,
    pub number: String,
    pub channel: Channel,
    pub status: Status,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The start of the text, at most 160 characters (`…` when cut).
    pub snippet: String,
}

impl RequestSummary {
    pub fn of(r: &Request) -> Self {
        let text = r.text.trim();
        let snippet = if text.chars().count() > SNIPPET_CHARS {
            let cut: String = text.chars().take(SNIPPET_CHARS - 1).collect();
            format!("{}…", cut.trim_end())
        } else {
            text.to_owned()
        };
        Self {
            id: r.id,
            number: r.number.0.clone(),
            channel: r.channel,
            status: r.status,
            created_at: r.created_at,
            subject: r.subject.clone(),
            snippet,
        }
    }
}

/// The requests from any of these phone numbers and emails.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct History {
    /// How many requests there are in all.
    pub total: u64,
    /// The newest ones, at most 50, newest first.
    pub requests: Vec<RequestSummary>,
}

/// The newest `limit` (at most [`MAX_REQUESTS`]) requests from any of `phones` and `emails`.
pub async fn requests_of(
    store: &Store,
    phones: &[Msisdn],
    emails: &[Email],
    limit: usize,
) -> Result<History, StoreError> {
    let k = store.keys();
    let mut sets: Vec<String> = phones.iter().map(|m| k.ix_phone(m.as_str())).collect();
    sets.extend(emails.iter().map(|e| k.ix_email(e.as_str())));
    sets.sort();
    sets.dedup();
    if sets.is_empty() || limit == 0 {
        return Ok(History::default());
    }
    let stop = limit.min(MAX_REQUESTS) as isize - 1;
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
    let mut c = store.conn();
    let (total, ids): (u64, Vec<String>) = pipe.query_async(&mut c).await?;
    let ids: Vec<RequestId> = ids.iter().filter_map(|id| id.parse().ok()).collect();
    let mut loads = redis::pipe();
    for id in &ids {
        loads.cmd("HGET").arg(k.request(*id)).arg("json");
    }
    let rows: Vec<Option<String>> = if ids.is_empty() {
        Vec::new()
    } else {
        loads.query_async(&mut c).await?
    };
    let mut requests = Vec::with_capacity(rows.len());
    for (id, row) in ids.iter().zip(rows) {
        let Some(json) = row else { continue };
        let r: Request = serde_json::from_str(&json).map_err(|source| StoreError::Corrupt {
            key: k.request(*id),
            source,
        })?;
        requests.push(RequestSummary::of(&r));
    }
    Ok(History { total, requests })
}
