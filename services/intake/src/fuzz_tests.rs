//! Parsers under fuzz (docs/security.md): inbound mail (MIME, encodings, charsets, HTML, quoted
//! history, thread headers), the SMTP listener's command reader, and Kannel's
//! get-url query with UCS-2, fed arbitrary input by proptest. `cargo test` runs a bounded number
//! of cases; `make fuzz` sets `FUZZ_CASES` for a long run.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use komek_domain::RequestId;
use proptest::prelude::*;
use uuid::Uuid;

use crate::email::{self, ThreadKeys};
use crate::sms::Inbound;

/// `FUZZ_CASES` when set (`make fuzz`), else `ci`: what the bounded run in CI affords;
/// `divisor` scales a long run down for properties that each open a connection.
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

fn config(ci: u32) -> ProptestConfig {
    config_scaled(ci, 1)
}

const D: &str = "komek";

/// The thread keys of the `test` settings (made once: loading settings costs more than a case).
static KEYS: std::sync::LazyLock<ThreadKeys> =
    std::sync::LazyLock::new(|| ThreadKeys::new(&komek_testkit::test_settings("fuzz-keys").auth));

/// Characters that break naive parsers: ASCII, controls, Cyrillic and Kazakh letters, combining
/// marks, white space of every kind, zero-width and bidi marks, non-ASCII digits, emoji.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => proptest::char::range('\0', '\u{1f}'),
        1 => proptest::char::range('\u{7f}', '\u{9f}'),
        2 => proptest::char::range('\u{400}', '\u{4ff}'),
        1 => prop::sample::select(vec![
            'ә', 'Ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', 'İ', 'ß', 'Σ', '\u{301}', '\u{a0}',
            '\u{85}', '\u{2028}', '\u{200b}', '\u{202e}', '\u{feff}', '٣', '０', '😀', '\u{e000}',
            '\u{fffd}', '\u{10ffff}',
        ]),
        1 => any::<char>(),
    ]
}

fn tricky(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..=max).prop_map(String::from_iter)
}

/// Text a person writes: no control characters (mail and SMS bodies keep their line breaks).
fn human(max: usize) -> impl Strategy<Value = String> {
    tricky(max).prop_map(|s| s.chars().filter(|c| !c.is_control()).collect())
}

/// Cyrillic, Kazakh and ASCII words: what the single-byte charsets of the region can carry.
fn cyrillic_line(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => proptest::char::range('а', 'я'),
            1 => proptest::char::range('А', 'Я'),
            2 => proptest::char::range('a', 'z'),
            1 => prop::sample::select(vec![' ', ',', '.', '!', '?', '-', '0', '7', 'ё', 'Ё']),
        ],
        1..=max,
    )
    .prop_map(String::from_iter)
}

// ---------------------------------------------------------------------------------------------
// Inbound mail

/// A mail's parts: headers and a body in some encoding, made to be mangled.
fn plain_mail(subject: &str, body: &str) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "From: =?UTF-8?B?{}?= <Aliya@Mail.kz>\r\nSubject: =?UTF-8?B?{}?=\r\nMessage-ID: <m1@mail.kz>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>{}</p>\r\n--b1--\r\n",
        b64.encode("Алия"),
        b64.encode(subject),
        b64.encode(body),
        String::from_utf8_lossy(&quoted_printable::encode(body.as_bytes())),
    )
    .into_bytes()
}

