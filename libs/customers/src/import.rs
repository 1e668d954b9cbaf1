//! CSV import into the built-in directory.
//!
//! The file is UTF-8 CSV with a header line; column order is free, names are case-insensitive.
//!
//! | column | required | content |
//! |---|---|---|
//! | `msisdn` | yes | phone number, E.164 or Kazakhstan's national `8 7xx ...` form |
//! | `name` | yes | 1 to 200 characters |
//! | `language` | yes | `kk`, `ru` or `en` |
//! | `region` | yes | 1 to 100 characters |
//! | `tariff` | yes | 1 to 100 characters |
//! | `email` | no | an email address, or empty for none |
//! | `segment` | no | up to 50 characters (`mass`, `vip`, `business`, ...) |
//! | `balance_tenge` | no | whole tenge, may be negative |
//!
//! A row adds the customer or replaces the profile fields its columns carry; an optional column
//! left out of the file leaves that field as it was, and the charges, payments and services a
//! record has are always kept. A bad row is reported with its line and reason and the others are
//! imported; a header that lacks a required column, names an unknown one or repeats one refuses
//! the whole file. Importing the same file twice changes nothing the second time.

use std::collections::HashMap;
use std::io::Read;

use komek_domain::{Email, Lang, Msisdn};
use komek_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::directory::{DirectoryRecord, DirectorySource, Written};

pub const REQUIRED: &[&str] = &["msisdn", "name", "language", "region", "tariff"];
pub const OPTIONAL: &[&str] = &["email", "segment", "balance_tenge"];

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    /// Customers that were not in the directory.
    pub added: u32,
    /// Customers whose profile changed.
    pub updated: u32,
    /// Customers already exactly as the file says.
    pub unchanged: u32,
    /// Rows not imported, with why.
    pub rejected: Vec<RejectedLine>,
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RejectedLine {
    /// Line in the file, from 1 (the header).
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be imported at all (its header); nothing was written.
    #[error("{0}")]
    Header(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One valid row: the profile fields it sets. `None` for an optional column the file lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    pub msisdn: Msisdn,
    pub name: String,
    pub language: Lang,
    pub region: String,
    pub tariff: String,
    pub email: Option<Option<Email>>,
    pub segment: Option<String>,
    pub balance_tenge: Option<i64>,
}

impl ProfileRow {
    /// `current` (if any) with this row's fields; charges, payments and services are kept.
    pub fn apply(&self, current: Option<DirectoryRecord>) -> DirectoryRecord {
        let mut r = current.unwrap_or_else(|| DirectoryRecord {
            msisdn: self.msisdn.clone(),
            name: String::new(),
            language: self.language,
            region: String::new(),
            tariff: String::new(),
            email: None,
            segment: String::new(),
            balance_tenge: 0,
            charges: Vec::new(),
            payments: Vec::new(),
            services: Vec::new(),
        });
        r.msisdn = self.msisdn.clone();
        r.name = self.name.clone();
        r.language = self.language;
        r.region = self.region.clone();
        r.tariff = self.tariff.clone();
        if let Some(e) = &self.email {
            r.email = e.clone();
        }
        if let Some(s) = &self.segment {
            r.segment = s.clone();
        }
        if let Some(b) = self.balance_tenge {
            r.balance_tenge = b;
        }
        r
    }
}

/// A file read and checked: its valid rows with their lines, and the rejected ones.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<(u64, ProfileRow)>,
    pub rejected: Vec<RejectedLine>,
}

fn text(problems: &mut Vec<String>, column: &str, raw: &str, max: usize, required: bool) -> String {
    let n = raw.chars().count();
    if required && n == 0 {
        problems.push(format!("{column}: required"));
    } else if n > max {
        problems.push(format!("{column}: at most {max} characters"));
    } else if raw.chars().any(char::is_control) {
        problems.push(format!("{column}: must not contain control characters"));
    }
    raw.to_owned()
}

