//! How a section checks itself: [`Section::from_raw`] turns the raw values into typed ones and
//! notes every problem in a [`Problems`] scoped to the section, so each line names its setting.

use std::fmt;

/// A settings section that checks itself: the raw values operators write in, the typed values
/// services use out.
pub trait Section: Sized {
    /// What the TOML holds for this section.
    type Raw;
    /// The section's name in the files (`[redis]`), the prefix of each problem line.
    const NAME: &'static str;
    /// The typed section; `None` only when a problem left nothing to build from (a bad URL or
    /// calendar). Every problem is noted in `bad`, whether or not a value is returned.
    fn from_raw(raw: Self::Raw, bad: &mut Problems) -> Option<Self>;
}

/// The problems found in one section, one line each: `setting {section}.{key}: {rule}`.
#[derive(Debug)]
pub struct Problems {
    section: &'static str,
    lines: Vec<String>,
}

impl Problems {
    pub fn new(section: &'static str) -> Self {
        Self {
            section,
            lines: Vec::new(),
        }
    }

    /// Notes `line` (a key and its rule, e.g. `url: must start with redis://`) unless `ok`.
    pub fn need(&mut self, ok: bool, line: impl fmt::Display) {
        if !ok {
            self.lines.push(format!("setting {}.{line}", self.section));
        }
    }

    /// Notes `key: at least {min}` unless `value` is.
    pub fn at_least<T: PartialOrd + fmt::Display>(&mut self, key: &str, value: T, min: T) {
        let ok = value >= min;
        self.need(ok, format_args!("{key}: at least {min}"));
    }

    /// Notes `key: {lo} to {hi}` unless `value` is in that range (both ends included).
    pub fn within<T: PartialOrd + fmt::Display>(&mut self, key: &str, value: T, lo: T, hi: T) {
        let ok = value >= lo && value <= hi;
        self.need(ok, format_args!("{key}: {lo} to {hi}"));
    }

    /// Notes `url: must start with {scheme}:// or {scheme}s://` unless `url` does (a broker's
    /// URL, plain or over TLS; its client parses the rest).
    pub fn url_scheme(&mut self, url: &str, scheme: &str) {
        let ok = [format!("{scheme}://"), format!("{scheme}s://")]
            .iter()
            .any(|start| url.starts_with(start.as_str()));
        self.need(
            ok,
            format_args!("url: must start with {scheme}:// or {scheme}s://"),
        );
    }

    /// Notes the rule of a key prefix (Redis keys, exchange and queue names) unless `prefix`
    /// keeps to it.
    pub fn prefix(&mut self, prefix: &str) {
        self.need(
            valid_prefix(prefix),
            "prefix: 1-64 letters, digits, '-', '_' or ':'",
        );
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn into_lines(self) -> Vec<String> {
        self.lines
    }
}

/// Checks section `S` from its raw values, adding its problems to `all`; the value only when the
/// section is clean.
pub(crate) fn section<S: Section>(raw: S::Raw, all: &mut Vec<String>) -> Option<S> {
    let mut bad = Problems::new(S::NAME);
    let value = S::from_raw(raw, &mut bad);
    let clean = bad.is_empty();
    all.extend(bad.into_lines());
    value.filter(|_| clean)
}

/// An absolute http(s) URL with a host, parsed once at load; its text is kept as the operator
/// wrote it, since services append paths to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(String, url::Url);

impl HttpUrl {
    /// `s` when it is an absolute URL whose scheme is one of `schemes` and which names a host.
    pub fn parse(s: &str, schemes: &[&str]) -> Option<Self> {
        let u = url::Url::parse(s).ok()?;
        (schemes.contains(&u.scheme()) && u.host_str().is_some_and(|h| !h.is_empty()))
            .then(|| Self(s.to_owned(), u))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parsed URL, to add a query or path to.
    pub fn url(&self) -> url::Url {
        self.1.clone()
    }

    /// The URL without trailing slashes, for appending `/path`.
    pub fn base(&self) -> &str {
        self.0.trim_end_matches('/')
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) const HTTP_S: &[&str] = &["http", "https"];

/// `addr@domain` or `Display Name <addr@domain>`, with no line breaks.
pub(crate) fn valid_mailbox(s: &str) -> bool {
    let addr = match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(i), Some(rest)) => &rest[i + 1..],
        (None, None) => s.trim(),
        _ => return false,
    };
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '@' | ',' | ';'))
    };
    !s.contains(['\r', '\n'])
        && addr
            .split_once('@')
            .is_some_and(|(l, d)| ok_part(l) && ok_part(d) && (d.contains('.') || d == "localhost"))
}

pub(crate) fn valid_prefix(p: &str) -> bool {
    (1..=64).contains(&p.len())
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
}
