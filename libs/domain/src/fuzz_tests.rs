//! Parsers under fuzz (docs/security.md): the contact newtypes, free text, request numbers, the
//! event envelope and the business calendar, fed arbitrary input by proptest. `cargo test` runs a
//! bounded number of cases; `make fuzz` sets `FUZZ_CASES` for a long run.

use proptest::prelude::*;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::calendar::Calendar;
use crate::events::{ENVELOPE_VERSION, Envelope, kind};
use crate::text::bounded;
use crate::{Email, Msisdn, RequestId, RequestNumber};

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

/// Characters that break naive parsers: ASCII, controls, Cyrillic and Kazakh letters, combining
/// marks, white space of every kind, zero-width and bidi marks, non-ASCII digits, emoji.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => proptest::char::range('\0', '\u{1f}'),
        1 => Just('\u{7f}'),
        1 => proptest::char::range('\u{80}', '\u{9f}'),
        2 => proptest::char::range('\u{400}', '\u{4ff}'),
        1 => prop::sample::select(vec![
            'ә', 'Ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', 'İ', 'ı', 'ß', 'ẞ', 'ﬃ', 'Σ', 'ς',
            '\u{300}', '\u{301}', '\u{307}', '\u{a0}', '\u{85}', '\u{2028}', '\u{2029}', '\u{200b}',
            '\u{200d}', '\u{200e}', '\u{202e}', '\u{feff}', '\u{3000}', '\u{1680}', '٣', '७', '０',
            '９', '½', '²', '😀', '\u{1f1f0}', '\u{e000}', '\u{fffd}', '\u{10ffff}',
        ]),
        1 => any::<char>(),
    ]
}

/// A string of [`tricky_char`]s, up to `max` characters.
fn tricky(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..=max).prop_map(String::from_iter)
}

/// Something shaped like a phone number: digits, separators, a plus, and now and then anything.
fn phone_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            6 => proptest::char::range('0', '9'),
            1 => prop::sample::select(vec!['+', ' ', '-', '(', ')', '8', '7']),
            1 => tricky_char(),
        ],
        0..20,
    )
    .prop_map(String::from_iter)
}

fn is_canonical_msisdn(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any string: an error or the canonical `+` and 8 to 15 digits, which parses to itself.
    #[test]
    fn fuzz_msisdn_parse(raw in prop_oneof![tricky(40), phone_like()]) {
        if let Ok(m) = Msisdn::parse(&raw) {
            prop_assert!(is_canonical_msisdn(m.as_str()), "{raw:?} -> {:?}", m.as_str());
            prop_assert_eq!(Msisdn::parse(m.as_str()), Ok(m.clone()));
        }
    }

    /// Every way people write a Kazakh mobile number is the same canonical number.
    #[test]
    fn fuzz_msisdn_spellings(
        rest in "7[0-9]{9}",
        seps in prop::collection::vec(prop::sample::select(vec!["", " ", "-", "(", ")"]), 11),
        national in any::<bool>(),
    ) {
        let canonical = format!("+7{rest}");
        let digits: Vec<char> = if national { format!("8{rest}") } else { format!("+7{rest}") }
            .chars()
            .collect();
        let spelled: String = digits
            .iter()
            .zip(seps.iter().chain(std::iter::repeat(&"")))
            .map(|(d, s)| format!("{d}{s}"))
            .collect();
        prop_assert_eq!(Msisdn::parse(&spelled).map(|m| m.as_str().to_owned()), Ok(canonical));
    }

    /// Any string: an error or a trimmed, lower-case address of at most 254 bytes with one `@`
    /// and no white space, controls or angle brackets, which parses to itself.
    #[test]
    fn fuzz_email_parse(
        raw in prop_oneof![
            tricky(60),
            (tricky(12), tricky(12), tricky(6)).prop_map(|(l, d, t)| format!("{l}@{d}.{t}")),
        ]
    ) {
        if let Ok(e) = Email::parse(&raw) {
            let s = e.as_str();
            prop_assert!(s.len() <= 254);
            prop_assert_eq!(s.trim(), s);
            prop_assert_eq!(s.matches('@').count(), 1, "{:?}", s);
            prop_assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>'));
            prop_assert_eq!(Email::parse(s), Ok(e.clone()), "{:?} -> {:?}", raw, s);
        }
    }

    /// Free text: trimmed, at most `max` characters, or refused; never a panic.
    #[test]
    fn fuzz_bounded_text(raw in tricky(300), max in 1usize..200) {
        if let Ok(t) = bounded(&raw, max) {
            prop_assert_eq!(t.trim(), t.as_str());
            prop_assert!(!t.is_empty());
            prop_assert!(t.chars().count() <= max);
        }
    }

    /// Free text keeps no control character other than newline and tab (finding 9).
    #[test]
    fn fuzz_bounded_text_has_no_controls(raw in tricky(300)) {
        if let Ok(t) = bounded(&raw, 10_000) {
            prop_assert!(
                !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
                "{raw:?} -> {t:?}"
            );
        }
    }

    /// A request number is the prefix, a dash and at least six digits that read back as the sequence.
    #[test]
    fn fuzz_request_number_format(prefix in "[A-Z]{1,5}", seq in any::<u64>()) {
        let n = RequestNumber::format(&prefix, seq);
        let digits = n.0.strip_prefix(&format!("{prefix}-")).unwrap_or_default();
        prop_assert!(digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()), "{}", n.0);
        prop_assert_eq!(digits.parse::<u64>().ok(), Some(seq));
    }
}