/// The csv reader ends a row at a lone CR (old Mac files) but counts lines by LF only, so the
/// line numbers of the report would all be wrong: such line ends become LF first.
fn lone_cr_to_lf(mut bytes: Vec<u8>) -> Vec<u8> {
    for i in 0..bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
            bytes[i] = b'\n';
        }
    }
    bytes
}

/// Reads and checks a CSV file (module docs); writes nothing.
pub fn parse_csv<R: Read>(mut reader: R) -> Result<Parsed, ImportError> {
    let mut raw = Vec::new();
    reader
        .read_to_end(&mut raw)
        .map_err(|e| ImportError::Header(format!("the file cannot be read: {e}")))?;
    let bytes = lone_cr_to_lf(raw);
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(bytes.as_slice());
    let header = rdr
        .headers()
        .map_err(|e| ImportError::Header(format!("the header cannot be read: {e}")))?
        .clone();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut header_problems = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}').trim().to_lowercase();
        if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
            header_problems.push(format!("unknown column {name:?}"));
        } else if at.insert(name.clone(), i).is_some() {
            header_problems.push(format!("column {name:?} appears twice"));
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !at.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        header_problems.insert(0, format!("missing columns: {}", missing.join(", ")));
    }
    if !header_problems.is_empty() {
        return Err(ImportError::Header(format!(
            "{}; the columns are {} (required) and {} (optional)",
            header_problems.join("; "),
            REQUIRED.join(", "),
            OPTIONAL.join(", ")
        )));
    }

    let mut out = Parsed::default();
    let mut seen: HashMap<Msisdn, u64> = HashMap::new();
    for (n, result) in rdr.records().enumerate() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e
                    .position()
                    .map(csv::Position::line)
                    .unwrap_or(n as u64 + 2);
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("{len} fields where the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
                    _ => e.to_string(),
                };
                out.rejected.push(RejectedLine { line, reason });
                continue;
            }
        };
        let line = record
            .position()
            .map(csv::Position::line)
            .unwrap_or(n as u64 + 2);
        let get = |c: &str| at.get(c).and_then(|&i| record.get(i));
        let mut problems = Vec::new();
        let msisdn = match Msisdn::parse(get("msisdn").unwrap_or("")) {
            Ok(m) => Some(m),
            Err(e) => {
                problems.push(format!("msisdn: {e}"));
                None
            }
        };
        let language = match get("language").unwrap_or("").to_lowercase().as_str() {
            "kk" => Some(Lang::Kk),
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => {
                problems.push("language: one of kk, ru, en".to_owned());
                None
            }
        };
        let name = text(&mut problems, "name", get("name").unwrap_or(""), 200, true);
        let region = text(
            &mut problems,
            "region",
            get("region").unwrap_or(""),
            100,
            true,
        );
        let tariff = text(
            &mut problems,
            "tariff",
            get("tariff").unwrap_or(""),
            100,
            true,
        );
        let email = get("email").map(|raw| {
            if raw.is_empty() {
                None
            } else {
                Email::parse(raw)
                    .map_err(|e| problems.push(format!("email: {e}")))
                    .ok()
            }
        });
        let segment = get("segment").map(|raw| text(&mut problems, "segment", raw, 50, false));
        let balance_tenge = get("balance_tenge").and_then(|raw| {
            if raw.is_empty() {
                return Some(0);
            }
            raw.parse::<i64>()
                .map_err(|_| {
                    problems.push(
                        "balance_tenge: a whole number of tenge, e.g. 1500 or -300".to_owned(),
                    )
                })
                .ok()
        });
        if let Some(m) = &msisdn
            && let Some(first) = seen.get(m)
        {
            problems.push(format!("msisdn: {} is already on line {first}", m.as_str()));
        }
        match (msisdn, language) {
            (Some(msisdn), Some(language)) if problems.is_empty() => {
                seen.insert(msisdn.clone(), line);
                out.rows.push((
                    line,
                    ProfileRow {
                        msisdn,
                        name,
                        language,
                        region,
                        tariff,
                        email,
                        segment,
                        balance_tenge,
                    },
                ));
            }
            _ => out.rejected.push(RejectedLine {
                line,
                reason: problems.join("; "),
            }),
        }
    }
    Ok(out)
}

