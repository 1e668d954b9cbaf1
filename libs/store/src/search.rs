//! Search over requests, and similar resolved requests, on an inverted index kept in Redis.
//!
//! Redis here (Debian's 7.0) has no search module, so every request commit also moves the request
//! between the index keys ([`index_ops`], part of `Store::bookkeeping_ops`, which `create_request`
//! and `update_request` append): the index changes in the same atomic script as the request, or not
//! at all.
//!
//! | key | type | members |
//! |---|---|---|
//! | `{p}:ix:w:{word}` | set | requests whose subject or text has `word` ([`words`]) |
//! | `{p}:ix:phone:{msisdn}`, `{p}:ix:email:{email}` | sorted set | requests from that contact |
//! | `{p}:ix:status:{status}`, `{p}:ix:category:{category}`, `{p}:ix:channel:{channel}` | sorted set | |
//! | `{p}:ix:owner:{login}` | sorted set | requests `login` owns, open or not |
//! | `{p}:ix:resolved` | sorted set | resolved and closed requests |
//! | `{p}:ix:created` | sorted set | every request |
//!
//! Every sorted set is scored by the request's `created_at` (ms), so one filter alone (or none) is
//! read straight from its key, newest first, by score: `ZCOUNT` for the total and
//! `ZRANGE … BYSCORE REV LIMIT` for the page, `O(log n + page)` however many requests match.
//! Words stay plain sets, because [`Store::similar`] counts shared words with them.
//!
//! With two filters or more (or words, or a number), [`Store::search`] intersects them
//! (`ZINTERSTORE`, weight 1 for one sorted set, which gives the creation time, and 0 for the rest)
//! into a scratch key, counts and pages it by score, and deletes the scratch key, all in one
//! `MULTI`. Redis walks the smallest input, so the cost follows the most selective filter; no key
//! is ever scanned.
//! [`Store::similar`] sums the word sets of one request (`ZUNIONSTORE`, weight 1 each: the score is
//! the number of shared words), keeps the resolved ones and takes the best. It sums the rarest
//! words first, up to [`SIMILAR_BUDGET`] set entries, so a request made of common words stays cheap.

use std::collections::BTreeSet;

use komek_domain::{Category, Channel, Email, Msisdn, Request, RequestId, Status};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::commit::{Op, Store, StoreError};
use crate::keys::Keys;

/// At most this many distinct words of one request are indexed (the first ones of subject + text).
pub const MAX_WORDS: usize = 64;
/// A word needs at least this many characters to be indexed or searched for.
pub const MIN_WORD_CHARS: usize = 2;
/// Longer words are cut to this many characters, in the index and in queries alike.
pub const MAX_WORD_CHARS: usize = 40;
/// The largest page a search returns.
pub const MAX_PER_PAGE: u32 = 100;

/// Kazakh words too common to tell requests apart (conjunctions, pronouns, particles).
pub const STOP_KK: &[&str] = &[
    "және",
    "мен",
    "бен",
    "пен",
    "да",
    "де",
    "та",
    "те",
    "ма",
    "ме",
    "ба",
    "бе",
    "па",
    "пе",
    "бұл",
    "осы",
    "сол",
    "ол",
    "олар",
    "менің",
    "маған",
    "мені",
    "сіз",
    "сізге",
    "сіздің",
    "біз",
    "біздің",
    "үшін",
    "ғой",
    "еді",
    "ғана",
    "тек",
    "әлі",
    "және",
    "немесе",
    "бірақ",
    "өте",
];
/// Russian words too common to tell requests apart.
pub const STOP_RU: &[&str] = &[
    "и",
    "в",
    "во",
    "не",
    "на",
    "что",
    "со",
    "как",
    "но",
    "по",
    "из",
    "за",
    "от",
    "об",
    "же",
    "ли",
    "бы",
    "то",
    "это",
    "мне",
    "меня",
    "мой",
    "моя",
    "мое",
    "мои",
    "вы",
    "вас",
    "вам",
    "ваш",
    "он",
    "она",
    "они",
    "мы",
    "уже",
    "еще",
    "для",
    "до",
    "при",
    "так",
    "там",
    "тут",
    "или",
    "а",
    "у",
    "к",
    "с",
    "о",
    "я",
    "пожалуйста",
    "здравствуйте",
];
/// English words too common to tell requests apart.
pub const STOP_EN: &[&str] = &[
    "an", "the", "and", "or", "but", "is", "are", "was", "were", "be", "been", "to", "of", "in",
    "on", "at", "for", "with", "from", "by", "my", "me", "it", "its", "this", "that", "you",
    "your", "we", "our", "have", "has", "had", "do", "does", "did", "not", "can", "could", "would",
    "will", "there", "as", "so", "if", "please", "hello",
];

