//! The deadline index: every open request's coming warnings and breaches in one sorted set, so
//! the watcher finds what is due with one range query however many requests are open. The claim
//! ([`Store::claim_due_in`]) also serves the escalation service's department deadlines.
//!
//! Members are `{request id}|{kind}|{deadline ms}`: the deadline in the member makes a re-registered
//! deadline (after a pause or a reopening) a new entry with its own handled-event marker.
//!
//! Nobody writes entries by hand: every request commit moves them from the request before the
//! change to the request after it ([`sync_ops`], by the rule of [`watches`]).

use komek_domain::calendar::Calendar;
use komek_domain::deadline::{DeadlinePolicy, Warnings};
use komek_domain::{Request, RequestId, Status};
use redis::Script;
use time::OffsetDateTime;

use crate::commit::{Op, Store, StoreError};
use crate::keys::Keys;

const CLAIM_LUA: &str = include_str!("lua/claim_due.lua");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FirstResponseWarning,
    FirstResponseBreach,
    ResolutionWarning,
    ResolutionBreach,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FirstResponseWarning => "fr_warn",
            Kind::FirstResponseBreach => "fr_breach",
            Kind::ResolutionWarning => "res_warn",
            Kind::ResolutionBreach => "res_breach",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [
            Kind::FirstResponseWarning,
            Kind::FirstResponseBreach,
            Kind::ResolutionWarning,
            Kind::ResolutionBreach,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
    pub fn is_breach(self) -> bool {
        matches!(self, Kind::FirstResponseBreach | Kind::ResolutionBreach)
    }
    pub fn is_first_response(self) -> bool {
        matches!(self, Kind::FirstResponseWarning | Kind::FirstResponseBreach)
    }
    /// `first_response` or `resolution`, as in events and history.
    pub fn deadline(self) -> &'static str {
        if self.is_first_response() {
            "first_response"
        } else {
            "resolution"
        }
    }
}

/// One claimed entry.
#[derive(Debug, Clone)]
pub struct Due {
    pub member: String,
    pub request_id: RequestId,
    pub kind: Kind,
    /// When it was meant to fire (ms since the epoch).
    pub fire_at_ms: i64,
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn member(id: RequestId, kind: Kind, deadline_ms: i64) -> String {
    format!("{id}|{}|{deadline_ms}", kind.as_str())
}

/// The deadline policy and business calendar that place the warnings before each deadline.
#[derive(Debug, Clone)]
pub struct Clock {
    policy: DeadlinePolicy,
    calendar: Calendar,
}

impl Clock {
    pub fn new(policy: DeadlinePolicy, calendar: Calendar) -> Self {
        Self { policy, calendar }
    }

