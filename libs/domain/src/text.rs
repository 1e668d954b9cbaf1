//! Free text from outside, bounded: [`BoundedText`] is trimmed, at most `MAX` characters and free
//! of control characters other than newline and tab, checked once where the text comes in. The
//! error messages are the API's 422 wording.

use std::fmt;

/// Why a text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("at most {max} characters")]
    TooLong { max: usize },
    /// A control character other than newline and tab (a CR is kept only as part of CR LF, which
    /// browsers send for a line break in a form field, and is stored as LF). Such characters
    /// mean nothing to a reader and can hide text, break logs or CSV, or confuse a terminal.
    #[error("must not contain control characters (other than newline and tab)")]
    Control,
}

impl TextError {
    /// The wording of a field that must have 1 to `max` characters, for either reason.
    pub fn range(max: usize) -> String {
        format!("1 to {max} characters")
    }

    /// The wording of a required field of 1 to `max` characters refused for this reason.
    pub fn required(&self, max: usize) -> String {
        match self {
            TextError::Control => self.to_string(),
            TextError::Empty | TextError::TooLong { .. } => Self::range(max),
        }
    }
}

/// A text trimmed of surrounding white space, not blank, at most `MAX` characters as sent
/// (counted as Unicode scalar values, as customers and staff count letters; the white space
/// trimmed counts too, so the bound is the one the OpenAPI documents give as `maxLength`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoundedText<const MAX: usize>(String);

impl<const MAX: usize> BoundedText<MAX> {
    /// `raw` trimmed; refused when blank or longer than `MAX` characters.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        match Self::optional(raw)? {
            Some(t) => Ok(t),
            None => Err(TextError::Empty),
        }
    }

    /// `raw` trimmed; `None` when blank; refused when longer than `MAX` characters.
    pub fn optional(raw: &str) -> Result<Option<Self>, TextError> {
        match bounded(raw, MAX) {
            Ok(t) => Ok(Some(Self(t))),
            Err(TextError::Empty) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MAX: usize> fmt::Display for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> From<BoundedText<MAX>> for String {
    fn from(t: BoundedText<MAX>) -> String {
        t.0
    }
}

/// [`BoundedText::parse`] with a bound known only at run time.
pub fn bounded(raw: &str, max: usize) -> Result<String, TextError> {
    let t = raw.trim();
    if t.is_empty() {
        Err(TextError::Empty)
    } else if raw.chars().count() > max {
        Err(TextError::TooLong { max })
    } else if t.contains('\r') {
        let t = t.replace("\r\n", "\n");
        if has_control(&t) {
            Err(TextError::Control)
        } else {
            Ok(t)
        }
    } else if has_control(t) {
        Err(TextError::Control)
    } else {
        Ok(t.to_owned())
    }
}

/// Whether `t` holds a control character other than newline and tab.
pub fn has_control(t: &str) -> bool {
    t.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_in_characters() {
        assert_eq!(BoundedText::<7>::parse("  әлі \n").unwrap().as_str(), "әлі");
        assert_eq!(
            BoundedText::<6>::parse("  әлі \n"),
            Err(TextError::TooLong { max: 6 })
        );
        assert_eq!(BoundedText::<3>::parse(" \t"), Err(TextError::Empty));
        assert_eq!(
            BoundedText::<3>::parse("сәлем"),
            Err(TextError::TooLong { max: 3 })
        );
        assert_eq!(BoundedText::<3>::optional("  ").unwrap(), None);
        assert_eq!(
            TextError::TooLong { max: 10_000 }.to_string(),
            "at most 10000 characters"
        );
        assert_eq!(TextError::Empty.to_string(), "must not be empty");
        assert_eq!(bounded(" ab ", 4).unwrap(), "ab");
        assert_eq!(bounded(" ab ", 3), Err(TextError::TooLong { max: 3 }));
    }

    /// Newline and tab are text; CR LF is a newline; every other control character is refused,
    /// wherever it stands (U+001F is what a fuzzer once got stored in an escalation reason).
    #[test]
    fn control_characters_are_refused() {
        assert_eq!(bounded("a\tb\nc", 10).unwrap(), "a\tb\nc");
        assert_eq!(bounded("a\r\nb", 10).unwrap(), "a\nb");
        for bad in [
            "a\u{1f}b",
            "a\rb",
            "a\u{0}",
            "\u{7f}x",
            "x\u{85}y",
            "\u{1b}[31mred",
        ] {
            assert_eq!(bounded(bad, 20), Err(TextError::Control), "{bad:?}");
            assert_eq!(BoundedText::<20>::parse(bad), Err(TextError::Control));
        }
        assert_eq!(
            TextError::Control.required(5),
            "must not contain control characters (other than newline and tab)"
        );
        assert_eq!(TextError::Empty.required(5), "1 to 5 characters");
    }
}
