//! Live updates for the department page: staff keep a WebSocket open and their page reloads its
//! queue, escalation and problems as soon as something of their department changes, on whichever
//! replica they are connected to. The sessions and the hub are [`komek_web::live`]'s; this module
//! decides who an event concerns.
//!
//! Events this service applies itself (`request.escalated`, `escalation.info_given`, a problem's
//! `request.resolved`) reach the fan-out as the consumer applies them, so the page reads again a
//! moment later too.

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use komek_auth::Tokens;
use komek_domain::events::{Envelope, kind};
use komek_domain::staff::Role;
use komek_store::Store;
use komek_web::ApiError;
use komek_web::live::{Deliver, Hub, Listener, LiveQuery, Push};
use serde::Serialize;
use uuid::Uuid;

/// `GET /api/v1/live?token=...`: the department staff's and supervisors' WebSocket. Staff are
/// re-read from the store, as on every department call: a token of someone who has moved to
/// another department gets 403.
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<LiveQuery>,
    tokens: web::Data<Tokens>,
    store: web::Data<Store>,
    hub: web::Data<Addr<Hub>>,
) -> Result<HttpResponse, ApiError> {
    // A signed-out or expired session, a deactivated person, or a token from before a password
    // reset opens no socket; the socket closes when its session ends (`sessions::watch`).
    let staff = komek_auth::authenticate(&store, &tokens, &query.token).await?;
    let watch = komek_auth::sessions::watch(&store, &tokens, &staff);
    let who = match staff.0.role {
        Role::Agent => {
            return Err(ApiError::Forbidden(
                "live updates here are for department staff and supervisors",
            ));
        }
        Role::Supervisor => Listener {
            login: staff.0.sub,
            role: Role::Supervisor,
            department: None,
        },
        Role::DepartmentStaff => {
            let m = crate::routes::escalations::member(&store, &staff).await?;
            Listener {
                login: m.user.login,
                role: Role::DepartmentStaff,
                department: Some(m.department),
            }
        }
    };
    komek_web::live::open(&req, body, who, &hub, Some(watch))
}

/// What a live notification says: enough for the page to know what to read again.
#[derive(Serialize)]
struct Note<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    escalation_id: Option<String>,
    problem_id: Option<&'a str>,
    departments: &'a [String],
}

/// The event kinds the department page is told of: its escalations, problems, a request
/// escalated, and a resolved request (pushed only when it ended an escalation). This replica's
/// live queue is bound to these keys only (`komek_bus::run_fanout`): any other event never
/// reaches it.
pub const PUSHED: &[&str] = &[
    kind::REQUEST_ESCALATED,
    kind::REQUEST_RESOLVED,
    kind::ESCALATION_ANSWERED,
    kind::ESCALATION_ACCEPTED,
    kind::ESCALATION_INFO_REQUESTED,
    kind::ESCALATION_INFO_GIVEN,
    kind::ESCALATION_REROUTED,
    kind::ESCALATION_BREACHED,
    kind::ESCALATION_FLAGGED,
    kind::PROBLEM_OPENED,
    kind::PROBLEM_LINKED,
    kind::PROBLEM_UNLINKED,
    kind::PROBLEM_RESOLVED,
    kind::PROBLEM_RESOLUTION_PROPOSED,
    kind::PROBLEM_CONFIRMED,
    kind::PROBLEM_DISMISSED,
];

/// Does the department page care about events of this kind?
fn for_departments(k: &str) -> bool {
    PUSHED.contains(&k)
}

/// The departments an event concerns, from its payload: where the escalation or problem is, and
/// where a rerouted escalation came from.
fn departments_named(payload: &serde_json::Value) -> Vec<String> {
    ["department", "from_department"]
        .iter()
        .filter_map(|f| payload.get(*f).and_then(|d| d.as_str()))
        .map(str::to_owned)
        .collect()
}

/// Turns an event into a push for the departments it concerns (and supervisors). A resolved
/// request concerns the page only when it ended an escalation; that department is read from it.
pub async fn on_event(store: Store, hub: Addr<Hub>, env: Envelope) {
    if !for_departments(&env.kind) || !komek_web::live::listening() {
        return;
    }
    let escalation_id = env
        .payload
        .get("escalation_id")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<Uuid>().ok());
    let mut departments = departments_named(&env.payload);
    if env.kind == kind::REQUEST_RESOLVED {
        let Some(id) = escalation_id else { return };
        match store.escalation(id).await {
            Ok(Some(e)) => departments.push(e.department),
            _ => return,
        }
    }
    let note = Note {
        kind: &env.kind,
        escalation_id: escalation_id.map(|id| id.to_string()),
        problem_id: env.payload.get("problem_id").and_then(|v| v.as_str()),
        departments: &departments,
    };
    if let Ok(json) = serde_json::to_string(&note) {
        hub.do_send(Deliver {
            logins: Vec::new(),
            departments,
            all: false,
            push: Push(json),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_reroute_concerns_both_departments() {
        let p = json!({"department": "network", "from_department": "billing"});
        assert_eq!(departments_named(&p), vec!["network", "billing"]);
        assert!(departments_named(&json!({"by": "x"})).is_empty());
    }

    #[test]
    fn only_department_events_are_pushed() {
        assert!(for_departments(kind::ESCALATION_BREACHED));
        assert!(for_departments(kind::PROBLEM_LINKED));
        assert!(for_departments(kind::REQUEST_ESCALATED));
        assert!(!for_departments(kind::REQUEST_CREATED));
        assert!(!for_departments(kind::OFFER_MADE));
    }

    /// The binding list is the page's rule, kind by kind: every escalation and problem event, a
    /// request escalated or resolved, and nothing else (so the broker delivers no
    /// `request.created`, `request.queued`, `offer.*`, ... to this replica).
    #[test]
    fn the_feed_binds_exactly_the_pushed_kinds() {
        for k in kind::ALL {
            let shown = k.starts_with("escalation.")
                || k.starts_with("problem.")
                || *k == kind::REQUEST_ESCALATED
                || *k == kind::REQUEST_RESOLVED;
            assert_eq!(PUSHED.contains(k), shown, "{k}");
        }
        assert!(PUSHED.iter().all(|k| kind::ALL.contains(k)));
    }
}
