//! Parsers under fuzz (docs/security.md): the CSV customer import, fed arbitrary bytes and files
//! written from generated rows. `cargo test` runs a bounded number of cases; `make fuzz` sets
//! `FUZZ_CASES` for a long run.

use komek_domain::{Email, Lang, Msisdn};
use proptest::prelude::*;

use crate::import::{OPTIONAL, ProfileRow, REQUIRED, parse_csv};

/// `FUZZ_CASES` when set (`make fuzz`), else `ci`: what the bounded run in CI affords.
fn config(ci: u32) -> ProptestConfig {
    config_scaled(ci, 1)
}

/// `FUZZ_CASES / divisor` when set (`make fuzz`; a divisor for the properties whose cases
/// cost the most), else `ci`: what the bounded run in CI affords.
fn config_scaled(ci: u32, divisor: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .map_or(ci, |n| (n / divisor).max(ci)),
        // A failure becomes a plain #[test] with its input, not a file beside the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range(' ', '~'),
        1 => proptest::char::range('\0', '\u{1f}'),
        1 => proptest::char::range('\u{7f}', '\u{9f}'),
        3 => proptest::char::range('\u{400}', '\u{4ff}'),
        1 => prop::sample::select(vec![
            'ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', '"', ',', ';', '\t', '\n', '\r',
            '\u{a0}', '\u{85}', '\u{2028}', '\u{200b}', '\u{feff}', '😀', '\u{fffd}',
        ]),
        1 => any::<char>(),
    ]
}

fn tricky(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..=max).prop_map(String::from_iter)
}

/// A profile text field as an operator's file holds it: no control characters, no surrounding
/// white space (the reader trims fields), 1 to `max` characters.
fn field(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 1..=max).prop_filter_map("a field", |v| {
        let s: String = v.into_iter().filter(|c| !c.is_control()).collect();
        let s = s.trim().to_owned();
        (!s.is_empty()).then_some(s)
    })
}

/// One customer row: the values, and how the file spells the phone number.
#[derive(Debug, Clone)]
struct Row {
    msisdn: String,
    spelled: String,
    name: String,
    language: Lang,
    region: String,
    tariff: String,
    email: Option<String>,
    segment: String,
    balance: i64,
}

fn row() -> impl Strategy<Value = Row> {
    (
        "7[0-9]{9}",
        0u8..3,
        field(200),
        prop::sample::select(vec![Lang::Kk, Lang::Ru, Lang::En]),
        (field(100), field(100)),
        proptest::option::of("[a-z0-9._-]{1,20}@[a-z0-9-]{1,20}\\.(kz|ru|com)"),
        prop_oneof![Just(String::new()), field(50)],
        any::<i64>(),
    )
        .prop_map(
            |(rest, spelling, name, language, (region, tariff), email, segment, balance)| Row {
                msisdn: format!("+7{rest}"),
                spelled: match spelling {
                    0 => format!("+7{rest}"),
                    1 => format!("8 {} {} {}", &rest[..3], &rest[3..6], &rest[6..]),
                    _ => format!("+7 ({}) {}-{}", &rest[..3], &rest[3..6], &rest[6..]),
                },
                name,
                language,
                region,
                tariff,
                email,
                segment,
                balance,
            },
        )
}

/// A file written from `rows` with a CSV writer: the columns in `order` (a permutation of all
/// eight, of which the optional ones may be left out), the header in any case.
fn write(rows: &[Row], columns: &[&str], upper: bool, bom: bool) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = columns
        .iter()
        .map(|c| {
            if upper {
                c.to_uppercase()
            } else {
                (*c).to_owned()
            }
        })
        .collect();
    let _ = w.write_record(&header);
    for r in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match *c {
                "msisdn" => r.spelled.clone(),
                "name" => r.name.clone(),
                "language" => r.language.as_str().to_uppercase(),
                "region" => r.region.clone(),
                "tariff" => r.tariff.clone(),
                "email" => r.email.clone().unwrap_or_default(),
                "segment" => r.segment.clone(),
                _ => r.balance.to_string(),
            })
            .collect();
        let _ = w.write_record(&cells);
    }
    let mut out = if bom {
        "\u{feff}".as_bytes().to_vec()
    } else {
        Vec::new()
    };
    out.extend(w.into_inner().unwrap_or_default());
    out
}

