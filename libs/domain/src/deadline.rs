//! Deadline policies: how long the first response and the resolution may take, by category,
//! priority and channel, counted in business hours (or around the clock for the priorities that
//! say so), and when a warning is due before each deadline.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::calendar::{Calendar, always_open};
use crate::{Category, Channel, Due, Priority};

/// Minutes for each priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerPriority {
    pub low: i64,
    pub normal: i64,
    pub high: i64,
    pub urgent: i64,
}

impl PerPriority {
    pub fn get(&self, p: Priority) -> i64 {
        match p {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }
}

/// A rule that replaces the defaults for the requests it matches (absent fields match anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub channel: Option<Channel>,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinePolicy {
    /// A warning fires when this share (percent) of the allowed time has passed.
    pub warn_at_percent: i64,
    pub first_response_minutes: PerPriority,
    pub resolution_minutes: PerPriority,
    /// Priorities whose clock runs around the clock instead of in business hours.
    #[serde(default)]
    pub around_the_clock: Vec<Priority>,
    /// First match wins.
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// When the warnings before each deadline fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Warnings {
    #[serde(with = "time::serde::rfc3339")]
    pub first_response: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub resolution: OffsetDateTime,
}

impl DeadlinePolicy {
    /// Allowed (first response, resolution) minutes for a request.
    pub fn minutes(&self, category: Category, priority: Priority, channel: Channel) -> (i64, i64) {
        self.overrides
            .iter()
            .find(|o| {
                o.category.is_none_or(|c| c == category)
                    && o.priority.is_none_or(|p| p == priority)
                    && o.channel.is_none_or(|c| c == channel)
            })
            .map(|o| (o.first_response_minutes, o.resolution_minutes))
            .unwrap_or((
                self.first_response_minutes.get(priority),
                self.resolution_minutes.get(priority),
            ))
    }

    /// The calendar this priority's clock runs on.
    pub fn calendar_for<'a>(
        &self,
        business: &'a Calendar,
        priority: Priority,
    ) -> std::borrow::Cow<'a, Calendar> {
        if self.around_the_clock.contains(&priority) {
            std::borrow::Cow::Owned(always_open())
        } else {
            std::borrow::Cow::Borrowed(business)
        }
    }

    /// Deadlines and warning moments for a request accepted at `now`.
    pub fn due(
        &self,
        business: &Calendar,
        category: Category,
        priority: Priority,
        channel: Channel,
        now: OffsetDateTime,
    ) -> (Due, Warnings) {
        let cal = self.calendar_for(business, priority);
        let (fr, res) = self.minutes(category, priority, channel);
        let due = Due {
            first_response: cal.add(now, fr),
            resolution: cal.add(now, res),
        };
        let warn = Warnings {
            // Saturating: a policy's minutes are only checked positive, and may be absurdly large.
            first_response: cal.add(now, fr.saturating_mul(self.warn_at_percent) / 100),
            resolution: cal.add(now, res.saturating_mul(self.warn_at_percent) / 100),
        };
        (due, warn)
    }

    /// The warning moments for deadlines already set: `warn_at_percent` of the working time
    /// between `start` and each deadline.
    pub fn warnings_for(
        &self,
        business: &Calendar,
        priority: Priority,
        start: OffsetDateTime,
        due: &Due,
    ) -> Warnings {
        let cal = self.calendar_for(business, priority);
        let at = |deadline| {
            cal.add(
                start,
                cal.between(start, deadline)
                    .saturating_mul(self.warn_at_percent)
                    / 100,
            )
        };
        Warnings {
            first_response: at(due.first_response),
            resolution: at(due.resolution),
        }
    }

    /// A new resolution deadline counted from `now` (a reopened request gets its full time again).
    pub fn resolution_from(
        &self,
        business: &Calendar,
        r: &crate::Request,
        now: OffsetDateTime,
    ) -> OffsetDateTime {
        let (_, res) = self.minutes(r.category, r.priority, r.channel);
        self.calendar_for(business, r.priority).add(now, res)
    }

    /// Checks a policy; one line per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=99).contains(&self.warn_at_percent) {
            out.push("deadlines.warn_at_percent: 1 to 99".to_owned());
        }
        for (name, p) in [
            ("first_response_minutes", self.first_response_minutes),
            ("resolution_minutes", self.resolution_minutes),
        ] {
            if [p.low, p.normal, p.high, p.urgent].iter().any(|m| *m <= 0) {
                out.push(format!(
                    "deadlines.{name}: every priority needs a positive number of minutes"
                ));
            }
        }
        for (i, o) in self.overrides.iter().enumerate() {
            if o.first_response_minutes <= 0 || o.resolution_minutes < o.first_response_minutes {
                out.push(format!(
                    "deadlines.overrides[{i}]: first_response_minutes positive and resolution_minutes at least as long"
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn policy() -> DeadlinePolicy {
        DeadlinePolicy {
            warn_at_percent: 80,
            first_response_minutes: PerPriority {
                low: 480,
                normal: 240,
                high: 60,
                urgent: 15,
            },
            resolution_minutes: PerPriority {
                low: 4320,
                normal: 1440,
                high: 480,
                urgent: 120,
            },
            around_the_clock: vec![Priority::Urgent],
            overrides: vec![Override {
                category: Some(Category::Network),
                priority: None,
                channel: Some(Channel::CallCenter),
                first_response_minutes: 30,
                resolution_minutes: 240,
            }],
        }
    }

    fn cal() -> Calendar {
        Calendar::new("Asia/Almaty", &[1, 2, 3, 4, 5], "09:00", "18:00", &[]).unwrap()
    }

    #[test]
    fn overrides_win_in_order() {
        let p = policy();
        assert_eq!(
            p.minutes(Category::Network, Priority::Low, Channel::CallCenter),
            (30, 240)
        );
        assert_eq!(
            p.minutes(Category::Network, Priority::Low, Channel::Web),
            (480, 4320)
        );
    }

    #[test]
    fn business_hours_and_warnings() {
        // Friday 17:00 Almaty, normal priority: 240 working minutes -> Monday 12:00; warning at 80% (192 min) -> Monday 11:12.
        let (due, warn) = policy().due(
            &cal(),
            Category::Billing,
            Priority::Normal,
            Channel::Web,
            datetime!(2026-11-27 12:00 UTC),
        );
        assert_eq!(due.first_response, datetime!(2026-11-30 07:00 UTC));
        assert_eq!(warn.first_response, datetime!(2026-11-30 06:12 UTC));
    }

    #[test]
    fn urgent_runs_around_the_clock() {
        let (due, _) = policy().due(
            &cal(),
            Category::Billing,
            Priority::Urgent,
            Channel::Web,
            datetime!(2026-11-28 20:00 UTC),
        );
        assert_eq!(due.first_response, datetime!(2026-11-28 20:15 UTC));
        assert_eq!(due.resolution, datetime!(2026-11-28 22:00 UTC));
    }

    #[test]
    fn bad_policies_are_named() {
        let mut p = policy();
        p.warn_at_percent = 100;
        p.overrides[0].resolution_minutes = 10;
        let problems = p.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("warn_at_percent"));
        assert!(problems[1].contains("overrides[0]"));
    }
}
