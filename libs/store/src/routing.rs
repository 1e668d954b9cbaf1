//! Routing: requests wait in queues by category and language, ordered by urgency; an agent gets
//! the most urgent request their skills allow.
//!
//! - A request in a language the agent does not speak goes to them only when no online agent
//!   speaks it (so a Kazakh request waits for a Kazakh speaker while one is online).
//! - The claim is the `zrem!` precondition on the global queue inside the commit that assigns the
//!   request: two agents on any replicas never get the same request.
//! - An agent at capacity gets nothing.
//! - Queue, offer and owner-set membership follow the request in every commit ([`queue_ops`],
//!   [`owner_ops`], from the request before and after the change); no caller writes them.

use komek_domain::events::{Envelope, RequestChanged, kind};
use komek_domain::staff::{Presence, User};
use komek_domain::{Category, Lang, Priority, Request, RequestId, Status};
use redis::AsyncCommands;

use crate::commit::{Op, Store, StoreError};
use crate::keys::Keys;
use crate::requests::{Mutation, UpdateError};

pub const CATEGORIES: [Category; 7] = [
    Category::Billing,
    Category::Network,
    Category::Internet,
    Category::Roaming,
    Category::Tariff,
    Category::SimCard,
    Category::Other,
];
pub const LANGS: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

/// Scores below this belong to urgent requests.
const URGENT_BAND: f64 = 10_000_000_000_000.0;

