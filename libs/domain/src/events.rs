//! The event envelope every service publishes and consumes, the event types and their payloads.
//!
//! The envelope is versioned (`v`) so a consumer can refuse what it does not understand instead of
//! misreading it. The W3C trace context rides in the envelope as well as in the AMQP headers, so a
//! journey stays one trace even when an event is re-read from the outbox after a restart.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::{Category, Channel, Lang, Msisdn, Priority, RequestId, RequestNumber};

pub const ENVELOPE_VERSION: u16 = 1;

/// Event types; each is also the AMQP routing key.
pub mod kind {
    pub const REQUEST_CREATED: &str = "request.created";
    pub const REQUEST_QUEUED: &str = "request.queued";
    pub const REQUEST_ASSIGNED: &str = "request.assigned";
    pub const REQUEST_REPLIED: &str = "request.replied";
    pub const REQUEST_NOTE_ADDED: &str = "request.note_added";
    pub const REQUEST_ESCALATED: &str = "request.escalated";
    pub const REQUEST_ESCALATION_RETURNED: &str = "request.escalation_returned";
    pub const REQUEST_RESOLVED: &str = "request.resolved";
    pub const REQUEST_REOPENED: &str = "request.reopened";
    pub const ESCALATION_ANSWERED: &str = "escalation.answered";
    pub const SURVEY_CREATED: &str = "survey.created";
    pub const SURVEY_ANSWERED: &str = "survey.answered";
    pub const REQUEST_HANDED_BACK: &str = "request.handed_back";
    /// The customer added a message to their open request (intake → workspace).
    pub const REQUEST_CUSTOMER_MESSAGE: &str = "request.customer_message";
    /// The same customer wrote the same thing again on another channel within the duplicate
    /// window: the contact joins the open request (payload [`super::CustomerMessage`]) and is
    /// acknowledged on its own channel with that request's number.
    pub const REQUEST_LINKED: &str = "request.linked";
    pub const REQUEST_REASSIGNED: &str = "request.reassigned";
    pub const OFFER_MADE: &str = "offer.made";
    pub const OFFER_DECLINED: &str = "offer.declined";
    pub const OFFER_EXPIRED: &str = "offer.expired";
    pub const DEADLINE_WARNING: &str = "deadline.warning";
    pub const DEADLINE_BREACHED: &str = "deadline.breached";
    /// intake's notifier delivered a customer-visible message (intake → workspace history).
    pub const NOTIFICATION_SENT: &str = "notification.sent";
    /// intake's notifier could not deliver a customer-visible message (intake → workspace history).
    pub const NOTIFICATION_FAILED: &str = "notification.failed";
    /// A department staff member took the escalation ([`super::EscalationChanged`]).
    pub const ESCALATION_ACCEPTED: &str = "escalation.accepted";
    /// The department asks the agent for information (`detail` = the question).
    pub const ESCALATION_INFO_REQUESTED: &str = "escalation.info_requested";
    /// The agent answered the department's question (workspace → escalation; `detail` = the text).
    pub const ESCALATION_INFO_GIVEN: &str = "escalation.info_given";
    /// Rejected as the wrong department and moved to the right one (`from_department`, `detail` = reason).
    pub const ESCALATION_REROUTED: &str = "escalation.rerouted";
    /// A department deadline passed; the escalation moved up the chain (`tier`, new `due`).
    pub const ESCALATION_BREACHED: &str = "escalation.breached";
    /// Bounced between departments more than allowed: listed for the quality team (`detail` = path).
    pub const ESCALATION_FLAGGED: &str = "escalation.flagged";
    /// A problem record was opened: by staff, or as a candidate by spike detection
    /// ([`super::ProblemEvent`]; the envelope's request id is nil).
    pub const PROBLEM_OPENED: &str = "problem.opened";
    /// A request was linked to a problem (the envelope's request id is that request).
    pub const PROBLEM_LINKED: &str = "problem.linked";
    /// A request was unlinked from a problem.
    pub const PROBLEM_UNLINKED: &str = "problem.unlinked";
    /// A problem was resolved ([`super::ProblemResolved`]; request id nil): the workspace resolves
    /// every linked open request with the message in its language.
    pub const PROBLEM_RESOLVED: &str = "problem.resolved";
    /// A department proposed a problem's resolution ([`super::ProblemEvent`]; request id nil): it
    /// waits for a supervisor's approval, and nothing is sent to customers until then.
    pub const PROBLEM_RESOLUTION_PROPOSED: &str = "problem.resolution_proposed";
    /// A candidate problem was confirmed or dismissed (request id nil).
    pub const PROBLEM_CONFIRMED: &str = "problem.confirmed";
    pub const PROBLEM_DISMISSED: &str = "problem.dismissed";
    /// A department's name, hours or deadlines were set through the admin API ([`super::AdminChange`];
    /// nil request id). No service queue consumes it: it reaches the live feeds (supervisors see
    /// who changed what), and no queue keeps it.
    pub const DEPARTMENT_CHANGED: &str = "department.changed";
    /// A department staff member was created or changed through the admin API (nil request id).
    pub const STAFF_CHANGED: &str = "staff.changed";

