//! komek-i18n: every text Komek shows or sends, one Fluent catalogue per language.
//!
//! The catalogues are data: `locales/<lang>/*.ftl` (`kk`, `ru`, `en`). `build.rs` embeds every
//! `.ftl` file it finds there, so a new file (say `locales/kk/staff.ftl`) needs no code change.
//! Message ids are unique across the files of one language; every id exists in all three
//! languages ([`check`], run by the tests).
//!
//! - [`text`]: one message in a language, its `{ $name }` placeables filled from `args`.
//! - [`catalogue`]: every message of a language as its plain pattern (placeables kept as
//!   `{ $name }`), what `GET /i18n/{lang}.json` serves to the staff pages.
//! - [`customer`]: the acknowledgment, survey invitation and mail texts a customer receives.
//! - [`check`]: parse errors, duplicate ids and ids missing from a language, for the tests.
//! - [`parse_lang`], [`ALL`]: the languages by their codes.
//!
//! Bidi isolation marks are off: every language here is left-to-right, and the marks would show
//! up in pages and SMS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_syntax::ast;
use unic_langid::LanguageIdentifier;

pub use fluent_bundle::FluentValue as Value;
pub use komek_domain::Lang;

pub mod customer;

mod files {
    include!(concat!(env!("OUT_DIR"), "/locales.rs"));
}

/// Every language with a catalogue, Kazakh first (the default).
pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

/// `kk`, `ru` or `en` (any case, surrounding blanks ignored).
pub fn parse_lang(code: &str) -> Option<Lang> {
    let code = code.trim();
    ALL.into_iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(code))
}

/// One parsed `.ftl` file.
struct File {
    lang: Lang,
    name: &'static str,
    resource: FluentResource,
    errors: Vec<String>,
}

static FILES: LazyLock<Vec<File>> = LazyLock::new(|| {
    files::FILES
        .iter()
        .filter_map(|(code, name, source)| {
            let lang = parse_lang(code)?;
            // A file with a syntax error keeps the entries that parsed; [`check`] reports the rest.
            let (resource, errors) = match FluentResource::try_new((*source).to_owned()) {
                Ok(r) => (r, Vec::new()),
                Err((r, errs)) => (r, errs.iter().map(|e| format!("{e:?}")).collect()),
            };
            Some(File {
                lang,
                name,
                resource,
                errors,
            })
        })
        .collect()
});

struct Catalogue {
    bundle: FluentBundle<&'static FluentResource>,
    /// Duplicate ids found while adding the files.
    errors: Vec<String>,
}

fn build(lang: Lang) -> Catalogue {
    let id: LanguageIdentifier = lang.as_str().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    bundle.set_use_isolating(false);
    let mut errors = Vec::new();
    for f in FILES.iter().filter(|f| f.lang == lang) {
        if let Err(errs) = bundle.add_resource(&f.resource) {
            errors.extend(
                errs.iter()
                    .map(|e| format!("{}/{}: {e}", lang.as_str(), f.name)),
            );
        }
    }
    Catalogue { bundle, errors }
}

static CATALOGUES: LazyLock<[Catalogue; 3]> =
    LazyLock::new(|| [build(Lang::Kk), build(Lang::Ru), build(Lang::En)]);

fn of(lang: Lang) -> &'static Catalogue {
    &CATALOGUES[match lang {
        Lang::Kk => 0,
        Lang::Ru => 1,
        Lang::En => 2,
    }]
}

/// The message `key` in `lang` with its placeables filled from `args`. An unknown key answers
/// the key itself (and logs it): a page shows a wrong word rather than failing; the tests keep
/// every key used present in every language.
pub fn text(lang: Lang, key: &str, args: &[(&str, Value<'_>)]) -> String {
    let bundle = &of(lang).bundle;
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        tracing::warn!(lang = lang.as_str(), key, "no such text in the catalogue");
        return key.to_owned();
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let mut errors = Vec::new();
    let out = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(
            lang = lang.as_str(),
            key,
            ?errors,
            "text formatted with errors"
        );
    }
    out.into_owned()
}

/// [`text`] without arguments.
pub fn t(lang: Lang, key: &str) -> String {
    text(lang, key, &[])
}

/// Every message of `lang`, id -> its pattern as plain text with placeables kept as `{ $name }`
/// (references to other messages and terms inlined, a selection as its default variant), for the
/// browser to fill in itself.
pub fn catalogue(lang: Lang) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in FILES.iter().filter(|f| f.lang == lang) {
        for entry in f.resource.entries() {
            if let ast::Entry::Message(m) = entry
                && let Some(value) = &m.value
            {
                out.insert(m.id.name.to_owned(), plain(lang, value, 0));
            }
        }
    }
    out
}

/// The English texts of the messages under `prefixes` that differ from their Kazakh text and
/// have no placeable: what a Kazakh page built from those messages must never show (a missing
/// Kazakh message would fall back to it). Pages' tests check their rendered Kazakh pages with it.
pub fn english_only(prefixes: &[&str]) -> Vec<String> {
    let kk = catalogue(Lang::Kk);
    catalogue(Lang::En)
        .into_iter()
        .filter(|(k, v)| {
            prefixes.iter().any(|p| k.starts_with(p)) && kk.get(k) != Some(v) && !v.contains("{ $")
        })
        .map(|(_, v)| v)
        .collect()
}

