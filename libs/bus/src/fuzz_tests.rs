//! Parsers under fuzz (docs/security.md): what the consumer reads from a delivery besides the
//! envelope (its headers: trace context, delivery count), fed arbitrary headers by proptest. The
//! envelope itself is fuzzed in komek-domain (`fuzz_envelope_decode`). `cargo test` runs a
//! bounded number of cases; `make fuzz` sets `FUZZ_CASES` for a long run.

use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use proptest::prelude::*;

use crate::consumer::header_map;

fn config(ci: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(ci),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn header_value() -> impl Strategy<Value = AMQPValue> {
    prop_oneof![
        any::<i64>().prop_map(AMQPValue::LongLongInt),
        any::<i32>().prop_map(AMQPValue::LongInt),
        Just(AMQPValue::LongLongInt(i64::MAX)),
        Just(AMQPValue::LongLongInt(i64::MIN)),
        any::<bool>().prop_map(AMQPValue::Boolean),
        any::<String>().prop_map(|s| AMQPValue::LongString(LongString::from(s))),
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| AMQPValue::LongString(LongString::from(b))),
        "[ -~]{0,60}".prop_map(|s| AMQPValue::ShortString(ShortString::from(s))),
        Just(AMQPValue::Void),
    ]
}

proptest! {
    #![proptest_config(config(3000))]

    /// Any headers: the string ones are the trace carrier, and the attempt is at least 1 and
    /// one more than a sane delivery count, never an overflow.
    #[test]
    fn fuzz_delivery_headers(
        headers in prop::collection::vec(
            (
                prop_oneof![
                    Just("x-delivery-count".to_owned()),
                    Just("traceparent".to_owned()),
                    Just("tracestate".to_owned()),
                    "[ -~]{0,20}",
                ],
                header_value(),
            ),
            0..8,
        ),
        none in any::<bool>(),
    ) {
        let mut table = FieldTable::default();
        for (k, v) in &headers {
            table.insert(ShortString::from(k.clone()), v.clone());
        }
        let (carrier, attempt) = header_map((!none).then_some(&table));
        prop_assert!(attempt >= 1);
        if none {
            prop_assert!(carrier.is_empty());
            prop_assert_eq!(attempt, 1);
        }
        let count = match table.inner().get("x-delivery-count") {
            Some(AMQPValue::LongLongInt(n)) if !none => *n,
            Some(AMQPValue::LongInt(n)) if !none => i64::from(*n),
            _ => 0,
        };
        prop_assert_eq!(attempt, count.max(0).saturating_add(1));
    }
}

/// `fuzz_delivery_headers`: a publisher's `x-delivery-count` of `i64::MAX` overflowed `+ 1` (a
/// panic in debug builds, a negative attempt that never reached the delivery limit in release).
#[test]
fn regression_delivery_count_at_i64_max() {
    let mut table = FieldTable::default();
    table.insert(
        ShortString::from("x-delivery-count"),
        AMQPValue::LongLongInt(i64::MAX),
    );
    assert_eq!(header_map(Some(&table)).1, i64::MAX);
    table.insert(
        ShortString::from("x-delivery-count"),
        AMQPValue::LongLongInt(-7),
    );
    assert_eq!(header_map(Some(&table)).1, 1);
}