/// Whether `word` (lower-cased) is a stop word in any of the three languages. The lists are applied
/// together: customers mix languages, and the detected language of a short text may be wrong.
pub fn is_stop_word(word: &str) -> bool {
    STOP_KK.contains(&word) || STOP_RU.contains(&word) || STOP_EN.contains(&word)
}

/// The searchable words of `text`, each once, in order of first appearance: lower-cased (and `ё` as
/// `е`; Kazakh Latin `ı` and `İ` as `i`, as their capitals fold alike), split on anything that is not a letter or digit in any script, at least
/// [`MIN_WORD_CHARS`] characters, cut to [`MAX_WORD_CHARS`], without stop words, at most [`MAX_WORDS`].
pub fn words(text: &str) -> Vec<String> {
    // `İ` lower-cases to `i` and a combining dot (U+0307), which split the word in two, and
    // `ı` upper-cases to `I`: a word typed in capitals was not found (`fuzz_search_words_in_any_case`).
    let lower = text
        .to_lowercase()
        .replace('ё', "е")
        .replace('ı', "i")
        .replace('\u{307}', "");
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for raw in lower.split(|c: char| !c.is_alphanumeric()) {
        if raw.chars().count() < MIN_WORD_CHARS || is_stop_word(raw) {
            continue;
        }
        let w: String = raw.chars().take(MAX_WORD_CHARS).collect();
        if seen.insert(w.clone()) {
            out.push(w);
            if out.len() == MAX_WORDS {
                break;
            }
        }
    }
    out
}

/// The indexed words of a request: its subject, then its text.
pub fn request_words(r: &Request) -> Vec<String> {
    match &r.subject {
        Some(s) => words(&format!("{s}\n{}", r.text)),
        None => words(&r.text),
    }
}

/// How many word-set entries [`Store::similar`] may sum: this bounds its cost however common the
/// request's words are (measured: about 2 ms of Redis time per 1 000 entries, union and intersection).
pub const SIMILAR_BUDGET: u64 = 10_000;

/// The word sets to compare with, rarest first (the rarer a word, the more it says), while their
/// sizes add up to at most `budget`; the rarest non-empty one is taken even if it alone is larger.
pub fn rarest_within_budget(mut sets: Vec<(String, u64)>, budget: u64) -> Vec<String> {
    sets.retain(|(_, n)| *n > 0);
    sets.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let mut spent = 0;
    let mut out = Vec::new();
    for (key, n) in sets {
        if !out.is_empty() && spent + n > budget {
            break;
        }
        spent += n;
        out.push(key);
    }
    out
}

/// Wire name of a serde enum (`call_center`), as the API spells it.
fn wire<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The word sets `r` belongs to.
fn word_sets(keys: &Keys, r: &Request) -> BTreeSet<String> {
    request_words(r).iter().map(|w| keys.ix_word(w)).collect()
}

