//! Events the workspace applies to requests. Each effect is committed together with the
//! handled-event marker, so a redelivered event changes nothing twice.

use std::sync::Arc;

use futures_util::StreamExt;
use komek_bus::HandleError;
use komek_domain::events::{
    Envelope, EscalationAnswered, EscalationChanged, NotificationStatus, ProblemEvent,
    ProblemResolved, RequestChanged, SurveyAnswered, kind,
};
use komek_domain::{Lang, ProblemRef, Request, RequestId, Status};
use komek_store::requests::{Mutation, UpdateError};

use crate::Deps;
use komek_domain::events::CustomerMessage;
use komek_domain::{Channel, Message, MessageKind, TransitionError};
use time::OffsetDateTime;

const ACTOR: &str = "system:workspace";

pub async fn handle(deps: Arc<Deps>, env: Envelope) -> Result<(), HandleError> {
    let Deps {
        store, settings, ..
    } = &*deps;
    let marker = Some(store.keys().handled("workspace", env.id));
    let now = OffsetDateTime::now_utc();
    let result = match env.kind.as_str() {
        kind::REQUEST_CREATED => {
            store
                .update_request(env.request_id, marker, |r| {
                    if let Some(agent) = r.owner.clone() {
                        return take_in_logged(deps.as_ref(), r, &agent, now);
                    }
                    // Into its queues and the deadline index: the store derives both from `queued`.
                    let change = r.move_to(Status::Queued, ACTOR, "queued", None, now)?;
                    Ok::<_, komek_domain::TransitionError>(Mutation {
                        change,
                        event: Some(event(kind::REQUEST_QUEUED, r, ACTOR, None, now)),
                        ops: vec![],
                    })
                })
                .await
        }
        kind::ESCALATION_ANSWERED => {
            let p: EscalationAnswered = payload(&env)?;
            store
                .update_request(env.request_id, marker, |r| {
                    let change = r.escalation_answered(
                        p.escalation_id,
                        &p.department,
                        &p.by,
                        &p.text,
                        p.outcome,
                        now,
                    )?;
                    let detail = Some(format!("{}: {}", p.department, p.text));
                    Ok(Mutation {
                        change,
                        event: Some(event(
                            kind::REQUEST_ESCALATION_RETURNED,
                            r,
                            &p.by,
                            detail,
                            now,
                        )),
                        ops: vec![],
                    })
                })
                .await
        }
        kind::SURVEY_ANSWERED => {
            let p: SurveyAnswered = payload(&env)?;
            let reopens = p.csat <= settings.survey.reopen_at_or_below;
            let why = format!(
                "CSAT {}{}",
                p.csat,
                p.comment
                    .as_deref()
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            );
            store
                .update_request(env.request_id, marker, |r| {
                    if !reopens {
                        return Ok(Mutation {
                            change: Request::record(
                                "customer:survey",
                                "survey_answered",
                                Some(why.clone()),
                                now,
                            ),
                            event: None,
                            ops: vec![],
                        });
                    }
                    let (change, reopened) = reopen(&deps, r, "customer:survey", why.clone(), now)?;
                    Ok(Mutation {
                        change,
                        event: Some(reopened),
                        ops: vec![],
                    })
                })
                .await
        }
        kind::NOTIFICATION_SENT | kind::NOTIFICATION_FAILED => {
            let p: NotificationStatus = payload(&env)?;
            let action = if env.kind == kind::NOTIFICATION_SENT {
                "notified"
            } else {
                "notification_failed"
            };
            let detail = format!(
                "{} to {}: {}{}",
                p.channel,
                p.recipient,
                p.event_type,
                p.detail.map(|d| format!(" ({d})")).unwrap_or_default()
            );
            store
                .update_request(env.request_id, marker, |_| {
                    quiet(Request::record(
                        "system:intake",
                        action,
                        Some(detail.clone()),
                        now,
                    ))
                })
                .await
        }
        kind::REQUEST_CUSTOMER_MESSAGE | kind::REQUEST_LINKED => {
            let p: CustomerMessage = payload(&env)?;
            store
                .update_request(env.request_id, marker, |r| {
                    customer_message(&deps, r, &p, now)
                })
                .await
        }
        kind::ESCALATION_ACCEPTED
        | kind::ESCALATION_INFO_REQUESTED
        | kind::ESCALATION_REROUTED
        | kind::ESCALATION_BREACHED
        | kind::ESCALATION_FLAGGED => {
            let p: EscalationChanged = payload(&env)?;
            store
                .update_request(env.request_id, marker, |r| {
                    quiet(escalation_step(r, &env.kind, &p, now))
                })
                .await
        }
        kind::PROBLEM_LINKED | kind::PROBLEM_UNLINKED => {
            let p: ProblemEvent = payload(&env)?;
            let linked = env.kind == kind::PROBLEM_LINKED;
            // Link and unlink events of one request may be applied in either order (the consumer
            // handles several deliveries at once): the request shows the link the store holds
            // now, and each event adds its history line. The commit is guarded by the link it
            // was decided on: an unlink committed between the read and the write (its own event
            // perhaps applied already) refuses it, and the link is read again.
            let mut tries = 0;
            loop {
                let (current, guard) = store
                    .problem_link_guard(env.request_id)
                    .await
                    .map_err(|e| HandleError::Retry(e.to_string()))?;
                let applied = store
                    .update_request(env.request_id, marker.clone(), |r| {
                        let mut m = quiet(problem_link(r, linked, current, &p, now))?;
                        m.ops.push(guard.clone());
                        Ok(m)
                    })
                    .await;
                match applied {
                    Err(UpdateError::Precondition(_)) if tries < LINK_RETRIES => tries += 1,
                    Err(UpdateError::Precondition(_)) => {
                        return Err(HandleError::Retry("problem link kept changing".into()));
                    }
                    other => break other,
                }
            }
        }
        kind::PROBLEM_RESOLVED => return resolve_problem(&deps, &env).await,
        other => {
            return Err(HandleError::Reject(format!(
                "workspace does not handle {other}"
            )));
        }
    };
    match result {
        Ok(r) => {
            // Debug: one line per event is thousands a second in a mass outage; the handled
            // counters and lag histogram on /metrics say the same in aggregate.
            tracing::debug!(event_type = %env.kind, request_id = %r.id, status = %r.status, "event applied");
            if env.kind == kind::REQUEST_CREATED {
                // A failed offer leaves the request in its queue for a pull: not worth a redelivery.
                if let Err(e) =
                    crate::offers::offer(&deps, r.id, crate::offers::Again::Anyone).await
                {
                    tracing::warn!(error = %e, request_id = %r.id, "offer not made");
                }
            }
            Ok(())
        }
        Err(UpdateError::Duplicate) => {
            tracing::info!(event_type = %env.kind, event_id = %env.id, "event already applied; acked again");
            Ok(())
        }
        Err(UpdateError::NotFound) => Err(HandleError::Reject(format!(
            "request {} does not exist",
            env.request_id
        ))),
        Err(UpdateError::Rejected(e)) => Err(HandleError::Reject(e.to_string())),
        Err(UpdateError::Contended) => Err(HandleError::Retry("request kept changing".into())),
        Err(UpdateError::Precondition(i)) => {
            Err(HandleError::Reject(format!("precondition {i} failed")))
        }
        Err(UpdateError::Store(e)) => Err(HandleError::Retry(e.to_string())),
    }
}

