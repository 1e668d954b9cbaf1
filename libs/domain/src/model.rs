//! The request aggregate and the newtypes it is made of.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::escalation::AnswerOutcome;
use crate::lifecycle::{Status, TransitionError};

/// Opaque request id (UUID v7: sortable by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct RequestId(pub Uuid);

impl RequestId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for RequestId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// The number a customer reads and quotes: prefix, dash, at least six digits (`KM-000123`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct RequestNumber(pub String);

impl RequestNumber {
    pub fn format(prefix: &str, seq: u64) -> Self {
        Self(format!("{prefix}-{seq:06}"))
    }
}

impl std::fmt::Display for RequestNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    CallCenter,
    FrontOffice,
    Email,
    Sms,
}

impl Channel {
    /// The name in JSON, routing and actors (`customer:{channel}`): `web`, `call_center`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::CallCenter => "call_center",
            Channel::FrontOffice => "front_office",
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Kk,
    Ru,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Billing,
    Network,
    Internet,
    Roaming,
    Tariff,
    SimCard,
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Billing => "billing",
            Category::Network => "network",
            Category::Internet => "internet",
            Category::Roaming => "roaming",
            Category::Tariff => "tariff",
            Category::SimCard => "sim_card",
            Category::Other => "other",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// Why a contact value was refused; the message is shown to the caller as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("must be a phone number in E.164 form, e.g. +77011234567")]
    Msisdn,
    #[error("must be an email address, e.g. name@example.kz")]
    Email,
}

/// A phone number in E.164 form. Kazakhstan's national `8 7xx ...` form is accepted and normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Msisdn(String);

