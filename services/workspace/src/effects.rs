//! Effects on a request that more than one caller has, each in one function: the resolution clock
//! resuming, and an agent's resolution with its `request.resolved` event. The keys these changes
//! imply (queues, owner set, deadline index) are moved by the store's commit, not here.

use komek_domain::events::{Envelope, RequestResolved, kind};
use komek_domain::{HistoryEntry, Request, Status, TransitionError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Deps;

/// A status change from `before` to `r.status` that leaves `waiting_customer` resumes the
/// resolution clock: the deadline moves by the working time spent waiting (the store then
/// watches the moved deadline). Used by the agents' actions and by the consumer (a customer's
/// message ends the wait); resolving ends a pause too, and the deadline moves for the record.
pub fn resume_clock(deps: &Deps, r: &mut Request, before: Status, now: OffsetDateTime) {
    if before == Status::WaitingCustomer && r.status != Status::WaitingCustomer {
        let cal = deps
            .settings
            .deadlines
            .calendar_for(&deps.calendar, r.priority);
        let paused = r.resume_clock(now, |a, b| cal.between(a, b), |t, m| cal.add(t, m));
        tracing::info!(request_id = %r.id, paused_minutes = paused, "resolution clock resumed");
    }
}

/// `agent` resolves `r` with `resolution` (in the workspace, or during the contact they logged):
/// the clock stops for good and `request.resolved` goes out in the request's journey trace (the
/// survey and the notifier follow it).
pub fn resolve(
    deps: &Deps,
    r: &mut Request,
    agent: &str,
    resolution: &str,
    now: OffsetDateTime,
) -> Result<(HistoryEntry, Envelope), TransitionError> {
    let before = r.status;
    let change = r.resolve(agent, resolution, now)?;
    resume_clock(deps, r, before, now);
    Ok((change, resolved_event(r, resolution, agent, None, now)))
}

/// `request.resolved` of `r`, resolved by `agent` (a login, or the problem's resolver) with
/// `resolution`; `escalation` is the one the resolution closes, if any.
pub fn resolved_event(
    r: &Request,
    resolution: &str,
    agent: &str,
    escalation: Option<Uuid>,
    now: OffsetDateTime,
) -> Envelope {
    let payload = RequestResolved {
        number: r.number.clone(),
        language: r.language,
        resolution: resolution.to_owned(),
        agent: agent.to_owned(),
        escalation_id: escalation,
    };
    komek_bus::journey_event(
        kind::REQUEST_RESOLVED,
        r.id,
        r.trace.as_deref(),
        &payload,
        now,
    )
}
