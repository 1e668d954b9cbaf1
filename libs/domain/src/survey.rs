//! A feedback survey sent after a request is resolved: one answer, through an unguessable, expiring link.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Lang, RequestId, RequestNumber};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SurveyAnswer {
    pub csat: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    pub id: Uuid,
    pub request_id: RequestId,
    pub number: RequestNumber,
    pub language: Lang,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<SurveyAnswer>,
    /// The customer journey's W3C traceparent (see `Request::trace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SurveyError {
    #[error("this survey is already answered")]
    AlreadyAnswered,
    #[error("this survey has expired")]
    Expired,
}

impl Survey {
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }

    pub fn answer(
        &mut self,
        csat: u8,
        comment: Option<String>,
        now: OffsetDateTime,
    ) -> Result<(), SurveyError> {
        if !self.is_open(now) {
            return Err(SurveyError::Expired);
        }
        if self.answer.is_some() {
            return Err(SurveyError::AlreadyAnswered);
        }
        self.answer = Some(SurveyAnswer {
            csat,
            comment,
            at: now,
        });
        Ok(())
    }
}
