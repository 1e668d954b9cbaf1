//! Events the workspace applies to requests. Each effect is committed together with the
//! handled-event marker, so a redelivered event changes nothing twice.

use std::sync::Arc;

use komek_bus::HandleError;
use komek_domain::events::{
    Envelope, EscalationAnswered, NotificationStatus, RequestChanged, SurveyAnswered, kind,
};
use komek_domain::{Request, Status};
use komek_store::requests::{Mutation, UpdateError};
use komek_store::{Op, deadlines, routing};

use crate::Deps;
use komek_domain::events::CustomerMessage;
use komek_domain::{Channel, Message, MessageKind, TransitionError};
use time::OffsetDateTime;

const ACTOR: &str = "system:workspace";

pub async fn handle(deps: Arc<Deps>, env: Envelope) -> Result<(), HandleError> {
    let Deps {
        store,
        settings,
        calendar,
    } = &*deps;
    let marker = Some(store.keys().handled("workspace", env.id));
    let now = OffsetDateTime::now_utc();
    let keys = store.keys().clone();
    let result = match env.kind.as_str() {
        kind::REQUEST_CREATED => {
            store
                .update_request(env.request_id, marker, |r| {
                    if let Some(agent) = r.owner.clone() {
                        return take_in_logged(deps.as_ref(), r, &agent, now);
                    }
                    let change = r.move_to(Status::Queued, ACTOR, "queued", None, now)?;
                    let warn =
                        settings
                            .deadlines
                            .warnings_for(calendar, r.priority, r.created_at, &r.due);
                    let mut ops = routing::enqueue_ops(&keys, r);
                    ops.extend(deadlines::register_ops(&keys, r, &warn));
                    Ok::<_, komek_domain::TransitionError>(Mutation {
                        change,
                        event: Some(event(kind::REQUEST_QUEUED, r, ACTOR, None, now)),
                        ops,
                    })
                })
                .await
        }
        kind::ESCALATION_ANSWERED => {
            let p: EscalationAnswered = env
                .payload()
                .map_err(|e| HandleError::Reject(e.to_string()))?;
            store
                .update_request(env.request_id, marker, |r| {
                    let change =
                        r.escalation_answered(p.escalation_id, &p.department, &p.by, &p.text, now)?;
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
            let p: SurveyAnswered = env
                .payload()
                .map_err(|e| HandleError::Reject(e.to_string()))?;
            let reopen = p.csat <= settings.survey.reopen_at_or_below;
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
                    if !reopen {
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
                    let change = r.reopen("customer:survey", Some(why.clone()), now)?;
                    // A reopened request gets its full resolution time again, watched like the first.
                    r.due.resolution = settings.deadlines.resolution_from(calendar, r, now);
                    let warn = settings
                        .deadlines
                        .warnings_for(calendar, r.priority, now, &r.due);
                    let mut ops = deadlines::register_ops(&keys, r, &warn);
                    if let Some(o) = &r.owner {
                        ops.push(Op::SAdd {
                            key: keys.owned_by(o),
                            member: r.id.to_string(),
                        });
                    }
                    Ok(Mutation {
                        change,
                        event: Some(event(
                            kind::REQUEST_REOPENED,
                            r,
                            "customer:survey",
                            Some(why.clone()),
                            now,
                        )),
                        ops,
                    })
                })
                .await
        }
        kind::NOTIFICATION_SENT | kind::NOTIFICATION_FAILED => {
            let p: NotificationStatus = env
                .payload()
                .map_err(|e| HandleError::Reject(e.to_string()))?;
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
                    Ok::<_, komek_domain::TransitionError>(Mutation {
                        change: Request::record("system:intake", action, Some(detail.clone()), now),
                        event: None,
                        ops: vec![],
                    })
                })
                .await
        }
        kind::REQUEST_CUSTOMER_MESSAGE | kind::REQUEST_LINKED => {
            let p: CustomerMessage = env
                .payload()
                .map_err(|e| HandleError::Reject(e.to_string()))?;
            store
                .update_request(env.request_id, marker, |r| {
                    customer_message(&deps, &keys, r, &p, now)
                })
                .await
        }
        other => {
            return Err(HandleError::Reject(format!(
                "workspace does not handle {other}"
            )));
        }
    };
    match result {
        Ok(r) => {
            tracing::info!(event_type = %env.kind, request_id = %r.id, status = %r.status, "event applied");
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

/// A call or visit an agent logged: it is theirs at once (never queued), and when they solved it
/// during the contact it is resolved now, recorded as a first-contact resolution.
fn take_in_logged(
    deps: &Deps,
    r: &mut komek_domain::Request,
    agent: &str,
    now: OffsetDateTime,
) -> Result<Mutation, komek_domain::TransitionError> {
    let keys = deps.store.keys().clone();
    r.move_to(Status::Queued, ACTOR, "queued", None, now)?;
    let mut change = r.assign(agent, now)?;
    change.from = Some(Status::New);
    if let Some(resolution) = r.resolution.take() {
        let resolved = r.resolve(agent, &resolution, now)?;
        let payload = komek_domain::events::RequestResolved {
            number: r.number.clone(),
            language: r.language,
            resolution: resolution.clone(),
            agent: agent.to_owned(),
        };
        return Ok(Mutation {
            change: komek_domain::HistoryEntry {
                action: "resolved_at_first_contact".into(),
                from: Some(Status::New),
                ..resolved
            },
            event: Some(komek_bus::journey_event(
                kind::REQUEST_RESOLVED,
                r.id,
                r.trace.as_deref(),
                &payload,
                now,
            )),
            ops: vec![],
        });
    }
    change.action = "logged_by_agent".into();
    let mut ops = vec![Op::SAdd {
        key: keys.owned_by(agent),
        member: r.id.to_string(),
    }];
    let warn =
        deps.settings
            .deadlines
            .warnings_for(&deps.calendar, r.priority, r.created_at, &r.due);
    ops.extend(deadlines::register_ops(&keys, r, &warn));
    Ok(Mutation {
        change,
        event: Some(event(kind::REQUEST_ASSIGNED, r, agent, None, now)),
        ops,
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

/// `customer:{channel}`, the actor of what a customer did.
fn customer_actor(channel: Channel) -> String {
    let name = serde_json::to_value(channel)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("customer:{name}")
}

/// A customer's message (`request.customer_message`, written by intake): appended to the
/// customer-visible messages, with a `customer_message` history line by `customer:{channel}`. A
/// request that waited for the customer is in progress again and its resolution clock resumes
/// (as after an agent's action); a resolved one is reopened (the history line says why) with its
/// full resolution time again, back in its owner's set, and `request.reopened` is published.
fn customer_message(
    deps: &Deps,
    keys: &komek_store::Keys,
    r: &mut Request,
    p: &CustomerMessage,
    now: OffsetDateTime,
) -> Result<Mutation, TransitionError> {
    let actor = customer_actor(p.channel);
    let before = r.status;
    let mut reopened = None;
    let mut ops = Vec::new();
    let change = match before {
        Status::WaitingCustomer => {
            let change = r.move_to(
                Status::InProgress,
                &actor,
                "customer_message",
                Some(p.text.clone()),
                now,
            )?;
            ops = crate::clock_ops(deps, keys, r, before, now);
            change
        }
        Status::Resolved => {
            let why = format!(
                "reopened: the customer wrote after the resolution: {}",
                p.text
            );
            let mut change = r.reopen(&actor, Some(why.clone()), now)?;
            change.action = "customer_message".into();
            r.due.resolution = deps
                .settings
                .deadlines
                .resolution_from(&deps.calendar, r, now);
            let warn =
                deps.settings
                    .deadlines
                    .warnings_for(&deps.calendar, r.priority, now, &r.due);
            ops = deadlines::register_ops(keys, r, &warn);
            if let Some(o) = &r.owner {
                ops.push(Op::SAdd {
                    key: keys.owned_by(o),
                    member: r.id.to_string(),
                });
            }
            reopened = Some(event(kind::REQUEST_REOPENED, r, &actor, Some(why), now));
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
        ops,
    })
}
