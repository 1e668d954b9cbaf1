//! Problem records and the requests linked to them, and the counters spike detection keeps.
//!
//! A problem is a versioned document (`problem:{id}`) on the same atomic commit as requests. Its
//! links live in two places kept in step by that commit: the set `problem:{id}:requests` (what the
//! problem groups) and the string `problem:of:{request}` (the one problem a request belongs to).
//! `problem:of` is the authority when deciding whether a request is free: it may point at a
//! problem that is resolved or dismissed since, or be absent (never linked, or unlinked); both
//! mean "free".

use std::collections::HashSet;

use komek_domain::events::{Envelope, ProblemEvent, ProblemResolved, kind};
use komek_domain::problem::{Messages, Problem, ProblemError, ProblemStatus, SpikeInfo};
use komek_domain::{Category, Lang, Request, RequestId};
use redis::{AsyncCommands, Script};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::commit::{Commit, Op, Outcome, Store, StoreError};
use crate::requests::UpdateError;

/// Which problems to list. An empty `statuses` means every status.
#[derive(Debug, Clone, Default)]
pub struct ProblemFilter {
    pub statuses: Vec<ProblemStatus>,
    pub department: Option<String>,
    pub limit: usize,
}

/// What a new problem starts as; the store gives it its id, number and creation time.
#[derive(Debug, Clone)]
pub struct NewProblem {
    pub title: String,
    pub description: String,
    pub department: Option<String>,
    pub category: Option<Category>,
    pub region: Option<String>,
    /// `Open` when staff open it, `Candidate` when spike detection does.
    pub status: ProblemStatus,
    /// A login, or `system:spike`.
    pub created_by: String,
    pub spike: Option<SpikeInfo>,
}

/// A request that could not be linked because it belongs to another open problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub request_id: RequestId,
    pub problem_id: Uuid,
    pub problem_number: String,
}

/// What [`Store::link_requests`] did with each request it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkOutcome {
    /// Newly linked by this call (one `problem.linked` event each).
    pub linked: Vec<RequestId>,
    /// Linked to this problem before (no event).
    pub already: Vec<RequestId>,
    /// Linked to another open problem: left there.
    pub refused: Vec<Refused>,
}

fn to_json<T: Serialize>(t: &T) -> String {
    serde_json::to_string(t).unwrap_or_default()
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The `problem.*` event about `p` (envelope request id: `request`, or nil when it is about the
/// problem as a whole).
pub fn problem_event(
    kind: &str,
    p: &Problem,
    request: Option<RequestId>,
    by: &str,
    detail: Option<String>,
    now: OffsetDateTime,
) -> Envelope {
    let payload = ProblemEvent {
        problem_id: p.id,
        number: p.number.clone(),
        title: p.title.clone(),
        by: by.to_owned(),
        department: p.department.clone(),
        detail,
    };
    Envelope::new(
        kind,
        request.unwrap_or(RequestId(Uuid::nil())),
        &payload,
        now,
    )
}

/// Keeps the sliding-window counts of one spike key. Atomic, so two replicas counting at once and
/// a redelivered event both leave the numbers right: the request id is added to `recent` with
/// `ZADD NX`, and only a new member bumps its fixed window's count.
///
/// KEYS[1] spike_recent (zset id -> ms)   KEYS[2] spike_counts (hash window number -> count)
/// ARGV[1] request id   ARGV[2] event time (ms)   ARGV[3] window (ms)   ARGV[4] baseline windows
/// Reply: {} when the event is older than everything kept (a very late redelivery, ignored), else
/// {the time judged (the newest request of the key, ms), count in the sliding window ending then,
/// count of each baseline window before it, oldest first...}.
const SPIKE_LUA: &str = r#"
local t = tonumber(ARGV[2])
local w = tonumber(ARGV[3])
local b = tonumber(ARGV[4])
local span = (b + 2) * w
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local horizon = t
if newest[2] and tonumber(newest[2]) > t then horizon = tonumber(newest[2]) end
-- Its id may have been pruned already: counting it again would double its window.
if t < horizon - span then return {} end
local n = math.floor(t / w)
if redis.call('ZADD', KEYS[1], 'NX', t, ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], n, 1)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (horizon - span))
local oldest = math.floor(horizon / w) - b - 2
if redis.call('HLEN', KEYS[2]) > 2 * b + 8 then
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(f) < oldest then redis.call('HDEL', KEYS[2], f) end
  end
