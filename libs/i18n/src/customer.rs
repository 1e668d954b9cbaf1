//! The texts a customer receives on their own channel, built from the catalogue
//! (`locales/<lang>/customer.ftl`): the acknowledgment, the survey invitation, mail subjects and
//! the mail footer.

use komek_domain::ack::format_local;
use komek_domain::{Lang, RequestNumber};
use time::OffsetDateTime;

use crate::{t, text};

/// The text sent to the customer when their request is accepted: its number and the resolution
/// deadline in Kazakhstan time.
pub fn acknowledgment(
    lang: Lang,
    number: &RequestNumber,
    resolution_due: OffsetDateTime,
) -> String {
    text(
        lang,
        "ack-received",
        &[
            ("number", number.0.as_str().into()),
            ("due", format_local(resolution_due).into()),
        ],
    )
}

/// The survey invitation with its link.
pub fn survey_invitation(lang: Lang, number: &RequestNumber, link: &str) -> String {
    text(
        lang,
        "notify-survey-invitation",
        &[("number", number.0.as_str().into()), ("link", link.into())],
    )
}

/// The acknowledgment mail's status link: the customer's secret way to the request.
pub fn status_link_line(lang: Lang, link: &str) -> String {
    text(lang, "mail-status-link", &[("link", link.into())])
}

/// What a mail is about, for its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    Acknowledgment,
    Reply,
    Resolution,
    Survey,
}

/// `[KM-000123] …` in the request's language.
pub fn mail_subject(lang: Lang, number: &RequestNumber, about: About) -> String {
    let key = match about {
        About::Acknowledgment => "mail-subject-acknowledgment",
        About::Reply => "mail-subject-reply",
        About::Resolution => "mail-subject-resolution",
        About::Survey => "mail-subject-survey",
    };
    format!("[{number}] {}", t(lang, key))
}

/// The last line of every mail: how to add to the request.
pub fn mail_footer(lang: Lang) -> String {
    t(lang, "mail-footer")
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn number() -> RequestNumber {
        RequestNumber::format("KM", 123)
    }

    #[test]
    fn acknowledgments_read_as_before() {
        let due = datetime!(2026-11-26 19:30 UTC);
        assert_eq!(
            acknowledgment(Lang::Kk, &number(), due),
            "Сіздің өтінішіңіз қабылданды, нөмірі KM-000123. Біз 27.11.2026 00:30 дейін жауап береміз. Komek"
        );
        assert_eq!(
            acknowledgment(Lang::Ru, &number(), due),
            "Ваше обращение принято, номер KM-000123. Мы ответим до 27.11.2026 00:30. Komek"
        );
        assert_eq!(
            acknowledgment(Lang::En, &number(), due),
            "Your request has been received, number KM-000123. We will answer by 27.11.2026 00:30. Komek"
        );
    }

    #[test]
    fn subjects_carry_the_number() {
        assert_eq!(
            mail_subject(Lang::Ru, &number(), About::Resolution),
            "[KM-000123] Ваше обращение решено"
        );
        assert_eq!(
            mail_subject(Lang::Kk, &number(), About::Reply),
            "[KM-000123] Өтінішіңіз бойынша жауап"
        );
    }
}
