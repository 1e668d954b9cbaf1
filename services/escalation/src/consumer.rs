//! `request.escalated` -> an open escalation in the department's queue, created exactly once.

use std::sync::Arc;

use komek_bus::HandleError;
use komek_domain::escalation::Escalation;
use komek_domain::events::{Envelope, RequestEscalated, kind};
use komek_store::{Op, Outcome, Store};

use crate::Deps;

pub async fn handle(deps: Arc<Deps>, env: Envelope) -> Result<(), HandleError> {
    match env.kind.as_str() {
        kind::REQUEST_CREATED => crate::spikes::on_request_created(deps, env).await,
        _ => opened(deps.store.clone(), env).await,
    }
}

async fn opened(store: Store, env: Envelope) -> Result<(), HandleError> {
    if env.kind != kind::REQUEST_ESCALATED {
        return Err(HandleError::Reject(format!(
            "escalation does not handle {}",
            env.kind
        )));
    }
    let p: RequestEscalated = env
        .payload()
        .map_err(|e| HandleError::Reject(e.to_string()))?;
    let mut esc = Escalation::open(
        p.escalation_id,
        env.request_id,
        p.number,
        &p.department,
        &p.reason,
        &p.agent,
        None,
        None,
        env.occurred_at,
    );
    esc.trace = env.traceparent.clone();
    let score =
        i64::try_from(env.occurred_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let k = store.keys();
    let outcome = store
        .create_doc(
            &k.escalation(esc.id),
            &esc,
            None,
            Some(k.handled("escalation", env.id)),
            vec![Op::ZAdd {
                key: k.department_escalations(&esc.department),
                member: esc.id.to_string(),
                score,
            }],
        )
        .await
        .map_err(|e| HandleError::Retry(e.to_string()))?;
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
