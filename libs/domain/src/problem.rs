//! A problem record: one root cause ("no coverage in district X since 10:00") shared by many
//! requests. The department works the problem once; resolving it resolves every linked open request
//! with one message, which each customer gets on their own channel in their own language.
//!
//! ```text
//! candidate (opened by spike detection) -> open (confirmed) | dismissed
//! open -> resolved                       (a supervisor's resolution: sent at once)
//! open -> open + proposal -> resolved    (a department's text waits for a supervisor's approval)
//! ```
//!
//! Resolving writes to every linked customer, so what a department may reach is bounded
//! ([`department_reaches`]) and the text it writes reaches customers only once a supervisor has
//! approved it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Category, Lang, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemStatus {
    /// Opened by spike detection; a supervisor or the department confirms or dismisses it.
    Candidate,
    Open,
    Resolved,
    Dismissed,
}

impl ProblemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemStatus::Candidate => "candidate",
            ProblemStatus::Open => "open",
            ProblemStatus::Resolved => "resolved",
            ProblemStatus::Dismissed => "dismissed",
        }
    }

    /// Requests may still be linked to it.
    pub fn is_open(self) -> bool {
        matches!(self, ProblemStatus::Candidate | ProblemStatus::Open)
    }
}

/// The resolution message in each language; a linked customer gets the text of their language.
/// Read through a map: serde's derived struct reader would also take an array (`[null, null]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(
    deny_unknown_fields,
    try_from = "std::collections::BTreeMap<String, Option<String>>"
)]
pub struct Messages {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "text-or-blank", max_length = 10000)]
    pub kk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "text-or-blank", max_length = 10000)]
    pub ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "text-or-blank", max_length = 10000)]
    pub en: Option<String>,
}

impl TryFrom<std::collections::BTreeMap<String, Option<String>>> for Messages {
    type Error = String;

    fn try_from(mut m: std::collections::BTreeMap<String, Option<String>>) -> Result<Self, String> {
        let out = Messages {
            kk: m.remove("kk").flatten(),
            ru: m.remove("ru").flatten(),
            en: m.remove("en").flatten(),
        };
        match m.keys().next() {
            Some(k) => Err(format!(
                "unknown field `{k}`, expected one of `kk`, `ru`, `en`"
            )),
            None => Ok(out),
        }
    }
}

impl Messages {
    pub fn get(&self, lang: Lang) -> Option<&str> {
        match lang {
            Lang::Kk => self.kk.as_deref(),
            Lang::Ru => self.ru.as_deref(),
            Lang::En => self.en.as_deref(),
        }
        .map(str::trim)
        .filter(|t| !t.is_empty())
    }
}

/// What spike detection saw when it opened a candidate problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpikeInfo {
    pub window_minutes: u32,
    /// New requests of the category (and region) in the window that fired.
    pub count: u64,
    /// The usual count per window (mean of the baseline windows) and its standard deviation.
    pub baseline_mean: f64,
    pub baseline_sd: f64,
    /// The count the window had to reach.
    pub threshold: f64,
}

/// A resolution a department proposed: the text is sent to the linked customers only when a
/// supervisor approves it (naming its `id`, so a text replaced meanwhile is not the one approved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Proposal {
    pub id: Uuid,
    pub messages: Messages,
    /// The department staff member who wrote it.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    pub id: Uuid,
    /// Short human reference, `P-000012`.
    pub number: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The department that works it; none until one takes it (a spike candidate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub status: ProblemStatus,
    /// A login, or `system:spike`.
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Requests linked so far: the size of `problem:{id}:requests`, counted when the problem is
    /// read (links do not rewrite the problem).
    #[serde(default)]
    pub linked: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike: Option<SpikeInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Messages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub resolved_at: Option<OffsetDateTime>,
    /// A department's resolution awaiting a supervisor's approval (kept after the approval, as
    /// the record of who wrote the text; `resolved_by` is then the approving supervisor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemError {
    #[error("a problem that is {status} cannot be {action}")]
    State {
        status: &'static str,
        action: &'static str,
    },
    #[error("no resolution of this problem awaits approval")]
    NoProposal,
    #[error("the proposed resolution was replaced since it was read: read it again")]
    ProposalReplaced,
}