/// The sorted sets (scored by creation time) `r` belongs to, besides `ix:created`.
fn attribute_sets(keys: &Keys, r: &Request) -> BTreeSet<String> {
    let mut sets = BTreeSet::new();
    if let Some(m) = &r.customer.msisdn {
        sets.insert(keys.ix_phone(m.as_str()));
    }
    if let Some(e) = &r.customer.email {
        sets.insert(keys.ix_email(e.as_str()));
    }
    sets.insert(keys.ix_status(r.status.as_str()));
    sets.insert(keys.ix_category(r.category.as_str()));
    sets.insert(keys.ix_channel(&wire(&r.channel)));
    if let Some(o) = &r.owner {
        sets.insert(keys.ix_owner(o));
    }
    if matches!(r.status, Status::Resolved | Status::Closed) {
        sets.insert(keys.ix_resolved());
    }
    sets
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The operations that move a request from where `before` (none for a new request) has it in the
/// search index to where `after` belongs: `SREM`/`ZREM` from the keys it leaves, `SADD`/`ZADD` to
/// the keys it enters. Appended to the request's own commit, so the index never disagrees with the
/// stored request. None of them has a precondition.
pub fn index_ops(keys: &Keys, before: Option<&Request>, after: &Request) -> Vec<Op> {
    let member = after.id.to_string();
    let score = millis(after.created_at);
    // Most changes (queued, assigned, a note) leave the words alone: tokenising the text twice
    // per change was a visible share of a consumer's CPU under load.
    let same_text = before.is_some_and(|b| b.subject == after.subject && b.text == after.text);
    let (old_words, old_attrs) = match before {
        Some(b) if same_text => (BTreeSet::new(), attribute_sets(keys, b)),
        Some(b) => (word_sets(keys, b), attribute_sets(keys, b)),
        None => Default::default(),
    };
    let new_words = if same_text {
        BTreeSet::new()
    } else {
        word_sets(keys, after)
    };
    let new_attrs = attribute_sets(keys, after);
    // A new creation time (never, today) re-scores every sorted set the request stays in.
    let rescore = before.is_none_or(|b| b.created_at != after.created_at);
    let mut ops = Vec::new();
    for key in old_words.difference(&new_words) {
        ops.push(Op::SRem {
            key: key.clone(),
            member: member.clone(),
        });
    }
    for key in new_words.difference(&old_words) {
        ops.push(Op::SAdd {
            key: key.clone(),
            member: member.clone(),
        });
    }
    for key in old_attrs.difference(&new_attrs) {
        ops.push(Op::ZRem {
            key: key.clone(),
            member: member.clone(),
        });
    }
    for key in new_attrs
        .iter()
        .filter(|k| rescore || !old_attrs.contains(*k))
    {
        ops.push(Op::ZAdd {
            key: key.clone(),
            member: member.clone(),
            score,
        });
    }
    if rescore {
        ops.push(Op::ZAdd {
            key: keys.ix_created(),
            member,
            score,
        });
    }
    ops
}

/// What to look for; every filter given must hold. `SearchQuery::default()` is every request,
/// first page of 20.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// The request number, exactly (`KM-000123`).
    pub number: Option<String>,
    pub phone: Option<Msisdn>,
    pub email: Option<Email>,
    /// Words that must all be in the subject or text; tokenised like the index ([`words`]).
    pub words: Vec<String>,
    pub status: Option<Status>,
    pub category: Option<Category>,
    pub channel: Option<Channel>,
    /// The owner's login.
    pub owner: Option<String>,
    /// Created at or after.
    pub created_from: Option<OffsetDateTime>,
    /// Created at or before.
    pub created_to: Option<OffsetDateTime>,
    /// From 1.
    pub page: u32,
    /// 1 to [`MAX_PER_PAGE`].
    pub per_page: u32,
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            number: None,
            phone: None,
            email: None,
            words: Vec::new(),
            status: None,
            category: None,
            channel: None,
            owner: None,
            created_from: None,
            created_to: None,
            page: 1,
            per_page: 20,
        }
    }
}

/// One page of results, newest first.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// How many requests match in all.
    pub total: u64,
    pub items: Vec<Request>,
}

fn score_bound(t: Option<OffsetDateTime>, open: &str) -> String {
    t.map(|t| millis(t).to_string())
        .unwrap_or_else(|| open.to_owned())
}

