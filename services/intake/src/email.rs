//! The email channel: outbound mail through an SMTP relay, and what an inbound mail means.
//!
//! - Outbound: [`Mailer`] hands one plain-text UTF-8 mail to the relay of `[email]` with `lettre`
//!   (no TLS: the relay is local or in-cluster). Subject `[KM-000123] …` in the request's language.
//!   Threading: the acknowledgment's Message-ID is the request's thread id
//!   `<{request id}.{token}@{domain}>` ([`thread_id`]); every later mail has
//!   `<{event id}.{request id}.{token}@{domain}>` ([`message_id`]), stable per (event, recipient)
//!   so a resend is recognisable, with In-Reply-To and References naming the thread id. The token
//!   ([`ThreadKeys`]) is an HMAC of the request id: only Komek can make it, and nothing is stored.
//! - Inbound: [`parse`] reads a raw RFC 5322 message with `mail-parser`: the sender (From), the
//!   subject, the text (a text/plain part, or an HTML-only body turned into text by
//!   [`html_to_text`]: tags dropped, `<script>`/`<style>` with their contents, entities decoded),
//!   and which request it answers (`thread`: one of our Message-IDs with a valid token in
//!   In-Reply-To/References; a `KM-123456` in the subject is not enough, anyone can write one).
//!   Attachments are **refused** (554), not stored: Komek keeps no files. [`strip_quoted`] removes
//!   the quoted history of a reply. What the mail then does (a new request or a message on an
//!   existing one) is [`crate::smtp`]'s job.

use hmac::{Hmac, Mac};
use komek_domain::RequestId;
use komek_settings::{AuthSettings, EmailSettings};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use secrecy::ExposeSecret;
use sha2::Sha256;
use uuid::Uuid;

use crate::sms::SendError;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the HMAC a thread token keeps (128 bits, 32 hex digits).
const TOKEN_BYTES: usize = 16;

/// The keys of mail thread tokens: derived from `auth.jwt_secret` (signing) and the retired keys
/// of `auth.jwt_previous` (still matched), with a label of their own, so a thread token is no
/// staff token and no secret is added to deploy.
#[derive(Clone)]
pub struct ThreadKeys {
    /// The current key first.
    keys: Vec<HmacSha256>,
}

impl ThreadKeys {
    pub fn new(auth: &AuthSettings) -> Self {
        let keys = std::iter::once(&auth.jwt_secret)
            .chain(auth.previous.iter().map(|(_, s)| s))
            .filter_map(|secret| {
                let mut kdf = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()).ok()?;
                kdf.update(b"komek mail thread token v1");
                HmacSha256::new_from_slice(&kdf.finalize().into_bytes()).ok()
            })
            .collect();
        Self { keys }
    }

    fn tag(key: &HmacSha256, request: RequestId) -> HmacSha256 {
        let mut m = key.clone();
        m.update(request.0.as_bytes());
        m
    }

    /// The thread token of `request` (32 hex digits).
    pub fn token(&self, request: RequestId) -> String {
        self.keys
            .first()
            .map(|k| hex::encode(&Self::tag(k, request).finalize().into_bytes()[..TOKEN_BYTES]))
            .unwrap_or_default()
    }

    /// Whether `token` is `request`'s under any key (compared in constant time).
    pub fn valid(&self, request: RequestId, token: &str) -> bool {
        let Ok(raw) = hex::decode(token) else {
            return false;
        };
        raw.len() == TOKEN_BYTES
            && self
                .keys
                .iter()
                .any(|k| Self::tag(k, request).verify_truncated_left(&raw).is_ok())
    }
}

/// The id of a request's mail thread: the Message-ID of its acknowledgment.
pub fn thread_id(request: RequestId, keys: &ThreadKeys, domain: &str) -> String {
    format!("<{request}.{}@{domain}>", keys.token(request))
}

/// The Message-ID of the mail for `event` about `request` (stable: a resend has the same id).
pub fn message_id(event: Uuid, request: RequestId, keys: &ThreadKeys, domain: &str) -> String {
    format!("<{event}.{request}.{}@{domain}>", keys.token(request))
}

