//! Business hours: the working calendar deadlines are counted in.
//!
//! A calendar has a time zone (Asia/Almaty by default; the tz database is built into the binary),
//! working weekdays, daily opening hours and holidays. [`Calendar::add`] moves a moment forward by a
//! number of *working* minutes; [`Calendar::between`] counts the working minutes between two
//! moments (used to stop the clock while a request waits for the customer).

use std::collections::BTreeSet;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown time zone {0}")]
    Zone(String),
    #[error("bad time {0} (use HH:MM)")]
    Time(String),
    #[error("bad date {0} (use YYYY-MM-DD)")]
    Date(String),
    #[error("opening time must be before closing time")]
    Hours,
    #[error("no working day in the week")]
    NoDays,
}

#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
    /// Monday = 0 ... Sunday = 6.
    days: [bool; 7],
    open: Time,
    close: Time,
    holidays: BTreeSet<Date>,
}

/// A calendar that is always open: 24/7 deadlines (e.g. urgent requests).
pub fn always_open() -> Calendar {
    Calendar {
        tz: TimeZone::UTC,
        days: [true; 7],
        open: Time::midnight(),
        close: Time::MAX,
        holidays: BTreeSet::new(),
    }
}

fn to_ts(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_nanosecond(t.unix_timestamp_nanos()).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn from_ts(t: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Calendar {
    /// `days` are weekday numbers, Monday = 1 ... Sunday = 7; `open`/`close` are "HH:MM" (`close`
    /// may be "24:00"); holidays "YYYY-MM-DD".
    pub fn new(
        zone: &str,
        days: &[u8],
        open: &str,
        close: &str,
        holidays: &[String],
    ) -> Result<Self, CalendarError> {
        let tz = TimeZone::get(zone).map_err(|_| CalendarError::Zone(zone.to_owned()))?;
        Self::from_parts(tz, days, open, close, holidays)
    }

    fn from_parts(
        tz: TimeZone,
        days: &[u8],
        open: &str,
        close: &str,
        holidays: &[String],
    ) -> Result<Self, CalendarError> {
        // "24:00" closes at the end of the day, so "00:00"-"24:00" is round the clock.
        let parse_time = |s: &str| match s {
            "24:00" => Ok(Time::MAX),
            _ => s
                .parse::<Time>()
                .map_err(|_| CalendarError::Time(s.to_owned())),
        };
        let (open, close) = (parse_time(open)?, parse_time(close)?);
        if open >= close {
            return Err(CalendarError::Hours);
        }
        let mut set = [false; 7];
        for d in days {
            if (1..=7).contains(d) {
                set[usize::from(*d - 1)] = true;
            }
        }
        if !set.iter().any(|d| *d) {
            return Err(CalendarError::NoDays);
        }
        let holidays = holidays
            .iter()
            .map(|h| {
                h.parse::<Date>()
                    .map_err(|_| CalendarError::Date(h.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            tz,
            days: set,
            open,
            close,
            holidays,
        })
    }

    /// A calendar in this one's time zone with its own working days and hours (as in [`Self::new`]),
    /// keeping this one's holidays when `holidays`, else none: a department's calendar, derived
    /// from the company's.
    pub fn with_hours(
        &self,
        days: &[u8],
        open: &str,
        close: &str,
        holidays: bool,
    ) -> Result<Self, CalendarError> {
        let mut c = Self::from_parts(self.tz.clone(), days, open, close, &[])?;
        if holidays {
            c.holidays = self.holidays.clone();
        }
        Ok(c)
    }

    /// The IANA name of the time zone (e.g. `Asia/Almaty`).
    pub fn time_zone(&self) -> &str {
        self.tz.iana_name().unwrap_or("UTC")
    }

    fn is_working(&self, d: Date) -> bool {
        let i = usize::try_from(d.weekday().to_monday_zero_offset()).unwrap_or(0);
        self.days[i] && !self.holidays.contains(&d)
    }

    /// The working window of day `d` as instants, or none on a day off.
    fn window(&self, d: Date) -> Option<(Timestamp, Timestamp)> {
        if !self.is_working(d) {
            return None;
        }
        let at = |t: Time| {
            d.to_datetime(t)
                .to_zoned(self.tz.clone())
                .ok()
                .map(|z| z.timestamp())
        };
        let close = if self.close == Time::MAX {
            d.tomorrow()
                .ok()?
                .to_zoned(self.tz.clone())
                .ok()?
                .timestamp()
        } else {
            at(self.close)?
        };
        Some((at(self.open)?, close))
    }

    fn local_date(&self, t: Timestamp) -> Date {
        t.to_zoned(self.tz.clone()).date()
    }

    /// `start` moved forward by `minutes` working minutes.
    pub fn add(&self, start: OffsetDateTime, minutes: i64) -> OffsetDateTime {
        // Clamped: `from_mins` panics past i64 seconds, and minutes come from settings and the admin API.
        let mut left = jiff::SignedDuration::from_mins(minutes.clamp(0, i64::MAX / 60));
        let mut now = to_ts(start);
        let mut day = self.local_date(now);
        // Ten years of days off in a row would mean a broken calendar; stop there.
        for _ in 0..3660 {
            if let Some((open, close)) = self.window(day) {
                let from = now.max(open);
                if from < close {
                    let room = close.duration_since(from);
                    if left <= room {
                        return from_ts(from.checked_add(left).unwrap_or(close));
                    }
                    left -= room;
                }
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
            now = now.max(
                next.to_zoned(self.tz.clone())
                    .map(|z: Zoned| z.timestamp())
                    .unwrap_or(now),
            );
        }
        from_ts(now)
    }

    /// Working minutes between `a` and `b` (0 when `b` is not after `a`).
    pub fn between(&self, a: OffsetDateTime, b: OffsetDateTime) -> i64 {
        let (a, b) = (to_ts(a), to_ts(b));
        if b <= a {
            return 0;
        }
        let mut total = jiff::SignedDuration::ZERO;
        let mut day = self.local_date(a);
        let last = self.local_date(b);
        while day <= last {
            if let Some((open, close)) = self.window(day) {
                let (from, to) = (a.max(open), b.min(close));
                if from < to {
                    total += to.duration_since(from);
                }
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        total.as_mins()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn almaty() -> Calendar {
        // Mon-Fri 09:00-18:00 in Almaty (UTC+5), with 16 December (Independence Day) off.
        Calendar::new(
            "Asia/Almaty",
            &[1, 2, 3, 4, 5],
            "09:00",
            "18:00",
            &["2026-12-16".into()],
        )
        .unwrap()
    }

    #[test]
    fn inside_one_day() {
        // Thursday 26 Nov 2026, 10:00 local = 05:00 UTC; four working hours later is 14:00 local.
        let c = almaty();
        assert_eq!(
            c.add(datetime!(2026-11-26 05:00 UTC), 240),
            datetime!(2026-11-26 09:00 UTC)
        );
    }

    #[test]
    fn after_hours_starts_next_morning_and_skips_the_weekend() {
        let c = almaty();
        // Friday 27 Nov, 17:00 local: one hour left on Friday, the rest from Monday 09:00.
        assert_eq!(
            c.add(datetime!(2026-11-27 12:00 UTC), 120),
            datetime!(2026-11-30 05:00 UTC)
        );
        // Saturday night: the clock starts on Monday at 09:00 local (04:00 UTC).
        assert_eq!(
            c.add(datetime!(2026-11-28 18:00 UTC), 30),
            datetime!(2026-11-30 04:30 UTC)
        );
    }

    #[test]
    fn holidays_are_skipped() {
        let c = almaty();
        // Tuesday 15 Dec 17:30 local, 60 minutes: 30 on Tuesday, 16 Dec is a holiday, 30 on Thursday.
        assert_eq!(
            c.add(datetime!(2026-12-15 12:30 UTC), 60),
            datetime!(2026-12-17 04:30 UTC)
        );
    }

    #[test]
    fn counting_working_minutes_between() {
        let c = almaty();
        // Friday 17:00 local to Monday 10:00 local: 60 + 60 minutes.
        assert_eq!(
            c.between(
                datetime!(2026-11-27 12:00 UTC),
                datetime!(2026-11-30 05:00 UTC)
            ),
            120
        );
        assert_eq!(
            c.between(
                datetime!(2026-11-30 05:00 UTC),
                datetime!(2026-11-27 12:00 UTC)
            ),
            0
        );
        // A whole week: five days of nine hours.
        assert_eq!(
            c.between(
                datetime!(2026-11-23 00:00 UTC),
                datetime!(2026-11-30 00:00 UTC)
            ),
            5 * 9 * 60
        );
    }

    #[test]
    fn add_and_between_agree() {
        let c = almaty();
        let start = datetime!(2026-11-26 03:17 UTC);
        for m in [1, 59, 540, 541, 2000, 10_000] {
            assert_eq!(c.between(start, c.add(start, m)), m, "{m} minutes");
        }
    }

    #[test]
    fn a_department_calendar_keeps_the_zone_and_maybe_the_holidays() {
        let company = almaty();
        assert_eq!(company.time_zone(), "Asia/Almaty");
        let round = |h| company.with_hours(&[1, 2, 3, 4, 5, 6, 7], "00:00", "24:00", h);
        // 23:00 in Almaty on the eve of the holiday, plus two hours.
        let start = datetime!(2026-12-15 18:00 UTC);
        assert_eq!(
            round(false).unwrap().add(start, 120),
            datetime!(2026-12-15 20:00 UTC)
        );
        assert_eq!(
            round(true).unwrap().add(start, 120),
            datetime!(2026-12-16 20:00 UTC)
        );
        assert_eq!(
            company
                .with_hours(&[1], "10:00", "09:00", true)
                .unwrap_err(),
            CalendarError::Hours
        );
    }

    #[test]
    fn always_open_is_wall_clock() {
        let c = always_open();
        assert_eq!(
            c.add(datetime!(2026-11-28 23:30 UTC), 90),
            datetime!(2026-11-29 01:00 UTC)
        );
        assert_eq!(
            c.between(
                datetime!(2026-11-28 23:30 UTC),
                datetime!(2026-11-29 01:00 UTC)
            ),
            90
        );
    }

    #[test]
    fn bad_calendars_are_refused() {
        assert_eq!(
            Calendar::new("Mars/Olympus", &[1], "09:00", "18:00", &[]).unwrap_err(),
            CalendarError::Zone("Mars/Olympus".into())
        );
        assert_eq!(
            Calendar::new("UTC", &[1], "18:00", "09:00", &[]).unwrap_err(),
            CalendarError::Hours
        );
        assert_eq!(
            Calendar::new("UTC", &[], "09:00", "18:00", &[]).unwrap_err(),
            CalendarError::NoDays
        );
        assert!(matches!(
            Calendar::new("UTC", &[1], "9h", "18:00", &[]).unwrap_err(),
            CalendarError::Time(_)
        ));
        assert!(matches!(
            Calendar::new("UTC", &[1], "09:00", "18:00", &["16.12.2026".into()]).unwrap_err(),
            CalendarError::Date(_)
        ));
    }

    #[test]
    fn round_the_clock_runs_through_the_night() {
        // 00:00-24:00 every day: 120 minutes from Saturday 23:00 local end on Sunday 01:00 local.
        let c =
            Calendar::new("Asia/Almaty", &[1, 2, 3, 4, 5, 6, 7], "00:00", "24:00", &[]).unwrap();
        assert_eq!(
            c.add(datetime!(2026-11-28 18:00 UTC), 120),
            datetime!(2026-11-28 20:00 UTC)
        );
        assert_eq!(
            c.between(
                datetime!(2026-11-28 18:00 UTC),
                datetime!(2026-11-29 18:00 UTC)
            ),
            24 * 60
        );
    }
}