fn payload<P: for<'de> serde::Deserialize<'de>>(env: &Envelope) -> Result<P, HandleError> {
    env.payload()
        .map_err(|e| HandleError::Reject(format!("{} payload: {e}", env.kind)))
}

/// How often a link or unlink event reads the store's link again when it changed under it.
const LINK_RETRIES: u32 = 8;

/// A change that is only a history line (and what it did to the request itself): no event, no
/// index operation.
fn quiet(change: komek_domain::HistoryEntry) -> Result<Mutation, TransitionError> {
    Ok(Mutation {
        change,
        event: None,
        ops: vec![],
    })
}

/// A call or visit an agent logged: it is theirs at once (never queued), and when they solved it
/// during the contact it is resolved now, recorded as a first-contact resolution.
fn take_in_logged(
    deps: &Deps,
    r: &mut komek_domain::Request,
    agent: &str,
    now: OffsetDateTime,
) -> Result<Mutation, komek_domain::TransitionError> {
    r.move_to(Status::Queued, ACTOR, "queued", None, now)?;
    let mut change = r.assign(agent, now)?;
    change.from = Some(Status::New);
    if let Some(resolution) = r.resolution.take() {
        let (resolved, e) = crate::effects::resolve(deps, r, agent, &resolution, now)?;
        return Ok(Mutation {
            change: komek_domain::HistoryEntry {
                action: "resolved_at_first_contact".into(),
                from: Some(Status::New),
                ..resolved
            },
            event: Some(e),
            ops: vec![],
        });
    }
    change.action = "logged_by_agent".into();
    // The agent's set and the deadline index follow from `assigned` (the store derives them).
    Ok(Mutation {
        change,
        event: Some(event(kind::REQUEST_ASSIGNED, r, agent, None, now)),
        ops: vec![],
    })
}