/// Subjects (`[KM-000123] …`) and the footer, in the request's language, from the catalogue.
pub use komek_i18n::customer::{About, mail_footer as footer, mail_subject as subject};

/// One mail to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: String,
    pub name: Option<String>,
    pub subject: String,
    pub text: String,
    pub message_id: String,
    /// The thread id, for In-Reply-To and References; `None` for the thread's first mail.
    pub in_reply_to: Option<String>,
}

/// The SMTP relay client; off when `email.relay_host` is empty.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
    pub domain: String,
    /// What makes the thread ids of outgoing mail.
    pub threads: ThreadKeys,
}

impl Mailer {
    pub fn new(s: &EmailSettings, threads: ThreadKeys) -> Self {
        let transport = (!s.relay_host.is_empty()).then(|| {
            let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.relay_host)
                .port(s.relay_port)
                .timeout(Some(s.timeout));
            if !s.username.is_empty() {
                b = b.credentials(Credentials::new(
                    s.username.clone(),
                    s.password.expose_secret().to_owned(),
                ));
            }
            b.build()
        });
        Self {
            transport,
            // Checked by Settings::check; an unparsable one makes every send a refusal.
            from: s.from.parse().ok(),
            domain: s.domain.clone(),
            threads,
        }
    }

    pub fn enabled(&self) -> bool {
        self.transport.is_some()
    }

    /// Builds the mail (no I/O): what [`Mailer::send`] hands to the relay.
    pub fn build(&self, m: &Outgoing) -> Result<Message, SendError> {
        let from = self
            .from
            .clone()
            .ok_or_else(|| SendError::Refused("email.from: not an address".into()))?;
        let to = Mailbox::new(
            m.name.clone(),
            m.to.parse()
                .map_err(|e| SendError::Refused(format!("recipient: {e}")))?,
        );
        let mut b = Message::builder()
            .from(from)
            .to(to)
            .subject(&m.subject)
            .message_id(Some(m.message_id.clone()));
        if let Some(thread) = &m.in_reply_to {
            b = b.in_reply_to(thread.clone()).references(thread.clone());
        }
        b.header(ContentType::TEXT_PLAIN)
            .body(m.text.clone())
            .map_err(|e| SendError::Refused(format!("mail: {e}")))
    }

    /// Hands one mail to the relay; `Ok` with the relay's answer once it accepted it.
    pub async fn send(&self, m: &Outgoing) -> Result<String, SendError> {
        let Some(t) = &self.transport else {
            return Err(SendError::Refused("email.relay_host is empty".into()));
        };
        let msg = self.build(m)?;
        match t.send(msg).await {
            Ok(r) => Ok(
                format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" "))
                    .trim()
                    .to_owned(),
            ),
            Err(e) if e.is_permanent() => Err(SendError::Refused(e.to_string())),
            Err(e) => Err(SendError::Unavailable(e.to_string())),
        }
    }
}

/// An inbound mail, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub from: String,
    pub name: Option<String>,
    pub subject: Option<String>,
    pub text: String,
    pub message_id: Option<String>,
    /// The request whose thread it answers: one of our Message-IDs, with its token, in
    /// In-Reply-To or References.
    pub thread: Option<RequestId>,
}

/// Why an inbound mail is refused: the SMTP reply (code, enhanced status, reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub enhanced: &'static str,
    pub reason: String,
}

impl Refusal {
    pub fn new(code: u16, enhanced: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            enhanced,
            reason: reason.into(),
        }
    }
}

fn broken(reason: impl Into<String>) -> Refusal {
    Refusal::new(554, "5.6.0", reason)
}

