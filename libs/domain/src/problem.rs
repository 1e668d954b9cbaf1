//! A problem record: one root cause ("no coverage in district X since 10:00") shared by many
//! requests. The department works the problem once; resolving it resolves every linked open request
//! with one message, which each customer gets on their own channel in their own language.
//!
//! ```text
//! candidate (opened by spike detection) -> open (confirmed) | dismissed
//! open -> resolved
//! ```

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Category, Lang};

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Messages {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemError {
    #[error("a problem that is {status} cannot be {action}")]
    State {
        status: &'static str,
        action: &'static str,
    },
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
}