/// Raw bytes an SMTP client may hand over: random bytes, text, header soup, or a real mail with
/// bytes changed, cut, or repeated.
fn raw_mail() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        Just("From".to_owned()),
        Just("Subject".to_owned()),
        Just("Content-Type".to_owned()),
        Just("Content-Transfer-Encoding".to_owned()),
        Just("In-Reply-To".to_owned()),
        Just("References".to_owned()),
        Just("Content-Disposition".to_owned()),
        "[A-Za-z-]{1,12}",
    ];
    let value = prop_oneof![
        tricky(40),
        Just("multipart/mixed; boundary=".to_owned()),
        Just("multipart/alternative".to_owned()),
        Just("text/html; charset=koi8-r".to_owned()),
        Just("base64".to_owned()),
        Just("quoted-printable".to_owned()),
        Just("=?utf-8?B?0J/RgNC40LLQtdGC?= =?x?Q?=ZZ?=".to_owned()),
        Just("a@b.kz".to_owned()),
        Just("<x@komek> <y".to_owned()),
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        tricky(500).prop_map(String::into_bytes),
        (
            prop::collection::vec((header, value), 0..12),
            tricky(300),
            any::<bool>()
        )
            .prop_map(|(headers, body, crlf)| {
                let nl = if crlf { "\r\n" } else { "\n" };
                let mut s: String = headers
                    .iter()
                    .map(|(h, v)| format!("{h}: {v}{nl}"))
                    .collect();
                s.push_str(nl);
                s.push_str(&body);
                s.into_bytes()
            }),
        (
            human(40),
            human(300),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8)
        )
            .prop_map(|(subject, body, edits)| {
                let mut b = plain_mail(&subject, &body);
                for (at, byte, how) in edits {
                    if b.is_empty() {
                        break;
                    }
                    let i = at.index(b.len());
                    match how {
                        0 => b[i] = byte,
                        1 => b.insert(i, byte),
                        _ => {
                            b.truncate(i);
                        }
                    }
                }
                b
            }),
        (1usize..200).prop_map(|n| {
            // Multipart nested deep, every part opening the next.
            let mut s = "From: a@b.kz\r\n".to_owned();
            for i in 0..n {
                s.push_str(&format!(
                    "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
                ));
            }
            s.push_str("Content-Type: text/plain\r\n\r\nhi\r\n");
            s.into_bytes()
        }),
    ]
}

/// A mail with this subject and body in `charset` and transfer `encoding`, as a mail client
/// writes it: the subject in RFC 2047 encoded words, folded; the body in CRLF lines.
fn encoded_mail(
    subject: &str,
    body_lines: &[String],
    charset: &'static encoding_rs::Encoding,
    encoding: u8,
) -> Option<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let bytes = |s: &str| {
        let (b, _, bad) = charset.encode(s);
        (!bad).then(|| b.into_owned())
    };
    let name = charset.name();
    // Encoded words of at most 12 characters, so none splits a character.
    let chars: Vec<char> = subject.chars().collect();
    let mut words = Vec::new();
    for chunk in chars.chunks(12) {
        let s: String = chunk.iter().collect();
        words.push(format!("=?{name}?B?{}?=", b64.encode(bytes(&s)?)));
    }
    let subject = if words.is_empty() {
        String::new()
    } else {
        words.join("\r\n ")
    };
    let body = bytes(&body_lines.join("\r\n"))?;
    let (cte, body) = match encoding {
        0 => ("base64", {
            let e = b64.encode(&body);
            let lines: Vec<&str> = e
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect();
            lines.join("\r\n").into_bytes()
        }),
        1 => ("quoted-printable", quoted_printable::encode(&body)),
        _ => ("8bit", body),
    };
    let mut raw = format!(
        "From: Aliya <aliya@mail.kz>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset={name}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    raw.extend_from_slice(b"\r\n");
    Some(raw)
}

fn charset() -> impl Strategy<Value = &'static encoding_rs::Encoding> {
    prop::sample::select(vec![
        encoding_rs::UTF_8,
        encoding_rs::KOI8_R,
        encoding_rs::WINDOWS_1251,
        encoding_rs::ISO_8859_5,
    ])
}

