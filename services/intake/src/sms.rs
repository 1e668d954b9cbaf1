//! The SMS channel through Kannel.
//!
//! - Inbound: Kannel's smsbox calls `GET /api/v1/channels/sms/inbound` (its `get-url`) for every
//!   SMS: `from` (%p), `to` (%P), `text` (%a), `coding` (%c), optional `id` (%I, made the
//!   idempotency key) and the shared `secret`. A good message becomes a request with channel
//!   `sms`; the answer is a plain 200 with an empty body, so Kannel sends no reply of its own (the
//!   acknowledgment goes out through the notifier, like on every channel). A refusal is a plain-text
//!   4xx naming the reason, and a log line.
//! - Outbound: [`Sender`] calls Kannel's `sendsms` interface; text outside the GSM 7-bit alphabet
//!   (Cyrillic) goes as UCS-2 (`coding=2`, `charset=UTF-8`), and smsbox splits a long text into
//!   concatenated parts (its `sendsms-user` has `concatenation = true` and `max-messages`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use komek_domain::calendar::Calendar;
use komek_domain::{Channel, Msisdn};
use komek_settings::{Settings, SmsSettings};
use komek_store::Store;
use komek_store::requests::Created;
use komek_web::ApiError;
use secrecy::ExposeSecret;

use crate::intake::{self, CustomerIn, Submission};

pub const INBOUND_PATH: &str = "/api/v1/channels/sms/inbound";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(INBOUND_PATH, web::get().to(inbound));
}

/// Kannel's get-url parameters, decoded from the raw query (the text may be UCS-2 bytes).
#[derive(Debug, Default, PartialEq)]
pub struct Inbound {
    pub from: String,
    pub to: String,
    pub text: String,
    pub coding: u8,
    pub id: Option<String>,
    pub secret: String,
}

/// Percent-decoding of one form value (`+` is a space) to bytes.
fn decode(v: &str) -> Vec<u8> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// UCS-2 / UTF-16 big-endian bytes to text.
fn from_ucs2(b: &[u8]) -> Option<String> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// Why an inbound SMS is refused: the status Kannel gets and the reason logged and answered.
#[derive(Debug, PartialEq)]
pub struct Refusal(pub StatusCode, pub String);

impl Inbound {
    /// Reads the query string Kannel sent.
    pub fn parse(query: &str) -> Result<Self, Refusal> {
        let mut m = Inbound::default();
        let mut raw_text = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let val = || String::from_utf8_lossy(&decode(v)).into_owned();
            match k {
                "from" => m.from = val(),
                "to" => m.to = val(),
                "text" => raw_text = decode(v),
                "coding" => {
                    m.coding = val().trim().parse().map_err(|_| {
                        Refusal(StatusCode::BAD_REQUEST, "coding: not a number".into())
                    })?
                }
                "id" => m.id = Some(val()).filter(|s| !s.is_empty()),
                "secret" => m.secret = val(),
                _ => {}
            }
        }
        m.text = match m.coding {
            // Kannel's `mo-recode` turns UCS-2 into UTF-8 and then says coding 0, so coding 2
            // means the bytes are still UTF-16BE. They are read as such first: many UTF-16 texts
            // are valid UTF-8 too ("A" is 00 41), and reading those as UTF-8 kept NULs and
            // garbage (found by `fuzz_sms_ucs2_round_trip`). Bytes that are not UTF-16 at all
            // are read as UTF-8, for a gateway that recodes but keeps coding 2.
            2 => match from_ucs2(&raw_text) {
                Some(s) => s,
                None => String::from_utf8(raw_text).map_err(|_| {
                    Refusal(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "text: not valid UCS-2".into(),
                    )
                })?,
            },
            0 => String::from_utf8(raw_text).map_err(|_| {
                Refusal(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "text: not valid UTF-8".into(),
                )
            })?,
            _ => {
                return Err(Refusal(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("coding {}: binary SMS are not accepted", m.coding),
                ));
            }
        };
        Ok(m)
    }
}

/// Compares without an early exit, so the secret cannot be guessed byte by byte from timings.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The last 4 characters of a contact, the rest masked: what logs and history show.
pub fn mask(contact: &str) -> String {
    let n = contact.chars().count();
    let tail: String = contact.chars().skip(n.saturating_sub(4)).collect();
    format!("****{tail}")
}

