//! Offered assignment's keys: `{p}:offer:{id}` names the agent a waiting request is offered to
//! (with a lifetime), `{p}:offers` holds the offered requests scored by the offer's expiry (ms).
//! While offered, a request stays in the global queue but out of its skill queue, so nobody else
//! pulls it. An offer ends when it is accepted (the assignment's commit drops it with the queue
//! entries, [`crate::routing`]), declined or expired ([`Store::withdraw_offer`]).

use komek_domain::events::Envelope;
use komek_domain::{HistoryEntry, Request, RequestId, Status};
use redis::AsyncCommands;

use crate::commit::{Op, Store, StoreError};
use crate::requests::{Mutation, UpdateError};

/// The request does not wait in the queue (any more).
#[derive(Debug)]
pub struct NotQueued;

impl Store {
    /// Who request `id` is offered to, if anyone.
    pub async fn offered_to(&self, id: RequestId) -> Result<Option<String>, StoreError> {
        self.get_string(&self.keys().offer(id)).await
    }

    /// Offers waiting request `id` to `agent` until `expires_at_ms`: out of its skill queue, the
    /// offer key kept `ttl_secs`; refused (precondition) if it is offered already. `said` gives
    /// the history line and event of the offer.
    pub async fn make_offer(
        &self,
        id: RequestId,
        agent: &str,
        expires_at_ms: i64,
        ttl_secs: u64,
        said: impl Fn(&Request) -> (HistoryEntry, Envelope),
    ) -> Result<Request, UpdateError<NotQueued>> {
        let keys = self.keys().clone();
        self.update_request(id, None, |r| {
            if r.status != Status::Queued {
                return Err(NotQueued);
            }
            let (change, event) = said(r);
            let ops = vec![
                Op::ZRem {
                    key: keys.skill_queue(r.category.as_str(), r.language.as_str()),
                    member: r.id.to_string(),
                },
                Op::SetNxMust {
                    key: keys.offer(r.id),
                    value: agent.to_owned(),
                    ttl_secs,
                },
                Op::ZAdd {
                    key: keys.offers(),
                    member: r.id.to_string(),
                    score: expires_at_ms,
                },
            ];
            Ok(Mutation {
                change,
                event: Some(event),
                ops,
            })
        })
        .await
    }

    /// Ends the offer of request `id` (declined, or timed out): a request still waiting goes back
    /// into its skill queue (`said` gives the history line and event of that); the offer's keys
    /// go in any case. `true` when the request was put back.
    pub async fn withdraw_offer(
        &self,
        id: RequestId,
        said: impl Fn(&Request) -> (HistoryEntry, Envelope),
    ) -> Result<bool, StoreError> {
        let keys = self.keys().clone();
        let result = self
            .update_request(id, None, |r| {
                if r.status != Status::Queued {
                    return Err(NotQueued);
                }
                let (change, event) = said(r);
                let ops = vec![
                    Op::ZAdd {
                        key: keys.skill_queue(r.category.as_str(), r.language.as_str()),
                        member: r.id.to_string(),
                        score: crate::routing::urgency(r),
                    },
                    Op::Del {
                        key: keys.offer(id),
                    },
                    Op::ZRem {
                        key: keys.offers(),
                        member: r.id.to_string(),
                    },
                ];
                Ok(Mutation {
                    change,
                    event: Some(event),
                    ops,
                })
            })
            .await;
        // Whatever became of the request, the offer is over.
        let mut c = self.conn();
        let _: i64 = c.del(keys.offer(id)).await?;
        let _: i64 = c.zrem(keys.offers(), id.to_string()).await?;
        match result {
            Ok(_) => Ok(true),
            Err(UpdateError::Store(e)) => Err(e),
            Err(_) => Ok(false),
        }
    }

    /// Claims up to `limit` offers expired at `now_ms`, one by one (each goes to one replica).
    pub async fn claim_expired_offers(
        &self,
        now_ms: i64,
        limit: isize,
    ) -> Result<Vec<RequestId>, StoreError> {
        let mut c = self.conn();
        let due: Vec<String> = c
            .zrangebyscore_limit(self.keys().offers(), "-inf", now_ms, 0, limit)
            .await?;
        let mut out = Vec::new();
        for raw in due {
            let claimed: i64 = c.zrem(self.keys().offers(), &raw).await?;
            if let (1, Ok(id)) = (claimed, raw.parse::<RequestId>()) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The requests offered to `login` now.
    pub async fn offers_to(&self, login: &str) -> Result<Vec<Request>, StoreError> {
        let mut c = self.conn();
        let ids: Vec<String> = c.zrange(self.keys().offers(), 0, -1).await?;
        let mut out = Vec::new();
        for raw in ids {
            let Ok(id) = raw.parse::<RequestId>() else {
                continue;
            };
            if self.offered_to(id).await?.as_deref() == Some(login)
                && let Some(r) = self.request(id).await?
            {
                out.push(r);
            }
        }
        Ok(out)
    }
}