/// A moment an RFC 3339 timestamp can carry: years 1 to 9999, nanoseconds, a whole-minute offset.
fn moment() -> impl Strategy<Value = OffsetDateTime> {
    (
        -62_135_596_800i64..253_402_300_799,
        0u32..1_000_000_000,
        -(23 * 60 + 59)..=(23 * 60 + 59i32),
    )
        .prop_filter_map("representable", |(secs, nanos, offset_min)| {
            let offset = UtcOffset::from_whole_seconds(offset_min * 60).ok()?;
            let t = OffsetDateTime::from_unix_timestamp(secs)
                .ok()?
                .replace_nanosecond(nanos)
                .ok()?
                .to_offset(offset);
            (1..=9999).contains(&t.year()).then_some(t)
        })
}

/// A JSON payload: nested objects and arrays of strings, integers, booleans and nulls.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        tricky(20).prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(tricky(8), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        any::<u128>(),
        prop_oneof![
            prop::sample::select(kind::ALL.to_vec()).prop_map(str::to_owned),
            tricky(30)
        ],
        moment(),
        any::<u128>(),
        proptest::option::of(tricky(60)),
        proptest::option::of(tricky(60)),
        json(),
    )
        .prop_map(
            |(id, kind, occurred_at, request, traceparent, tracestate, payload)| Envelope {
                v: ENVELOPE_VERSION,
                id: Uuid::from_u128(id),
                kind,
                occurred_at,
                request_id: RequestId(Uuid::from_u128(request)),
                traceparent,
                tracestate,
                payload,
            },
        )
}

/// Bytes a broker might hand over: random bytes, JSON-like text, a valid envelope cut short or
/// with one byte changed, or nested arrays deeper than any parser's stack.
fn broker_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        tricky(200).prop_map(String::into_bytes),
        (
            envelope(),
            any::<prop::sample::Index>(),
            any::<u8>(),
            any::<bool>()
        )
            .prop_map(|(env, at, byte, cut)| {
                let mut b = serde_json::to_vec(&env).unwrap_or_default();
                if !b.is_empty() {
                    let i = at.index(b.len());
                    if cut {
                        b.truncate(i);
                    } else {
                        b[i] = byte;
                    }
                }
                b
            }),
        (1usize..100_000).prop_map(|depth| {
            let mut b = br#"{"v":1,"payload":"#.to_vec();
            b.extend(std::iter::repeat_n(b'[', depth));
            b
        }),
    ]
}