fn blank_runs_collapsed(lines: &[String]) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in lines {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Our mailer with the `test` settings (built once: loading settings costs more than a case).
static MAILER: std::sync::LazyLock<email::Mailer> = std::sync::LazyLock::new(|| {
    let mut s = komek_testkit::test_settings("fuzz-mail").email;
    s.relay_host = "127.0.0.1".into();
    email::Mailer::new(&s, KEYS.clone())
});

proptest! {
    #![proptest_config(config(1500))]

    /// Whatever bytes arrive: a refusal with an SMTP code, or a mail whose sender is a valid
    /// lower-case address, whose subject and name are one trimmed line of at most 200
    /// characters, and whose text is not blank and has LF line ends.
    #[test]
    fn fuzz_mail_parse(raw in raw_mail()) {
        match email::parse(&raw, D, &KEYS) {
            Err(r) => prop_assert!((400..600).contains(&r.code), "{r:?}"),
            Ok(m) => {
                prop_assert!(komek_domain::Email::parse(&m.from).is_ok(), "{:?}", m.from);
                prop_assert_eq!(m.from.to_lowercase(), m.from.clone());
                for one in [m.subject.as_deref(), m.name.as_deref()].into_iter().flatten() {
                    prop_assert!(!one.is_empty() && one.chars().count() <= 200);
                    prop_assert!(!one.chars().any(char::is_control), "{one:?}");
                    prop_assert_eq!(one.trim(), one);
                }
                prop_assert!(!m.text.trim().is_empty());
                prop_assert!(!m.text.contains("\r\n"));
            }
        }
    }

    /// A mail written in UTF-8, KOI8-R, Windows-1251 or ISO-8859-5, with base64, quoted-printable
    /// or 8bit bodies and encoded-word subjects, reads back as the same subject and text.
    #[test]
    fn fuzz_mail_round_trip(
        subject in cyrillic_line(60),
        body in prop::collection::vec(prop_oneof![cyrillic_line(80), Just(String::new())], 1..8)
            .prop_filter("a text", |b| !b.iter().all(|l| l.trim().is_empty())),
        charset in charset(),
        encoding in 0u8..3,
    ) {
        let Some(raw) = encoded_mail(&subject, &body, charset, encoding) else {
            return Err(TestCaseError::reject("not in the charset"));
        };
        let m = email::parse(&raw, D, &KEYS).map_err(|r| TestCaseError::fail(format!("{r:?}")))?;
        let want_subject: String = subject.trim().chars().take(200).collect();
        prop_assert_eq!(m.subject.unwrap_or_default(), want_subject);
        prop_assert_eq!(m.from, "aliya@mail.kz");
        prop_assert_eq!(blank_runs_collapsed(&m.text.lines().map(str::to_owned).collect::<Vec<_>>()), blank_runs_collapsed(&body));
    }

}

proptest! {
    // lettre builds a whole message per case: fewer cases.
    #![proptest_config(config_scaled(500, 5))]

    /// Any text, with any subject, sent by our own mailer as UTF-8 reads back the same. Subjects
    /// have single spaces, as the catalogue's do: lettre puts a run of spaces between two encoded
    /// words, where RFC 2047 readers drop it ("Ѐ  Ѐ" reads "ЀЀ").
    #[test]
    fn fuzz_mail_round_trip_of_our_mailer(
        subject in human(120),
        body in human(400).prop_filter("a text", |b| !b.trim().is_empty()),
    ) {
        let subject = subject.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        let mailer = &*MAILER;
        let rid = RequestId::new();
        let out = email::Outgoing {
            to: "a@b.kz".into(),
            name: Some("Алия".into()),
            subject: subject.clone(),
            text: body.clone(),
            message_id: email::message_id(Uuid::now_v7(), rid, &KEYS, D),
            in_reply_to: Some(email::thread_id(rid, &KEYS, D)),
        };
        let raw = mailer.build(&out).map_err(|e| TestCaseError::fail(e.to_string()))?.formatted();
        // Sent by us to us: the parser reads the sender from our `from`, which is valid.
        let m = email::parse(&raw, D, &KEYS).map_err(|r| TestCaseError::fail(format!("{r:?}")))?;
        let want: String = subject.trim().chars().take(200).collect();
        prop_assert_eq!(m.subject.unwrap_or_default(), want);
        let want = body.replace("\r\n", "\n");
        prop_assert_eq!(m.text.trim_end(), want.trim_end());
        prop_assert_eq!(m.thread, Some(rid));
    }
}

proptest! {
    #![proptest_config(config(1500))]

    /// HTML to text never panics; escaped text comes back as itself.
    #[test]
    fn fuzz_html_to_text(html in tricky(400), text in human(200)) {
        let _ = email::html_to_text(&html);
        let text = text.replace('\u{a0}', " ");
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let back = email::html_to_text(&format!("<html><body><p>{escaped}</p></body></html>"));
        let want = if text.trim().is_empty() { "" } else { text.trim_end() };
        prop_assert_eq!(back, want);
    }

    /// Quoted history removed: no quoted line remains, no blank line leads and no white space
    /// trails (the first line keeps its indent), and stripping again changes nothing.
    #[test]
    fn fuzz_strip_quoted(
        lines in prop::collection::vec(
            prop_oneof![
                tricky(60),
                tricky(30).prop_map(|s| format!("> {s}")),
                Just("On Mon, 1 Dec 2026 at 10:00, Komek wrote:".to_owned()),
                Just("-----Original Message-----".to_owned()),
                Just(String::new()),
            ],
            0..20,
        ),
        crlf in any::<bool>(),
    ) {
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        let once = email::strip_quoted(&text);
        prop_assert!(once.lines().all(|l| !l.trim_start().starts_with('>')), "{once:?}");
        prop_assert_eq!(email::strip_quoted(&once), once.clone());
        prop_assert_eq!(once.trim_end(), once.as_str());
        prop_assert!(!once.starts_with('\n'));
    }

    /// Our Message-IDs name their request; anything else names none: a forged one (the request
    /// id with no token, another request's token, a token changed or cut) included.
    #[test]
    fn fuzz_request_of_id(
        id in tricky(120),
        domain in "[a-z0-9][a-z0-9.-]{0,20}",
        event in any::<u128>(),
        request in any::<u128>(),
        other in any::<u128>(),
        forged_token in "[0-9a-fA-F]{0,40}",
    ) {
        let _ = email::request_of_id(&id, &domain, &KEYS);
        let rid = RequestId(Uuid::from_u128(request));
        prop_assert_eq!(email::request_of_id(&email::thread_id(rid, &KEYS, &domain), &domain, &KEYS), Some(rid));
        let mid = email::message_id(Uuid::from_u128(event), rid, &KEYS, &domain);
        prop_assert_eq!(email::request_of_id(&mid, &domain, &KEYS), Some(rid));
        prop_assert_eq!(email::request_of_id(&mid, &format!("x{domain}"), &KEYS), None);
        prop_assert_eq!(email::request_of_id(&format!("<{rid}@{domain}>"), &domain, &KEYS), None);
        let token = KEYS.token(rid);
        prop_assume!(!forged_token.eq_ignore_ascii_case(&token));
        prop_assert_eq!(email::request_of_id(&format!("<{rid}.{forged_token}@{domain}>"), &domain, &KEYS), None);
        let other = RequestId(Uuid::from_u128(other));
        prop_assume!(other != rid);
        prop_assert_eq!(email::request_of_id(&format!("<{other}.{token}@{domain}>"), &domain, &KEYS), None);
    }
}

// ---------------------------------------------------------------------------------------------
// Request numbers and status tokens from the customer's link or form

proptest! {
    #![proptest_config(config(3000))]

    /// Any number a customer types: none, or the key it is looked up and counted by (upper-case
    /// ASCII letters, digits and dashes, at most 32), which reads as itself; a number Komek wrote,
    /// in any case and with white space around it, is itself.
    #[test]
    fn fuzz_request_number_key(raw in tricky(40), seq in any::<u64>(), lower in any::<bool>(), pad in "[ \t]{0,3}") {
        if let Some(k) = crate::lookup::number_key(&raw) {
            prop_assert!(!k.is_empty() && k.len() <= 32, "{k:?}");
            prop_assert!(k.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'), "{k:?}");
            prop_assert_eq!(crate::lookup::number_key(&k), Some(k.clone()));
        }
        let n = komek_domain::RequestNumber::format("KM", seq).0;
        let typed = if lower { n.to_lowercase() } else { n.clone() };
        prop_assert_eq!(crate::lookup::number_key(&format!("{pad}{typed}{pad}")), Some(n));
    }

    /// Any status token in a link: well formed or not, never a panic; every token Komek issues
    /// (32 random bytes, base64url) is well formed.
    #[test]
    fn fuzz_status_token_shape(raw in tricky(80), bytes in any::<[u8; 32]>()) {
        let _ = crate::links::well_formed(&raw);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        prop_assert!(crate::links::well_formed(&token), "{token}");
    }
}

// ---------------------------------------------------------------------------------------------
// Kannel's get-url query

/// Every byte percent-encoded, as a careful client does; `+` for spaces now and then.
fn percent_all(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn query_like() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        prop::sample::select(vec!["from", "to", "text", "coding", "id", "secret"])
            .prop_map(str::to_owned),
        tricky(6),
    ];
    let value = prop_oneof![
        tricky(40),
        "(%[0-9A-Fa-f]{0,2}|[+=&%a-z0-9])*",
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| percent_all(&b)),
        Just("2".to_owned()),
        Just("0".to_owned()),
        Just("99999999999".to_owned()),
    ];
    prop_oneof![
        tricky(300),
        prop::collection::vec((key, value), 0..10).prop_map(|pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        }),
    ]
}