end
-- Judged at the newest request counted under the key, not at this event's own time: consumers
-- handle many events at once and out of order, and a burst's newest request counted first would
-- otherwise be judged before the rest were counted, and never again. The last event counted
-- sees the window with every event counted so far.
local h = math.floor(horizon / w)
local out = {horizon, redis.call('ZCOUNT', KEYS[1], '(' .. (horizon - w), horizon)}
-- The baseline ends before the sliding window starts: windows h-1-b .. h-2.
for i = h - 1 - b, h - 2 do
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[2], i) or '0')
end
return out
"#;

/// What [`Store::spike_record`] saw: the sliding window's count and the baseline windows' counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpikeCounts {
    /// The end of the sliding window judged: the newest request counted under the key (this
    /// event's time, or later when events are handled out of order).
    pub at: OffsetDateTime,
    pub count: u64,
    pub baseline: Vec<u64>,
}

impl Store {
    pub async fn problem(&self, id: Uuid) -> Result<Option<Problem>, StoreError> {
        Ok(self.load_problem(id).await?.map(|(p, _)| p))
    }

    /// A problem with its version, `linked` counted from its request set: links do not write the
    /// document (see [`Store::link_requests`]), so the count stored in it is not kept up.
    async fn load_problem(&self, id: Uuid) -> Result<Option<(Problem, u64)>, StoreError> {
        let Some((mut p, version)) = self.load::<Problem>(&self.keys().problem(id)).await? else {
            return Ok(None);
        };
        let mut c = self.conn();
        p.linked = c.scard(self.keys().problem_requests(id)).await?;
        Ok(Some((p, version)))
    }