fn refuse(r: Refusal, from: &str) -> HttpResponse {
    tracing::warn!(status = r.0.as_u16(), reason = %r.1, from = %mask(from), "inbound SMS refused");
    HttpResponse::build(r.0)
        .content_type("text/plain; charset=utf-8")
        .body(r.1)
}

/// Kannel's get-url: an inbound SMS becomes a request with channel `sms`. Answered in
/// `text/plain` (Kannel logs it): empty when accepted, else why not.
#[utoipa::path(get, path = "/api/v1/channels/sms/inbound", tag = "channels",
    params(
        ("from" = String, Query, format = "msisdn", description = "The sender (Kannel's %p)"),
        ("to" = Option<String>, Query, description = "Our number (Kannel's %P)"),
        ("text" = String, Query, format = "loose-text", max_length = 1000, description = "The message (Kannel's %a, or %b with coding=2: UCS-2 bytes)"),
        ("coding" = Option<u8>, Query, minimum = 0, maximum = 2, multiple_of = 2, description = "0: text; 2: UCS-2 (Kannel's %c); 1 (binary) is 422"),
        ("id" = Option<String>, Query, description = "Kannel's message id (%I): a retry is answered 200 and stored once"),
        ("secret" = String, Query, description = "The gateway's shared secret (`sms.inbound_secret`)"),
    ),
    responses((status = 200, description = "Accepted (or seen before)"),
        (status = 400, description = "An unreadable query", content_type = "text/plain"),
        (status = 403, description = "A wrong or missing secret", content_type = "text/plain"),
        (status = 422, description = "A sender or text that is not valid", content_type = "text/plain"),
        (status = 429, description = "Too many from this sender", content_type = "text/plain"),
        (status = 503, description = "The data store is away: Kannel retries", content_type = "text/plain")))]
pub async fn inbound(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    calendar: web::Data<Calendar>,
) -> HttpResponse {
    let sms = match Inbound::parse(req.query_string()) {
        Ok(m) => m,
        Err(r) => return refuse(r, ""),
    };
    if !same(&sms.secret, settings.sms.inbound_secret.expose_secret()) {
        return refuse(
            Refusal(StatusCode::FORBIDDEN, "secret: wrong or missing".into()),
            &sms.from,
        );
    }
    let msisdn = match Msisdn::parse(sms.from.trim()) {
        Ok(m) => m,
        Err(e) => {
            return refuse(
                Refusal(StatusCode::UNPROCESSABLE_ENTITY, format!("from: {e}")),
                &sms.from,
            );
        }
    };
    if sms.text.trim().is_empty() {
        return refuse(
            Refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                "text: must not be empty".into(),
            ),
            &sms.from,
        );
    }
    match store
        .count_hits(&[store.keys().sms_flood(msisdn.as_str())], 60)
        .await
    {
        Ok(n) if n.first().copied().unwrap_or(0) > settings.sms.flood_per_minute => {
            return refuse(
                Refusal(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "from: more than {} SMS in a minute",
                        settings.sms.flood_per_minute
                    ),
                ),
                &sms.from,
            );
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "inbound SMS: Redis unavailable");
            return ApiError::Unavailable.head().finish();
        }
    }
    let submission = Submission {
        channel: Channel::Sms,
        customer: CustomerIn {
            msisdn: Some(msisdn.as_str().to_owned()),
            email: None,
            name: None,
        },
        subject: None,
        text: sms.text,
        language: None,
    };
    let key = sms.id.as_deref().map(|id| format!("sms:{id}"));
    match intake::accept(&store, &settings, &calendar, &submission, key.as_deref()).await {
        Ok(Created::New(r)) => {
            tracing::info!(request_id = %r.id, number = %r.number, from = %mask(msisdn.as_str()), "inbound SMS accepted");
            HttpResponse::Ok().finish()
        }
        Ok(Created::Replayed(_)) | Ok(Created::KeyReused) => HttpResponse::Ok().finish(),
        Err(ApiError::Invalid(errs)) => {
            let why = intake::why_invalid(&errs);
            refuse(Refusal(StatusCode::UNPROCESSABLE_ENTITY, why), &sms.from)
        }
        Err(e) => {
            tracing::warn!(error = %e, "inbound SMS not stored");
            ApiError::Unavailable.head().finish()
        }
    }
}