/// Whether department `department`'s staff may link request `r` to a problem and see it there:
/// the request waits for an escalation that department holds, or its category is one the
/// department works ([`crate::spike::department_of`], the same mapping that gives problems and
/// spike candidates their department). Everything else needs a supervisor.
pub fn department_reaches(department: &str, r: &Request) -> bool {
    r.escalation
        .as_ref()
        .is_some_and(|e| e.department == department)
        || crate::spike::department_of(r.category) == Some(department)
}

impl Problem {
    fn refuse(&self, action: &'static str) -> ProblemError {
        ProblemError::State {
            status: self.status.as_str(),
            action,
        }
    }

    pub fn confirm(&mut self, department: Option<String>) -> Result<(), ProblemError> {
        if self.status != ProblemStatus::Candidate {
            return Err(self.refuse("confirmed"));
        }
        self.status = ProblemStatus::Open;
        if department.is_some() {
            self.department = department;
        }
        Ok(())
    }

    pub fn dismiss(&mut self) -> Result<(), ProblemError> {
        if self.status != ProblemStatus::Candidate {
            return Err(self.refuse("dismissed"));
        }
        self.status = ProblemStatus::Dismissed;
        Ok(())
    }

    pub fn resolve(
        &mut self,
        by: &str,
        messages: Messages,
        now: OffsetDateTime,
    ) -> Result<(), ProblemError> {
        if !self.status.is_open() {
            return Err(self.refuse("resolved"));
        }
        self.status = ProblemStatus::Resolved;
        self.resolution = Some(messages);
        self.resolved_by = Some(by.to_owned());
        self.resolved_at = Some(now);
        Ok(())
    }

    /// A department's resolution text, kept until a supervisor approves it; a new proposal
    /// replaces the one before (which can then no longer be approved).
    pub fn propose(
        &mut self,
        id: Uuid,
        by: &str,
        messages: Messages,
        now: OffsetDateTime,
    ) -> Result<(), ProblemError> {
        if !self.status.is_open() {
            return Err(self.refuse("resolved"));
        }
        self.proposal = Some(Proposal {
            id,
            messages,
            by: by.to_owned(),
            at: now,
        });
        Ok(())
    }