/// Reads a raw message; a refusal names what is wrong.
pub fn parse(raw: &[u8], domain: &str, keys: &ThreadKeys) -> Result<Inbound, Refusal> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"));
    if head_end.is_none() {
        return Err(broken("malformed message: no blank line after the headers"));
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| broken("malformed message: cannot be parsed"))?;
    for part in &msg.parts {
        if let Some(ct) = part.content_type()
            && ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.attribute("boundary").is_none_or(str::is_empty)
        {
            return Err(broken("malformed MIME: multipart without a boundary"));
        }
    }
    let sender = msg
        .from()
        .and_then(|a| a.first())
        .ok_or_else(|| Refusal::new(554, "5.1.7", "From: missing"))?;
    let from = sender
        .address()
        .map(str::trim)
        .filter(|a| komek_domain::Email::parse(a).is_ok())
        .ok_or_else(|| Refusal::new(554, "5.1.7", "From: not a valid address"))?
        .to_lowercase();
    let name = sender
        .name()
        .map(crate::intake::one_line)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(200).collect());
    if msg.attachment_count() > 0 {
        return Err(Refusal::new(
            554,
            "5.6.1",
            "attachments are not accepted; please send the text only",
        ));
    }
    let mut texts = Vec::new();
    for part in msg.text_bodies() {
        match &part.body {
            PartType::Text(t) => texts.push(t.to_string()),
            PartType::Html(h) => texts.push(html_to_text(h)),
            _ => {}
        }
    }
    if texts.is_empty() {
        // An HTML-only message lists its HTML part among the HTML bodies only.
        for part in msg.html_bodies() {
            if let PartType::Html(h) = &part.body {
                texts.push(html_to_text(h));
            }
        }
    }
    let text = texts.join("\n").replace("\r\n", "\n");
    if text.trim().is_empty() {
        return Err(broken("no text in the message"));
    }
    let subject = msg
        .subject()
        .map(crate::intake::one_line)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(200).collect::<String>());
    let mut ids: Vec<String> = Vec::new();
    for h in [msg.in_reply_to(), msg.references()] {
        if let Some(list) = h.as_text_list() {
            ids.extend(list.iter().map(|s| s.to_string()));
        }
    }
    let thread = ids
        .iter()
        .rev()
        .find_map(|id| request_of_id(id, domain, keys));
    Ok(Inbound {
        from,
        name,
        subject,
        text,
        message_id: msg.message_id().map(str::to_owned),
        thread,
    })
}

/// The request of one of our Message-IDs (`{request}.{token}@{domain}` or
/// `{event}.{request}.{token}@{domain}`) whose token is valid; `None` for anything else, a
/// Message-ID with the request id alone included (anyone who knows the id can write that).
pub fn request_of_id(id: &str, domain: &str, keys: &ThreadKeys) -> Option<RequestId> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, d) = id.rsplit_once('@')?;
    if !d.eq_ignore_ascii_case(domain) {
        return None;
    }
    let mut parts = local.rsplit('.');
    let token = parts.next()?;
    let request = RequestId(parts.next()?.parse::<Uuid>().ok()?);
    keys.valid(request, token).then_some(request)
}

/// Is `line` the "On … wrote:" line a mail client puts above the quoted history?
fn is_attribution(line: &str) -> bool {
    let l = line.trim().trim_end_matches(['\u{a0}', ' ']);
    let lower = l.to_lowercase();
    lower.ends_with("wrote:")
        || lower.ends_with("жазды:")
        || lower.ends_with("написал:")
        || lower.ends_with("написала:")
        || lower.ends_with("написал(а):")
        || lower.starts_with("-----original message-----")
        || lower.starts_with("-----исходное сообщение-----")
}

/// The reply without its quoted history: lines starting with `>` and everything from an
/// attribution line ("On … wrote:", "… жазды:", "… написал(а):", "-----Original Message-----") on.
pub fn strip_quoted(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        if is_attribution(line) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        out.push(line.trim_end());
    }
    tidy(&out.join("\n"))
}