fn columns() -> impl Strategy<Value = Vec<&'static str>> {
    (
        prop::sample::subsequence(OPTIONAL.to_vec(), 0..=OPTIONAL.len()),
        any::<prop::sample::Index>(),
    )
        .prop_flat_map(|(optional, _)| {
            let all: Vec<&'static str> = REQUIRED.iter().copied().chain(optional).collect();
            Just(all).prop_shuffle()
        })
}

proptest! {
    #![proptest_config(config(1000))]

    /// Any file: refused as a whole for its header, or every data line either imported or
    /// rejected with a reason, once; the imported rows hold valid, distinct, checked values.
    #[test]
    fn fuzz_csv_import_any_bytes(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..1024),
            tricky(600).prop_map(|s| format!("msisdn,name,language,region,tariff,email,segment,balance_tenge\n{s}").into_bytes()),
            (prop::collection::vec(row(), 1..6), columns(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6))
                .prop_map(|(rows, cols, edits)| {
                    let mut b = write(&rows, &cols, false, false);
                    for (at, byte) in edits {
                        let i = at.index(b.len());
                        b[i] = byte;
                    }
                    b
                }),
        ]
    ) {
        if let Ok(p) = parse_csv(bytes.as_slice()) {
            let mut lines: Vec<u64> = p.rows.iter().map(|(l, _)| *l).collect();
            lines.extend(p.rejected.iter().map(|r| r.line));
            prop_assert!(lines.iter().all(|l| *l >= 2), "{lines:?}");
            for r in &p.rejected {
                prop_assert!(!r.reason.is_empty());
            }
            let mut seen = std::collections::HashSet::new();
            for (_, row) in &p.rows {
                prop_assert!(seen.insert(row.msisdn.clone()), "{:?} twice", row.msisdn);
                prop_assert_eq!(Msisdn::parse(row.msisdn.as_str()), Ok(row.msisdn.clone()));
                for (text, max) in [(&row.name, 200), (&row.region, 100), (&row.tariff, 100)] {
                    prop_assert!(!text.is_empty() && text.chars().count() <= max);
                    prop_assert!(!text.chars().any(char::is_control), "{text:?}");
                }
                if let Some(Some(e)) = &row.email {
                    prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
                }
            }
        }
    }

}

proptest! {
    // A file of up to 12 rows of long Unicode fields per case: fewer cases.
    #![proptest_config(config_scaled(300, 10))]

    /// A file written from generated rows, with the columns in any order and case, the optional
    /// ones present or not and a byte-order mark or not, imports to exactly those rows.
    #[test]
    fn fuzz_csv_import_round_trip(
        rows in prop::collection::vec(row(), 0..12),
        cols in columns(),
        upper in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let mut unique = std::collections::HashSet::new();
        let rows: Vec<Row> = rows.into_iter().filter(|r| unique.insert(r.msisdn.clone())).collect();
        let file = write(&rows, &cols, upper, bom);
        let p = parse_csv(file.as_slice()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&p.rejected, &vec![], "{}", String::from_utf8_lossy(&file));
        let has = |c: &str| cols.contains(&c);
        let mut want = Vec::new();
        for r in &rows {
            want.push(ProfileRow {
                msisdn: Msisdn::parse(&r.msisdn).map_err(|e| TestCaseError::fail(e.to_string()))?,
                name: r.name.clone(),
                language: r.language,
                region: r.region.clone(),
                tariff: r.tariff.clone(),
                email: has("email").then(|| r.email.as_deref().and_then(|e| Email::parse(e).ok())),
                segment: has("segment").then(|| r.segment.clone()),
                balance_tenge: has("balance_tenge").then_some(r.balance),
            });
        }
        let got: Vec<ProfileRow> = p.rows.iter().map(|(_, r)| r.clone()).collect();
        prop_assert_eq!(got, want);
        let lines: Vec<u64> = p.rows.iter().map(|(l, _)| *l).collect();
        prop_assert_eq!(lines, (2..rows.len() as u64 + 2).collect::<Vec<_>>());
    }
}