    /// Problems newest first, filtered by status and department, at most `filter.limit`.
    pub async fn problems(&self, filter: &ProblemFilter) -> Result<Vec<Problem>, StoreError> {
        const PAGE: isize = 200;
        let index = match &filter.department {
            Some(d) => self.keys().department_problems(d),
            None => self.keys().problems(),
        };
        let mut c = self.conn();
        let mut out = Vec::new();
        let mut start = 0;
        while out.len() < filter.limit {
            let ids: Vec<String> = c.zrevrange(&index, start, start + PAGE - 1).await?;
            if ids.is_empty() {
                break;
            }
            start += PAGE;
            for id in ids {
                let Ok(id) = id.parse() else { continue };
                let Some(p) = self.problem(id).await? else {
                    continue;
                };
                // A problem moved to another department stays in the old index until listed.
                if filter.department.is_some() && p.department != filter.department {
                    continue;
                }
                if filter.statuses.is_empty() || filter.statuses.contains(&p.status) {
                    out.push(p);
                    if out.len() >= filter.limit {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether problem `id` exists and still accepts requests (candidate or open). Reads the
    /// document only, not the size of its request set: spike detection asks once per event.
    pub async fn problem_is_open(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .load::<Problem>(&self.keys().problem(id))
            .await?
            .is_some_and(|(p, _)| p.status.is_open()))
    }

    /// Ids of the requests linked to problem `id` (unordered).
    pub async fn problem_request_ids(&self, id: Uuid) -> Result<Vec<RequestId>, StoreError> {
        let mut c = self.conn();
        let raw: Vec<String> = c.smembers(self.keys().problem_requests(id)).await?;
        Ok(raw.iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// The problem `request` is linked to, if any and if it still accepts requests (candidate or open).
    pub async fn open_problem_of(&self, request: RequestId) -> Result<Option<Problem>, StoreError> {
        let Some(id) = self.problem_id_of(request).await? else {
            return Ok(None);
        };
        Ok(self.problem(id).await?.filter(|p| p.status.is_open()))
    }

    /// The problem `request` was last linked to, open or not (`None` after an unlink).
    pub async fn problem_id_of(&self, request: RequestId) -> Result<Option<Uuid>, StoreError> {
        Ok(self
            .get_string(&self.keys().problem_of(request))
            .await?
            .and_then(|s| s.parse().ok()))
    }

    /// The problem `request` is linked to now, with the guard that keeps a change decided on it
    /// from standing once `problem:of` says otherwise (a link or unlink committed meanwhile).
    pub async fn problem_link_guard(
        &self,
        request: RequestId,
    ) -> Result<(Option<Uuid>, Op), StoreError> {
        let key = self.keys().problem_of(request);
        let raw = self.get_string(&key).await?;
        let current = raw.as_deref().and_then(|s| s.parse().ok());
        Ok((current, Op::Holds { key, value: raw }))
    }

    /// Stores a new problem numbered `P-000012` from `seq:problem`, indexed in `problems` and its
    /// department's index, with its `problem.opened` event (nil request id). `ops(id)` (given the
    /// new problem's id) join the same commit; `None` when one of their preconditions refused it
    /// (spike detection's `spike_open` guard taken by another replica) and nothing was written
    /// (the number is skipped).
    pub async fn create_problem(
        &self,
        new: NewProblem,
        ops: impl FnOnce(Uuid) -> Vec<Op>,
        now: OffsetDateTime,
    ) -> Result<Option<Problem>, StoreError> {
        let k = self.keys();
        let mut c = self.conn();
        let seq: u64 = c.incr(k.problem_seq(), 1).await?;
        let p = Problem {
            id: Uuid::now_v7(),
            number: format!("P-{seq:06}"),
            title: new.title,
            description: new.description,
            department: new.department,
            category: new.category,
            region: new.region,
            status: new.status,
            created_by: new.created_by,
            created_at: now,
            linked: 0,
            spike: new.spike,
            resolution: None,
            resolved_by: None,
            resolved_at: None,
            proposal: None,
        };
        let mut ops = ops(p.id);
        ops.push(Op::ZAdd {
            key: k.problems(),
            member: p.id.to_string(),
            score: ms(now),
        });
        if let Some(d) = &p.department {
            ops.push(Op::ZAdd {
                key: k.department_problems(d),
                member: p.id.to_string(),
                score: ms(now),
            });
        }
        let detail = (p.status == ProblemStatus::Candidate).then(|| "candidate".to_owned());
        let event = problem_event(kind::PROBLEM_OPENED, &p, None, &p.created_by, detail, now);
        match self
            .create_doc(&k.problem(p.id), &p, Some(&event), None, ops)
            .await?
        {
            Outcome::Done { .. } => Ok(Some(p)),
            Outcome::Precondition(_) => Ok(None),
            other => Err(StoreError::Reply(format!(
                "create problem {}: {other:?}",
                p.id
            ))),
        }
    }

    /// Links `requests` to open (or candidate) problem `problem_id`.
    ///
    /// A request belongs to one problem at a time: one linked to another open problem is refused
    /// (reported in `refused`); one linked here already is counted in `already`. Each newly linked
    /// request gets its own commit that checks the problem document without writing it (`SADD
    /// problem:{id}:requests`, `SET problem:of:{request}`) carrying its own `problem.linked`
    /// event with that request's id as envelope request id. Why one commit per request: a commit
    /// carries one outbox event, and writing the links in one commit but the events after it
    /// would lose events if the process died in between (a retry would find the requests
    /// `already` linked and send nothing). Per-request commits leave every request either fully
    /// linked with its event or untouched, so a retry after a failure links the rest and sends no
    /// event twice. A fresh link writes `problem:of` with `setnx!`, so two problems racing for one
    /// request cannot both win; the loser re-reads and reports it refused.
    ///
    /// Fails with `NotFound`, or `Rejected` when the problem is resolved or dismissed (possibly
    /// part-way through a batch: what was linked before stays linked).
    pub async fn link_requests(
        &self,
        problem_id: Uuid,
        requests: &[RequestId],
        by: &str,
        now: OffsetDateTime,
    ) -> Result<LinkOutcome, UpdateError<ProblemError>> {
        let k = self.keys();
        let key = k.problem(problem_id);
        let mut out = LinkOutcome::default();
        let mut seen = HashSet::new();
        let requests: Vec<RequestId> = requests
            .iter()
            .copied()
            .filter(|r| seen.insert(*r))
            .collect();
        let Some((mut problem, mut version)) = self.load_problem(problem_id).await? else {
            return Err(UpdateError::NotFound);
        };
        // One round trip for every request's current link; re-read only after a refused commit.
        let mut current = self.links_of(problem_id, &requests).await?;
        for (i, &request) in requests.iter().enumerate() {
            let mut attempts = 0;
            loop {
                attempts += 1;
                if attempts > 8 {
                    return Err(UpdateError::Contended);
                }
                if !problem.status.is_open() {
                    return Err(UpdateError::Rejected(ProblemError::State {
                        status: problem.status.as_str(),
                        action: "linked to",
                    }));
                }
                let link = match current[i] {
                    Link::Here => {
                        out.already.push(request);
                        break;
                    }
                    Link::Other(other) => match self.problem(other).await? {
                        Some(o) if o.status.is_open() => {
                            out.refused.push(Refused {
                                request_id: request,
                                problem_id: o.id,
                                problem_number: o.number,
                            });
                            break;
                        }
                        _ => Op::Set {
                            key: k.problem_of(request),
                            value: problem_id.to_string(),
                            ttl_secs: 0,
                        },
                    },
                    Link::Stale => Op::Set {
                        key: k.problem_of(request),
                        value: problem_id.to_string(),
                        ttl_secs: 0,
                    },
                    Link::None => Op::SetNxMust {
                        key: k.problem_of(request),
                        value: problem_id.to_string(),
                        ttl_secs: 0,
                    },
                };
                let mut next = problem.clone();
                // The count as this link sees it; links running at once may report the same.
                next.linked += 1;
                let event =
                    problem_event(kind::PROBLEM_LINKED, &next, Some(request), by, None, now);
                // Checks the problem (still open, at the version read) without writing it: the
                // links of a burst do not conflict with one another, only with a change of the
                // problem itself (resolved, dismissed), after which this reads it again.
                let outcome = self
                    .commit(&Commit {
                        doc_key: key.clone(),
                        expected_version: version,
                        json: String::new(),
                        history_key: None,
                        history: None,
                        event: Some((event.kind.clone(), to_json(&event))),
                        marker: None,
                        ops: vec![
                            link,
                            Op::SAdd {
                                key: k.problem_requests(problem_id),
                                member: request.to_string(),
                            },
                        ],
                    })
                    .await?;
                match outcome {
                    Outcome::Done { version: v } => {
                        problem = next;
                        version = v;
                        out.linked.push(request);
                        break;
                    }
                    Outcome::Conflict { .. } => {
                        let Some((p, v)) = self.load_problem(problem_id).await? else {
                            return Err(UpdateError::NotFound);
                        };
                        problem = p;
                        version = v;
                        current[i] = self.link_of(problem_id, request).await?;
                    }
                    Outcome::Precondition(_) => {
                        current[i] = self.link_of(problem_id, request).await?;
                    }
                    Outcome::Duplicate => return Err(UpdateError::Duplicate),
                }
            }
        }
        Ok(out)
    }

    /// Unlinks `request` from problem `problem_id`, with its `problem.unlinked` event. `Ok(false)`
    /// when it was not linked there. Refused once the problem is resolved or dismissed (its
    /// requests stay as they were resolved).
    pub async fn unlink_request(
        &self,
        problem_id: Uuid,
        request: RequestId,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<bool, UpdateError<ProblemError>> {
        let k = self.keys();
        for _ in 0..8 {
            let Some((mut p, version)) = self.load_problem(problem_id).await? else {
                return Err(UpdateError::NotFound);
            };
            if !p.status.is_open() {
                return Err(UpdateError::Rejected(ProblemError::State {
                    status: p.status.as_str(),
                    action: "changed",
                }));
            }
            // The commit below holds only while the request is still linked here (`is!`): links
            // do not change the problem's version, so the version alone would not tell.
            if self.problem_id_of(request).await? != Some(problem_id) {
                return Ok(false);
            }
            p.linked = p.linked.saturating_sub(1);
            let event = problem_event(kind::PROBLEM_UNLINKED, &p, Some(request), by, None, now);
            let outcome = self
                .commit(&Commit {
                    doc_key: k.problem(problem_id),
                    expected_version: version,
                    json: to_json(&p),
                    history_key: None,
                    history: None,
                    event: Some((event.kind.clone(), to_json(&event))),
                    marker: None,
                    ops: vec![
                        Op::Holds {
                            key: k.problem_of(request),
                            value: Some(problem_id.to_string()),
                        },
                        Op::SRem {
                            key: k.problem_requests(problem_id),
                            member: request.to_string(),
                        },
                        Op::Del {
                            key: k.problem_of(request),
                        },
                    ],
                })
                .await?;
            match outcome {
                Outcome::Done { .. } => return Ok(true),
                Outcome::Conflict { .. } => continue,
                Outcome::Duplicate => return Err(UpdateError::Duplicate),
                // Unlinked or moved meanwhile: read again.
                Outcome::Precondition(0) => continue,
                Outcome::Precondition(i) => return Err(UpdateError::Precondition(i)),
            }
        }
        Err(UpdateError::Contended)
    }

    /// The current link of each request, in one round trip per 500.
    async fn links_of(
        &self,
        problem_id: Uuid,
        requests: &[RequestId],
    ) -> Result<Vec<Link>, StoreError> {
        let mut c = self.conn();
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(500) {
            let keys: Vec<String> = chunk.iter().map(|r| self.keys().problem_of(*r)).collect();
            let raw: Vec<Option<String>> =
                redis::cmd("MGET").arg(&keys).query_async(&mut c).await?;
            out.extend(raw.into_iter().map(|v| Link::read(problem_id, v)));
        }
        Ok(out)
    }

    async fn link_of(&self, problem_id: Uuid, request: RequestId) -> Result<Link, StoreError> {
        let raw = self.get_string(&self.keys().problem_of(request)).await?;
        Ok(Link::read(problem_id, raw))
    }

    /// Records new request `member` at `at` under one spike key and returns the sliding window's
    /// count (`window_ms` ending at the newest request of the key, `at` or later) and the counts
    /// of the `baseline_windows` fixed windows before it; `None` when the event is older than
    /// anything kept (a very late redelivery).
    pub async fn spike_record(
        &self,
        category: &str,
        region: &str,
        member: &str,
        at: OffsetDateTime,
        window_ms: i64,
        baseline_windows: u32,
    ) -> Result<Option<SpikeCounts>, StoreError> {
        let mut c = self.conn();
        let reply: Vec<i64> = Script::new(SPIKE_LUA)
            .key(self.keys().spike_recent(category, region))
            .key(self.keys().spike_counts(category, region))
            .arg(member)
            .arg(ms(at))
            .arg(window_ms.max(1))
            .arg(baseline_windows)
            .invoke_async(&mut c)
            .await?;
        let mut it = reply.into_iter();
        let (Some(judged), Some(count)) = (it.next(), it.next()) else {
            return Ok(None);
        };
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(judged) * 1_000_000).unwrap_or(at);
        Ok(Some(SpikeCounts {
            at,
            count: u64::try_from(count).unwrap_or(0),
            baseline: it.map(|n| u64::try_from(n).unwrap_or(0)).collect(),
        }))
    }

    /// Request ids recorded under a spike key from `since` to `until` (the sliding window).
    pub async fn spike_window(
        &self,
        category: &str,
        region: &str,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<RequestId>, StoreError> {
        let mut c = self.conn();
        let raw: Vec<String> = c
            .zrangebyscore(
                self.keys().spike_recent(category, region),
                format!("({}", ms(since)),
                ms(until),
            )
            .await?;
        Ok(raw.iter().filter_map(|s| s.parse().ok()).collect())
    }
}

/// A request's current link as read from `problem:of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    None,
    Here,
    Other(Uuid),
    /// Emptied by an unlink, or unreadable: free, but the key exists.
    Stale,
}

impl Link {
    fn read(problem_id: Uuid, raw: Option<String>) -> Link {
        match raw {
            None => Link::None,
            Some(s) => match s.parse::<Uuid>() {
                Ok(id) if id == problem_id => Link::Here,
                Ok(id) => Link::Other(id),
                Err(_) => Link::Stale,
            },
        }
    }
}

impl Store {
    /// The operation that clears spike detection's `spike_open` guard of `p` if it points at `p`:
    /// joined to the commit that dismisses or resolves it, so the next spike of that key opens a
    /// new candidate.
    pub async fn spike_guard_clear(&self, p: &Problem) -> Result<Option<Op>, StoreError> {
        let (Some(_), Some(category)) = (&p.spike, p.category) else {
            return Ok(None);
        };
        let region = p.region.as_deref().unwrap_or("-");
        let key = self.keys().spike_open(category.as_str(), region);
        let held = self.get_string(&key).await?;
        Ok((held.as_deref() == Some(p.id.to_string().as_str())).then_some(Op::Del { key }))
    }
}

/// How a problem is resolved: a supervisor's own text, or a department's proposal the supervisor
/// approves (by its id: a proposal replaced since it was read is refused).
#[derive(Debug, Clone)]
pub enum Resolution {
    Direct(Messages),
    Approve(Uuid),
}

impl Store {
    /// Resolves open problem `id` by `by` (a supervisor) in one commit with its `problem.resolved`
    /// (nil request id; the workspace resolves every linked open request with the text in its
    /// language) and the removal of its spike guard. The one way a problem's text reaches its
    /// customers: the escalation service's resolve and approve routes and the workspace's approve
    /// route all come here.
    pub async fn resolve_problem(
        &self,
        id: Uuid,
        by: &str,
        how: &Resolution,
        now: OffsetDateTime,
    ) -> Result<Problem, UpdateError<ProblemError>> {
        let Some(found) = self.problem(id).await? else {
            return Err(UpdateError::NotFound);
        };
        let guard = self.spike_guard_clear(&found).await?;
        self.update_doc(&self.keys().problem(id), |p: &mut Problem| {
            let (messages, proposed_by) = match how {
                Resolution::Direct(m) => {
                    p.resolve(by, m.clone(), now)?;
                    (m.clone(), None)
                }
                Resolution::Approve(proposal) => {
                    let m = p.approve(*proposal, by, now)?;
                    (m, p.proposal.as_ref().map(|x| x.by.clone()))
                }
            };
            let payload = ProblemResolved {
                problem_id: p.id,
                number: p.number.clone(),
                title: p.title.clone(),
                by: by.to_owned(),
                messages,
                department: p.department.clone(),
                proposed_by,
            };
            let event = Envelope::new(
                kind::PROBLEM_RESOLVED,
                RequestId(Uuid::nil()),
                &payload,
                now,
            );
            Ok((Some(event), guard.clone().into_iter().collect()))
        })
        .await
    }

    /// Languages of linked open requests that `messages` has no text for, among the requests
    /// `counted` accepts. A request linked after this check and before the resolution's commit
    /// is resolved by the workspace with whatever text there is.
    pub async fn languages_without_text(
        &self,
        problem: Uuid,
        messages: &Messages,
        counted: impl Fn(&Request) -> bool,
    ) -> Result<Vec<Lang>, StoreError> {
        let mut missing = Vec::new();
        let ids = self.problem_request_ids(problem).await?;
        // A chunk at a time: memory stays bounded however many requests the problem has.
        for chunk in ids.chunks(500) {
            if missing.len() == 3 {
                break;
            }
            for r in self.requests(chunk).await? {
                if r.status.is_open()
                    && counted(&r)
                    && messages.get(r.language).is_none()
                    && !missing.contains(&r.language)
                {
                    missing.push(r.language);
                }
            }
        }
        missing.sort_by_key(|l| l.as_str());
        Ok(missing)
    }

    /// The request id of each number (`None` where unknown), in one round trip per 500.
    pub async fn request_ids_by_numbers(
        &self,
        numbers: &[String],
    ) -> Result<Vec<Option<RequestId>>, StoreError> {
        let mut c = self.conn();
        let mut out = Vec::with_capacity(numbers.len());
        for chunk in numbers.chunks(500) {
            let keys: Vec<String> = chunk.iter().map(|n| self.keys().number(n)).collect();
            let raw: Vec<Option<String>> =
                redis::cmd("MGET").arg(&keys).query_async(&mut c).await?;
            out.extend(raw.into_iter().map(|v| v.and_then(|s| s.parse().ok())));
        }
        Ok(out)
    }
}