    /// Every event type above, for a binding that wants them all by name rather than `#` (a
    /// test checks that none is missing).
    pub const ALL: &[&str] = &[
        REQUEST_CREATED,
        REQUEST_QUEUED,
        REQUEST_ASSIGNED,
        REQUEST_REPLIED,
        REQUEST_NOTE_ADDED,
        REQUEST_ESCALATED,
        REQUEST_ESCALATION_RETURNED,
        REQUEST_RESOLVED,
        REQUEST_REOPENED,
        ESCALATION_ANSWERED,
        SURVEY_CREATED,
        SURVEY_ANSWERED,
        REQUEST_HANDED_BACK,
        REQUEST_CUSTOMER_MESSAGE,
        REQUEST_LINKED,
        REQUEST_REASSIGNED,
        OFFER_MADE,
        OFFER_DECLINED,
        OFFER_EXPIRED,
        DEADLINE_WARNING,
        DEADLINE_BREACHED,
        NOTIFICATION_SENT,
        NOTIFICATION_FAILED,
        ESCALATION_ACCEPTED,
        ESCALATION_INFO_REQUESTED,
        ESCALATION_INFO_GIVEN,
        ESCALATION_REROUTED,
        ESCALATION_BREACHED,
        ESCALATION_FLAGGED,
        PROBLEM_OPENED,
        PROBLEM_LINKED,
        PROBLEM_UNLINKED,
        PROBLEM_RESOLVED,
        PROBLEM_RESOLUTION_PROPOSED,
        PROBLEM_CONFIRMED,
        PROBLEM_DISMISSED,
        DEPARTMENT_CHANGED,
        STAFF_CHANGED,
    ];
}

/// Which consuming service listens to which event types (queue name suffix, binding keys).
pub const SUBSCRIPTIONS: &[(&str, &[&str])] = &[
    (
        "workspace",
        &[
            kind::REQUEST_CREATED,
            kind::ESCALATION_ANSWERED,
            kind::SURVEY_ANSWERED,
            kind::REQUEST_CUSTOMER_MESSAGE,
            kind::REQUEST_LINKED,
            kind::NOTIFICATION_SENT,
            kind::NOTIFICATION_FAILED,
            kind::ESCALATION_ACCEPTED,
            kind::ESCALATION_INFO_REQUESTED,
            kind::ESCALATION_REROUTED,
            kind::ESCALATION_BREACHED,
            kind::ESCALATION_FLAGGED,
            kind::PROBLEM_LINKED,
            kind::PROBLEM_UNLINKED,
            kind::PROBLEM_RESOLVED,
        ],
    ),
    (
        "escalation",
        &[
            kind::REQUEST_ESCALATED,
            kind::ESCALATION_INFO_GIVEN,
            // Spike detection counts new requests.
            kind::REQUEST_CREATED,
            // A problem's resolution may end a request that is still escalated.
            kind::REQUEST_RESOLVED,
        ],
    ),
    ("survey", &[kind::REQUEST_RESOLVED]),
    (
        "intake",
        &[
            kind::REQUEST_CREATED,
            kind::REQUEST_REPLIED,
            kind::REQUEST_RESOLVED,
            kind::SURVEY_CREATED,
            kind::REQUEST_LINKED,
        ],
    ),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub v: u16,
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub request_id: RequestId,
    /// W3C `traceparent` of the span that caused the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
    pub payload: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("event is not valid JSON for the envelope: {0}")]
    Json(#[from] serde_json::Error),
    #[error("event envelope version {0} is not understood (expected {ENVELOPE_VERSION})")]
    Version(u16),
}

/// What a new request's creation commits beside it: the `created` history line by `actor` (its
/// category and priority) and its `request.created` event. Intake's acceptance, the benches and
/// test fixtures all store a new request with these.
pub fn created(request: &crate::Request, actor: &str) -> (crate::HistoryEntry, Envelope) {
    let history = crate::Request::record(
        actor,
        "created",
        Some(format!(
            "{} / {}",
            request.category.as_str(),
            request.priority.as_str()
        )),
        request.created_at,
    );
    let event = Envelope::new(
        kind::REQUEST_CREATED,
        request.id,
        &RequestCreated {
            number: request.number.clone(),
            channel: request.channel,
            language: request.language,
            category: request.category,
            priority: request.priority,
            msisdn: request.customer.msisdn.clone(),
        },
        request.created_at,
    );
    (history, event)
}

