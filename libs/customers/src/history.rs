//! Every request of one customer, on every channel, newest first.
//!
//! The search index already keeps, per contact, a sorted set of the requests from it scored by
//! creation time (`{p}:ix:phone:{msisdn}`, `{p}:ix:email:{email}`; `komek_store::search`). A
//! customer may have written from a phone and from an email: `Store::requests_from` unites their
//! sets and reads the newest page in one `MULTI`.

use komek_domain::{Channel, Email, Msisdn, Request, RequestId, Status};
use komek_store::{Store, StoreError};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

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
    let (total, found) = store
        .requests_from(phones, emails, limit.min(MAX_REQUESTS))
        .await?;
    let requests = found.iter().map(RequestSummary::of).collect();
    Ok(History { total, requests })
}