impl Msisdn {
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = if let Some(rest) = compact.strip_prefix('+') {
            rest.to_owned()
        } else if compact.len() == 11 && compact.starts_with('8') {
            format!("7{}", &compact[1..])
        } else {
            return Err(ContactError::Msisdn);
        };
        let ok = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(format!("+{digits}")))
        } else {
            Err(ContactError::Msisdn)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, lower-cased. Deliberately simple: one `@`, a dotted domain, no spaces or controls.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let s = raw.trim().to_lowercase();
        let Some((local, domain)) = s.split_once('@') else {
            return Err(ContactError::Email);
        };
        let ok = s.chars().count() <= 254
            && !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
        if ok {
            Ok(Self(s))
        } else {
            Err(ContactError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<Msisdn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Customer {
    /// Whether `contact` (a phone number or an email, in any accepted spelling) is this customer's.
    pub fn has_contact(&self, contact: &str) -> bool {
        let by_phone = Msisdn::parse(contact)
            .ok()
            .is_some_and(|m| self.msisdn.as_ref() == Some(&m));
        let by_mail = Email::parse(contact)
            .ok()
            .is_some_and(|e| self.email.as_ref() == Some(&e));
        by_phone || by_mail
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Due {
    #[serde(with = "time::serde::rfc3339")]
    pub first_response: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub resolution: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Acknowledgment,
    /// Written by the customer (status page, a reply by mail or SMS).
    Customer,
    Reply,
    Resolution,
}

/// A message the customer sees, on every channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub kind: MessageKind,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Staff-only text: agents' notes and departments' answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Note {
    pub author: String,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// One line of the audit trail: who did what, when, and what it did to the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The escalation a request is waiting for, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EscalationRef {
    pub id: Uuid,
    /// The department that holds it now (a reroute moves it).
    pub department: String,
    /// The department's question the agent has not answered yet. Kept on the request (not only
    /// in its history) so the check that an answer is due is part of the versioned commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
}

/// The problem record a request is linked to (one at a time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemRef {
    pub id: Uuid,
    /// `P-000012`.
    pub number: String,
    pub title: String,
}

/// The request aggregate. `version` is the optimistic-concurrency counter the store checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Request {
    pub id: RequestId,
    pub number: RequestNumber,
    pub version: u64,
    pub channel: Channel,
    pub customer: Customer,
    pub language: Lang,
    pub category: Category,
    pub priority: Priority,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub due: Due,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub first_response_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub resolved_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationRef>,
    pub messages: Vec<Message>,
    pub notes: Vec<Note>,
    /// W3C traceparent recorded at acceptance: later work on this request joins the journey's trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Since when the request waits for the customer: its resolution clock is stopped meanwhile.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub paused_at: Option<OffsetDateTime>,
    /// The problem record this request is linked to: resolving the problem resolves the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<ProblemRef>,
}

/// Why the agent's information for a department was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("the request does not wait for this escalation")]
    NotCurrent,
    #[error("the department has not asked anything that is still unanswered")]
    NotAsked,
}

/// What a change did: the history line to append. The event is built by the caller, which knows its payload.
pub type Change = HistoryEntry;

impl Request {
    /// Moves the request through the lifecycle and returns the history line for it.
    pub fn move_to(
        &mut self,
        to: Status,
        actor: &str,
        action: &str,
        detail: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Change, TransitionError> {
        let from = self.status;
        self.status = from.transition(to)?;
        Ok(HistoryEntry {
            at: now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            from: Some(from),
            to: Some(to),
            detail,
        })
    }

    /// A history line that changes no status (a note, a message).
    pub fn record(
        actor: &str,
        action: &str,
        detail: Option<String>,
        now: OffsetDateTime,
    ) -> Change {
        HistoryEntry {
            at: now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            from: None,
            to: None,
            detail,
        }
    }

    /// The oldest waiting request is taken by `agent`.
    pub fn assign(&mut self, agent: &str, now: OffsetDateTime) -> Result<Change, TransitionError> {
        let change = self.move_to(
            Status::Assigned,
            agent,
            "assigned",
            Some(agent.to_owned()),
            now,
        )?;
        self.owner = Some(agent.to_owned());
        Ok(change)
    }

    /// The owner gives an untouched request back to the queue (going offline).
    pub fn hand_back(&mut self, now: OffsetDateTime) -> Result<Change, TransitionError> {
        let owner = self.owner.clone().unwrap_or_default();
        let change = self.move_to(Status::Queued, &owner, "handed_back", None, now)?;
        self.owner = None;
        Ok(change)
    }

    /// A supervisor gives the request to another agent; its status does not change.
    pub fn reassign(&mut self, to: &str, by: &str, now: OffsetDateTime) -> Change {
        let from = self
            .owner
            .replace(to.to_owned())
            .unwrap_or_else(|| "queue".to_owned());
        Self::record(by, "reassigned", Some(format!("{from} -> {to}")), now)
    }

    /// A reply that asks the customer for something: the request waits for them and its
    /// resolution clock stops until they answer (or the agent acts on it again).
    pub fn ask_customer(
        &mut self,
        agent: &str,
        text: &str,
        now: OffsetDateTime,
    ) -> Result<Change, TransitionError> {
        if self.status != Status::InProgress && self.status != Status::Assigned {
            return Err(TransitionError {
                from: self.status,
                to: Status::WaitingCustomer,
            });
        }
        self.first_response_at.get_or_insert(now);
        self.messages.push(Message {
            kind: MessageKind::Reply,
            text: text.to_owned(),
            at: now,
        });
        let change = self.move_to(
            Status::WaitingCustomer,
            agent,
            "asked_customer",
            Some(text.to_owned()),
            now,
        )?;
        self.paused_at = Some(now);
        Ok(change)
    }

    /// Ends a pause: moves the resolution deadline by the working time spent waiting, measured by
    /// `working_minutes` (the business calendar), and returns it.
    pub fn resume_clock(
        &mut self,
        now: OffsetDateTime,
        working_minutes: impl Fn(OffsetDateTime, OffsetDateTime) -> i64,
        add: impl Fn(OffsetDateTime, i64) -> OffsetDateTime,
    ) -> i64 {
        let Some(since) = self.paused_at.take() else {
            return 0;
        };
        let paused = working_minutes(since, now);
        self.due.resolution = add(self.due.resolution, paused);
        paused
    }

    /// A customer-visible reply; the first one stops the first-response clock.
    pub fn reply(
        &mut self,
        agent: &str,
        text: &str,
        now: OffsetDateTime,
    ) -> Result<Change, TransitionError> {
        let change = if self.status == Status::InProgress {
            Self::record(agent, "replied", None, now)
        } else {
            self.move_to(Status::InProgress, agent, "replied", None, now)?
        };
        self.first_response_at.get_or_insert(now);
        self.messages.push(Message {
            kind: MessageKind::Reply,
            text: text.to_owned(),
            at: now,
        });
        Ok(change)
    }

    pub fn note(&mut self, author: &str, text: &str, now: OffsetDateTime) -> Change {
        self.notes.push(Note {
            author: author.to_owned(),
            text: text.to_owned(),
            at: now,
        });
        Self::record(author, "note_added", None, now)
    }

    pub fn escalate(
        &mut self,
        agent: &str,
        escalation: EscalationRef,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Change, TransitionError> {
        let detail = format!("to {}: {reason}", escalation.department);
        let change = self.move_to(Status::Escalated, agent, "escalated", Some(detail), now)?;
        self.escalation = Some(escalation);
        Ok(change)
    }

    /// A department's answer comes back: the request returns to its owner with the answer as a note;
    /// the history line says how the department answered (`resolved: …` or `decision: …`). A
    /// request closed meanwhile (its problem was resolved) only keeps the answer as a note.
    #[allow(clippy::too_many_arguments)]
    pub fn escalation_answered(
        &mut self,
        escalation_id: Uuid,
        department: &str,
        by: &str,
        text: &str,
        outcome: AnswerOutcome,
        now: OffsetDateTime,
    ) -> Result<Change, TransitionError> {
        let author = format!("{department}:{by}");
        let how = match outcome {
            AnswerOutcome::Resolved => "resolved",
            AnswerOutcome::Decision => "decision",
        };
        let detail = Some(format!("{how}: {text}"));
        let change = if !self.status.is_open() {
            Self::record(&author, "escalation_answered", detail, now)
        } else if self.escalation.as_ref().map(|e| e.id) != Some(escalation_id) {
            return Err(TransitionError {
                from: self.status,
                to: Status::InProgress,
            });
        } else {
            self.move_to(
                Status::InProgress,
                &author,
                "escalation_answered",
                detail,
                now,
            )?
        };
        self.notes.push(Note {
            author,
            text: text.to_owned(),
            at: now,
        });
        self.escalation = None;
        Ok(change)
    }

    /// The escalation this request waits for, when it is `escalation_id` (later steps of an
    /// escalation the request no longer waits for change only the history).
    pub fn escalation_mut(&mut self, escalation_id: Uuid) -> Option<&mut EscalationRef> {
        self.escalation.as_mut().filter(|e| e.id == escalation_id)
    }

    /// The department asks the agent something: a note the agent sees, and the question kept on
    /// the escalation until the agent answers it.
    pub fn escalation_question(
        &mut self,
        escalation_id: Uuid,
        author: &str,
        question: &str,
        now: OffsetDateTime,
    ) -> Change {
        if let Some(e) = self.escalation_mut(escalation_id) {
            e.question = Some(question.to_owned());
        }
        self.notes.push(Note {
            author: author.to_owned(),
            text: question.to_owned(),
            at: now,
        });
        Self::record(
            author,
            "escalation_info_requested",
            Some(question.to_owned()),
            now,
        )
    }

    /// The agent answers the department's pending question on `escalation_id`.
    pub fn give_escalation_info(
        &mut self,
        escalation_id: Uuid,
        agent: &str,
        text: &str,
        now: OffsetDateTime,
    ) -> Result<Change, InfoError> {
        let Some(e) = self.escalation_mut(escalation_id) else {
            return Err(InfoError::NotCurrent);
        };
        if e.question.take().is_none() {
            return Err(InfoError::NotAsked);
        }
        Ok(Self::record(
            agent,
            "escalation_info_given",
            Some(text.to_owned()),
            now,
        ))
    }

    /// A problem this request is linked to was resolved by `by`: the request is resolved with
    /// `text` (the problem's message in the customer's language), from wherever it is while open.
    /// A problem resolution speaks for the department and the agent at once, so it may end a
    /// request that waits in the queue or at a department, which no single agent may do.
    pub fn resolve_by_problem(
        &mut self,
        by: &str,
        problem: &str,
        text: &str,
        now: OffsetDateTime,
    ) -> Result<Change, TransitionError> {
        let from = self.status;
        if !from.resolvable_by_problem() {
            return Err(TransitionError {
                from,
                to: Status::Resolved,
            });
        }
        self.status = Status::Resolved;
        self.resolved_at = Some(now);
        self.resolution = Some(text.to_owned());
        self.first_response_at.get_or_insert(now);
        self.paused_at = None;
        self.escalation = None;
        self.messages.push(Message {
            kind: MessageKind::Resolution,
            text: text.to_owned(),
            at: now,
        });
        Ok(HistoryEntry {
            at: now,
            actor: by.to_owned(),
            action: "resolved_by_problem".into(),
            from: Some(from),
            to: Some(Status::Resolved),
            detail: Some(format!("{problem}: {text}")),
        })
    }

    pub fn resolve(
        &mut self,
        agent: &str,
        resolution: &str,
        now: OffsetDateTime,
    ) -> Result<Change, TransitionError> {
        let change = self.move_to(
            Status::Resolved,
            agent,
            "resolved",
            Some(resolution.to_owned()),
            now,
        )?;
        self.resolved_at = Some(now);
        self.resolution = Some(resolution.to_owned());
        self.first_response_at.get_or_insert(now);
        self.messages.push(Message {
            kind: MessageKind::Resolution,
            text: resolution.to_owned(),
            at: now,
        });
        Ok(change)
    }

    /// The customer said it is not solved: back to its owner, with their words in the history.
    pub fn reopen(
        &mut self,
        actor: &str,
        why: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Change, TransitionError> {
        let change = self.move_to(Status::Reopened, actor, "reopened", why, now)?;
        self.resolved_at = None;
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_the_json_names() {
        for c in [
            Channel::Web,
            Channel::CallCenter,
            Channel::FrontOffice,
            Channel::Email,
            Channel::Sms,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(c.to_string(), c.as_str());
        }
    }

    #[test]
    fn msisdn_forms() {
        assert_eq!(
            Msisdn::parse("+7 701 123-45-67").unwrap().as_str(),
            "+77011234567"
        );
        assert_eq!(
            Msisdn::parse("87011234567").unwrap().as_str(),
            "+77011234567"
        );
        for bad in [
            "",
            "12345",
            "+7abc",
            "7701123456789012345",
            "+0123456789",
            "hello",
        ] {
            assert!(Msisdn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_forms() {
        assert_eq!(
            Email::parse(" Aigerim@Mail.KZ ").unwrap().as_str(),
            "aigerim@mail.kz"
        );
        for bad in [
            "",
            "a@b",
            "@x.kz",
            "a b@x.kz",
            "a@x.kz\r\nBcc: y",
            "a@@x.kz",
            "<a@x.kz>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn contact_matches_any_spelling() {
        let c = Customer {
            msisdn: Some(Msisdn::parse("+77011234567").unwrap()),
            email: Some(Email::parse("a@x.kz").unwrap()),
            name: None,
        };
        assert!(c.has_contact("8 701 123 45 67"));
        assert!(c.has_contact("A@X.kz"));
        assert!(!c.has_contact("+77019999999"));
        assert!(!c.has_contact(""));
    }

    fn request(status: Status) -> Request {
        let now = OffsetDateTime::UNIX_EPOCH;
        Request {
            id: RequestId::new(),
            number: RequestNumber::format("KM", 1),
            version: 1,
            channel: Channel::Email,
            customer: Customer {
                msisdn: None,
                email: Some(Email::parse("a@x.kz").unwrap()),
                name: None,
            },
            language: Lang::Kk,
            category: Category::Network,
            priority: Priority::Normal,
            subject: None,
            text: "Байланыс жоқ".into(),
            status,
            owner: None,
            due: Due {
                first_response: now,
                resolution: now,
            },
            created_at: now,
            first_response_at: None,
            resolved_at: None,
            resolution: None,
            escalation: None,
            messages: vec![],
            notes: vec![],
            trace: None,
            paused_at: None,
            problem: None,
        }
    }

    /// A request waiting for billing on escalation `id` (tests change its status as they need).
    fn escalated(id: Uuid) -> Request {
        let mut r = request(Status::Escalated);
        r.escalation = Some(EscalationRef {
            id,
            department: "billing".into(),
            question: None,
        });
        r
    }

    /// Every open status but `new` (not yet taken in) is resolved by its problem, even where no
    /// agent may resolve (the queue, a department); resolved and closed ones are left alone.
    #[test]
    fn a_problem_resolves_from_every_open_status() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1);
        for from in [
            Status::Queued,
            Status::Assigned,
            Status::InProgress,
            Status::WaitingCustomer,
            Status::Escalated,
            Status::Reopened,
        ] {
            let mut r = escalated(Uuid::now_v7());
            r.status = from;
            r.paused_at = Some(now);
            let line = r
                .resolve_by_problem("network1", "P-000001", "Жөнделді", now)
                .unwrap();
            assert_eq!(line.action, "resolved_by_problem");
            assert_eq!((line.from, line.to), (Some(from), Some(Status::Resolved)));
            assert_eq!(line.detail.as_deref(), Some("P-000001: Жөнделді"));
            assert_eq!(r.status, Status::Resolved);
            assert_eq!(r.resolved_at, Some(now));
            assert_eq!(r.first_response_at, Some(now));
            assert_eq!(r.resolution.as_deref(), Some("Жөнделді"));
            assert!(r.paused_at.is_none() && r.escalation.is_none());
            let last = r.messages.last().unwrap();
            assert_eq!(
                (last.kind, last.text.as_str()),
                (MessageKind::Resolution, "Жөнделді")
            );
        }
        for from in [Status::New, Status::Resolved, Status::Closed] {
            let mut r = request(from);
            assert!(
                r.resolve_by_problem("x", "P-1", "t", now).is_err(),
                "{from}"
            );
            assert_eq!(r.status, from);
            assert!(r.messages.is_empty());
        }
    }

    /// The department's question waits on the request until the agent answers it once; a
    /// question about another escalation is only recorded.
    #[test]
    fn information_is_given_once_per_question() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let id = Uuid::now_v7();
        let mut r = escalated(id);
        assert_eq!(
            r.give_escalation_info(id, "aigerim", "x", now),
            Err(InfoError::NotAsked)
        );
        let line = r.escalation_question(id, "billing:billing1", "Which date?", now);
        assert_eq!(line.action, "escalation_info_requested");
        assert_eq!(r.notes.last().unwrap().text, "Which date?");
        assert_eq!(
            r.give_escalation_info(Uuid::now_v7(), "aigerim", "x", now),
            Err(InfoError::NotCurrent)
        );
        let line = r
            .give_escalation_info(id, "aigerim", "12 November", now)
            .unwrap();
        assert_eq!(line.action, "escalation_info_given");
        assert_eq!(line.detail.as_deref(), Some("12 November"));
        assert_eq!(
            r.give_escalation_info(id, "aigerim", "again", now),
            Err(InfoError::NotAsked)
        );
        r.escalation_question(Uuid::now_v7(), "billing:billing1", "other", now);
        assert!(r.escalation.as_ref().unwrap().question.is_none());
    }

    /// The answer says how the department answered; one that comes after the problem resolved
    /// the request is kept as a note without reopening it.
    #[test]
    fn an_answer_shows_its_outcome_and_spares_a_resolved_request() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let id = Uuid::now_v7();
        let mut r = escalated(id);
        let line = r
            .escalation_answered(
                id,
                "billing",
                "b1",
                "Refunded",
                AnswerOutcome::Resolved,
                now,
            )
            .unwrap();
        assert_eq!(line.detail.as_deref(), Some("resolved: Refunded"));
        assert_eq!(r.status, Status::InProgress);
        assert!(r.escalation.is_none());

        let mut r = escalated(id);
        r.resolve_by_problem("b1", "P-1", "Fixed", now).unwrap();
        let line = r
            .escalation_answered(
                id,
                "billing",
                "b1",
                "No refund",
                AnswerOutcome::Decision,
                now,
            )
            .unwrap();
        assert_eq!(line.detail.as_deref(), Some("decision: No refund"));
        assert_eq!((line.from, r.status), (None, Status::Resolved));
        assert_eq!(r.notes.last().unwrap().author, "billing:b1");
    }

    #[test]
    fn number_is_zero_padded() {
        assert_eq!(RequestNumber::format("KM", 123).0, "KM-000123");
        assert_eq!(RequestNumber::format("KM", 1234567).0, "KM-1234567");
    }
}
