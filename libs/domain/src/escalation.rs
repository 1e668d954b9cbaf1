//! An escalation: a request handed to another department, and its life there.
//!
//! ```text
//! open -> accepted -> info_requested -> accepted (the agent gave the information)
//! open | accepted | info_requested -> answered (resolved, or a decision the agent passes on)
//! open | accepted | info_requested -> open in another department (rejected: wrong department)
//! ```
//! A department deadline (business hours of that department) is watched while the escalation is
//! not answered; it stops while the department waits for the agent. A breach moves the escalation
//! one tier up the department's chain: first line -> second line -> head.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Category, RequestId, RequestNumber};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscalationStatus {
    Open,
    Accepted,
    InfoRequested,
    Answered,
}

impl EscalationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationStatus::Open => "open",
            EscalationStatus::Accepted => "accepted",
            EscalationStatus::InfoRequested => "info_requested",
            EscalationStatus::Answered => "answered",
        }
    }
}

/// A department's chain of responsibility. Department staff have a tier through their `level`
/// (1 first line, 2 second line, 3 head).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    #[default]
    FirstLine,
    SecondLine,
    Head,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::FirstLine => "first_line",
            Tier::SecondLine => "second_line",
            Tier::Head => "head",
        }
    }

    /// The tier of a department staff member of `level` 1-3 (anything above 3 is head).
    pub fn of_level(level: u8) -> Tier {
        match level {
            0 | 1 => Tier::FirstLine,
            2 => Tier::SecondLine,
            _ => Tier::Head,
        }
    }

    /// The next tier up the chain; none above the head.
    pub fn up(self) -> Option<Tier> {
        match self {
            Tier::FirstLine => Some(Tier::SecondLine),
            Tier::SecondLine => Some(Tier::Head),
            Tier::Head => None,
        }
    }
}

/// How a department answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerOutcome {
    /// The department fixed the cause; the agent tells the customer.
    Resolved,
    /// The department decided (e.g. no refund, a tariff rule); the agent passes the decision on.
    #[default]
    Decision,
}

/// One step of an escalation's life, shown to the department and (as history lines) to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Step {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// A login, or `system:escalation` for the deadline watcher.
    pub actor: String,
    /// `opened`, `accepted`, `info_requested`, `info_given`, `answered`, `rerouted`, `breached`, `flagged`.
    pub action: String,
    /// The department the escalation was in when the step happened.
    pub department: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Escalation {
    pub id: Uuid,
    pub request_id: RequestId,
    pub number: RequestNumber,
    /// The department that holds it now.
    pub department: String,
    pub reason: String,
    /// The agent who escalated and gets the answer back.
    pub agent: String,
    pub status: EscalationStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The request's category: department deadlines are set per category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// Who in the department's chain is responsible now.
    #[serde(default)]
    pub tier: Tier,
    /// The staff member who accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The department deadline of the current tier; none once answered.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub due_at: Option<OffsetDateTime>,
    /// Since when the department waits for the agent: the deadline is stopped meanwhile.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub paused_at: Option<OffsetDateTime>,
    /// Departments it has been in, in order; the current one last.
    #[serde(default)]
    pub path: Vec<String>,
    /// How many times it was rejected to another department.
    #[serde(default)]
    pub bounces: u32,
    /// Bounced more than allowed: an inconsistency between departments for the quality team.
    #[serde(default)]
    pub flagged: bool,
    /// Department deadlines breached so far.
    #[serde(default)]
    pub breaches: u32,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AnswerOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub answered_at: Option<OffsetDateTime>,
    /// The customer journey's W3C traceparent (see `Request::trace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscalationError {
    #[error("an escalation that is {status} cannot be {action}")]
    State {
        status: &'static str,
        action: &'static str,
    },
    #[error("the escalation is already in department {0}")]
    SameDepartment(String),
    #[error("only the agent who escalated (or a supervisor) gives the information")]
    NotTheAgent,
}

