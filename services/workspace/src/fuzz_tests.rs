//! Parsers under fuzz (docs/security.md): the search filters of `GET /api/v1/search`, from the raw
//! query string to the store's query, fed arbitrary input by proptest. The tokeniser behind
//! `words` is fuzzed in komek-store. `cargo test` runs a bounded number of cases; `make fuzz`
//! sets `FUZZ_CASES` for a long run.

use actix_web::web;
use komek_store::search::{MAX_PER_PAGE, words};
use komek_web::ApiError;
use proptest::prelude::*;

use crate::routes::search::{SearchParams, query};

fn config(ci: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(ci),
        // A failure becomes a plain #[test] with its input, not a file beside the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const FIELDS: &[&str] = &[
    "number",
    "phone",
    "email",
    "words",
    "status",
    "category",
    "channel",
    "owner",
    "created_from",
    "created_to",
    "page",
    "per_page",
];

fn tricky(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => proptest::char::range(' ', '~'),
            1 => proptest::char::range('\0', '\u{1f}'),
            2 => proptest::char::range('\u{400}', '\u{4ff}'),
            1 => prop::sample::select(vec!['ß', 'ﬃ', 'İ', 'ё', '\u{a0}', '\u{feff}', '٣', '０']),
            1 => any::<char>(),
        ],
        0..=max,
    )
    .prop_map(String::from_iter)
}

/// A value for a filter: anything, or something close to what the filter takes.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        tricky(40),
        tricky(700),
        "[0-9]{1,12}",
        "-?[0-9]{1,3}",
        "km-[0-9]{1,8}",
        "\\+7 ?[0-9]{3} ?[0-9]{7}",
        "[a-z]{1,5}@[a-z]{1,5}\\.kz",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](Z|[+ -][01][0-9]:[0-5][0-9])",
        prop::sample::select(vec![
            "new",
            "IN_PROGRESS",
            " closed ",
            "sim_card",
            "call_center",
            "100",
            "101",
            "0",
            "100000",
            "100001",
            "4294967296",
            "+5",
        ])
        .prop_map(str::to_owned),
    ]
}

fn params() -> impl Strategy<Value = SearchParams> {
    prop::collection::vec(proptest::option::of(value()), FIELDS.len()).prop_map(|mut v| {
        let mut next = || v.pop().flatten();
        SearchParams {
            per_page: next(),
            page: next(),
            created_to: next(),
            created_from: next(),
            owner: next(),
            channel: next(),
            category: next(),
            status: next(),
            words: next(),
            email: next(),
            phone: next(),
            number: next(),
        }
    })
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any filters: a query within its bounds, or a 422 naming only real parameters.
    #[test]
    fn fuzz_search_filters(p in params()) {
        match query(&p) {
            Ok(q) => {
                prop_assert!((1..=100_000).contains(&q.page));
                prop_assert!((1..=MAX_PER_PAGE).contains(&q.per_page));
                if let Some(n) = &q.number {
                    prop_assert!(n.chars().count() <= 32, "{n:?}");
                }
                if let Some(o) = &q.owner {
                    prop_assert!(o.chars().count() <= 64);
                }
                for w in &q.words {
                    prop_assert_eq!(words(w), vec![w.clone()]);
                }
            }
            Err(ApiError::Invalid(errors)) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    prop_assert!(FIELDS.contains(&e.field.as_str()), "{}", e.field);
                    prop_assert!(!e.message.is_empty());
                }
            }
            Err(other) => prop_assert!(false, "not a 422: {other:?}"),
        }
    }

    /// Any query string, as actix reads it for the handler: parameters or a 400, never a panic.
    #[test]
    fn fuzz_search_query_string(
        qs in prop_oneof![
            tricky(300),
            prop::collection::vec(
                (prop_oneof![prop::sample::select(FIELDS.to_vec()).prop_map(str::to_owned), tricky(8)], value()),
                0..8,
            )
            .prop_map(|pairs| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")),
        ]
    ) {
        if let Ok(p) = web::Query::<SearchParams>::from_query(&qs) {
            let _ = query(&p);
        }
    }
}
