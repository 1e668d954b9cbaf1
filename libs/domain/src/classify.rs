//! Rule-based category and priority from keywords in Kazakh, Russian and English: a first guess
//! an agent can correct, made from one static table of word stems that is easy to extend.
//!
//! Matching is case-insensitive over subject and text together. A stem matches where a word
//! *starts* with it (`"баланс"` matches "баланстан" and "баланса"), so a short stem such as `"сим"`
//! does not fire inside "просим" or "Максим"; a word with a Russian prefix therefore needs its own
//! entry ("позвон", "дозвон" beside "звон"). A stem may contain a space to match a phrase.

use crate::model::{Category, Priority};

/// Category rules in tie-break order: the category whose stems match most often wins, the first
/// one in this table on a tie. Stems of one category must not overlap (no stem starting another).
#[rustfmt::skip]
pub const CATEGORY_RULES: &[(Category, &[&str])] = &[
    (Category::Billing, &[
        "списа", "баланс", "оплат", "предоплат", "заплат", "платеж", "платёж", "деньг", "денег", "возврат", // ru
        "қаражат", "ақша", "теңге", "төле", // kk
        "charge", "bill", "balance", "pay", "paid", "refund", "money", // en
    ]),
    (Category::Network, &[
        "связь", "связи", "сигнал", "звон", "позвон", "дозвон", "перезвон", "покрыти", // ru
        "байланыс", "қоңырау", "желі", // kk
        "signal", "coverage", "call", // en
    ]),
    (Category::Internet, &[
        "интернет", "трафик", // ru
        "ғаламтор", // kk
        "internet", "data", "3g", "4g", "5g", "lte", // en, any
    ]),
    (Category::Roaming, &[
        "роуминг", "роаминг", "заграниц", "за границ", "за рубеж", // ru
        "шетел", // kk
        "roaming", "abroad", // en
    ]),
    (Category::Tariff, &[
        "тариф", "пакет", // ru, kk
        "tariff", "plan", "package", // en
    ]),
    (Category::SimCard, &[
        "сим", "пук", "номер", // ru
        "нөмір", // kk
        "sim", "esim", "puk", // en, any
    ]),
];

/// Fraud, theft, emergency: [`Priority::Urgent`].
#[rustfmt::skip]
const URGENT: &[&str] = &[
    "мошен", "украл", "украд", "экстрен", // ru
    "алаяқ", "ұрла", "ұрлық", "төтенше", // kk
    "fraud", "scam", "stolen", "steal", "theft", "emergency", // en
];

/// Complaint, anger, a repeated contact: [`Priority::High`].
#[rustfmt::skip]
const HIGH: &[&str] = &[
    "жалоб", "третий раз", "опять", "снова", "срочно", // ru
    "шағым", "қайтадан", "тағы да", "шұғыл", // kk
    "complain", "again", "third time", "urgent", "asap", // en
];

/// A double charge; [`Priority::High`] when the category is billing.
const DOUBLE: &[&str] = &["дважды", "екі рет", "double", "twice"];

/// A question about information: [`Priority::Low`], unless [`PROBLEM`] also matches.
#[rustfmt::skip]
const INFO_QUESTION: &[&str] = &[
    "как узнать", "как проверить", "информаци", // ru
    "қалай білуге", "қалай білем", "ақпарат", // kk
    "how do i", "how can i", "information", // en
];

/// Words that say something is broken: the question is not a *pure* information question.
#[rustfmt::skip]
const PROBLEM: &[&str] = &[
    "не работа", "нет", "не могу", // ru
    "істемей", "жоқ", // kk
    "not work", "doesn't work", "does not work", "cannot", "can't", // en
];

/// Whether `stem` starts a word somewhere in `haystack` (already lower-cased).
fn starts_word(haystack: &str, stem: &str) -> bool {
    haystack
        .match_indices(stem)
        .any(|(i, _)| starts_at_word(haystack, i))
}

/// Whether byte offset `i` (a char boundary) is the start of a word.
fn starts_at_word(haystack: &str, i: usize) -> bool {
    haystack
        .get(..i)
        .and_then(|before| before.chars().next_back())
        .is_none_or(|c| !c.is_alphanumeric())
}

/// How many times any of `stems` starts a word in `haystack`.
fn count_hits(haystack: &str, stems: &[&str]) -> usize {
    stems
        .iter()
        .map(|stem| {
            haystack
                .match_indices(stem)
                .filter(|(i, _)| starts_at_word(haystack, *i))
                .count()
        })
        .sum()
}