    /// A supervisor approves proposal `id`: the problem is resolved with its text. Returns the
    /// text, which is what the customers are sent.
    pub fn approve(
        &mut self,
        id: Uuid,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Messages, ProblemError> {
        if !self.status.is_open() {
            return Err(self.refuse("resolved"));
        }
        let messages = match &self.proposal {
            None => return Err(ProblemError::NoProposal),
            Some(p) if p.id != id => return Err(ProblemError::ProposalReplaced),
            Some(p) => p.messages.clone(),
        };
        self.resolve(by, messages.clone(), now)?;
        Ok(messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_by_language_skip_blank() {
        let m = Messages {
            kk: Some("Жөнделді".into()),
            ru: Some("  ".into()),
            en: None,
        };
        assert_eq!(m.get(Lang::Kk), Some("Жөнделді"));
        assert_eq!(m.get(Lang::Ru), None);
        assert_eq!(m.get(Lang::En), None);
    }

    #[test]
    fn candidate_is_confirmed_or_dismissed_then_resolved_once() {
        let mut p = Problem {
            id: Uuid::now_v7(),
            number: "P-000001".into(),
            title: "no coverage".into(),
            description: String::new(),
            department: None,
            category: Some(Category::Network),
            region: Some("Almaty".into()),
            status: ProblemStatus::Candidate,
            created_by: "system:spike".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            linked: 0,
            spike: None,
            resolution: None,
            resolved_by: None,
            resolved_at: None,
            proposal: None,
        };
        let mut d = p.clone();
        d.dismiss().unwrap();
        assert!(
            d.resolve("x", Messages::default(), OffsetDateTime::UNIX_EPOCH)
                .is_err()
        );
        p.confirm(Some("network".into())).unwrap();
        assert!(p.confirm(None).is_err());
        p.resolve("network1", Messages::default(), OffsetDateTime::UNIX_EPOCH)
            .unwrap();
        assert!(
            p.resolve("x", Messages::default(), OffsetDateTime::UNIX_EPOCH)
                .is_err()
        );
    }

    fn open_problem() -> Problem {
        Problem {
            id: Uuid::now_v7(),
            number: "P-000002".into(),
            title: "no coverage".into(),
            description: String::new(),
            department: Some("network".into()),
            category: Some(Category::Network),
            region: None,
            status: ProblemStatus::Open,
            created_by: "network1".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            linked: 0,
            spike: None,
            resolution: None,
            resolved_by: None,
            resolved_at: None,
            proposal: None,
        }
    }

    #[test]
    fn a_proposal_resolves_only_when_the_one_read_is_approved() {
        let mut p = open_problem();
        let t = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            p.approve(Uuid::nil(), "boss", t),
            Err(ProblemError::NoProposal)
        );
        let text = |s: &str| Messages {
            ru: Some(s.into()),
            ..Messages::default()
        };
        let first = Uuid::now_v7();
        p.propose(first, "network1", text("first"), t).unwrap();
        assert_eq!(p.status, ProblemStatus::Open, "a proposal sends nothing");
        let second = Uuid::now_v7();
        p.propose(second, "network2", text("second"), t).unwrap();
        assert_eq!(
            p.approve(first, "boss", t),
            Err(ProblemError::ProposalReplaced)
        );
        assert_eq!(p.approve(second, "boss", t), Ok(text("second")));
        assert_eq!(p.status, ProblemStatus::Resolved);
        assert_eq!(p.resolved_by.as_deref(), Some("boss"));
        assert_eq!(p.proposal.as_ref().map(|x| x.by.as_str()), Some("network2"));
        assert!(p.propose(Uuid::now_v7(), "network1", text("x"), t).is_err());
    }

    #[test]
    fn a_department_reaches_its_categories_and_its_escalations() {
        use crate::model::{Customer, Due, EscalationRef, Priority, RequestId, RequestNumber};
        use crate::{Channel, Status};
        let r = |category: Category, escalated_to: Option<&str>| {
            let t = OffsetDateTime::UNIX_EPOCH;
            let mut r = Request {
                id: RequestId::new(),
                number: RequestNumber::format("KM", 1),
                version: 1,
                channel: Channel::Web,
                customer: Customer {
                    msisdn: None,
                    email: None,
                    name: None,
                },
                language: Lang::Ru,
                category,
                priority: Priority::Normal,
                subject: None,
                text: "x".into(),
                status: Status::Assigned,
                owner: None,
                due: Due {
                    first_response: t,
                    resolution: t,
                },
                created_at: t,
                first_response_at: None,
                resolved_at: None,
                resolution: None,
                escalation: None,
                messages: vec![],
                notes: vec![],
                trace: None,
                paused_at: None,
                problem: None,
            };
            r.category = category;
            r.escalation = escalated_to.map(|d| EscalationRef {
                id: Uuid::nil(),
                department: d.into(),
                question: None,
            });
            r
        };
        assert!(department_reaches("network", &r(Category::Internet, None)));
        assert!(!department_reaches("network", &r(Category::Billing, None)));
        assert!(department_reaches(
            "network",
            &r(Category::Billing, Some("network"))
        ));
        assert!(!department_reaches(
            "billing",
            &r(Category::Other, Some("network"))
        ));
    }
}