fn event(
    kind: &str,
    r: &Request,
    actor: &str,
    detail: Option<String>,
    now: OffsetDateTime,
) -> Envelope {
    let mut e = Envelope::new(
        kind,
        r.id,
        &RequestChanged {
            number: r.number.clone(),
            actor: actor.to_owned(),
            detail,
        },
        now,
    );
    komek_bus::stamp(&mut e);
    e
}

/// `actor` reopens resolved `r` (a bad survey score, a customer who wrote after the resolution):
/// it gets its full resolution time again, counted from now and watched like the first (the
/// store registers the deadlines and puts it back in its owner's set), and `request.reopened`.
fn reopen(
    deps: &Deps,
    r: &mut Request,
    actor: &str,
    why: String,
    now: OffsetDateTime,
) -> Result<(komek_domain::HistoryEntry, Envelope), TransitionError> {
    let change = r.reopen(actor, Some(why.clone()), now)?;
    r.due.resolution = deps
        .settings
        .deadlines
        .resolution_from(&deps.calendar, r, now);
    Ok((
        change,
        event(kind::REQUEST_REOPENED, r, actor, Some(why), now),
    ))
}

/// `customer:{channel}`, the actor of what a customer did.
fn customer_actor(channel: Channel) -> String {
    format!("customer:{}", channel.as_str())
}

/// A customer's message (`request.customer_message`, written by intake): appended to the
/// customer-visible messages, with a `customer_message` history line by `customer:{channel}`. A
/// request that waited for the customer is in progress again and its resolution clock resumes
/// (as after an agent's action); a resolved one is reopened (the history line says why) with its
/// full resolution time again, back in its owner's set, and `request.reopened` is published.
fn customer_message(
    deps: &Deps,
    r: &mut Request,
    p: &CustomerMessage,
    now: OffsetDateTime,
) -> Result<Mutation, TransitionError> {
    let actor = customer_actor(p.channel);
    let before = r.status;
    let mut reopened = None;
    let change = match before {
        Status::WaitingCustomer => {
            let change = r.move_to(
                Status::InProgress,
                &actor,
                "customer_message",
                Some(p.text.clone()),
                now,
            )?;
            crate::effects::resume_clock(deps, r, before, now);
            change
        }
        Status::Resolved => {
            let why = format!(
                "reopened: the customer wrote after the resolution: {}",
                p.text
            );
            let (mut change, e) = reopen(deps, r, &actor, why, now)?;
            change.action = "customer_message".into();
            reopened = Some(e);
            change
        }
        // Intake refuses messages for closed requests; one that raced a closing is parked.
        Status::Closed => {
            return Err(TransitionError {
                from: Status::Closed,
                to: Status::Reopened,
            });
        }
        _ => Request::record(&actor, "customer_message", Some(p.text.clone()), now),
    };
    r.messages.push(Message {
        kind: MessageKind::Customer,
        text: p.text.clone(),
        at: now,
    });
    Ok(Mutation {
        change,
        event: reopened,
        ops: vec![],
    })
}

