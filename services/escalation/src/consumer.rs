//! Events the escalation service applies: `request.escalated` opens an escalation (once), with
//! the deadline of its department; `escalation.info_given` (the agent answered the department's
//! question) resumes it and moves its deadline by the time spent waiting; `request.resolved` with
//! an escalation id (a problem's resolution ended an escalated request) closes that escalation.

use std::sync::Arc;

use komek_bus::HandleError;
use komek_domain::escalation::Escalation;
use komek_domain::events::{Envelope, EscalationChanged, RequestEscalated, RequestResolved, kind};
use komek_store::requests::UpdateError;
use komek_store::{Op, Outcome};

use crate::{Deps, deadlines};

pub async fn handle(deps: Arc<Deps>, env: Envelope) -> Result<(), HandleError> {
    match env.kind.as_str() {
        kind::REQUEST_CREATED => crate::spikes::on_request_created(deps, env).await,
        kind::REQUEST_ESCALATED => opened(&deps, env).await,
        kind::ESCALATION_INFO_GIVEN => info_given(&deps, env).await,
        kind::REQUEST_RESOLVED => resolved_elsewhere(&deps, env).await,
        other => Err(HandleError::Reject(format!(
            "escalation does not handle {other}"
        ))),
    }
}

fn retry(e: impl std::fmt::Display) -> HandleError {
    HandleError::Retry(e.to_string())
}

fn ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

async fn opened(deps: &Deps, env: Envelope) -> Result<(), HandleError> {
    let store = &deps.store;
    let p: RequestEscalated = env
        .payload()
        .map_err(|e| HandleError::Reject(e.to_string()))?;
    // Deadlines are per category; a request that cannot be read (it always can: the workspace
    // stored it before publishing) gets the department's default.
    let category = store
        .request(env.request_id)
        .await
        .map_err(retry)?
        .map(|r| r.category);
    let department = store.department(&p.department).await.map_err(retry)?;
    let mut esc = Escalation::open(
        p.escalation_id,
        env.request_id,
        p.number,
        &p.department,
        &p.reason,
        &p.agent,
        category,
        None,
        env.occurred_at,
    );
    // From the event's time, so a redelivery or a late consumer computes the same deadline.
    esc.due_at = Some(deadlines::due(
        &deps.settings,
        department.as_ref(),
        &esc,
        env.occurred_at,
    ));
    esc.trace = env.traceparent.clone();
    let k = store.keys();
    let mut ops = vec![Op::ZAdd {
        key: k.department_escalations(&esc.department),
        member: esc.id.to_string(),
        score: ms(esc.created_at),
    }];
    ops.extend(deadlines::sync_ops(k, None, &esc));
    let outcome = store
        .create_doc(
            &k.escalation(esc.id),
            &esc,
            None,
            Some(k.handled("escalation", env.id)),
            ops,
        )
        .await
        .map_err(retry)?;
    match outcome {
        Outcome::Done { .. } => {
            tracing::info!(escalation_id = %esc.id, department = %esc.department, request_id = %esc.request_id, "escalation opened");
            Ok(())
        }
        Outcome::Duplicate | Outcome::Conflict { .. } => {
            tracing::info!(escalation_id = %esc.id, "escalation already opened; acked again");
            Ok(())
        }
        Outcome::Precondition(i) => Err(HandleError::Reject(format!("precondition {i} failed"))),
    }
}

async fn info_given(deps: &Deps, env: Envelope) -> Result<(), HandleError> {
    let store = &deps.store;
    let p: EscalationChanged = env
        .payload()
        .map_err(|e| HandleError::Reject(e.to_string()))?;
    let Some(current) = store.escalation(p.escalation_id).await.map_err(retry)? else {
        return Err(HandleError::Reject(format!(
            "no escalation {}",
            p.escalation_id
        )));
    };
    let department = store.department(&current.department).await.map_err(retry)?;
    let text = p.detail.clone().unwrap_or_default();
    let keys = store.keys().clone();
    let at = env.occurred_at;
    let result = store
        .update_doc_marked(
            &keys.escalation(p.escalation_id),
            Some(keys.handled("escalation", env.id)),
            |e: &mut Escalation| {
                let before = deadlines::member(e);
                e.give_info(&p.by, &text, at, |due, since, now| {
                    deadlines::shift(&deps.settings, department.as_ref(), due, since, now)
                })?;
                Ok::<_, komek_domain::escalation::EscalationError>((
                    None,
                    deadlines::sync_ops(&keys, Some(&before), e),
                ))
            },
        )
        .await;
    match result {
        Ok(esc) => {
            tracing::info!(escalation_id = %esc.id, by = %p.by, "information given; the department's deadline runs again");
            Ok(())
        }
        Err(UpdateError::Duplicate) => Ok(()),
        // Answered or rerouted meanwhile: the agent's text stays in the request's history and the
        // escalation has nothing to resume; parking the event would help nobody.
        Err(UpdateError::Rejected(e)) => {
            tracing::warn!(escalation_id = %p.escalation_id, error = %e, "information given too late; ignored");
            Ok(())
        }
        Err(UpdateError::NotFound) => Err(HandleError::Reject(format!(
            "no escalation {}",
            p.escalation_id
        ))),
        Err(e) => Err(retry(e)),
    }
}

/// A problem's resolution ended a request that was still escalated: the escalation closes as
/// resolved, leaves the department's queue and stops its deadline. No event: the workspace already
/// resolved the request, and the department sees the `closed` step.
async fn resolved_elsewhere(deps: &Deps, env: Envelope) -> Result<(), HandleError> {
    let store = &deps.store;
    let p: RequestResolved = env
        .payload()
        .map_err(|e| HandleError::Reject(e.to_string()))?;
    let Some(escalation_id) = p.escalation_id else {
        return Ok(());
    };
    let keys = store.keys().clone();
    let at = env.occurred_at;
    let result = store
        .update_doc_marked(
            &keys.escalation(escalation_id),
            Some(keys.handled("escalation", env.id)),
            |e: &mut Escalation| {
                let before = deadlines::member(e);
                e.close_resolved(&p.agent, &p.resolution, at)?;
                let mut ops = crate::routes::escalations::answered_ops(&keys, e, at);
                ops.extend(deadlines::sync_ops(&keys, Some(&before), e));
                Ok::<_, komek_domain::escalation::EscalationError>((None, ops))
            },
        )
        .await;
    match result {
        Ok(esc) => {
            tracing::info!(escalation_id = %esc.id, department = %esc.department, "escalation closed: its request was resolved by a problem");
            Ok(())
        }
        // Already answered (the department was quicker), or a redelivery.
        Err(UpdateError::Duplicate | UpdateError::Rejected(_)) => Ok(()),
        Err(UpdateError::NotFound) => {
            tracing::warn!(%escalation_id, "a resolved request names an escalation that does not exist");
            Ok(())
        }
        Err(e) => Err(retry(e)),
    }
}