impl Store {
    /// The requests that match `q`, newest first, one page of them.
    pub async fn search(&self, q: &SearchQuery) -> Result<SearchPage, StoreError> {
        let k = self.keys();
        let per_page = q.per_page.clamp(1, MAX_PER_PAGE);
        let offset = u64::from(q.page.max(1) - 1) * u64::from(per_page);
        let (min, max) = (
            score_bound(q.created_from, "-inf"),
            score_bound(q.created_to, "+inf"),
        );
        let empty = SearchPage {
            total: 0,
            items: Vec::new(),
        };
        if q.created_from.zip(q.created_to).is_some_and(|(f, t)| f > t) {
            return Ok(empty);
        }

        let number_id = match &q.number {
            Some(n) => match self.get_string(&k.number(n)).await? {
                Some(id) => Some(id),
                None => return Ok(empty),
            },
            None => None,
        };
        // Sorted sets scored by creation time, then plain sets (words, the number's one id).
        let mut zsets: Vec<String> = Vec::new();
        zsets.extend(q.phone.as_ref().map(|m| k.ix_phone(m.as_str())));
        zsets.extend(q.email.as_ref().map(|e| k.ix_email(e.as_str())));
        zsets.extend(q.status.map(|s| k.ix_status(s.as_str())));
        zsets.extend(q.category.map(|c| k.ix_category(c.as_str())));
        zsets.extend(q.channel.map(|c| k.ix_channel(&wire(&c))));
        zsets.extend(q.owner.as_ref().map(|o| k.ix_owner(o)));
        let mut sets: Vec<String> = words(&q.words.join(" "))
            .iter()
            .map(|w| k.ix_word(w))
            .collect();

        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut scratch_keys = Vec::new();
        let source = if sets.is_empty() && number_id.is_none() && zsets.len() <= 1 {
            // One filter or none: its own sorted set is already in creation order.
            zsets.pop().unwrap_or_else(|| k.ix_created())
        } else {
            if let Some(id) = &number_id {
                let only = k.ix_scratch(Uuid::now_v7());
                pipe.cmd("SADD").arg(&only).arg(id).ignore();
                sets.push(only.clone());
                scratch_keys.push(only);
            }
            // The first input gives the score (creation time); every other one only filters.
            let scored = if zsets.is_empty() {
                k.ix_created()
            } else {
                zsets.remove(0)
            };
            let others: Vec<String> = zsets.into_iter().chain(sets).collect();
            let scratch = k.ix_scratch(Uuid::now_v7());
            pipe.cmd("ZINTERSTORE")
                .arg(&scratch)
                .arg(others.len() + 1)
                .arg(&scored)
                .arg(&others);
            pipe.arg("WEIGHTS")
                .arg(1)
                .arg(vec![0; others.len()])
                .arg("AGGREGATE")
                .arg("SUM")
                .ignore();
            scratch_keys.push(scratch.clone());
            scratch
        };
        pipe.cmd("ZCOUNT").arg(&source).arg(&min).arg(&max);
        pipe.cmd("ZRANGE")
            .arg(&source)
            .arg(&max)
            .arg(&min)
            .arg("BYSCORE")
            .arg("REV");
        pipe.arg("LIMIT").arg(offset).arg(per_page);
        if !scratch_keys.is_empty() {
            // Same transaction: a scratch key never outlives the search that made it.
            pipe.cmd("DEL").arg(&scratch_keys).ignore();
        }
        let mut c = self.conn();
        let (total, ids): (u64, Vec<String>) = pipe.query_async(&mut c).await?;
        Ok(SearchPage {
            total,
            items: self.requests_by_ids(&ids).await?,
        })
    }

    /// Resolved (or closed) requests that share the most words with `r`, best first, with the
    /// number of shared words; `r` itself is never among them. Equal scores: newest first.
    pub async fn similar(
        &self,
        r: &Request,
        limit: usize,
    ) -> Result<Vec<(Request, f64)>, StoreError> {
        let ws = request_words(r);
        if ws.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let k = self.keys();
        let all_sets: Vec<String> = ws.iter().map(|w| k.ix_word(w)).collect();
        let mut sizes = redis::pipe();
        for key in &all_sets {
            sizes.cmd("SCARD").arg(key);
        }
        let mut c = self.conn();
        let counts: Vec<u64> = sizes.query_async(&mut c).await?;
        let word_sets =
            rarest_within_budget(all_sets.into_iter().zip(counts).collect(), SIMILAR_BUDGET);
        if word_sets.is_empty() {
            return Ok(Vec::new());
        }
        let (union, resolved) = (k.ix_scratch(Uuid::now_v7()), k.ix_scratch(Uuid::now_v7()));
        let stop = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("ZUNIONSTORE")
            .arg(&union)
            .arg(word_sets.len())
            .arg(&word_sets)
            .ignore();
        pipe.cmd("ZINTERSTORE")
            .arg(&resolved)
            .arg(2)
            .arg(&union)
            .arg(k.ix_resolved());
        pipe.arg("WEIGHTS").arg(1).arg(0).ignore();
        pipe.cmd("ZREM")
            .arg(&resolved)
            .arg(r.id.to_string())
            .ignore();
        pipe.cmd("ZRANGE")
            .arg(&resolved)
            .arg(0)
            .arg(stop)
            .arg("REV")
            .arg("WITHSCORES");
        pipe.cmd("DEL").arg(&union).arg(&resolved).ignore();
        let (ranked,): (Vec<(String, f64)>,) = pipe.query_async(&mut c).await?;
        let ids: Vec<String> = ranked.iter().map(|(id, _)| id.clone()).collect();
        let found = self.requests_by_ids(&ids).await?;
        Ok(found
            .into_iter()
            .filter_map(|req| {
                let id = req.id.to_string();
                ranked
                    .iter()
                    .find(|(m, _)| *m == id)
                    .map(|(_, s)| (req, *s))
            })
            .collect())
    }