/// How deep message references are followed before giving up (a cycle is a catalogue bug).
const MAX_DEPTH: usize = 8;

fn plain(lang: Lang, pattern: &ast::Pattern<&str>, depth: usize) -> String {
    let mut out = String::new();
    for element in &pattern.elements {
        match element {
            ast::PatternElement::TextElement { value } => out.push_str(value),
            ast::PatternElement::Placeable { expression } => {
                out.push_str(&expression_text(lang, expression, depth));
            }
        }
    }
    out
}

fn expression_text(lang: Lang, e: &ast::Expression<&str>, depth: usize) -> String {
    match e {
        ast::Expression::Inline(i) => inline_text(lang, i, depth),
        ast::Expression::Select { variants, .. } => variants
            .iter()
            .find(|v| v.default)
            .map(|v| plain(lang, &v.value, depth))
            .unwrap_or_default(),
    }
}

fn inline_text(lang: Lang, i: &ast::InlineExpression<&str>, depth: usize) -> String {
    match i {
        ast::InlineExpression::VariableReference { id } => format!("{{ ${} }}", id.name),
        ast::InlineExpression::StringLiteral { value } => (*value).to_owned(),
        ast::InlineExpression::NumberLiteral { value } => (*value).to_owned(),
        ast::InlineExpression::Placeable { expression } => expression_text(lang, expression, depth),
        ast::InlineExpression::MessageReference { id, .. } => {
            referenced(lang, id.name, false, depth)
        }
        ast::InlineExpression::TermReference { id, .. } => referenced(lang, id.name, true, depth),
        ast::InlineExpression::FunctionReference { .. } => String::new(),
    }
}

fn referenced(lang: Lang, name: &str, term: bool, depth: usize) -> String {
    if depth >= MAX_DEPTH {
        return String::new();
    }
    for f in FILES.iter().filter(|f| f.lang == lang) {
        for entry in f.resource.entries() {
            match entry {
                ast::Entry::Message(m) if !term && m.id.name == name => {
                    return m
                        .value
                        .as_ref()
                        .map(|v| plain(lang, v, depth + 1))
                        .unwrap_or_default();
                }
                ast::Entry::Term(t) if term && t.id.name == name => {
                    return plain(lang, &t.value, depth + 1);
                }
                _ => {}
            }
        }
    }
    String::new()
}

/// Everything wrong with the catalogues: files that do not parse, ids defined twice in one
/// language, ids missing from a language, messages without a value. Empty when all is well.
pub fn check() -> Vec<String> {
    let mut problems = Vec::new();
    if FILES.is_empty() {
        problems.push("no .ftl files were embedded".to_owned());
    }
    for f in FILES.iter() {
        for e in &f.errors {
            problems.push(format!("{}/{}: {e}", f.lang.as_str(), f.name));
        }
        for entry in f.resource.entries() {
            if let ast::Entry::Message(m) = entry
                && m.value.is_none()
            {
                problems.push(format!(
                    "{}/{}: {} has no value",
                    f.lang.as_str(),
                    f.name,
                    m.id.name
                ));
            }
        }
    }
    let keys: Vec<(Lang, BTreeSet<String>)> = ALL
        .into_iter()
        .map(|l| {
            problems.extend(of(l).errors.iter().cloned());
            (l, catalogue(l).into_keys().collect())
        })
        .collect();
    let all: BTreeSet<&String> = keys.iter().flat_map(|(_, k)| k).collect();
    for key in all {
        for (lang, present) in &keys {
            if !present.contains(key) {
                problems.push(format!("{key} is missing in {}", lang.as_str()));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_parse_and_every_key_is_in_every_language() {
        let problems = check();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn every_language_has_the_same_keys() {
        let kk: Vec<String> = catalogue(Lang::Kk).into_keys().collect();
        assert!(!kk.is_empty());
        for lang in [Lang::Ru, Lang::En] {
            let other: Vec<String> = catalogue(lang).into_keys().collect();
            assert_eq!(kk, other, "{}", lang.as_str());
        }
    }

    #[test]
    fn texts_fill_their_placeables_without_bidi_marks() {
        let s = text(
            Lang::Ru,
            "ack-received",
            &[
                ("number", "KM-000123".into()),
                ("due", "27.11.2026 00:30".into()),
            ],
        );
        assert_eq!(
            s,
            "Ваше обращение принято, номер KM-000123. Мы ответим до 27.11.2026 00:30. Komek"
        );
        assert!(!s.contains('\u{2068}') && !s.contains('\u{2069}'));
    }

    #[test]
    fn the_served_catalogue_keeps_placeables_for_the_browser() {
        let c = catalogue(Lang::En);
        assert_eq!(
            c.get("ack-received").map(String::as_str),
            Some(
                "Your request has been received, number { $number }. We will answer by { $due }. Komek"
            )
        );
    }

    #[test]
    fn an_unknown_key_answers_itself() {
        assert_eq!(t(Lang::Kk, "no-such-key"), "no-such-key");
    }

    #[test]
    fn languages_by_code() {
        assert_eq!(parse_lang(" KK "), Some(Lang::Kk));
        assert_eq!(parse_lang("ru"), Some(Lang::Ru));
        assert_eq!(parse_lang("de"), None);
    }
}