/// The GSM 03.38 default alphabet (and its extension table): text made only of these goes as 7-bit.
fn is_gsm(text: &str) -> bool {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXT: &str = "^{}\\[~]|€\u{c}";
    text.chars().all(|c| BASIC.contains(c) || EXT.contains(c))
}

/// Kannel's `sendsms` interface.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    settings: SmsSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Kannel refused the message for good (bad credentials, bad number): retrying will not help.
    #[error("gateway refused: {0}")]
    Refused(String),
    /// Kannel is unreachable or failed: try again later.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
}

impl Sender {
    pub fn new(settings: &SmsSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .unwrap_or_default();
        Self {
            http,
            settings: settings.clone(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.sendsms_url.is_some()
    }

    /// The sendsms URL for one message.
    pub fn url(&self, to: &str, text: &str) -> Result<reqwest::Url, SendError> {
        let mut url = self
            .settings
            .sendsms_url
            .as_ref()
            .map(komek_settings::HttpUrl::url)
            .ok_or_else(|| SendError::Refused("sms.sendsms_url is empty".into()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("username", &self.settings.username)
                .append_pair("password", self.settings.password.expose_secret())
                .append_pair("from", &self.settings.from)
                .append_pair("to", to)
                .append_pair("text", text)
                .append_pair("charset", "UTF-8");
            if !is_gsm(text) {
                q.append_pair("coding", "2");
            }
        }
        Ok(url)
    }

    /// Hands one message to Kannel; `Ok` with Kannel's answer once it accepted or queued it.
    pub async fn send(&self, to: &str, text: &str) -> Result<String, SendError> {
        let url = self.url(to, text)?;
        let r = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| SendError::Unavailable(e.without_url().to_string()))?;
        let status = r.status();
        let body = r.text().await.unwrap_or_default().trim().to_owned();
        if status.is_success() {
            Ok(body)
        } else if status.is_client_error() {
            Err(SendError::Refused(format!("{status} {body}")))
        } else {
            Err(SendError::Unavailable(format!("{status} {body}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kannel_get_url() {
        let m = Inbound::parse("secret=s&from=%2B77011234567&to=1414&text=%D0%A1%D3%99%D0%BB%D0%B5%D0%BC%2C+%D0%B4%D0%BE%D1%81&coding=0&id=abc").unwrap();
        assert_eq!(m.from, "+77011234567");
        assert_eq!(m.text, "Сәлем, дос");
        assert_eq!(m.id.as_deref(), Some("abc"));
        assert_eq!(m.secret, "s");
    }

    #[test]
    fn decodes_raw_ucs2_and_refuses_binary() {
        // "Сә" as UTF-16BE bytes.
        let m = Inbound::parse("from=1&text=%04%21%04%D9&coding=2").unwrap();
        assert_eq!(m.text, "Сә");
        assert_eq!(
            Inbound::parse("text=%FF&coding=1").unwrap_err().0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert!(Inbound::parse("text=%FF&coding=0").is_err());
        assert!(Inbound::parse("coding=x").is_err());
    }

    #[test]
    fn a_broken_escape_stays_as_it_is() {
        assert_eq!(decode("a%2"), b"a%2");
        assert_eq!(decode("%zz"), b"%zz");
        assert_eq!(decode("%41+"), b"A ");
    }

    #[test]
    fn cyrillic_goes_as_ucs2() {
        assert!(is_gsm("Your request KM-000001 {ok} @ 10:00"));
        assert!(!is_gsm("Сәлем"));
        let s = komek_testkit::test_settings("sms").sms;
        let mut s = s;
        s.sendsms_url =
            komek_settings::HttpUrl::parse("http://127.0.0.1:13913/cgi-bin/sendsms", &["http"]);
        let sender = Sender::new(&s);
        let u = sender.url("+77011234567", "Сәлем").unwrap();
        assert!(u.query().unwrap().contains("coding=2"));
        assert!(u.query().unwrap().contains("to=%2B77011234567"));
        let u = sender.url("+77011234567", "Hello").unwrap();
        assert!(!u.query().unwrap().contains("coding"));
    }

    #[test]
    fn masks_all_but_the_last_four() {
        assert_eq!(mask("+77011234567"), "****4567");
        assert_eq!(mask("12"), "****12");
    }

    #[test]
    fn secrets_compare() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