proptest! {
    #![proptest_config(config(3000))]

    /// Any query Kannel (or anyone) sends: a refusal with a 4xx status, or coding 0 or 2.
    #[test]
    fn fuzz_sms_query(q in query_like()) {
        match Inbound::parse(&q) {
            Ok(m) => prop_assert!(m.coding == 0 || m.coding == 2),
            Err(r) => prop_assert!(r.0.is_client_error(), "{r:?}"),
        }
    }

    /// A text in UCS-2 (UTF-16 big-endian, as the phone sent it; `coding=2`) reads back as the
    /// same text, whatever script it is in.
    #[test]
    fn fuzz_sms_ucs2_round_trip(text in human(70)) {
        let units: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let q = format!("secret=s&from=%2B77011234567&to=1414&text={}&coding=2&id=x", percent_all(&units));
        let m = Inbound::parse(&q).map_err(|r| TestCaseError::fail(format!("{r:?}")))?;
        prop_assert_eq!(m.text, text);
    }

    /// A text in UTF-8 (`coding=0`, what Kannel's mo-recode hands over), form-encoded, reads back
    /// as the same text; so do the other fields.
    #[test]
    fn fuzz_sms_utf8_round_trip(text in tricky(160), from in tricky(20), id in tricky(20), secret in tricky(20)) {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let q = format!(
            "secret={}&from={}&to=1414&text={}&coding=0&id={}",
            enc(&secret), enc(&from), enc(&text), enc(&id)
        );
        let m = Inbound::parse(&q).map_err(|r| TestCaseError::fail(format!("{r:?}")))?;
        prop_assert_eq!(m.text, text);
        prop_assert_eq!(m.from, from);
        prop_assert_eq!(m.secret, secret);
        prop_assert_eq!(m.id, Some(id).filter(|s| !s.is_empty()));
    }
}