/// A step of an escalation the request is waiting for (or waited for), told by the escalation
/// service: a history line by `{department}:{login}` (or `system:escalation`). A question is also
/// a note the agent sees and stays on the request until the agent answers it; a reroute moves the
/// request's escalation to the new department.
fn escalation_step(
    r: &mut Request,
    event: &str,
    p: &EscalationChanged,
    now: OffsetDateTime,
) -> komek_domain::HistoryEntry {
    let actor = if p.by.starts_with("system:") {
        p.by.clone()
    } else {
        let from = p.from_department.as_deref().unwrap_or(&p.department);
        format!("{from}:{}", p.by)
    };
    let detail = p.detail.clone();
    match event {
        kind::ESCALATION_INFO_REQUESTED => r.escalation_question(
            p.escalation_id,
            &actor,
            detail.as_deref().unwrap_or(""),
            now,
        ),
        kind::ESCALATION_REROUTED => {
            if let Some(e) = r.escalation_mut(p.escalation_id) {
                e.department = p.department.clone();
                e.question = None;
            }
            let from = p.from_department.as_deref().unwrap_or("?");
            let why = detail.map(|d| format!(": {d}")).unwrap_or_default();
            let line = format!("{from} -> {}{why}", p.department);
            Request::record(&actor, "escalation_rerouted", Some(line), now)
        }
        kind::ESCALATION_BREACHED => {
            let tier = p.tier.map(|t| t.as_str()).unwrap_or("head");
            let due = p
                .due
                .and_then(|d| {
                    d.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(|d| format!(", due {d}"))
                .unwrap_or_default();
            let line = format!("{}: now {tier}{due}", p.department);
            Request::record(&actor, "escalation_breached", Some(line), now)
        }
        kind::ESCALATION_FLAGGED => Request::record(&actor, "escalation_flagged", detail, now),
        _ => Request::record(&actor, "escalation_accepted", detail, now),
    }
}

/// A request linked to (or unlinked from) a problem record: the reference on the request and a
/// history line by whoever did it.
/// Applies a link or unlink event; `current` is the problem the store links the request to now
/// (`problem:of`, the authority), so an event applied out of order cannot leave a stale link.
fn problem_link(
    r: &mut Request,
    linked: bool,
    current: Option<uuid::Uuid>,
    p: &ProblemEvent,
    now: OffsetDateTime,
) -> komek_domain::HistoryEntry {
    let detail = Some(format!("{}: {}", p.number, p.title));
    let holds = current == Some(p.problem_id);
    if linked {
        if holds {
            r.problem = Some(ProblemRef {
                id: p.problem_id,
                number: p.number.clone(),
                title: p.title.clone(),
            });
        }
        Request::record(&p.by, "problem_linked", detail, now)
    } else {
        if !holds && r.problem.as_ref().is_some_and(|x| x.id == p.problem_id) {
            r.problem = None;
        }
        Request::record(&p.by, "problem_unlinked", detail, now)
    }
}

/// The problem's message for a customer speaking `lang`: their language, else ru, kk, en (the
/// escalation service refuses a resolution that leaves a linked open request's language without
/// a text, so the fallback only serves requests linked in a race with it).
fn message_for(p: &ProblemResolved, lang: Lang) -> String {
    [lang, Lang::Ru, Lang::Kk, Lang::En]
        .into_iter()
        .find_map(|l| p.messages.get(l))
        .unwrap_or(&p.title)
        .to_owned()
}

/// How many linked requests one `problem.resolved` resolves at once.
const RESOLVE_CONCURRENCY: usize = 16;

/// What happened to one linked request.
enum Outcome {
    Resolved,
    /// Resolved by this event before (a redelivery, or another replica raced us), or closed
    /// already, or gone.
    Skipped,
    Failed(String),
}

/// Why a linked request was not changed.
enum Skip {
    /// Resolved or closed already.
    Done,
    /// Still `new`: the workspace has not taken it in yet; the event is handled again later.
    NotYet,
}

/// `problem.resolved`: every linked open request is resolved with the problem's message in its
/// language, one commit each (the request out of its queues, offers, owner set and deadline
/// index; history `resolved_by_problem`; `request.resolved`, so intake's notifier tells the
/// customer on their channel and the survey follows). Each commit carries the marker
/// `handled:workspace:{event}:{request}`: a redelivery, or a replica racing this one, skips the
/// requests done and finishes the rest; any failure asks for a redelivery.
async fn resolve_problem(deps: &Arc<Deps>, env: &Envelope) -> Result<(), HandleError> {
    let p: ProblemResolved = payload(env)?;
    let ids = deps
        .store
        .problem_request_ids(p.problem_id)
        .await
        .map_err(|e| HandleError::Retry(e.to_string()))?;
    let started = std::time::Instant::now();
    let outcomes: Vec<Outcome> = futures_util::stream::iter(ids)
        .map(|id| resolve_linked(deps, env, &p, id))
        .buffer_unordered(RESOLVE_CONCURRENCY)
        .collect()
        .await;
    let resolved = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Resolved))
        .count();
    let failed: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(why) => Some(why),
            _ => None,
        })
        .collect();
    tracing::info!(
        problem = %p.number,
        linked = outcomes.len(),
        resolved,
        failed = failed.len(),
        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "problem resolution applied"
    );
    match failed.first() {
        None => Ok(()),
        Some(why) => Err(HandleError::Retry(format!(
            "{} of {} linked requests not resolved yet: {why}",
            failed.len(),
            outcomes.len()
        ))),
    }
}