    /// Loads requests in the given order with one round trip; ids that name nothing are skipped.
    async fn requests_by_ids(&self, ids: &[String]) -> Result<Vec<Request>, StoreError> {
        let parsed: Vec<RequestId> = ids.iter().filter_map(|id| id.parse().ok()).collect();
        if parsed.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &parsed {
            pipe.cmd("HMGET")
                .arg(self.keys().request(*id))
                .arg("v")
                .arg("json");
        }
        let mut c = self.conn();
        let rows: Vec<(Option<u64>, Option<String>)> = pipe.query_async(&mut c).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, row) in parsed.iter().zip(rows) {
            if let (Some(v), Some(json)) = row {
                let mut r: Request =
                    serde_json::from_str(&json).map_err(|source| StoreError::Corrupt {
                        key: self.keys().request(*id),
                        source,
                    })?;
                r.version = v;
                out.push(r);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakh_words() {
        assert_eq!(
            words("Менің шотымнан ақша екі рет алынды, қайтарып беріңізші және тез!"),
            vec![
                "шотымнан",
                "ақша",
                "екі",
                "рет",
                "алынды",
                "қайтарып",
                "беріңізші",
                "тез"
            ]
        );
        // Upper-case Kazakh letters are lower-cased like any other.
        assert_eq!(words("ҰЯЛЫ БАЙЛАНЫС ЖОҚ"), vec!["ұялы", "байланыс", "жоқ"]);
    }

    #[test]
    fn russian_words() {
        assert_eq!(
            words("Не работает интернет, уже второй день! Ещё и деньги списали."),
            vec![
                "работает",
                "интернет",
                "второй",
                "день",
                "деньги",
                "списали"
            ]
        );
        assert_eq!(words("ЁЛКА ёлка елка"), vec!["елка"]);
    }

    #[test]
    fn english_words_digits_and_punctuation() {
        assert_eq!(
            words("My internet is NOT working since 12.03; I was charged 2990 tenge (twice)!"),
            vec![
                "internet", "working", "since", "12", "03", "charged", "2990", "tenge", "twice"
            ]
        );
        assert_eq!(
            words("a@b.kz KM-000123 e-mail"),
            vec!["kz", "km", "000123", "mail"]
        );
        assert!(words("").is_empty());
        assert!(words("  , . ! a b c и в the").is_empty());
    }

    #[test]
    fn words_are_distinct_capped_and_cut() {
        assert_eq!(
            words("Интернет интернет ИНТЕРНЕТ internet"),
            vec!["интернет", "internet"]
        );
        let many: String = (0..200).map(|i| format!("w{i} ")).collect();
        let ws = words(&many);
        assert_eq!(ws.len(), MAX_WORDS);
        assert_eq!(ws[0], "w0");
        assert_eq!(ws[MAX_WORDS - 1], format!("w{}", MAX_WORDS - 1));
        let long = "ә".repeat(100);
        assert_eq!(words(&long), vec!["ә".repeat(MAX_WORD_CHARS)]);
    }

    #[test]
    fn similar_compares_the_rarest_words_within_its_budget() {
        let sets = |v: &[(&str, u64)]| {
            v.iter()
                .map(|(k, n)| ((*k).to_owned(), *n))
                .collect::<Vec<_>>()
        };
        let picked = rarest_within_budget(
            sets(&[("common", 900), ("rare", 10), ("none", 0), ("mid", 100)]),
            150,
        );
        assert_eq!(picked, vec!["rare", "mid"]);
        assert_eq!(
            rarest_within_budget(sets(&[("a", 5), ("b", 5)]), 1000),
            vec!["a", "b"]
        );
        // The rarest word is always compared, even when it alone is over the budget.
        assert_eq!(
            rarest_within_budget(sets(&[("huge", 5000), ("bigger", 9000)]), 100),
            vec!["huge"]
        );
        assert!(rarest_within_budget(sets(&[("none", 0)]), 100).is_empty());
    }

    #[test]
    fn stop_words_of_each_language() {
        for w in ["және", "мен", "и", "что", "the", "and"] {
            assert!(is_stop_word(w), "{w}");
        }
        for w in ["интернет", "роуминг", "internet", "ақша"] {
            assert!(!is_stop_word(w), "{w}");
        }
    }
}