// ---------------------------------------------------------------------------------------------
// The SMTP listener's command reader

fn smtp_line() -> impl Strategy<Value = Vec<u8>> {
    let verb = prop::sample::select(vec![
        "HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "VRFY", "QUIT", "mail", "ehlo",
        "STARTTLS", "AUTH", "",
    ]);
    let arg = prop_oneof![
        tricky(60),
        Just("FROM:<a@b.kz>".to_owned()),
        Just("FROM:<a@b.kz> SIZE=100".to_owned()),
        Just("FROM:<a@b.kz> SIZE=99999999999999999999999".to_owned()),
        Just("FROM:<a@b.kz> SIZE=".to_owned()),
        Just("FROM:".to_owned()),
        Just("FROM:ü".to_owned()),
        Just("TO:<support@komek.kz>".to_owned()),
        Just("TO:".to_owned()),
        Just("fuzz.example".to_owned()),
    ];
    prop_oneof![
        8 => (verb.clone(), arg).prop_map(|(v, a)| format!("{v} {a}\r\n").into_bytes()),
        2 => (verb,).prop_map(|(v,)| format!("{v}\r\n").into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..100).prop_map(|mut b| {
            b.retain(|c| *c != b'\n');
            b.extend_from_slice(b"\r\n");
            b
        }),
        // Longer than any command line may be.
        1 => (2000usize..5000).prop_map(|n| {
            let mut b = vec![b'A'; n];
            b.extend_from_slice(b"\r\n");
            b
        }),
        // A whole transaction, its mail made of any lines (dot-stuffed or not), or just those lines.
        2 => (prop::collection::vec(tricky(80), 0..10), any::<bool>()).prop_map(|(lines, whole)| {
            let mut s = if whole {
                "EHLO fuzz\r\nMAIL FROM:<a@b.kz>\r\nRCPT TO:<s@komek.kz>\r\nDATA\r\n".to_owned()
            } else {
                String::new()
            };
            s.push_str("From: a@b.kz\r\nSubject: hi\r\n\r\n");
            for l in lines {
                s.push_str(&l.replace(['\r', '\n'], " "));
                s.push_str("\r\n");
            }
            s.push_str(".\r\n");
            s.into_bytes()
        }),
    ]
}

