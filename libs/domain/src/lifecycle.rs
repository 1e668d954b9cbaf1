//! The request lifecycle as an explicit state machine.
//!
//! ```text
//! new -> queued -> assigned -> in_progress <-> waiting_customer
//!                     |            |   ^
//!                     |            v   |
//!                     +-------> escalated (answer returns it to the agent)
//! assigned | in_progress | waiting_customer | reopened -> resolved -> closed
//!                                                          resolved -> reopened
//! reopened -> in_progress | escalated | queued
//! assigned -> queued (handed back)
//! queued | assigned | in_progress | waiting_customer | escalated | reopened -> resolved
//!     (only by a problem record's resolution: see [`Status::resolvable_by_problem`])
//! ```

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Queued,
    Assigned,
    InProgress,
    WaitingCustomer,
    Escalated,
    Resolved,
    Closed,
    Reopened,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a request that is {from} cannot become {to}")]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

impl Status {
    /// Every status, in the order of the enum (the lifecycle's order).
    pub const ALL: [Status; 9] = [
        Self::New,
        Self::Queued,
        Self::Assigned,
        Self::InProgress,
        Self::WaitingCustomer,
        Self::Escalated,
        Self::Resolved,
        Self::Closed,
        Self::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Queued => "queued",
            Status::Assigned => "assigned",
            Status::InProgress => "in_progress",
            Status::WaitingCustomer => "waiting_customer",
            Status::Escalated => "escalated",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Reopened => "reopened",
        }
    }

    /// Whether the lifecycle allows going from `self` to `to`.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (New, Queued)
                | (Queued, Assigned)
                | (Assigned, Queued)
                | (
                    Assigned | Reopened | WaitingCustomer | Escalated,
                    InProgress
                )
                | (Assigned | InProgress, WaitingCustomer)
                | (
                    Assigned | InProgress | WaitingCustomer | Reopened,
                    Escalated
                )
                | (Assigned | InProgress | WaitingCustomer | Reopened, Resolved)
                | (Resolved, Closed | Reopened)
                | (Reopened, Queued)
        )
    }

    /// Whether a problem record's resolution may end a request in this state. It speaks for the
    /// agent and the department at once, so it also ends requests still waiting in the queue or
    /// at a department, which an agent's resolve may not.
    pub fn resolvable_by_problem(self) -> bool {
        use Status::*;
        matches!(
            self,
            Queued | Assigned | InProgress | WaitingCustomer | Escalated | Reopened
        )
    }

    /// The checked transition: `Ok(to)` when allowed, an error naming both states otherwise.
    pub fn transition(self, to: Status) -> Result<Status, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// Still needs work from someone (deadlines run, survey not yet due).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    /// The journey of the end-to-end test is legal step by step.
    #[test]
    fn main_journey_is_legal() {
        let path = [
            New, Queued, Assigned, InProgress, Escalated, InProgress, Resolved, Reopened,
            InProgress, Resolved, Closed,
        ];
        for w in path.windows(2) {
            assert!(w[0].transition(w[1]).is_ok(), "{} -> {}", w[0], w[1]);
        }
    }

    #[test]
    fn waiting_for_customer_goes_back_and_forth() {
        assert!(InProgress.can_become(WaitingCustomer));
        assert!(WaitingCustomer.can_become(InProgress));
    }

    #[test]
    fn illegal_transitions_are_errors() {
        for (from, to) in [
            (New, Resolved),
            (Queued, Resolved),
            (Closed, Reopened),
            (Resolved, Escalated),
            (Escalated, Resolved),
            (New, Assigned),
        ] {
            let err = from.transition(to).unwrap_err();
            assert_eq!((err.from, err.to), (from, to));
            assert!(err.to_string().contains(from.as_str()));
        }
    }

    #[test]
    fn closed_is_terminal_and_nothing_returns_to_new() {
        for s in Status::ALL {
            assert!(!Closed.can_become(s));
            assert!(!s.can_become(New));
            assert!(!s.can_become(s), "{s} -> itself");
        }
    }

    #[test]
    fn serde_names_match_as_str() {
        for s in Status::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