/// Blank-line runs collapsed to one, trimmed.
fn tidy(s: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in s.lines() {
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

/// Elements dropped with everything inside them.
const DROPPED: [&str; 6] = ["script", "style", "head", "title", "template", "noscript"];
/// Elements that end a line.
const BREAKS: [&str; 16] = [
    "br",
    "p",
    "div",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
];

/// HTML to plain text: every tag removed, `<script>`, `<style>` and the like with their contents,
/// block ends made line breaks, entities decoded. The result is text, escaped wherever shown.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        let after = &rest[lt + 1..];
        if let Some(body) = after.strip_prefix("!--") {
            rest = body.find("-->").map_or("", |e| &body[e + 3..]);
            continue;
        }
        let Some(gt) = after.find('>') else {
            // An unclosed tag: drop the rest.
            rest = "";
            break;
        };
        let tag = &after[..gt];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        rest = &after[gt + 1..];
        if !closing && DROPPED.contains(&name.as_str()) && !tag.ends_with('/') {
            // Skip to the matching end tag (case-insensitive), or drop the rest.
            let lower = rest.to_ascii_lowercase();
            let end = format!("</{name}");
            rest = match lower.find(&end) {
                Some(i) => rest[i..].find('>').map_or("", |g| &rest[i + g + 1..]),
                None => "",
            };
            continue;
        }
        if BREAKS.contains(&name.as_str()) {
            out.push('\n');
        }
    }
    out.push_str(&decode_entities(rest));
    tidy(&out.replace('\u{a0}', " "))
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';').filter(|&i| i <= 10);
        let decoded = semi.and_then(|i| {
            let ent = &after[..i];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => ent
                    .strip_prefix("#x")
                    .or_else(|| ent.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, i))
        });
        match decoded {
            Some((c, i)) => {
                out.push(c);
                rest = &after[i + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use komek_domain::{Lang, RequestNumber};

    const D: &str = "komek";

    fn keys() -> ThreadKeys {
        ThreadKeys::new(&komek_testkit::test_settings("email").auth)
    }

    fn mail(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\n{body}").into_bytes()
    }

    #[test]
    fn reads_a_plain_russian_mail() {
        let raw = mail(
            "From: =?UTF-8?B?0JDQu9C40Y8=?= <Aliya@Mail.kz>\r\nTo: support@komek.kz\r\nSubject: =?UTF-8?B?0J3QtdGCINC40L3RgtC10YDQvdC10YLQsA==?=\r\nMessage-ID: <m1@mail.kz>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit",
            "Здравствуйте, не работает интернет.",
        );
        let m = parse(&raw, D, &keys()).unwrap();
        assert_eq!(m.from, "aliya@mail.kz");
        assert_eq!(m.name.as_deref(), Some("Алия"));
        assert_eq!(m.subject.as_deref(), Some("Нет интернета"));
        assert_eq!(m.text, "Здравствуйте, не работает интернет.");
        assert_eq!(m.message_id.as_deref(), Some("m1@mail.kz"));
        assert_eq!(m.thread, None);
    }

    #[test]
    fn finds_the_request_a_reply_answers_by_its_token_only() {
        let k = keys();
        let rid = RequestId::new();
        let ev = Uuid::now_v7();
        let raw = mail(
            &format!(
                "From: a@b.kz\r\nSubject: Re: hello\r\nIn-Reply-To: {}\r\nReferences: <x@y.kz> {}",
                message_id(ev, rid, &k, D),
                thread_id(rid, &k, D)
            ),
            "ok",
        );
        assert_eq!(parse(&raw, D, &k).unwrap().thread, Some(rid));
        // A number in the subject, or our id without its token, names no thread.
        let raw = mail(
            &format!(
                "From: a@b.kz\r\nSubject: Re: [KM-000123] Ваше обращение принято\r\nIn-Reply-To: <{rid}@{D}>"
            ),
            "ok",
        );
        assert_eq!(parse(&raw, D, &k).unwrap().thread, None);
        assert_eq!(request_of_id("<abc@komek>", D, &k), None);
        assert_eq!(request_of_id(&thread_id(rid, &k, "other"), D, &k), None);
        let forged = format!("<{rid}.{}@{D}>", "0".repeat(32));
        assert_eq!(request_of_id(&forged, D, &k), None);
        // Another request's token does not open this one.
        let other = RequestId::new();
        let swapped = format!("<{rid}.{}@{D}>", k.token(other));
        assert_eq!(request_of_id(&swapped, D, &k), None);
    }

    #[test]
    fn thread_tokens_survive_a_key_rotation_while_the_old_key_is_listed() {
        let mut auth = komek_testkit::test_settings("email").auth;
        let rid = RequestId::new();
        let old = ThreadKeys::new(&auth);
        let token = old.token(rid);
        assert_eq!(token.len(), 32);
        let retired = auth.jwt_secret.clone();
        auth.jwt_secret =
            secrecy::SecretString::from("a-brand-new-signing-secret-0123456789abcdef".to_owned());
        assert!(!ThreadKeys::new(&auth).valid(rid, &token));
        auth.previous = vec![("k0".into(), retired)];
        let rotated = ThreadKeys::new(&auth);
        assert!(rotated.valid(rid, &token));
        assert_ne!(
            rotated.token(rid),
            token,
            "new mail gets the new key's token"
        );
    }

    #[test]
    fn refuses_broken_and_attached() {
        assert_eq!(parse(b"just text", D, &keys()).unwrap_err().code, 554);
        let no_from = mail("Subject: x", "text");
        assert_eq!(parse(&no_from, D, &keys()).unwrap_err().enhanced, "5.1.7");
        let no_boundary = mail(
            "From: a@b.kz\r\nContent-Type: multipart/mixed",
            "--x\r\n\r\ntext\r\n--x--",
        );
        assert!(
            parse(&no_boundary, D, &keys())
                .unwrap_err()
                .reason
                .contains("boundary")
        );
        let attached = mail(
            "From: a@b.kz\r\nContent-Type: multipart/mixed; boundary=\"b\"",
            "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n",
        );
        let r = parse(&attached, D, &keys()).unwrap_err();
        assert_eq!((r.code, r.enhanced), (554, "5.6.1"));
    }

    #[test]
    fn html_becomes_safe_text() {
        let raw = mail(
            "From: a@b.kz\r\nContent-Type: text/html; charset=utf-8",
            "<html><head><style>p{}</style></head><body><p>Привет &amp; <b>пока</b></p><SCRIPT type=x>alert('x')</script><p>2&lt;3&#33;</p><!-- c --></body></html>",
        );
        let m = parse(&raw, D, &keys()).unwrap();
        assert_eq!(m.text, "Привет & пока\n\n2<3!");
        assert!(!m.text.contains("alert"));
        assert_eq!(html_to_text("a<script>x</scr"), "a");
        assert_eq!(html_to_text("a<b"), "a");
    }

    #[test]
    fn quoted_history_is_stripped() {
        let t = "Спасибо, заработало.\r\n\r\n> старый текст\r\nOn Mon, 1 Dec 2026 at 10:00, Komek <support@komek.kz> wrote:\r\n> ещё\r\nподпись";
        assert_eq!(strip_quoted(t), "Спасибо, заработало.");
        assert_eq!(
            strip_quoted("Рахмет!\n\n2026 ж. 1 жел. Komek жазды:\n> x"),
            "Рахмет!"
        );
        assert_eq!(
            strip_quoted("Да.\n1 дек. 2026 г., Komek написал(а):\n> x"),
            "Да."
        );
        assert_eq!(strip_quoted("a\n> b\nc"), "a\nc");
    }

    #[test]
    fn outgoing_mail_is_threaded_and_in_utf8() {
        let mut s = komek_testkit::test_settings("email").email;
        s.relay_host = "127.0.0.1".into();
        s.relay_port = 2526;
        let m = Mailer::new(&s, keys());
        let rid = RequestId::new();
        let n = RequestNumber::format("KM", 7);
        let out = Outgoing {
            to: "a@b.kz".into(),
            name: Some("Алия".into()),
            subject: subject(Lang::Ru, &n, About::Reply),
            text: "Здравствуйте".into(),
            message_id: message_id(Uuid::now_v7(), rid, &m.threads, D),
            in_reply_to: Some(thread_id(rid, &m.threads, D)),
        };
        let raw = String::from_utf8(m.build(&out).unwrap().formatted()).unwrap();
        let back = MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert_eq!(
            back.subject(),
            Some("[KM-000007] Ответ по вашему обращению")
        );
        assert_eq!(back.body_text(0).unwrap().trim(), "Здравствуйте");
        let tid = thread_id(rid, &m.threads, D);
        assert!(raw.contains(&format!("In-Reply-To: {tid}")), "{raw}");
        assert!(raw.contains(&format!("References: {tid}")), "{raw}");
        assert_eq!(
            request_of_id(back.message_id().unwrap(), D, &m.threads),
            Some(rid),
            "{raw}"
        );
    }
}