/// A listener on a free port over the test Redis, for the SMTP session property.
struct Listener {
    rt: tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    settings: komek_settings::Settings,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Listener {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut settings = komek_testkit::test_settings("fuzz-smtp");
        settings.email.smtp_port = 0;
        settings.email.max_bytes = 4096;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let addr = rt.block_on(async {
            let store = komek_store::Store::connect(&settings.redis).await.unwrap();
            let (listener, addr) = crate::smtp::bind(&settings).await.unwrap();
            let ctx = Arc::new(crate::smtp::Context {
                threads: ThreadKeys::new(&settings.auth),
                store,
                calendar: settings.calendar.clone(),
                settings: settings.clone(),
            });
            tokio::spawn(crate::smtp::serve(listener, ctx, stopped));
            addr
        });
        Self {
            rt,
            addr,
            settings,
            stop,
        }
    }

    /// Sends `lines`, then a trailer that ends any DATA and quits; the server's reply lines.
    fn converse(&self, lines: &[Vec<u8>]) -> Result<Vec<String>, String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.rt.block_on(async {
            let mut s = tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(|e| e.to_string())?;
            let (mut r, mut w) = s.split();
            let mut input: Vec<u8> = lines.concat();
            input.extend_from_slice(b"\r\n.\r\nRSET\r\nQUIT\r\n");
            let read = async {
                let mut out = Vec::new();
                let _ =
                    tokio::time::timeout(Duration::from_secs(20), r.read_to_end(&mut out)).await;
                out
            };
            let write = async {
                // The server may close first (it never should before QUIT); ignore broken pipes.
                let _ = w.write_all(&input).await;
            };
            let (out, ()) = tokio::join!(read, write);
            Ok(String::from_utf8_lossy(&out)
                .split("\r\n")
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect())
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.rt.block_on(komek_testkit::cleanup(&self.settings));
    }
}

/// Any command lines, however broken: every reply is a proper SMTP reply line and the session
/// still answers QUIT with 221 at the end (nothing panicked or hung).
#[test]
fn fuzz_smtp_session() {
    let listener = Listener::start();
    let mut runner = proptest::test_runner::TestRunner::new(config_scaled(100, 200));
    let result = runner.run(&prop::collection::vec(smtp_line(), 0..15), |lines| {
        let replies = listener.converse(&lines).map_err(TestCaseError::fail)?;
        for r in &replies {
            let b = r.as_bytes();
            prop_assert!(
                b.len() >= 4
                    && (b'2'..=b'5').contains(&b[0])
                    && b[1].is_ascii_digit()
                    && b[2].is_ascii_digit()
                    && (b[3] == b' ' || b[3] == b'-'),
                "not an SMTP reply: {r:?} in {replies:?}"
            );
        }
        prop_assert!(
            replies.last().is_some_and(|l| l.starts_with("221 ")),
            "no 221 at the end: {replies:?}"
        );
        Ok(())
    });
    drop(listener);
    if let Err(e) = result {
        panic!("{e}");
    }
}

// Regression tests: inputs the fuzzer found, fixed at their cause.

/// `fuzz_sms_ucs2_round_trip`: with `coding=2` the UTF-16BE bytes of "A" (00 41) are valid
/// UTF-8, and were read as "\0A"; Cyrillic "Сс" (04 21 04 41) came out as "\u{4}!\u{4}A".
#[test]
fn regression_ucs2_text_that_is_also_valid_utf8() {
    let m = Inbound::parse("from=1&text=%00A&coding=2").unwrap();
    assert_eq!(m.text, "A");
    let m = Inbound::parse("from=1&text=%04%21%04%41&coding=2").unwrap();
    assert_eq!(m.text, "Сс");
    // Still read: a UTF-8 text with coding 2 that is not UTF-16 (odd length).
    let m = Inbound::parse("from=1&text=%D0%A1%D3%99!&coding=2").unwrap();
    assert_eq!(m.text, "Сә!");
}