/// Lower is more urgent: priority first, then the nearest first-response deadline.
pub fn urgency(r: &Request) -> i64 {
    let rank = match r.priority {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Normal => 2,
        Priority::Low => 3,
    };
    rank * 10_000_000_000_000
        + i64::try_from(r.due.first_response.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn created_ms(r: &Request) -> i64 {
    i64::try_from(r.created_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Puts a request into the queues (global by age, and its skill queue by urgency).
fn enqueue_ops(keys: &Keys, r: &Request) -> Vec<Op> {
    let id = r.id.to_string();
    vec![
        Op::ZAdd {
            key: keys.queue(),
            member: id.clone(),
            score: created_ms(r),
        },
        Op::ZAdd {
            key: skill_queue_of(keys, r),
            member: id,
            score: urgency(r),
        },
    ]
}

fn skill_queue_of(keys: &Keys, r: &Request) -> String {
    keys.skill_queue(r.category.as_str(), r.language.as_str())
}

/// The queue and offer keys moved from `before` to `after`: a request that becomes `queued` joins
/// the global queue and its skill queue; one that leaves `queued` leaves both and any offer made
/// of it; a waiting request whose urgency changed keeps its place in the skill queue by the new
/// urgency (only if it is there: an offered request stays out until the offer ends).
pub(crate) fn queue_ops(keys: &Keys, before: Option<&Request>, after: &Request) -> Vec<Op> {
    let waited = before.filter(|b| b.status == Status::Queued);
    let waits = after.status == Status::Queued;
    let id = after.id.to_string();
    match (waited, waits) {
        (None, true) => enqueue_ops(keys, after),
        (Some(b), false) => vec![
            Op::ZRem {
                key: keys.queue(),
                member: id.clone(),
            },
            Op::ZRem {
                key: skill_queue_of(keys, b),
                member: id.clone(),
            },
            Op::Del {
                key: keys.offer(after.id),
            },
            Op::ZRem {
                key: keys.offers(),
                member: id,
            },
        ],
        (Some(b), true) if skill_queue_of(keys, b) != skill_queue_of(keys, after) => vec![
            Op::ZRem {
                key: skill_queue_of(keys, b),
                member: id.clone(),
            },
            Op::ZAdd {
                key: skill_queue_of(keys, after),
                member: id,
                score: urgency(after),
            },
        ],
        (Some(b), true) if urgency(b) != urgency(after) => vec![Op::ZAddXx {
            key: skill_queue_of(keys, after),
            member: id,
            score: urgency(after),
        }],
        _ => Vec::new(),
    }
}

/// Whose load a request counts in: its owner's, from the assignment until it is resolved.
fn holder(r: &Request) -> Option<&str> {
    if r.status.is_open() && r.status != Status::New {
        r.owner.as_deref()
    } else {
        None
    }
}

/// The owner sets moved from `before` to `after` (assigned, handed back, reassigned, resolved,
/// reopened).
pub(crate) fn owner_ops(keys: &Keys, before: Option<&Request>, after: &Request) -> Vec<Op> {
    let (old, new) = (before.and_then(holder), holder(after));
    if old == new {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(o) = old {
        out.push(Op::SRem {
            key: keys.owned_by(o),
            member: after.id.to_string(),
        });
    }
    if let Some(n) = new {
        out.push(Op::SAdd {
            key: keys.owned_by(n),
            member: after.id.to_string(),
        });
    }
    out
}

/// The request left the queue (another agent took it) before this claim.
#[derive(Debug)]
pub struct Taken;

impl Store {
    /// Records presence and which languages are spoken online right now.
    pub async fn set_presence(&self, user: &User, presence: Presence) -> Result<(), StoreError> {
        let k = self.keys();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(k.presence(), &user.login, presence.as_str())
            .ignore();
        if presence == Presence::Online {
            pipe.sadd(k.online_speakers("any"), &user.login).ignore();
        } else {
            pipe.srem(k.online_speakers("any"), &user.login).ignore();
        }
        for lang in &user.languages {
            if presence == Presence::Online {
                pipe.sadd(k.online_speakers(lang.as_str()), &user.login)
                    .ignore();
            } else {
                pipe.srem(k.online_speakers(lang.as_str()), &user.login)
                    .ignore();
            }
        }
        let mut c = self.conn();
        let () = pipe.query_async(&mut c).await?;
        Ok(())
    }

    /// How many logins online now speak `lang`.
    pub async fn speakers_online(&self, lang: Lang) -> Result<u64, StoreError> {
        let mut c = self.conn();
        Ok(c.scard(self.keys().online_speakers(lang.as_str())).await?)
    }

    /// How many requests wait in skill queue `queue`.
    pub async fn waiting_in(&self, queue: &str) -> Result<u64, StoreError> {
        let mut c = self.conn();
        Ok(c.zcard(queue).await?)
    }

    /// Logins online now (whatever they speak).
    pub async fn online_agents(&self) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn();
        Ok(c.smembers(self.keys().online_speakers("any")).await?)
    }

    pub async fn presence_of(&self, login: &str) -> Result<Presence, StoreError> {
        let mut c = self.conn();
        let raw: Option<String> = c.hget(self.keys().presence(), login).await?;
        Ok(match raw.as_deref() {
            Some("online") => Presence::Online,
            Some("away") => Presence::Away,
            _ => Presence::Offline,
        })
    }

    /// The skill queues `agent` may take from now, most preferred first.
    pub async fn eligible_queues(&self, agent: &User) -> Result<Vec<String>, StoreError> {
        let mut langs: Vec<Lang> = agent.languages.clone();
        let mut c = self.conn();
        for lang in LANGS {
            if !langs.contains(&lang) {
                let speakers: u64 = c.scard(self.keys().online_speakers(lang.as_str())).await?;
                if speakers == 0 {
                    langs.push(lang);
                }
            }
        }
        Ok(CATEGORIES
            .iter()
            .filter(|c| agent.takes(**c))
            .flat_map(|c| {
                langs
                    .iter()
                    .map(move |l| self.keys().skill_queue(c.as_str(), l.as_str()))
            })
            .collect())
    }

    /// The requests of one queue (up to 200), for the supervisors' view of ages.
    pub async fn requests_in(&self, queue: &str) -> Result<Vec<Request>, StoreError> {
        let mut c = self.conn();
        let ids: Vec<String> = c.zrange(queue, 0, 199).await?;
        let ids: Vec<RequestId> = ids.iter().filter_map(|id| id.parse().ok()).collect();
        self.requests(&ids).await
    }

    /// Open requests `login` holds.
    pub async fn load_of(&self, login: &str) -> Result<u64, StoreError> {
        let mut c = self.conn();
        Ok(c.scard(self.keys().owned_by(login)).await?)
    }

    /// Assigns to `agent` the most urgent request their skills allow; `None` when nothing fits or
    /// the agent is at capacity.
    pub async fn take_next_for(
        &self,
        agent: &User,
        stamp: impl Fn(&mut Envelope, &Request),
    ) -> Result<Option<Request>, StoreError> {
        if self.load_of(&agent.login).await? >= u64::from(agent.capacity) {
            return Ok(None);
        }
        let queues = self.eligible_queues(agent).await?;
        // Bounded, so an index entry that is wrong for good cannot keep us here.
        // An agent who may not take urgent work reads past the urgent band of each queue.
        let from = if agent.qualified_for(Priority::Urgent) {
            f64::NEG_INFINITY
        } else {
            URGENT_BAND
        };
        // Each round reads the heads of the queues and tries them in order of urgency. A candidate
        // that another agent claims first is skipped; only when a whole round was claimed by others
        // is the queue read again. Every lost claim is someone else's success, so this ends; the
        // bound only guards against an index that is wrong for good.
        for _ in 0..100 {
            let mut pipe = redis::pipe();
            for q in &queues {
                pipe.zrangebyscore_limit_withscores(q, from, "+inf", 0, 5);
            }
            let mut c = self.conn();
            let heads: Vec<Vec<(String, f64)>> = pipe.query_async(&mut c).await?;
            let mut candidates: Vec<(f64, String, &String)> = heads
                .into_iter()
                .zip(&queues)
                .flat_map(|(h, q)| h.into_iter().map(move |(id, score)| (score, id, q)))
                .collect();
            if candidates.is_empty() {
                return Ok(None);
            }
            candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (_, raw, queue) in candidates {
                let Ok(id) = raw.parse::<RequestId>() else {
                    continue;
                };
                match self.assign(id, agent, &stamp).await {
                    Ok(r) => return Ok(Some(r)),
                    // At capacity (op 0): nothing more for this agent now.
                    Err(UpdateError::Precondition(0)) => return Ok(None),
                    // Claimed by someone else meanwhile: the next candidate.
                    Err(UpdateError::Precondition(_))
                    | Err(UpdateError::Contended)
                    | Err(UpdateError::Duplicate) => {}
                    Err(UpdateError::Rejected(Taken)) | Err(UpdateError::NotFound) => {
                        // Not waiting any more, or an index entry left behind: drop it from this queue.
                        let _: i64 = c.zrem(queue, &raw).await?;
                    }
                    Err(UpdateError::Store(e)) => return Err(e),
                }
            }
        }
        Ok(None)
    }

    /// Assigns request `id` to `agent` if it still waits in the queue.
    pub async fn assign(
        &self,
        id: RequestId,
        agent: &User,
        stamp: &impl Fn(&mut Envelope, &Request),
    ) -> Result<Request, UpdateError<Taken>> {
        let now = time::OffsetDateTime::now_utc();
        let keys = self.keys().clone();
        self.update_request(id, None, |r| {
            if r.status != Status::Queued {
                return Err(Taken);
            }
            let change = r.assign(&agent.login, now).map_err(|_| Taken)?;
            let mut event = Envelope::new(
                kind::REQUEST_ASSIGNED,
                r.id,
                &RequestChanged {
                    number: r.number.clone(),
                    actor: agent.login.clone(),
                    detail: None,
                },
                now,
            );
            stamp(&mut event, r);
            // The capacity check sits in the same script as the claim: parallel calls cannot
            // overshoot it. The claim is the second guard; the queue, offer and owner keys move
            // with the status (`queue_ops`, `owner_ops`).
            let ops = vec![
                Op::SCardBelow {
                    key: keys.owned_by(&agent.login),
                    limit: u64::from(agent.capacity),
                },
                Op::ZRemMust {
                    key: keys.queue(),
                    member: r.id.to_string(),
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
}