impl Escalation {
    /// A new open escalation at the first line of `department`.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        id: Uuid,
        request_id: RequestId,
        number: RequestNumber,
        department: &str,
        reason: &str,
        agent: &str,
        category: Option<Category>,
        due_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            request_id,
            number,
            department: department.to_owned(),
            reason: reason.to_owned(),
            agent: agent.to_owned(),
            status: EscalationStatus::Open,
            created_at: now,
            category,
            tier: Tier::FirstLine,
            assignee: None,
            due_at,
            paused_at: None,
            path: vec![department.to_owned()],
            bounces: 0,
            flagged: false,
            breaches: 0,
            steps: vec![Step {
                at: now,
                actor: agent.to_owned(),
                action: "opened".into(),
                department: department.to_owned(),
                detail: Some(reason.to_owned()),
            }],
            answer: None,
            outcome: None,
            answered_by: None,
            answered_at: None,
            trace: None,
        }
    }

    fn step(&mut self, actor: &str, action: &str, detail: Option<String>, now: OffsetDateTime) {
        self.steps.push(Step {
            at: now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            department: self.department.clone(),
            detail,
        });
    }

    fn refuse(&self, action: &'static str) -> EscalationError {
        EscalationError::State {
            status: self.status.as_str(),
            action,
        }
    }

    /// Whether the escalation still waits for its department.
    pub fn is_active(&self) -> bool {
        self.status != EscalationStatus::Answered
    }

    /// Whether a staff member of this department with `tier` may act on it: the head always, the
    /// assignee, or anyone at or above the tier it has reached.
    pub fn may_act(&self, login: &str, tier: Tier) -> bool {
        tier == Tier::Head || self.assignee.as_deref() == Some(login) || tier >= self.tier
    }

    /// A staff member takes it (an open one, or one someone else accepted: taking over).
    pub fn accept(&mut self, by: &str, now: OffsetDateTime) -> Result<(), EscalationError> {
        if !matches!(
            self.status,
            EscalationStatus::Open | EscalationStatus::Accepted
        ) {
            return Err(self.refuse("accepted"));
        }
        let detail = self
            .assignee
            .as_deref()
            .filter(|a| *a != by)
            .map(|a| format!("taken over from {a}"));
        self.status = EscalationStatus::Accepted;
        self.assignee = Some(by.to_owned());
        self.step(by, "accepted", detail, now);
        Ok(())
    }

    /// The department asks the agent for information; its deadline stops until it is given.
    pub fn request_info(
        &mut self,
        by: &str,
        question: &str,
        now: OffsetDateTime,
    ) -> Result<(), EscalationError> {
        if !matches!(
            self.status,
            EscalationStatus::Open | EscalationStatus::Accepted
        ) {
            return Err(self.refuse("asked for information"));
        }
        self.status = EscalationStatus::InfoRequested;
        self.assignee.get_or_insert_with(|| by.to_owned());
        self.paused_at = Some(now);
        self.step(by, "info_requested", Some(question.to_owned()), now);
        Ok(())
    }

    /// The agent answers the department's question. `shift` moves the deadline by the working
    /// time spent waiting (the department's calendar) and returns the new deadline.
    pub fn give_info(
        &mut self,
        by: &str,
        text: &str,
        now: OffsetDateTime,
        shift: impl Fn(OffsetDateTime, OffsetDateTime, OffsetDateTime) -> OffsetDateTime,
    ) -> Result<(), EscalationError> {
        if self.status != EscalationStatus::InfoRequested {
            return Err(self.refuse("given information"));
        }
        self.status = EscalationStatus::Accepted;
        if let (Some(since), Some(due)) = (self.paused_at.take(), self.due_at) {
            self.due_at = Some(shift(due, since, now));
        }
        self.step(by, "info_given", Some(text.to_owned()), now);
        Ok(())
    }

    pub fn answer(
        &mut self,
        by: &str,
        text: &str,
        outcome: AnswerOutcome,
        now: OffsetDateTime,
    ) -> Result<(), EscalationError> {
        if !self.is_active() {
            return Err(self.refuse("answered"));
        }
        self.status = EscalationStatus::Answered;
        self.answer = Some(text.to_owned());
        self.outcome = Some(outcome);
        self.answered_by = Some(by.to_owned());
        self.answered_at = Some(now);
        self.due_at = None;
        self.paused_at = None;
        self.step(by, "answered", Some(text.to_owned()), now);
        Ok(())
    }

    /// The request was resolved elsewhere (a problem record's resolution speaks for every linked
    /// request, escalated ones too): the escalation ends as resolved, with a step `closed` saying
    /// why, so it leaves the department's queue and its deadline stops.
    pub fn close_resolved(
        &mut self,
        by: &str,
        detail: &str,
        now: OffsetDateTime,
    ) -> Result<(), EscalationError> {
        if !self.is_active() {
            return Err(self.refuse("closed"));
        }
        self.status = EscalationStatus::Answered;
        self.answer = Some(detail.to_owned());
        self.outcome = Some(AnswerOutcome::Resolved);
        self.answered_by = Some(by.to_owned());
        self.answered_at = Some(now);
        self.due_at = None;
        self.paused_at = None;
        self.step(by, "closed", Some(detail.to_owned()), now);
        Ok(())
    }

    /// Rejected as the wrong department: it moves, open, to the first line of `to` with a fresh
    /// deadline. Returns `true` when this bounce made it exceed `max_bounces` (flagged now).
    pub fn reject(
        &mut self,
        by: &str,
        reason: &str,
        to: &str,
        due_at: Option<OffsetDateTime>,
        max_bounces: u32,
        now: OffsetDateTime,
    ) -> Result<bool, EscalationError> {
        if !self.is_active() {
            return Err(self.refuse("rejected"));
        }
        if self.department == to {
            return Err(EscalationError::SameDepartment(to.to_owned()));
        }
        let from = std::mem::replace(&mut self.department, to.to_owned());
        self.steps.push(Step {
            at: now,
            actor: by.to_owned(),
            action: "rerouted".into(),
            department: from.clone(),
            detail: Some(format!("{from} -> {to}: {reason}")),
        });
        self.status = EscalationStatus::Open;
        self.tier = Tier::FirstLine;
        self.assignee = None;
        self.paused_at = None;
        self.due_at = due_at;
        self.path.push(to.to_owned());
        self.bounces += 1;
        if self.bounces > max_bounces && !self.flagged {
            self.flagged = true;
            let path = self.path.join(" -> ");
            self.step(
                "system:escalation",
                "flagged",
                Some(format!("bounced {} times: {path}", self.bounces)),
                now,
            );
            return Ok(true);
        }
        Ok(false)
    }

    /// The department deadline passed: one tier up the chain, with `next_due` as the new deadline
    /// (none once the head has it: the head's breach is recorded and not moved further).
    /// Returns the tier it reached, or none when it was not active (nothing changes then).
    pub fn breach(
        &mut self,
        next_due: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Option<Tier> {
        if !self.is_active() {
            return None;
        }
        let before = self.tier;
        self.tier = before.up().unwrap_or(Tier::Head);
        self.breaches += 1;
        self.due_at = if before == Tier::Head { None } else { next_due };
        self.step(
            "system:escalation",
            "breached",
            Some(format!("{} -> {}", before.as_str(), self.tier.as_str())),
            now,
        );
        Some(self.tier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn esc() -> Escalation {
        let now = OffsetDateTime::UNIX_EPOCH;
        Escalation::open(
            Uuid::now_v7(),
            RequestId::new(),
            RequestNumber("KM-000001".into()),
            "billing",
            "double charge",
            "aigerim",
            Some(Category::Billing),
            Some(now + Duration::hours(8)),
            now,
        )
    }

    #[test]
    fn lifecycle_with_information_and_answer() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut e = esc();
        e.accept("billing1", t0).unwrap();
        e.request_info("billing1", "which date?", t0 + Duration::hours(1))
            .unwrap();
        assert_eq!(e.status, EscalationStatus::InfoRequested);
        e.give_info(
            "aigerim",
            "the 5th",
            t0 + Duration::hours(3),
            |due, a, b| due + (b - a),
        )
        .unwrap();
        assert_eq!(e.status, EscalationStatus::Accepted);
        assert_eq!(e.due_at, Some(t0 + Duration::hours(10)));
        e.answer("billing1", "refunded", AnswerOutcome::Resolved, t0)
            .unwrap();
        assert_eq!(e.due_at, None);
        assert!(
            e.answer("billing1", "again", AnswerOutcome::Decision, t0)
                .is_err()
        );
        assert!(e.accept("billing1", t0).is_err());
        let actions: Vec<_> = e.steps.iter().map(|s| s.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "opened",
                "accepted",
                "info_requested",
                "info_given",
                "answered"
            ]
        );
    }

    #[test]
    fn rejection_reroutes_and_flags_past_the_limit() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut e = esc();
        e.accept("billing1", t0).unwrap();
        assert!(
            !e.reject("billing1", "not ours", "network", None, 2, t0)
                .unwrap()
        );
        assert_eq!(
            (e.status, e.tier, e.assignee.clone()),
            (EscalationStatus::Open, Tier::FirstLine, None)
        );
        assert!(matches!(
            e.reject("network1", "x", "network", None, 2, t0),
            Err(EscalationError::SameDepartment(_))
        ));
        assert!(!e.reject("network1", "x", "billing", None, 2, t0).unwrap());
        assert!(e.reject("billing1", "x", "network", None, 2, t0).unwrap());
        assert!(e.flagged);
        assert!(!e.reject("network1", "x", "roaming", None, 2, t0).unwrap());
        assert_eq!(
            e.path,
            ["billing", "network", "billing", "network", "roaming"]
        );
        assert_eq!(e.bounces, 4);
    }

    #[test]
    fn breach_climbs_the_chain_and_stops_at_the_head() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut e = esc();
        assert_eq!(e.breach(Some(t0), t0), Some(Tier::SecondLine));
        assert_eq!(e.breach(Some(t0), t0), Some(Tier::Head));
        assert_eq!(e.due_at, Some(t0));
        assert_eq!(e.breach(Some(t0), t0), Some(Tier::Head));
        assert_eq!(e.due_at, None);
        assert_eq!(e.breaches, 3);
        assert!(e.may_act("anyone", Tier::Head));
        assert!(!e.may_act("billing1", Tier::FirstLine));
        e.answer("billing3", "done", AnswerOutcome::Decision, t0)
            .unwrap();
        assert_eq!(e.breach(Some(t0), t0), None);
    }

    #[test]
    fn a_resolution_elsewhere_closes_an_active_escalation_once() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut e = esc();
        e.accept("billing1", t0).unwrap();
        e.close_resolved("network1", "P-000001: fixed", t0).unwrap();
        assert_eq!(
            (e.status, e.outcome, e.due_at),
            (
                EscalationStatus::Answered,
                Some(AnswerOutcome::Resolved),
                None
            )
        );
        assert_eq!(e.steps.last().map(|s| s.action.as_str()), Some("closed"));
        assert!(e.close_resolved("network1", "again", t0).is_err());
    }

    #[test]
    fn tiers_follow_levels() {
        assert_eq!(Tier::of_level(1), Tier::FirstLine);
        assert_eq!(Tier::of_level(2), Tier::SecondLine);
        assert_eq!(Tier::of_level(3), Tier::Head);
        assert!(Tier::Head > Tier::SecondLine);
    }
}
