//! The request aggregate in Redis: create once (idempotency key), read, change with optimistic
//! concurrency, and the queue agents take work from. Every commit of a request also moves the keys
//! its state implies ([`Store::bookkeeping_ops`]): callers change the request, never those keys.

use komek_domain::events::Envelope;
use komek_domain::{HistoryEntry, Request, RequestId};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::commit::{Commit, Op, Outcome, Store, StoreError};

/// How long a handled-event marker is kept: far longer than any redelivery can take.
pub const MARKER_TTL_SECS: u64 = 7 * 24 * 3600;
const CONFLICT_RETRIES: usize = 8;

/// What an Idempotency-Key remembers: the body it came with, and the request it made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub request_id: RequestId,
}

#[derive(Debug)]
pub enum Created {
    /// A new request was stored.
    New(Request),
    /// The key was used before with the same body: this is that request.
    Replayed(Request),
    /// The key was used before with another body.
    KeyReused,
}

/// What a change did besides the aggregate itself.
pub struct Mutation {
    pub change: HistoryEntry,
    pub event: Option<Envelope>,
    /// Guards (a claim, a capacity check, a first-writer key) and keys that are not the request's
    /// own bookkeeping (the watch list, a problem link). Queue, offer, owner, deadline and search
    /// keys are derived by the store ([`Store::bookkeeping_ops`]) and never listed here.
    pub ops: Vec<Op>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    #[error("no such request")]
    NotFound,
    #[error(transparent)]
    Rejected(E),
    #[error("event already handled")]
    Duplicate,
    #[error("the request kept changing under us")]
    Contended,
    #[error("precondition {0} failed")]
    Precondition(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<E> UpdateError<E> {
    /// The same failure, with a rejection turned into another type by `f`.
    pub fn map_rejected<F>(self, f: impl FnOnce(E) -> F) -> UpdateError<F> {
        match self {
            UpdateError::NotFound => UpdateError::NotFound,
            UpdateError::Rejected(e) => UpdateError::Rejected(f(e)),
            UpdateError::Duplicate => UpdateError::Duplicate,
            UpdateError::Contended => UpdateError::Contended,
            UpdateError::Precondition(i) => UpdateError::Precondition(i),
            UpdateError::Store(e) => UpdateError::Store(e),
        }
    }
}

fn to_json<T: Serialize>(t: &T) -> String {
    // Our own types always serialise; an empty string would fail loudly on read.
    serde_json::to_string(t).unwrap_or_default()
}

impl Store {
    /// Every key the request's state implies, moved from `before` (`None`: a new request) to
    /// `after` in the same commit: the queues and any offer, the owner's set, the deadline index
    /// and the search index. `at` is the change's time (a reopened request's clock starts then).
    /// Appended after the caller's ops, so a caller's precondition keeps its index.
    pub fn bookkeeping_ops(
        &self,
        before: Option<&Request>,
        after: &Request,
        at: time::OffsetDateTime,
    ) -> Vec<Op> {
        let keys = self.keys();
        let reopened = before.is_some_and(|b| !b.status.is_open()) && after.status.is_open();
        let start = if reopened { at } else { after.created_at };
        let mut ops = crate::routing::queue_ops(keys, before, after);
        ops.extend(crate::routing::owner_ops(keys, before, after));
        ops.extend(crate::deadlines::sync_ops(
            keys,
            self.clock(),
            before,
            after,
            start,
        ));
        ops.extend(crate::search::index_ops(keys, before, after));
        ops
    }

    pub async fn next_number(&self) -> Result<u64, StoreError> {
        let mut c = self.conn();
        Ok(c.incr(self.keys().number_seq(), 1).await?)
    }

    pub async fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get_json(&self.keys().idempotency(key)).await
    }

    /// Stores a new request with its first history line and its `request.created` event.
    /// With an idempotency key, the first writer wins; a later one gets the stored request back.
    pub async fn create_request(
        &self,
        request: &Request,
        history: &HistoryEntry,
        event: &Envelope,
        idempotency: Option<(&str, &str)>,
        idempotency_ttl_secs: u64,
    ) -> Result<Created, StoreError> {
        let k = self.keys();
        let mut ops = Vec::new();
        if let Some((key, fingerprint)) = idempotency {
            let rec = IdempotencyRecord {
                fingerprint: fingerprint.to_owned(),
                request_id: request.id,
            };
            ops.push(Op::SetNxMust {
                key: k.idempotency(key),
                value: to_json(&rec),
                ttl_secs: idempotency_ttl_secs,
            });
        }
        ops.push(Op::SetNxMust {
            key: k.number(&request.number.0),
            value: request.id.to_string(),
            ttl_secs: 0,
        });
        let mut stored = request.clone();
        stored.version = 1;
        ops.extend(self.bookkeeping_ops(None, &stored, history.at));
        let commit = Commit {
            doc_key: k.request(request.id),
            expected_version: 0,
            json: to_json(&stored),
            history_key: Some(k.history(request.id)),
            history: Some(to_json(history)),
            event: Some((event.kind.clone(), to_json(event))),
            marker: None,
            ops,
        };
        match self.commit(&commit).await? {
            Outcome::Done { .. } => Ok(Created::New(stored)),
            Outcome::Precondition(0) if idempotency.is_some() => {
                let Some((key, fingerprint)) = idempotency else {
                    return Ok(Created::KeyReused);
                };
                self.replay(key, fingerprint).await
            }
            other => Err(StoreError::Reply(format!(
                "create {}: {other:?}",
                request.id
            ))),
        }
    }

    /// The answer for an Idempotency-Key seen before.
    pub async fn replay(&self, key: &str, fingerprint: &str) -> Result<Created, StoreError> {
        let Some(rec) = self.idempotency(key).await? else {
            return Err(StoreError::Reply(format!("idempotency key {key} vanished")));
        };
        if rec.fingerprint != fingerprint {
            return Ok(Created::KeyReused);
        }
        match self.request(rec.request_id).await? {
            Some(r) => Ok(Created::Replayed(r)),
            None => Err(StoreError::Reply(format!(
                "request {} of key {key} is missing",
                rec.request_id
            ))),
        }
    }

    pub async fn request(&self, id: RequestId) -> Result<Option<Request>, StoreError> {
        Ok(self
            .load::<Request>(&self.keys().request(id))
            .await?
            .map(|(mut r, v)| {
                r.version = v;
                r
            }))
    }

    /// Requests by id, in the order given, in one round trip per 500; ids with no request are
    /// left out.
    pub async fn requests(&self, ids: &[RequestId]) -> Result<Vec<Request>, StoreError> {
        let keys: Vec<String> = ids.iter().map(|id| self.keys().request(*id)).collect();
        Ok(self
            .load_many::<Request>(&keys)
            .await?
            .into_iter()
            .flatten()
            .map(|(mut r, v)| {
                r.version = v;
                r
            })
            .collect())
    }

    pub async fn request_by_number(&self, number: &str) -> Result<Option<Request>, StoreError> {
        let Some(id) = self.get_string(&self.keys().number(number)).await? else {
            return Ok(None);
        };
        match id.parse::<RequestId>() {
            Ok(id) => self.request(id).await,
            Err(_) => Ok(None),
        }
    }

    /// A request with its history as of one moment: both read in one MULTI, so a view never pairs
    /// a history line with the request as it was before that line's change (they are two keys,
    /// written together by the commit script).
    pub async fn request_with_history(
        &self,
        id: RequestId,
    ) -> Result<Option<(Request, Vec<HistoryEntry>)>, StoreError> {
        let (doc, history) = (self.keys().request(id), self.keys().history(id));
        let mut c = self.conn();
        let ((v, json), lines): ((Option<u64>, Option<String>), Vec<String>) = redis::pipe()
            .atomic()
            .cmd("HMGET")
            .arg(&doc)
            .arg("v")
            .arg("json")
            .lrange(&history, 0, -1)
            .query_async(&mut c)
            .await?;
        let (Some(v), Some(json)) = (v, json) else {
            return Ok(None);
        };
        let mut request: Request = serde_json::from_str(&json)
            .map_err(|source| StoreError::Corrupt { key: doc, source })?;
        request.version = v;
        Ok(Some((request, parse_history(&history, &lines)?)))
    }

    pub async fn history(&self, id: RequestId) -> Result<Vec<HistoryEntry>, StoreError> {
        let key = self.keys().history(id);
        let mut c = self.conn();
        let lines: Vec<String> = c.lrange(&key, 0, -1).await?;
        parse_history(&key, &lines)
    }

    /// Loads, changes and commits a request, re-reading and re-applying `f` when someone else
    /// changed it in between. `marker` makes the change once-only per consumed event.
    pub async fn update_request<E>(
        &self,
        id: RequestId,
        marker: Option<String>,
        mut f: impl FnMut(&mut Request) -> Result<Mutation, E>,
    ) -> Result<Request, UpdateError<E>> {
        for _ in 0..CONFLICT_RETRIES {
            let Some(mut request) = self.request(id).await? else {
                return Err(UpdateError::NotFound);
            };
            let before = request.clone();
            let read = request.version;
            let mut m = f(&mut request).map_err(UpdateError::Rejected)?;
            m.ops
                .extend(self.bookkeeping_ops(Some(&before), &request, m.change.at));
            request.version = read + 1;
            let commit = Commit {
                doc_key: self.keys().request(id),
                expected_version: read,
                json: to_json(&request),
                history_key: Some(self.keys().history(id)),
                history: Some(to_json(&m.change)),
                event: m.event.as_ref().map(|e| (e.kind.clone(), to_json(e))),
                marker: marker.clone().map(|k| (k, MARKER_TTL_SECS)),
                ops: m.ops,
            };
            match self.commit(&commit).await? {
                Outcome::Done { .. } => return Ok(request),
                Outcome::Conflict { .. } => continue,
                Outcome::Duplicate => return Err(UpdateError::Duplicate),
                Outcome::Precondition(i) => return Err(UpdateError::Precondition(i)),
            }
        }
        Err(UpdateError::Contended)
    }

    /// Requests waiting for an agent, oldest first.
    pub async fn queue(&self, limit: usize) -> Result<Vec<Request>, StoreError> {
        let mut c = self.conn();
        let stop = isize::try_from(limit)
            .unwrap_or(isize::MAX)
            .saturating_sub(1);
        let ids: Vec<String> = c.zrange(self.keys().queue(), 0, stop).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Ok(id) = id.parse()
                && let Some(r) = self.request(id).await?
            {
                out.push(r);
            }
        }
        Ok(out)
    }

    pub async fn queue_len(&self) -> Result<u64, StoreError> {
        let mut c = self.conn();
        Ok(c.zcard(self.keys().queue()).await?)
    }

    /// Requests `login` owns.
    pub async fn owned(&self, login: &str) -> Result<Vec<Request>, StoreError> {
        let mut c = self.conn();
        let ids: Vec<String> = c.smembers(self.keys().owned_by(login)).await?;
        let mut out = Vec::new();
        for id in ids {
            if let Ok(id) = id.parse()
                && let Some(r) = self.request(id).await?
            {
                out.push(r);
            }
        }
        out.sort_by_key(|r| r.created_at);
        Ok(out)
    }
}

/// A request's history lines as read from `key`, oldest first.
fn parse_history(key: &str, lines: &[String]) -> Result<Vec<HistoryEntry>, StoreError> {
    lines
        .iter()
        .map(|l| {
            serde_json::from_str(l).map_err(|source| StoreError::Corrupt {
                key: key.to_owned(),
                source,
            })
        })
        .collect()
}
