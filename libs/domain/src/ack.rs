//! Times as customers are shown them: Kazakhstan time (UTC+5). The acknowledgment text itself is
//! in the catalogue (`komek_i18n::customer::acknowledgment`).

use time::macros::{format_description, offset};
use time::{OffsetDateTime, UtcOffset};

/// Kazakhstan's single time zone since 1 March 2024: a fixed UTC+5, no daylight saving.
pub const KAZAKHSTAN: UtcOffset = offset!(+5);

/// `t` in Kazakhstan time as `DD.MM.YYYY HH:MM`, the form customers are shown.
pub fn format_local(t: OffsetDateTime) -> String {
    let local = t.checked_to_offset(KAZAKHSTAN).unwrap_or(t);
    local
        .format(format_description!("[day].[month].[year] [hour]:[minute]"))
        // Formatting to a String only fails for a year the description cannot show; say it plainly.
        .unwrap_or_else(|_| {
            format!(
                "{:02}.{:02}.{} {:02}:{:02}",
                local.day(),
                u8::from(local.month()),
                local.year(),
                local.hour(),
                local.minute()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn format_local_converts_to_utc_plus_5() {
        assert_eq!(
            format_local(datetime!(2026-11-26 19:30 UTC)),
            "27.11.2026 00:30"
        );
        assert_eq!(
            format_local(datetime!(2026-03-05 04:07 UTC)),
            "05.03.2026 09:07"
        );
        // New year's eve in UTC is already the next year in Kazakhstan.
        assert_eq!(
            format_local(datetime!(2026-12-31 20:00 UTC)),
            "01.01.2027 01:00"
        );
        // Already in another offset (Moscow, UTC+3): converted, not just relabelled.
        assert_eq!(
            format_local(datetime!(2026-06-01 10:15 +3)),
            "01.06.2026 12:15"
        );
        // Already in Kazakhstan time: unchanged.
        assert_eq!(
            format_local(datetime!(2026-06-01 10:15 +5)),
            "01.06.2026 10:15"
        );
    }
}