async fn resolve_linked(
    deps: &Deps,
    env: &Envelope,
    p: &ProblemResolved,
    id: RequestId,
) -> Outcome {
    let store = &deps.store;
    let keys = store.keys().clone();
    let marker = Some(keys.handled_for("workspace", env.id, id));
    let now = OffsetDateTime::now_utc();
    let result = store
        .update_request(id, marker, |r| {
            let text = message_for(p, r.language);
            // Read before the resolution clears it: the escalation service closes it.
            let escalation_id = r.escalation.as_ref().map(|e| e.id);
            let change = r
                .resolve_by_problem(&p.by, &p.number, &text, now)
                .map_err(|e| {
                    if e.from == Status::New {
                        Skip::NotYet
                    } else {
                        Skip::Done
                    }
                })?;
            Ok(Mutation {
                change,
                event: Some(crate::effects::resolved_event(
                    r,
                    &text,
                    &p.by,
                    escalation_id,
                    now,
                )),
                ops: vec![],
            })
        })
        .await;
    match result {
        Ok(_) => Outcome::Resolved,
        Err(UpdateError::Duplicate | UpdateError::Rejected(Skip::Done)) => Outcome::Skipped,
        Err(UpdateError::NotFound) => {
            tracing::warn!(request_id = %id, problem = %p.number, "linked request does not exist");
            Outcome::Skipped
        }
        Err(UpdateError::Rejected(Skip::NotYet)) => {
            Outcome::Failed(format!("request {id} is not taken in yet"))
        }
        Err(UpdateError::Contended) => Outcome::Failed(format!("request {id} kept changing")),
        Err(UpdateError::Precondition(i)) => {
            Outcome::Failed(format!("request {id}: precondition {i} failed"))
        }
        Err(UpdateError::Store(e)) => Outcome::Failed(format!("request {id}: {e}")),
    }
}
