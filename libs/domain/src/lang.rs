//! Language detection from the customer's own text: Kazakh and Russian share the Cyrillic script,
//! so a Kazakh-only letter (ә ғ қ ң ө ұ ү һ і) means Kazakh, other Cyrillic means Russian, else English.

use crate::model::Lang;

/// Letters of the Kazakh Cyrillic alphabet that Russian does not have, both cases.
const KAZAKH_ONLY: &[char] = &[
    'ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', //
    'Ә', 'Ғ', 'Қ', 'Ң', 'Ө', 'Ұ', 'Ү', 'Һ', 'І',
];

fn is_cyrillic_letter(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{052F}') && c.is_alphabetic()
}

/// The language of `text`: [`Lang::Kk`] if it has any Kazakh-only letter, [`Lang::Ru`] if it has
/// any other Cyrillic letter, otherwise [`Lang::En`] (also for empty text).
pub fn detect(text: &str) -> Lang {
    let mut cyrillic = false;
    for c in text.chars() {
        if KAZAKH_ONLY.contains(&c) {
            return Lang::Kk;
        }
        cyrillic |= is_cyrillic_letter(c);
    }
    if cyrillic { Lang::Ru } else { Lang::En }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakh_samples() {
        for s in [
            "Интернет жұмыс істемейді",
            "Баланстан ақша екі рет алынды",
            "Шетелде роуминг қосылмайды, көмектесіңізші",
            "Сим-картамды жоғалттым",
            "Үйде байланыс жоқ",
        ] {
            assert_eq!(detect(s), Lang::Kk, "{s}");
        }
    }

    #[test]
    fn russian_samples() {
        for s in [
            "Не работает интернет",
            "Почему списали деньги с баланса?",
            "Как подключить роуминг в Турции?",
            "Нет связи дома уже второй день",
        ] {
            assert_eq!(detect(s), Lang::Ru, "{s}");
        }
    }

    #[test]
    fn english_samples() {
        for s in [
            "My internet is not working",
            "I was charged twice for my tariff",
            "How can I activate roaming?",
        ] {
            assert_eq!(detect(s), Lang::En, "{s}");
        }
    }

    #[test]
    fn mixed_text() {
        // A Kazakh word spelt only with letters Russian shares stays Russian;
        // one Kazakh-only letter anywhere makes the text Kazakh.
        assert_eq!(detect("Не работает интернет, рахмет"), Lang::Ru);
        assert_eq!(detect("Не работает интернет, көмектесіңіз"), Lang::Kk);
        // Latin with some Cyrillic: Russian.
        assert_eq!(detect("LTE not working, тариф Komek 4G"), Lang::Ru);
        assert_eq!(detect("SIM card, PUK-код"), Lang::Ru);
        // Digits, punctuation and an MSISDN only: English.
        assert_eq!(detect("+7 701 123 45 67 !!!"), Lang::En);
    }

    #[test]
    fn empty_text_is_english() {
        assert_eq!(detect(""), Lang::En);
        assert_eq!(detect("   \n\t"), Lang::En);
    }

    #[test]
    fn upper_case_kazakh_letters() {
        assert_eq!(detect("ҚОҢЫРАУ ШАЛУ МҮМКІН ЕМЕС"), Lang::Kk);
        assert_eq!(detect("ҰЯЛЫ БАЙЛАНЫС"), Lang::Kk);
        for c in ['Ә', 'Ғ', 'Қ', 'Ң', 'Ө', 'Ұ', 'Ү', 'Һ', 'І'] {
            assert_eq!(detect(&c.to_string()), Lang::Kk, "{c}");
            assert_eq!(detect(&c.to_lowercase().to_string()), Lang::Kk, "{c}");
        }
        assert_eq!(detect("НЕ РАБОТАЕТ ИНТЕРНЕТ"), Lang::Ru);
    }
}
