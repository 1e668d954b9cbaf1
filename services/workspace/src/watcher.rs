//! The deadline watcher: every `watcher.interval_ms` it claims the warnings and breaches that are
//! due (an atomic claim, so one replica fires each) and applies them to their requests.
//!
//! A warning is a history line and a `deadline.warning` event. A breach also raises the priority
//! one step, re-sorts the request if it still waits in a queue, puts it on the supervisors' watch
//! list and emits `deadline.breached`. The effect is committed with a handled marker and the end of
//! the claim, so a replica that dies mid-way leaves the claim to expire and another replica applies
//! it exactly once.

use std::sync::Arc;

use komek_domain::events::{DeadlineEvent, kind};
use komek_domain::{Priority, Request};
use komek_store::Op;
use komek_store::deadlines::{self, Due};
use komek_store::requests::{Mutation, UpdateError};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::Deps;

const ACTOR: &str = "system:deadlines";

/// Runs until `shutdown` turns true.
pub async fn run(deps: Arc<Deps>, mut shutdown: watch::Receiver<bool>) {
    let s = deps.settings.watcher.clone();
    let mut tick = tokio::time::interval(s.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now_ms = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
            .unwrap_or(0);
        let lease = i64::try_from(s.lease.as_millis()).unwrap_or(30_000);
        let due = match deps.store.claim_due(now_ms, lease, s.batch).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "deadline watcher cannot reach Redis; will retry");
                continue;
            }
        };
        if let Err(e) = crate::offers::sweep(&deps).await {
            tracing::warn!(error = %e, "offer sweep failed; will retry");
        }
        for d in due {
            if let Err(e) = fire(&deps, &d).await {
                // The claim stays; when its lease ends another look (here or elsewhere) retries it.
                tracing::warn!(error = %e, member = %d.member, "deadline not applied yet");
            }
        }
    }
}

struct NotApplicable;

fn raise(p: Priority) -> Priority {
    match p {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        Priority::High | Priority::Urgent => Priority::Urgent,
    }
}

fn applies(r: &Request, d: &Due) -> bool {
    deadlines::watches(r, d.kind)
}

/// Applies one claimed entry; `Err` only for store trouble (the claim is then retried later).
pub async fn fire(deps: &Deps, d: &Due) -> Result<(), komek_store::StoreError> {
    let store = &deps.store;
    let keys = store.keys().clone();
    let marker = Some(format!("{}:handled:deadline:{}", keys.prefix(), d.member));
    let now = OffsetDateTime::now_utc();
    let result = store
        .update_request(d.request_id, marker, |r| {
            if !applies(r, d) {
                return Err(NotApplicable);
            }
            let due = if d.kind.is_first_response() {
                r.due.first_response
            } else {
                r.due.resolution
            };
            let mut ops = vec![deadlines::done_op(&keys, d)];
            let (action, event_kind) = if d.kind.is_breach() {
                // A waiting request moves up its skill queue with its priority (the store's commit).
                r.priority = raise(r.priority);
                let score = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
                ops.push(Op::ZAdd {
                    key: keys.watchlist(),
                    member: r.id.to_string(),
                    score,
                });
                ("deadline_breached", kind::DEADLINE_BREACHED)
            } else {
                ("deadline_warning", kind::DEADLINE_WARNING)
            };
            let detail = format!(
                "{} due {}",
                d.kind.deadline(),
                komek_domain::ack::format_local(due)
            );
            let change = Request::record(ACTOR, action, Some(detail), now);
            let payload = DeadlineEvent {
                number: r.number.clone(),
                deadline: d.kind.deadline().to_owned(),
                due,
                owner: r.owner.clone(),
            };
            let event =
                komek_bus::journey_event(event_kind, r.id, r.trace.as_deref(), &payload, now);
            Ok(Mutation {
                change,
                event: Some(event),
                ops,
            })
        })
        .await;
    match result {
        Ok(r) => {
            let lag_ms =
                i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0) - d.fire_at_ms;
            tracing::info!(request_id = %r.id, kind = d.kind.as_str(), lag_ms, "deadline fired");
            if d.kind.is_breach() {
                komek_web::metrics::deadline_breach(d.kind.deadline());
            } else {
                komek_web::metrics::deadline_warning(d.kind.deadline());
            }
            Ok(())
        }
        Err(UpdateError::Rejected(NotApplicable))
        | Err(UpdateError::NotFound)
        | Err(UpdateError::Duplicate) => store.release(&d.member).await,
        Err(UpdateError::Contended) | Err(UpdateError::Precondition(_)) => Ok(()),
        Err(UpdateError::Store(e)) => Err(e),
    }
}
