//! The department deadline watcher, on every replica: every `watcher.interval_ms` it claims the
//! due entries of `esc:deadlines` (the same atomic claim as request deadlines, so one replica takes
//! each) and moves each escalation one tier up its department's chain with a new deadline counted
//! in the department's hours, and tells the agent (`escalation.breached`).
//!
//! The breach is committed with a handled marker for the entry and the end of its claim, so a
//! replica that dies between claim and commit leaves the claim to run out and another replica
//! applies it exactly once. An entry that no longer applies (answered, waiting for the agent,
//! breached already, rerouted meanwhile) only ends its claim: the change that made it stale
//! registered whatever deadline the escalation has now.

use std::sync::Arc;

use komek_domain::escalation::Escalation;
use komek_domain::events::kind;
use komek_store::requests::UpdateError;
use komek_store::{Op, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::Deps;
use crate::deadlines::{self, ms};
use crate::routes::escalations::{SYSTEM, changed};

/// Runs until `shutdown` turns true.
pub async fn run(deps: Arc<Deps>, mut shutdown: watch::Receiver<bool>) {
    let s = deps.settings.watcher.clone();
    let lease = i64::try_from(s.lease.as_millis()).unwrap_or(30_000);
    let mut tick = tokio::time::interval(s.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let keys = deps.store.keys().clone();
    let (due_key, claimed_key) = (keys.esc_deadlines(), keys.esc_deadlines_claimed());
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = OffsetDateTime::now_utc();
        let claimed = match deps
            .store
            .claim_due_in(&due_key, &claimed_key, ms(now), lease, s.batch)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "escalation deadline watcher cannot reach Redis; will retry");
                continue;
            }
        };
        for c in claimed {
            if let Err(e) = fire(&deps, &c.member, now).await {
                // The claim stays; when its lease ends another look (here or elsewhere) retries it.
                tracing::warn!(error = %e, member = %c.member, "escalation deadline not applied yet");
            }
        }
    }
}

/// Why a claimed entry does nothing.
struct Stale;

/// Applies one claimed entry at `now` (the time it was claimed at); `Err` only for store trouble
/// (the claim is then retried when its lease ends).
pub async fn fire(deps: &Deps, member: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    let store = &deps.store;
    let keys = store.keys().clone();
    let claimed_key = keys.esc_deadlines_claimed();
    let Some((id, breaches)) = deadlines::parse_member(member) else {
        tracing::warn!(member, "unreadable escalation deadline entry dropped");
        return store.release_in(&claimed_key, member).await;
    };
    let Some(current) = store.escalation(id).await? else {
        return store.release_in(&claimed_key, member).await;
    };
    let department = store.department(&current.department).await?;
    let marker = Some(format!("{}:handled:escdeadline:{member}", keys.prefix()));
    let result = store
        .update_doc_marked(&keys.escalation(id), marker, |e: &mut Escalation| {
            // The entry's score, not `due_at`, says when it is due: the entry is what each
            // change re-registers. A reroute keeps the breach count, hence the department check.
            if !e.is_active()
                || e.paused_at.is_some()
                || e.breaches != breaches
                || e.department != current.department
            {
                return Err(Stale);
            }
            let before = e.tier;
            let next = deadlines::due(&deps.settings, department.as_ref(), e, now);
            let tier = e.breach(Some(next), now).ok_or(Stale)?;
            let mut ops = vec![Op::ZRem {
                key: claimed_key.clone(),
                member: member.to_owned(),
            }];
            ops.extend(deadlines::sync_ops(&keys, Some(member), e));
            ops.push(Op::ZAdd {
                key: keys.department_breached(&e.department),
                member: e.id.to_string(),
                score: ms(now),
            });
            let detail = Some(format!("{} -> {}", before.as_str(), tier.as_str()));
            let event = changed(kind::ESCALATION_BREACHED, e, SYSTEM, detail, None, now);
            Ok((Some(event), ops))
        })
        .await;
    match result {
        Ok(e) => {
            tracing::info!(escalation_id = %e.id, department = %e.department, tier = e.tier.as_str(),
                breaches = e.breaches, "escalation deadline breached; moved up the chain");
            komek_web::metrics::deadline_breach("escalation");
            Ok(())
        }
        Err(UpdateError::Rejected(Stale))
        | Err(UpdateError::NotFound)
        | Err(UpdateError::Duplicate) => store.release_in(&claimed_key, member).await,
        Err(UpdateError::Contended) | Err(UpdateError::Precondition(_)) => Ok(()),
        Err(UpdateError::Store(e)) => Err(e),
    }
}
