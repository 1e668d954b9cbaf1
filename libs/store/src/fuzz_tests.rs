//! Parsers under fuzz (docs/security.md): the search tokeniser, which cuts both what is indexed
//! and what staff search for, fed arbitrary text by proptest. `cargo test` runs a bounded number
//! of cases; `make fuzz` sets `FUZZ_CASES` for a long run.

use proptest::prelude::*;

use crate::search::{MAX_WORD_CHARS, MAX_WORDS, MIN_WORD_CHARS, is_stop_word, words};

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

/// Text in every script and case a request may hold, with the characters whose lower case is
/// special (`İ`, final sigma, titlecase digraphs, `ё`) and separators of every kind.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => proptest::char::range('A', 'Z'),
            4 => proptest::char::range('\u{400}', '\u{4ff}'),
            2 => prop::sample::select(vec![' ', ' ', ',', '.', '-', '\n', '\t', '\u{a0}', '_', '\'']),
            1 => prop::sample::select(vec![
                'ё', 'Ё', 'İ', 'ı', 'Σ', 'ς', 'σ', 'ǅ', 'ǈ', 'ẞ', 'ß', 'ﬁ', 'Ω', 'K', 'Å',
                '\u{301}', '\u{307}', '٣', '²', '½', 'Ⅻ', '０', '😀', '\u{200b}', '\u{feff}',
            ]),
            1 => any::<char>(),
        ],
        0..=max,
    )
    .prop_map(String::from_iter)
}

/// Text in the alphabets of Kazakh (Cyrillic and the 2021 Latin one), Russian and English.
fn kk_ru_en(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => proptest::char::range('a', 'z'),
            1 => proptest::char::range('A', 'Z'),
            3 => proptest::char::range('а', 'я'),
            1 => proptest::char::range('А', 'Я'),
            1 => prop::sample::select(vec![
                'ё', 'Ё', 'ә', 'Ә', 'ғ', 'Ғ', 'қ', 'Қ', 'ң', 'Ң', 'ө', 'Ө', 'ұ', 'Ұ', 'ү', 'Ү', 'һ',
                'Һ', 'і', 'І', 'ä', 'Ä', 'ğ', 'Ğ', 'ı', 'I', 'i', 'İ', 'ñ', 'Ñ', 'ö', 'Ö', 'ş',
                'Ş', 'ū', 'Ū', 'ü', 'Ü', '0', '7',
            ]),
            2 => prop::sample::select(vec![' ', ',', '.', '-', '\n']),
        ],
        0..=max,
    )
    .prop_map(String::from_iter)
}

proptest! {
    #![proptest_config(config(1000))]

    /// Any text: at most 64 distinct words, each 2 to 40 letters or digits, lower-case, no `ё`,
    /// no stop word; and each word, searched for, is that same word (what is indexed can be found).
    #[test]
    fn fuzz_search_words(t in text(400)) {
        let found = words(&t);
        prop_assert!(found.len() <= MAX_WORDS);
        let mut seen = std::collections::HashSet::new();
        for w in &found {
            let n = w.chars().count();
            prop_assert!((MIN_WORD_CHARS..=MAX_WORD_CHARS).contains(&n), "{w:?}");
            prop_assert!(w.chars().all(char::is_alphanumeric), "{w:?}");
            prop_assert!(!w.contains('ё') && !is_stop_word(w), "{w:?}");
            prop_assert!(seen.insert(w.clone()), "{w:?} twice");
            prop_assert_eq!(words(w), vec![w.clone()], "{:?} from {:?}", w, t);
        }
    }

    /// A search is tokenised like the text it looks for: the words of a query made of a text's
    /// words, in any case, are those words (in the alphabets of Komek's languages: Kazakh in
    /// Cyrillic and Latin, Russian, English).
    #[test]
    fn fuzz_search_words_in_any_case(t in kk_ru_en(200)) {
        let found = words(&t);
        prop_assert_eq!(words(&found.join(" ").to_uppercase()), words(&found.join(" ")));
        prop_assert_eq!(words(&found.join(" ")), found);
    }

}

proptest! {
    #![proptest_config(config_scaled(40, 50))]

    /// Very long texts are cut at 64 words, however many there are.
    #[test]
    fn fuzz_search_words_long(t in text(8_000)) {
        prop_assert!(words(&t).len() <= MAX_WORDS);
    }
}

// Regression tests: inputs the fuzzer found, fixed at their cause.

/// `fuzz_search_words_in_any_case`: Kazakh Latin `ı` upper-cases to `I`, which lower-cases to
/// `i`, so a word typed in capitals missed the index; `İ` lower-cases to `i` + U+0307, which cut
/// "İnternet" into "nternet".
#[test]
fn regression_kazakh_latin_i_in_any_case() {
    assert_eq!(words("ıa"), words("IA"));
    assert_eq!(words("İNTERNET JOQ"), vec!["internet", "joq"]);
    assert_eq!(words("Qazaqstan ınternetı"), words("QAZAQSTAN INTERNETI"));
}