impl Envelope {
    pub fn new<P: Serialize>(
        kind: &str,
        request_id: RequestId,
        payload: &P,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            id: Uuid::now_v7(),
            kind: kind.to_owned(),
            occurred_at: now,
            request_id,
            traceparent: None,
            tracestate: None,
            // A payload type that cannot become JSON is a programming error caught by the tests of each payload.
            payload: serde_json::to_value(payload).unwrap_or(serde_json::Value::Null),
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let env: Envelope = serde_json::from_slice(bytes)?;
        if env.v != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(env.v));
        }
        Ok(env)
    }

    pub fn payload<P: for<'de> Deserialize<'de>>(&self) -> Result<P, serde_json::Error> {
        P::deserialize(&self.payload)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestCreated {
    pub number: RequestNumber,
    pub channel: Channel,
    pub language: Lang,
    pub category: Category,
    pub priority: Priority,
    /// The customer's number, when they wrote with one: spike detection finds the region by it
    /// without reading the request (events written before it was added lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<Msisdn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestChanged {
    pub number: RequestNumber,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestEscalated {
    pub number: RequestNumber,
    pub escalation_id: Uuid,
    pub department: String,
    pub reason: String,
    pub agent: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationAnswered {
    pub escalation_id: Uuid,
    pub department: String,
    pub by: String,
    pub text: String,
    /// `resolved` or `decision` (absent from events of before the field: a decision).
    #[serde(default)]
    pub outcome: crate::escalation::AnswerOutcome,
}

/// A step of an escalation's life after it was opened (accepted, info requested/given, rerouted,
/// breached, flagged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationChanged {
    pub escalation_id: Uuid,
    pub number: RequestNumber,
    /// The department that holds it now (after a reroute: the new one).
    pub department: String,
    /// A login, or `system:escalation`.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Rerouted: the department that rejected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<crate::escalation::Tier>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub due: Option<OffsetDateTime>,
}

/// A problem record opened, linked, unlinked, confirmed or dismissed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemEvent {
    pub problem_id: Uuid,
    pub number: String,
    pub title: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Who changed which department or staff member through the admin API, and to what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminChange {
    /// The department code or the staff login.
    pub subject: String,
    pub by: String,
    /// `created`, `updated`, `deactivated`, `activated`, `password_reset` or `role_changed`
    /// (see [`admin_action`]).
    pub action: String,
    /// The new record as stored (without any password hash).
    pub value: serde_json::Value,
}

/// The actions of an [`AdminChange`].
pub mod admin_action {
    pub const CREATED: &str = "created";
    pub const UPDATED: &str = "updated";
    /// The person can no longer sign in; their sessions end (every replica closes their sockets).
    pub const DEACTIVATED: &str = "deactivated";
    pub const ACTIVATED: &str = "activated";
    /// A new password was set; every session opened with the old one ends.
    pub const PASSWORD_RESET: &str = "password_reset";
    /// An update that changed the role or department: tokens carry both, so sessions end too.
    pub const ROLE_CHANGED: &str = "role_changed";
}

impl AdminChange {
    /// The audit event of an admin change, `kind` being [`kind::DEPARTMENT_CHANGED`] or
    /// [`kind::STAFF_CHANGED`] (nil request id: it is about no request). The admin APIs and
    /// `komek-admin` all write it with the change, in one transaction.
    pub fn event<T: Serialize>(
        kind: &str,
        subject: &str,
        by: &str,
        action: &str,
        value: &T,
    ) -> Envelope {
        let change = AdminChange {
            subject: subject.to_owned(),
            by: by.to_owned(),
            action: action.to_owned(),
            value: serde_json::to_value(value).unwrap_or_default(),
        };
        Envelope::new(
            kind,
            RequestId(Uuid::nil()),
            &change,
            OffsetDateTime::now_utc(),
        )
    }

    /// The login whose sessions an event ends: a staff member deactivated or given a new password.
    pub fn ends_sessions(env: &Envelope) -> Option<String> {
        if env.kind != kind::STAFF_CHANGED {
            return None;
        }
        let change: AdminChange = serde_json::from_value(env.payload.clone()).ok()?;
        matches!(
            change.action.as_str(),
            admin_action::DEACTIVATED | admin_action::PASSWORD_RESET | admin_action::ROLE_CHANGED
        )
        .then_some(change.subject)
    }
}

/// A problem resolved: each linked open request is resolved with the message in its language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemResolved {
    pub problem_id: Uuid,
    pub number: String,
    pub title: String,
    /// Who sent it: a supervisor (resolving, or approving a department's proposal).
    pub by: String,
    pub messages: crate::problem::Messages,
    /// The problem's department, so its page hears of a resolution a supervisor approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The department staff member who wrote the approved text, if it was a proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestResolved {
    pub number: RequestNumber,
    pub language: Lang,
    pub resolution: String,
    pub agent: String,
    /// The department escalation the request was waiting for, when a problem's resolution ended
    /// it while escalated: the escalation service closes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_id: Option<Uuid>,
}

/// A message from the customer for their open request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerMessage {
    pub number: RequestNumber,
    pub channel: Channel,
    pub text: String,
}