    /// When the warnings before `r`'s deadlines fire, its clock counted from `start`.
    pub fn warnings(&self, r: &Request, start: OffsetDateTime) -> Warnings {
        self.policy
            .warnings_for(&self.calendar, r.priority, start, &r.due)
    }
}

/// Whether `r`'s deadline of `kind` is watched: an open request past `new`; the first response
/// until it is given, the resolution unless the request waits for the customer (its clock stops).
pub fn watches(r: &Request, kind: Kind) -> bool {
    let open = r.status.is_open() && r.status != Status::New;
    if kind.is_first_response() {
        open && r.first_response_at.is_none()
    } else {
        open && r.status != Status::WaitingCustomer
    }
}

const KINDS: [Kind; 4] = [
    Kind::FirstResponseWarning,
    Kind::FirstResponseBreach,
    Kind::ResolutionWarning,
    Kind::ResolutionBreach,
];

/// The members `r` has in the deadline index while it is as it is (for tests and benchmarks that
/// look at or take out a request's entries).
pub fn members_of(r: &Request) -> Vec<String> {
    entries(r).into_iter().map(|(_, m)| m).collect()
}

/// The entries `r` has while it is as it is: (kind, member).
fn entries(r: &Request) -> Vec<(Kind, String)> {
    KINDS
        .into_iter()
        .filter(|k| watches(r, *k))
        .map(|k| (k, member(r.id, k, ms(deadline_of(r, k)))))
        .collect()
}

fn deadline_of(r: &Request, kind: Kind) -> OffsetDateTime {
    if kind.is_first_response() {
        r.due.first_response
    } else {
        r.due.resolution
    }
}

/// The deadline index moved from `before` to `after`: entries no longer watched leave the due and
/// claimed sets, new ones (a first registration, a reopening, a clock resumed with its deadline
/// moved) are added, scored by when they fire. A warning's time counts the clock from `start`
/// (acceptance, or the reopening); without a [`Clock`] it fires at its deadline.
pub(crate) fn sync_ops(
    keys: &Keys,
    clock: Option<&Clock>,
    before: Option<&Request>,
    after: &Request,
    start: OffsetDateTime,
) -> Vec<Op> {
    let old = before.map(entries).unwrap_or_default();
    let new = entries(after);
    let mut out = Vec::new();
    for (_, m) in old.iter().filter(|o| !new.contains(o)) {
        out.push(Op::ZRem {
            key: keys.deadlines(),
            member: m.clone(),
        });
        out.push(Op::ZRem {
            key: keys.deadlines_claimed(),
            member: m.clone(),
        });
    }
    let added: Vec<&(Kind, String)> = new.iter().filter(|n| !old.contains(n)).collect();
    if added.is_empty() {
        return out;
    }
    let warn = clock.map(|c| c.warnings(after, start));
    for (kind, m) in added {
        let deadline = deadline_of(after, *kind);
        let fire = match (&warn, kind) {
            (Some(w), Kind::FirstResponseWarning) => w.first_response,
            (Some(w), Kind::ResolutionWarning) => w.resolution,
            _ => deadline,
        };
        out.push(Op::ZAdd {
            key: keys.deadlines(),
            member: m.clone(),
            score: ms(fire),
        });
    }
    out
}

/// The op that ends a claim, in the commit that applied it.
pub fn done_op(keys: &Keys, due: &Due) -> Op {
    Op::ZRem {
        key: keys.deadlines_claimed(),
        member: due.member.clone(),
    }
}

/// One entry claimed from a due set: its member and when it was meant to fire (ms).
#[derive(Debug, Clone)]
pub struct Claimed {
    pub member: String,
    pub fire_at_ms: i64,
}

impl Store {
    /// Claims up to `limit` entries of the sorted set `due` that are due at `now_ms`, moving them
    /// to `claimed` for `lease_ms` (one script: each entry goes to exactly one caller). Any due
    /// set with a claimed companion works this way: requests' deadlines, escalations' deadlines.
    pub async fn claim_due_in(
        &self,
        due: &str,
        claimed: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut c = self.conn();
        let raw: Vec<String> = Script::new(CLAIM_LUA)
            .key(due)
            .key(claimed)
            .arg(now_ms)
            .arg(lease_ms)
            .arg(limit)
            .invoke_async(&mut c)
            .await?;
        Ok(raw
            .chunks(2)
            .filter_map(|pair| match pair {
                [m, score] => Some(Claimed {
                    member: m.clone(),
                    fire_at_ms: score.parse::<f64>().map(|f| f as i64).unwrap_or(now_ms),
                }),
                _ => None,
            })
            .collect())
    }

    /// Ends a claim of `claimed` without an effect.
    pub async fn release_in(&self, claimed: &str, member: &str) -> Result<(), StoreError> {
        let mut c = self.conn();
        let _: i64 = redis::AsyncCommands::zrem(&mut c, claimed, member).await?;
        Ok(())
    }

    /// Claims up to `limit` request deadline entries due at `now_ms` for `lease_ms`.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Due>, StoreError> {
        let (due, claimed) = (self.keys().deadlines(), self.keys().deadlines_claimed());
        let mut out = Vec::new();
        for Claimed { member, fire_at_ms } in self
            .claim_due_in(&due, &claimed, now_ms, lease_ms, limit)
            .await?
        {
            let mut parts = member.split('|');
            let (Some(id), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            let (Ok(request_id), Some(kind)) = (id.parse(), Kind::parse(kind)) else {
                tracing::warn!(member = %member, "unreadable deadline entry dropped");
                self.release(&member).await?;
                continue;
            };
            out.push(Due {
                member,
                request_id,
                kind,
                fire_at_ms,
            });
        }
        Ok(out)
    }

    /// Ends a claim without an effect (the deadline no longer applies).
    pub async fn release(&self, member: &str) -> Result<(), StoreError> {
        self.release_in(&self.keys().deadlines_claimed(), member)
            .await
    }

    /// The `limit` requests that breached a deadline most recently (the supervisors' watch list).
    pub async fn watchlist(&self, limit: usize) -> Result<Vec<RequestId>, StoreError> {
        let mut c = self.conn();
        let stop = isize::try_from(limit)
            .unwrap_or(isize::MAX)
            .saturating_sub(1);
        let ids: Vec<String> =
            redis::AsyncCommands::zrevrange(&mut c, self.keys().watchlist(), 0, stop).await?;
        Ok(ids.iter().filter_map(|id| id.parse().ok()).collect())
    }

    /// Entries waiting to fire (for metrics and tests).
    pub async fn deadlines_pending(&self) -> Result<u64, StoreError> {
        let mut c = self.conn();
        Ok(redis::AsyncCommands::zcard(&mut c, self.keys().deadlines()).await?)
    }
}
