//! Reply templates: texts agents start a reply from, per category and language, kept as data that
//! supervisors change. A template's body may name placeholders that are filled in for one request:
//!
//! - `{customer_name}`: the customer's name, or a polite address in the request's language when
//!   the name is not known ("Құрметті клиент", "Уважаемый клиент", "Dear customer");
//! - `{number}`: the request number (`KM-000123`);
//! - `{deadline}`: the resolution deadline in Kazakhstan time, as [`crate::ack::format_local`] shows it.
//!
//! Anything else in braces is left as it is.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ack::format_local;
use crate::model::{Category, Lang, Request};

/// The placeholders [`render`] fills in.
pub const PLACEHOLDERS: &[&str] = &["customer_name", "number", "deadline"];

/// One reply template as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    pub id: Uuid,
    /// The requests it is meant for.
    pub category: Category,
    /// The language of its text; offered for requests in that language.
    pub language: Lang,
    /// A short title agents pick it by.
    pub name: String,
    /// The text, with placeholders such as `{customer_name}`.
    pub body: String,
    /// Login of the supervisor who last wrote it (`system:seed` for the shipped ones).
    pub updated_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What the placeholders stand for, for one request.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    /// The language of the polite fallback when the customer's name is missing.
    pub language: Lang,
    pub customer_name: Option<&'a str>,
    pub number: &'a str,
    pub deadline: OffsetDateTime,
}

impl<'a> Values<'a> {
    /// The values of `request`: its customer's name, its number, its resolution deadline.
    pub fn of(request: &'a Request) -> Self {
        Self {
            language: request.language,
            customer_name: request.customer.name.as_deref(),
            number: &request.number.0,
            deadline: request.due.resolution,
        }
    }
}

/// How a customer whose name is not known is addressed.
pub fn polite_address(lang: Lang) -> &'static str {
    match lang {
        Lang::Kk => "Құрметті клиент",
        Lang::Ru => "Уважаемый клиент",
        Lang::En => "Dear customer",
    }
}

/// A placeholder-shaped name: lower-case ASCII letters and underscores.
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Calls `f` for each placeholder-shaped `{name}` in `body`, with its byte range and name.
fn each_placeholder(body: &str, mut f: impl FnMut(usize, usize, &str)) {
    let mut from = 0;
    while let Some(open) = body[from..].find('{').map(|i| from + i) {
        let rest = &body[open + 1..];
        match rest.find(['}', '{']) {
            Some(close) if rest.as_bytes()[close] == b'}' && is_name(&rest[..close]) => {
                let end = open + 1 + close + 1;
                f(open, end, &rest[..close]);
                from = end;
            }
            _ => from = open + 1,
        }
    }
}

/// Placeholder-shaped names in `body` that [`render`] does not know (probably typos), in order.
pub fn unknown_placeholders(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    each_placeholder(body, |_, _, name| {
        if !PLACEHOLDERS.contains(&name) && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    });
    out
}

/// `body` with its placeholders filled in from `values`; unknown placeholders stay as written.
pub fn render(body: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(body.len() + 32);
    let mut copied = 0;
    each_placeholder(body, |start, end, name| {
        let value = match name {
            "customer_name" => Some(
                values
                    .customer_name
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| polite_address(values.language))
                    .to_owned(),
            ),
            "number" => Some(values.number.to_owned()),
            "deadline" => Some(format_local(values.deadline)),
            _ => None,
        };
        if let Some(v) = value {
            out.push_str(&body[copied..start]);
            out.push_str(&v);
            copied = end;
        }
    });
    out.push_str(&body[copied..]);
    out
}

/// `template` filled in for `request`.
pub fn render_for(template: &Template, request: &Request) -> String {
    render(&template.body, &Values::of(request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn values(lang: Lang, name: Option<&str>) -> Values<'_> {
        Values {
            language: lang,
            customer_name: name,
            number: "KM-000123",
            deadline: datetime!(2026-11-26 19:30 UTC),
        }
    }

    #[test]
    fn kazakh_with_name() {
        let body = "Құрметті {customer_name}! Өтінішіңіз {number} {deadline} дейін қаралады.";
        assert_eq!(
            render(body, &values(Lang::Kk, Some("Асқар"))),
            "Құрметті Асқар! Өтінішіңіз KM-000123 27.11.2026 00:30 дейін қаралады."
        );
    }

    #[test]
    fn missing_name_is_a_polite_address_in_each_language() {
        assert_eq!(
            render("{customer_name}, сәлеметсіз бе!", &values(Lang::Kk, None)),
            "Құрметті клиент, сәлеметсіз бе!"
        );
        assert_eq!(
            render("{customer_name}, здравствуйте!", &values(Lang::Ru, None)),
            "Уважаемый клиент, здравствуйте!"
        );
        assert_eq!(
            render("{customer_name}, hello!", &values(Lang::En, Some("  "))),
            "Dear customer, hello!"
        );
    }

    #[test]
    fn russian_and_english() {
        assert_eq!(
            render(
                "Обращение {number}: ответим до {deadline}.",
                &values(Lang::Ru, Some("Ольга"))
            ),
            "Обращение KM-000123: ответим до 27.11.2026 00:30."
        );
        assert_eq!(
            render(
                "Dear {customer_name}, request {number} is due {deadline}.",
                &values(Lang::En, Some("John"))
            ),
            "Dear John, request KM-000123 is due 27.11.2026 00:30."
        );
    }

    #[test]
    fn unknown_and_broken_placeholders_stay_as_written() {
        let v = values(Lang::En, Some("John"));
        assert_eq!(render("{tariff} {number}", &v), "{tariff} KM-000123");
        assert_eq!(
            render("{ number } {Number} {}", &v),
            "{ number } {Number} {}"
        );
        assert_eq!(render("{{number}}", &v), "{KM-000123}");
        assert_eq!(render("open { brace {number", &v), "open { brace {number");
        assert_eq!(render("{number}{number}", &v), "KM-000123KM-000123");
        assert_eq!(render("", &v), "");
        // A name that itself looks like a placeholder is not expanded again.
        assert_eq!(
            render("{customer_name}", &values(Lang::En, Some("{number}"))),
            "{number}"
        );
    }

    #[test]
    fn unknown_placeholders_are_listed_once() {
        assert_eq!(
            unknown_placeholders("{numbr} {customer_name} {numbr} {due_date}"),
            vec!["numbr", "due_date"]
        );
        assert!(unknown_placeholders("{customer_name} {number} {deadline} {Not one}").is_empty());
    }
}