fn any_hit(haystack: &str, stems: &[&str]) -> bool {
    stems.iter().any(|s| starts_word(haystack, s))
}

/// Category and priority of a request from its subject and text.
///
/// Category: the entry of [`CATEGORY_RULES`] whose stems match most often (the first on a tie), [`Category::Other`]
/// when none matches. Priority: `Urgent` for fraud, theft or an emergency; `High` for a complaint,
/// anger, a repeated contact, or a double charge in billing; `Low` for a pure information question;
/// otherwise `Normal`.
pub fn classify(subject: Option<&str>, text: &str) -> (Category, Priority) {
    let haystack = match subject {
        Some(subject) => format!("{subject}\n{text}"),
        None => text.to_owned(),
    }
    .to_lowercase();

    let mut category = Category::Other;
    let mut best = 0;
    for (candidate, stems) in CATEGORY_RULES {
        let hits = count_hits(&haystack, stems);
        if hits > best {
            best = hits;
            category = *candidate;
        }
    }

    let priority = if any_hit(&haystack, URGENT) {
        Priority::Urgent
    } else if any_hit(&haystack, HIGH)
        || (category == Category::Billing && any_hit(&haystack, DOUBLE))
    {
        Priority::High
    } else if any_hit(&haystack, INFO_QUESTION) && !any_hit(&haystack, PROBLEM) {
        Priority::Low
    } else {
        Priority::Normal
    };

    (category, priority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(text: &str) -> Category {
        classify(None, text).0
    }

    fn prio(text: &str) -> Priority {
        classify(None, text).1
    }

    #[test]
    fn billing() {
        for s in [
            "Почему с баланса списали 2000 тенге?",
            "Верните деньги, оплата прошла, а услуга не подключилась",
            "Шотымнан ақша алынды, қаражатты қайтарыңыз",
            "Теңге төледім, бірақ баланс толмады",
            "I was charged for a service I never ordered, please refund",
            "My balance went negative after the last bill",
        ] {
            assert_eq!(cat(s), Category::Billing, "{s}");
        }
    }

    #[test]
    fn network() {
        for s in [
            "Нет связи дома, звонки обрываются",
            "Плохой сигнал в Алматы, не могу дозвониться",
            "Үйде байланыс жоқ, қоңырау өтпейді",
            "Ауылда ұялы желі ұстамайды",
            "No signal at home, calls drop all the time",
            "There is no coverage in my village",
        ] {
            assert_eq!(cat(s), Category::Network, "{s}");
        }
    }

    #[test]
    fn internet() {
        for s in [
            "Не работает интернет",
            "Очень медленный мобильный интернет, трафик уходит быстро",
            "Интернет жұмыс істемейді",
            "Ғаламтор өте баяу, 4G жоқ",
            "My internet is not working",
            "Mobile data is very slow, LTE keeps dropping to 3G",
        ] {
            assert_eq!(cat(s), Category::Internet, "{s}");
        }
    }

    #[test]
    fn roaming() {
        for s in [
            "Не работает роуминг в Турции",
            "Как пользоваться телефоном за границей?",
            "Шетелде роуминг қосылмайды",
            "Шетелге шыққанда телефоным істемейді",
            "Roaming does not work in Georgia",
            "I am abroad and my phone is not registering",
        ] {
            assert_eq!(cat(s), Category::Roaming, "{s}");
        }
    }

    #[test]
    fn tariff() {
        for s in [
            "Хочу сменить тариф на более дешёвый",
            "Какой пакет минут подходит для пенсионеров?",
            "Тарифімді өзгерткім келеді",
            "Қандай пакеттер бар?",
            "I want to change my tariff",
            "Which plan includes unlimited messengers?",
        ] {
            assert_eq!(cat(s), Category::Tariff, "{s}");
        }
    }

    #[test]
    fn sim_card() {
        for s in [
            "Потерял сим-карту, нужно восстановить номер",
            "Заблокировалась SIM, прошу PUK-код",
            "Сим-картамды жоғалттым, нөмірімді қалпына келтіру керек",
            "eSIM қосу керек",
            "My SIM card is blocked, I need the PUK code",
            "How to switch to eSIM?",
        ] {
            assert_eq!(cat(s), Category::SimCard, "{s}");
        }
    }

    #[test]
    fn other_fallback() {
        for s in [
            "",
            "Здравствуйте",
            "Сәлеметсіз бе, рахмет!",
            "Thank you for the quick help",
        ] {
            assert_eq!(
                classify(None, s),
                (Category::Other, Priority::Normal),
                "{s:?}"
            );
        }
    }

    #[test]
    fn stems_start_words() {
        // "сим" inside "просим" / "Максим", "lte" inside "alter", "call" inside "recall".
        assert_eq!(cat("Просим помочь, Максим"), Category::Other);
        // Prefixed Russian verbs are listed on their own.
        assert_eq!(cat("Не могу позвонить маме"), Category::Network);
        assert_eq!(
            cat("Please do not alter anything, recall nothing"),
            Category::Other
        );
    }

    #[test]
    fn case_insensitive_and_subject_counts() {
        assert_eq!(cat("НЕ РАБОТАЕТ ИНТЕРНЕТ"), Category::Internet);
        assert_eq!(cat("ҒАЛАМТОР ЖОҚ"), Category::Internet);
        assert_eq!(
            classify(
                Some("Роуминг"),
                "Не могу позвонить из Турции, роуминг включен"
            ),
            (Category::Roaming, Priority::Normal)
        );
        assert_eq!(
            classify(Some("Refund"), "Please help"),
            (Category::Billing, Priority::Normal)
        );
    }

    #[test]
    fn most_hits_then_table_order() {
        // internet 1 (интернет), tariff 1 (пакет): the tie goes to internet, earlier in the table.
        assert_eq!(cat("Интернет пакеті бітті"), Category::Internet);
        // roaming 2 beats internet 1; repeated stems count each time (roaming 2 beats network 1).
        assert_eq!(
            cat("Интернет в роуминге за границей не работает"),
            Category::Roaming
        );
        assert_eq!(
            cat("Не могу позвонить в роуминге, роуминг включён"),
            Category::Roaming
        );
    }

    #[test]
    fn priority_urgent() {
        for s in [
            "Мошенники списали деньги с моего номера",
            "У меня украли телефон, заблокируйте сим-карту",
            "Алаяқтар ақшамды алды",
            "Телефонымды ұрлап кетті",
            "My phone was stolen, block the SIM",
            "Fraud on my account, money gone",
            "Emergency: cannot call an ambulance",
        ] {
            assert_eq!(prio(s), Priority::Urgent, "{s}");
        }
    }

    #[test]
    fn priority_high() {
        for s in [
            "Это жалоба: третий раз пишу, интернета нет",
            "Срочно восстановите связь!",
            "Шағым: қайтадан байланыс жоқ",
            "Internet is down again, this is a complaint",
            "Need the SIM replaced ASAP",
        ] {
            assert_eq!(prio(s), Priority::High, "{s}");
        }
    }

    #[test]
    fn priority_high_for_double_charge_in_billing_only() {
        assert_eq!(
            classify(None, "С баланса дважды списали оплату"),
            (Category::Billing, Priority::High)
        );
        assert_eq!(
            classify(None, "Баланстан ақша екі рет алынды"),
            (Category::Billing, Priority::High)
        );
        assert_eq!(
            classify(None, "I was charged twice, double payment"),
            (Category::Billing, Priority::High)
        );
        // "Double" outside billing is not a complaint by itself.
        assert_eq!(
            classify(None, "Can I double my internet data?"),
            (Category::Internet, Priority::Normal)
        );
    }

    #[test]
    fn priority_low() {
        for s in [
            "Как узнать свой баланс?",
            "Тариф туралы ақпарат керек",
            "Балансты қалай білуге болады?",
            "How do I check my balance?",
            "How can I activate roaming?",
        ] {
            assert_eq!(prio(s), Priority::Low, "{s}");
        }
        // A question that also reports a fault is not a pure information question.
        assert_eq!(
            prio("Как узнать, почему не работает интернет?"),
            Priority::Normal
        );
        assert_eq!(
            prio("How do I fix it? My internet is not working"),
            Priority::Normal
        );
    }

    #[test]
    fn priority_normal() {
        for s in [
            "Не работает интернет",
            "Интернет жұмыс істемейді",
            "My internet is not working",
        ] {
            assert_eq!(
                classify(None, s),
                (Category::Internet, Priority::Normal),
                "{s}"
            );
        }
    }
}