/// A request offered to an agent, or an offer that ended unanswered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferEvent {
    pub number: RequestNumber,
    pub agent: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A deadline warning or breach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineEvent {
    pub number: RequestNumber,
    /// `first_response` or `resolution`.
    pub deadline: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// The delivery status of one customer-visible message (`notification.sent` / `.failed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationStatus {
    /// `sms` or `email`: how it went (or would have gone) out.
    pub channel: String,
    /// The recipient, masked to its last 4 characters (e.g. `****4567`).
    pub recipient: String,
    /// The event the message was about, e.g. `request.created`.
    pub event_type: String,
    /// Why it failed, or the gateway's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyAnswered {
    pub survey_id: Uuid,
    pub csat: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deactivation, a new password and a new role end a person's sessions; other staff changes
    /// and department changes do not.
    #[test]
    fn which_admin_changes_end_sessions() {
        let v = serde_json::json!({});
        for (k, action, ends) in [
            (kind::STAFF_CHANGED, admin_action::DEACTIVATED, true),
            (kind::STAFF_CHANGED, admin_action::PASSWORD_RESET, true),
            (kind::STAFF_CHANGED, admin_action::ROLE_CHANGED, true),
            (kind::STAFF_CHANGED, admin_action::UPDATED, false),
            (kind::STAFF_CHANGED, admin_action::ACTIVATED, false),
            (kind::DEPARTMENT_CHANGED, admin_action::DEACTIVATED, false),
        ] {
            let env = AdminChange::event(k, "erlan", "saule", action, &v);
            assert_eq!(env.request_id.0, Uuid::nil());
            assert_eq!(
                AdminChange::ends_sessions(&env),
                ends.then(|| "erlan".to_owned()),
                "{k} {action}"
            );
        }
    }

    #[test]
    fn envelope_round_trips_and_checks_version() {
        let p = SurveyAnswered {
            survey_id: Uuid::now_v7(),
            csat: 1,
            comment: Some("жоқ".into()),
        };
        let mut e = Envelope::new(
            kind::SURVEY_ANSWERED,
            RequestId::new(),
            &p,
            OffsetDateTime::now_utc(),
        );
        e.traceparent = Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into());
        let bytes = serde_json::to_vec(&e).unwrap();
        let back = Envelope::decode(&bytes).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.payload::<SurveyAnswered>().unwrap(), p);
        let json = String::from_utf8(bytes).unwrap();
        assert!(json.contains("\"type\":\"survey.answered\""));

        let mut future = e.clone();
        future.v = 2;
        let err = Envelope::decode(&serde_json::to_vec(&future).unwrap()).unwrap_err();
        assert!(matches!(err, EnvelopeError::Version(2)));
    }

    /// `kind::ALL` names every `pub const ...: &str` of the `kind` module, read from this file,
    /// so a new event type cannot be left out of the bindings that list kinds by name.
    #[test]
    fn kind_all_lists_every_event_type() {
        let src = include_str!("events.rs");
        let start = src.find("pub mod kind {").unwrap();
        let end = start + src[start..].find("\n}\n").unwrap();
        let declared: Vec<&str> = src[start..end]
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("pub const ")?
                    .split_once(": &str = \"")
            })
            .map(|(_, v)| v.trim_end_matches("\";"))
            .collect();
        assert!(declared.len() > 30, "{declared:?}");
        let mut all = kind::ALL.to_vec();
        let mut want = declared.clone();
        all.sort_unstable();
        want.sort_unstable();
        assert_eq!(all, want);
        all.dedup();
        assert_eq!(all.len(), kind::ALL.len(), "no kind twice");
    }

    #[test]
    fn every_subscribed_kind_is_a_routing_key() {
        for (_, keys) in SUBSCRIPTIONS {
            for k in *keys {
                assert!(k.contains('.'));
            }
        }
    }
}
