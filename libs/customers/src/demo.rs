//! The demo customers `make run` starts with: the profiles of `config/demo-customers.csv`
//! (built into the binary) and, for the three customers of the README's walk-through, a few
//! charges, payments and services.

use time::{Date, Duration, OffsetDateTime};

use crate::directory::{DirectorySource, Written};
use crate::import::{ImportError, ImportReport};
use crate::model::{Movement, Service};

/// `config/demo-customers.csv`, as shipped.
pub const DEMO_CSV: &str = include_str!("../../../config/demo-customers.csv");

fn movement(date: Date, amount_tenge: i64, description: &str) -> Movement {
    Movement {
        date,
        amount_tenge,
        description: description.to_owned(),
    }
}

fn service(code: &str, name: &str, since: Date, monthly_fee_tenge: i64) -> Service {
    Service {
        code: code.to_owned(),
        name: name.to_owned(),
        since,
        monthly_fee_tenge,
    }
}

/// Charges, payments and services of a demo customer, dated back from `today`.
pub fn demo_ledger(
    msisdn: &str,
    today: Date,
) -> Option<(Vec<Movement>, Vec<Movement>, Vec<Service>)> {
    let ago = |days: i64| today - Duration::days(days);
    let date = |y: i32, m: time::Month, d: u8| Date::from_calendar_date(y, m, d).unwrap_or(today);
    match msisdn {
        // The walk-through's customer: charged twice for the month.
        "+77011234567" => Some((
            vec![
                movement(ago(3), 2990, "Komek Unlimited: айлық төлем"),
                movement(ago(3), 2990, "Komek Unlimited: айлық төлем"),
                movement(ago(12), 1500, "Мобильді интернет, 5 ГБ пакеті"),
                movement(ago(33), 2990, "Komek Unlimited: айлық төлем"),
            ],
            vec![
                movement(ago(5), 3000, "Kaspi арқылы төлем"),
                movement(ago(20), 5000, "Терминал арқылы төлем"),
            ],
            vec![
                service(
                    "unlimited",
                    "Komek Unlimited",
                    date(2024, time::Month::February, 1),
                    2990,
                ),
                service(
                    "cloud-50",
                    "Komek Cloud 50 ГБ",
                    date(2025, time::Month::September, 15),
                    490,
                ),
            ],
        )),
        "+77051112233" => Some((
            vec![
                movement(ago(2), 3490, "Komek Smart 15: абонентская плата"),
                movement(ago(9), 990, "Подписка «Кино+»"),
                movement(ago(32), 3490, "Komek Smart 15: абонентская плата"),
            ],
            vec![movement(ago(31), 4000, "Оплата банковской картой")],
            vec![
                service(
                    "smart-15",
                    "Komek Smart 15",
                    date(2023, time::Month::May, 10),
                    3490,
                ),
                service(
                    "kino-plus",
                    "Кино+",
                    date(2025, time::Month::November, 1),
                    990,
                ),
            ],
        )),
        "+77771234567" => Some((
            vec![
                movement(ago(1), 4500, "Roaming Turkey: data 1 GB"),
                movement(ago(4), 5990, "Komek Travel: monthly fee"),
            ],
            vec![movement(ago(6), 25000, "Card payment")],
            vec![
                service(
                    "travel",
                    "Komek Travel",
                    date(2025, time::Month::January, 20),
                    5990,
                ),
                service("roaming-tr", "Roaming pack: Turkey", ago(2), 0),
            ],
        )),
        _ => None,
    }
}

/// Imports the demo profiles and gives the walk-through's customers their demo charges, payments
/// and services if they have none. Idempotent: a second run changes nothing.
pub async fn seed_demo(dir: &DirectorySource) -> Result<ImportReport, ImportError> {
    let report = dir.import_csv(DEMO_CSV.as_bytes()).await?;
    let today = OffsetDateTime::now_utc().date();
    for msisdn in ["+77011234567", "+77051112233", "+77771234567"] {
        let Some((charges, payments, services)) = demo_ledger(msisdn, today) else {
            continue;
        };
        let Ok(m) = komek_domain::Msisdn::parse(msisdn) else {
            continue;
        };
        let written = dir
            .update(&m, |cur| {
                let mut r = cur?;
                if !(r.charges.is_empty() && r.payments.is_empty() && r.services.is_empty()) {
                    return None;
                }
                r.charges = charges.clone();
                r.payments = payments.clone();
                r.services = services.clone();
                Some(r)
            })
            .await?;
        if written == Written::Updated {
            tracing::info!(msisdn, "demo charges, payments and services seeded");
        }
    }
    Ok(report)
}
