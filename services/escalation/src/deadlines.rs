//! Department deadlines: each department's calendar (its own hours, the company's time zone, and
//! the company's holidays unless it works through them) and the watched entries in `esc:deadlines`.
//!
//! An entry is `{escalation id}|{breaches so far}`: after a breach the count grows, so the next
//! deadline of the same escalation is a new member, and a stale claim (the escalation was answered,
//! rerouted or breached meanwhile) is recognised by comparing the count.

use komek_domain::calendar::Calendar;
use komek_domain::escalation::Escalation;
use komek_domain::staff::Department;
use komek_settings::Settings;
use komek_store::{Keys, Op};
use time::OffsetDateTime;

/// The calendar `department` works by; the company's when it has no hours of its own (or, which
/// the admin API prevents, stored hours that do not parse: logged).
pub fn calendar_of(settings: &Settings, department: Option<&Department>) -> Calendar {
    let company = &settings.calendar;
    match department.and_then(|d| d.hours.as_ref()) {
        Some(h) => company
            .with_hours(&h.working_days, &h.open, &h.close, h.holidays)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "department hours do not parse; the company calendar is used");
                company.clone()
            }),
        None => company.clone(),
    }
}

/// When the current tier's time runs out, counted from `from` in the department's hours.
pub fn due(
    settings: &Settings,
    department: Option<&Department>,
    esc: &Escalation,
    from: OffsetDateTime,
) -> OffsetDateTime {
    let minutes = department
        .map(|d| d.deadlines.minutes_for(esc.category))
        .unwrap_or_else(|| komek_domain::staff::DepartmentDeadlines::default().minutes_for(None));
    calendar_of(settings, department).add(from, i64::from(minutes))
}

/// `due` moved by the working minutes between `since` and `now` (time spent waiting for the agent).
pub fn shift(
    settings: &Settings,
    department: Option<&Department>,
    due: OffsetDateTime,
    since: OffsetDateTime,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let cal = calendar_of(settings, department);
    cal.add(due, cal.between(since, now))
}

pub fn member(esc: &Escalation) -> String {
    format!("{}|{}", esc.id, esc.breaches)
}

/// Parses a member back into the escalation id and the breach count it was registered at.
pub fn parse_member(m: &str) -> Option<(uuid::Uuid, u32)> {
    let (id, n) = m.split_once('|')?;
    Some((id.parse().ok()?, n.parse().ok()?))
}

/// Milliseconds since the epoch: the score of the time-ordered sets.
pub fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The ops that make the watched entry match `esc` after a change: watched at its due time while it
/// is active, not paused and has a deadline; not watched otherwise. `before` is the member it was
/// registered under (its breach count before the change).
pub fn sync_ops(keys: &Keys, before: Option<&str>, esc: &Escalation) -> Vec<Op> {
    let now_member = member(esc);
    let mut ops = Vec::new();
    if let Some(b) = before.filter(|b| *b != now_member) {
        ops.push(Op::ZRem {
            key: keys.esc_deadlines(),
            member: b.to_owned(),
        });
    }
    match esc.due_at {
        Some(due) if esc.is_active() && esc.paused_at.is_none() => ops.push(Op::ZAdd {
            key: keys.esc_deadlines(),
            member: now_member,
            score: ms(due),
        }),
        _ => ops.push(Op::ZRem {
            key: keys.esc_deadlines(),
            member: now_member,
        }),
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A round-the-clock department that works through holidays keeps counting on one; one that
    /// observes them (the default) skips the day.
    #[test]
    fn holidays_are_days_off_unless_the_department_works_them() {
        use komek_domain::staff::{Department, WorkingHours};
        use time::macros::datetime;
        let mut settings = komek_testkit::test_settings("deadlines-holidays");
        settings.calendar = Calendar::new(
            "Asia/Almaty",
            &[1, 2, 3, 4, 5],
            "09:00",
            "18:00",
            &["2026-12-16".into()],
        )
        .unwrap();
        let department = |holidays| Department {
            code: "network".into(),
            name: "Network".into(),
            hours: Some(WorkingHours {
                working_days: vec![1, 2, 3, 4, 5, 6, 7],
                open: "00:00".into(),
                close: "24:00".into(),
                holidays,
            }),
            deadlines: Default::default(),
        };
        // 23:00 in Almaty (UTC+5) on the eve of the holiday, plus two hours.
        let start = datetime!(2026-12-15 18:00 UTC);
        let add = |d: &Department| calendar_of(&settings, Some(d)).add(start, 120);
        assert_eq!(add(&department(false)), datetime!(2026-12-15 20:00 UTC));
        assert_eq!(add(&department(true)), datetime!(2026-12-16 20:00 UTC));
    }

    #[test]
    fn members_round_trip() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(parse_member(&format!("{id}|3")), Some((id, 3)));
        assert_eq!(parse_member("nope"), None);
    }
}
