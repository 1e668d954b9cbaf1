//! The request aggregate and the newtypes it is made of.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

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
        let ok = s.len() <= 254
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
    pub department: String,
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

    /// A department's answer comes back: the request returns to its owner with the answer as a note.
    pub fn escalation_answered(
        &mut self,
        escalation_id: Uuid,
        department: &str,
        by: &str,
        text: &str,
        now: OffsetDateTime,
    ) -> Result<Change, TransitionError> {
        if self.escalation.as_ref().map(|e| e.id) != Some(escalation_id) {
            return Err(TransitionError {
                from: self.status,
                to: Status::InProgress,
            });
        }
        let author = format!("{department}:{by}");
        let change = self.move_to(
            Status::InProgress,
            &author,
            "escalation_answered",
            Some(text.to_owned()),
            now,
        )?;
        self.notes.push(Note {
            author,
            text: text.to_owned(),
            at: now,
        });
        self.escalation = None;
        Ok(change)
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

    #[test]
    fn number_is_zero_padded() {
        assert_eq!(RequestNumber::format("KM", 123).0, "KM-000123");
        assert_eq!(RequestNumber::format("KM", 1234567).0, "KM-1234567");
    }
}
