//! An escalation: a request handed to another department, waiting for its answer.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{RequestId, RequestNumber};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscalationStatus {
    Open,
    Answered,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Escalation {
    pub id: Uuid,
    pub request_id: RequestId,
    pub number: RequestNumber,
    pub department: String,
    pub reason: String,
    /// The agent who escalated and gets the answer back.
    pub agent: String,
    pub status: EscalationStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub answered_at: Option<OffsetDateTime>,
    /// The customer journey's W3C traceparent (see `Request::trace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this escalation is already answered")]
pub struct AlreadyAnswered;

impl Escalation {
    pub fn answer(
        &mut self,
        by: &str,
        text: &str,
        now: OffsetDateTime,
    ) -> Result<(), AlreadyAnswered> {
        if self.status != EscalationStatus::Open {
            return Err(AlreadyAnswered);
        }
        self.status = EscalationStatus::Answered;
        self.answer = Some(text.to_owned());
        self.answered_by = Some(by.to_owned());
        self.answered_at = Some(now);
        Ok(())
    }
}