proptest! {
    #![proptest_config(config(1000))]

    /// Whatever arrives from the broker, decoding is an error or an envelope of our version.
    #[test]
    fn fuzz_envelope_decode(bytes in broker_bytes()) {
        if let Ok(env) = Envelope::decode(&bytes) {
            prop_assert_eq!(env.v, ENVELOPE_VERSION);
        }
    }

    /// Every envelope we publish decodes to itself.
    #[test]
    fn fuzz_envelope_round_trip(env in envelope()) {
        let bytes = serde_json::to_vec(&env).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = Envelope::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, env);
    }

    /// Another version is refused by number, never misread.
    #[test]
    fn fuzz_envelope_other_version(env in envelope(), v in any::<u16>()) {
        prop_assume!(v != ENVELOPE_VERSION);
        let bytes = serde_json::to_vec(&Envelope { v, ..env }).unwrap_or_default();
        prop_assert!(matches!(
            Envelope::decode(&bytes),
            Err(crate::events::EnvelopeError::Version(got)) if got == v
        ));
    }

}

proptest! {
    // Each case walks up to ten years of days in a time zone: fewer cases.
    #![proptest_config(config_scaled(300, 20))]

    /// Any working minutes from any moment: a moment no earlier than the start, never a panic
    /// (deadline minutes come from settings and the admin API).
    #[test]
    fn fuzz_calendar_add(
        start in moment(),
        minutes in prop_oneof![any::<i64>(), 0i64..100_000],
        days in prop::collection::vec(0u8..9, 0..8),
    ) {
        let holidays = vec!["2026-12-16".to_owned()];
        if let Ok(cal) = Calendar::new("Asia/Almaty", &days, "09:00", "18:00", &holidays) {
            let due = cal.add(start, minutes);
            prop_assert!(due >= start);
            prop_assert!(cal.between(start, due) <= minutes.max(0));
        }
    }

    /// Any calendar settings: a calendar or a named error.
    #[test]
    fn fuzz_calendar_new(
        zone in prop_oneof![Just("Asia/Almaty".to_owned()), Just("UTC".to_owned()), tricky(30)],
        days in prop::collection::vec(any::<u8>(), 0..10),
        open in prop_oneof!["[0-2][0-9]:[0-5][0-9]", tricky(8)],
        close in prop_oneof![Just("24:00".to_owned()), "[0-2][0-9]:[0-5][0-9]", tricky(8)],
        holidays in prop::collection::vec(prop_oneof!["[0-9]{4}-[0-1][0-9]-[0-3][0-9]", tricky(12)], 0..4),
    ) {
        let _ = Calendar::new(&zone, &days, &open, &close, &holidays);
    }
}

// Regression tests: inputs the fuzzer found, fixed at their cause.

/// `fuzz_calendar_add`: minutes past `i64::MAX / 60` made `SignedDuration::from_mins` panic; a
/// deadline policy's minutes are only checked positive, so one huge setting crashed every intake.
#[test]
fn regression_calendar_add_huge_minutes() {
    let cal = Calendar::new("Asia/Almaty", &[1], "09:00", "18:00", &[]).unwrap();
    let start = OffsetDateTime::UNIX_EPOCH;
    assert!(cal.add(start, 153_722_867_280_912_931) > start);
    assert!(cal.add(start, i64::MAX) > start);
}

/// The same huge minutes through a deadline policy: the warning share no longer overflows.
#[test]
fn regression_deadline_warning_of_huge_minutes() {
    let mut policy: crate::deadline::DeadlinePolicy = serde_json::from_str(
        r#"{"warn_at_percent":80,
            "first_response_minutes":{"low":1,"normal":1,"high":1,"urgent":1},
            "resolution_minutes":{"low":1,"normal":1,"high":1,"urgent":1}}"#,
    )
    .unwrap();
    policy.resolution_minutes.normal = i64::MAX;
    assert!(policy.problems().is_empty());
    let cal = Calendar::new("UTC", &[1, 2, 3, 4, 5], "09:00", "18:00", &[]).unwrap();
    let now = OffsetDateTime::UNIX_EPOCH;
    let (due, warn) = policy.due(
        &cal,
        crate::Category::Other,
        crate::Priority::Normal,
        crate::Channel::Web,
        now,
    );
    assert!(due.resolution > now && warn.resolution > now);
}