impl DirectorySource {
    /// Imports a CSV file of customer profiles (module docs) and says what it did.
    pub async fn import_csv<R: Read>(&self, reader: R) -> Result<ImportReport, ImportError> {
        let parsed = parse_csv(reader)?;
        let mut report = ImportReport {
            rejected: parsed.rejected,
            ..ImportReport::default()
        };
        for (line, row) in parsed.rows {
            match self.update(&row.msisdn, |cur| Some(row.apply(cur))).await? {
                Written::Added => report.added += 1,
                Written::Updated => report.updated += 1,
                Written::Unchanged => report.unchanged += 1,
                Written::EmailTaken(owner) => report.rejected.push(RejectedLine {
                    line,
                    reason: format!("email: already the email of {owner}"),
                }),
            }
        }
        report.rejected.sort_by_key(|r| r.line);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed {
        parse_csv(text.as_bytes()).unwrap()
    }

    /// Old Mac files end lines with a lone CR: the csv reader splits rows on it, but counts
    /// lines by LF only, so every row was reported as line 2.
    #[test]
    fn regression_lone_cr_line_ends_count_lines() {
        let p = parse(
            "msisdn,name,language,region,tariff\r+77011234567,A,kk,Almaty,T\r+7701,B,kk,Almaty,T\r",
        );
        let lines: Vec<u64> = p.rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2]);
        assert_eq!(p.rejected.iter().map(|r| r.line).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn good_rows_in_any_column_order() {
        let p = parse(
            "\u{feff}Name,MSISDN,language,region,tariff,email,balance_tenge\n\
             Асқар Нұрланұлы,8 701 123 45 67,KK,Almaty,Komek Unlimited,ASKAR@mail.kz,-1500\n\
             \"Smith, John\",+77771234567,en,Shymkent,Komek Travel,,\n",
        );
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let (line, a) = &p.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(a.msisdn.as_str(), "+77011234567");
        assert_eq!(a.language, Lang::Kk);
        assert_eq!(a.email, Some(Some(Email::parse("askar@mail.kz").unwrap())));
        assert_eq!((a.segment.clone(), a.balance_tenge), (None, Some(-1500)));
        let (_, b) = &p.rows[1];
        assert_eq!(b.name, "Smith, John");
        assert_eq!((b.email.clone(), b.balance_tenge), (Some(None), Some(0)));
    }

    #[test]
    fn bad_rows_are_named_by_line_and_reason() {
        let p = parse(
            "msisdn,name,language,region,tariff\n\
             12345,Bad Phone,ru,Astana,Smart\n\
             +77051112233,Ольга,de,Astana,\n\
             +77051112233,Ольга,ru,Astana,Smart\n\
             +77051112233,Again,ru,Astana,Smart\n\
             +77051112244,Short row\n",
        );
        let got: Vec<(u64, &str)> = p
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    2,
                    "msisdn: must be a phone number in E.164 form, e.g. +77011234567"
                ),
                (3, "language: one of kk, ru, en; tariff: required"),
                (5, "msisdn: +77051112233 is already on line 4"),
                (6, "2 fields where the header has 5"),
            ]
        );
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.rows[0].0, 4);
    }

    #[test]
    fn a_header_without_required_columns_refuses_the_file() {
        let err = parse_csv("msisdn,name,tarif\n+77011234567,A,B\n".as_bytes()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("missing columns: language, region, tariff; unknown column \"tarif\""),
            "{msg}"
        );
        assert!(matches!(
            parse_csv("".as_bytes()),
            Err(ImportError::Header(_))
        ));
        let twice = parse_csv("msisdn,name,language,region,tariff,name\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(twice.contains("column \"name\" appears twice"), "{twice}");
    }
}
