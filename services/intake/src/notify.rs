//! The notifier: intake's consumer that sends every customer-visible message on the request's own
//! channel, in the request's language.
//!
//! It consumes `request.created` (the acknowledgment stored as the first message),
//! `request.replied` (an agent's reply or request for information), `request.resolved` (the
//! resolution) and `survey.created` (an invitation with the survey link). The route:
//! - `sms`, `call_center`, `front_office`: an SMS to the customer's number;
//! - `web`, `email`: a mail through the SMTP relay ([`crate::email::Mailer`]) when there is an
//!   email, else an SMS to the number: subject `[KM-000123] …` in the request's language, threaded
//!   (the acknowledgment's Message-ID is the request's thread id, later mails answer it).
//!
//! A route whose way out is off (`sms.sendsms_url` or `email.relay_host` empty) acknowledges the
//! event with a log line and sends nothing.
//!
//! What an attacker posting requests cannot make Komek send (docs/security.md, finding 3):
//! - an SMS to a number outside `sms.allowed_prefixes` is not sent;
//! - a recipient gets at most `sms.daily_per_recipient` SMS / `email.daily_per_recipient` mails
//!   per UTC day (counted per event, so a redelivery is not a second message); the rest are
//!   dropped.
//!
//! Both are recorded like a refusal (a `notification.failed` with the reason, the marker), logged
//! at info with the recipient masked, counted in `komek_notifications_dropped_total{channel,
//! reason}`, and the event is acknowledged: never retried.
//!
//! Each delivery is deduplicated per (event id, recipient) by the marker `sent:{event}:{recipient}`,
//! written in one transaction with the `notification.sent` / `notification.failed` event the
//! workspace turns into a history line; while one delivery sends, the lease
//! `sending:{event}:{recipient}` makes a second copy of the event wait for that marker. A gateway that is down makes the handler return
//! [`HandleError::Retry`]: the consumer retries with backoff, then requeues, and finally parks the
//! event. A send that succeeded but whose marker could not be written may be sent again
//! (at least once).

use std::sync::{Arc, LazyLock};

use komek_bus::HandleError;
use komek_domain::events::{Envelope, NotificationStatus, RequestChanged, RequestResolved, kind};
use komek_domain::{Channel, Lang, MessageKind, Request, RequestNumber};
use komek_settings::Settings;
use komek_store::Store;
use time::OffsetDateTime;

use crate::email::{self, About, Mailer, Outgoing, ThreadKeys};
use crate::sms::{SendError, Sender, mask};

/// How long a sent marker is kept: longer than any redelivery.
const MARKER_TTL_SECS: u64 = 7 * 24 * 3600;
/// How long a day's count per recipient is kept: past the end of its day whatever the clock skew.
const DAILY_TTL_SECS: u64 = 2 * 24 * 3600;

/// Why a message was not sent on purpose (the `reason` label).
pub const NOT_ALLOWED: &str = "not_allowed";
pub const DAILY_CAP: &str = "daily_cap";

static DROPPED: LazyLock<Option<prometheus::IntCounterVec>> = LazyLock::new(|| {
    komek_bus::metrics::registered(prometheus::IntCounterVec::new(
        prometheus::Opts::new(
            "komek_notifications_dropped_total",
            "Customer messages not sent on purpose, by channel and reason (not_allowed: SMS to a \
             number outside sms.allowed_prefixes; daily_cap: the recipient's daily cap reached)",
        ),
        &["channel", "reason"],
    ))
});

fn dropped(channel: &str, reason: &str) {
    if let Some(c) = &*DROPPED {
        c.with_label_values(&[channel, reason]).inc();
    }
}

pub struct Notifier {
    pub store: Store,
    pub settings: Settings,
    pub sender: Sender,
    pub mailer: Mailer,
}

impl Notifier {
    pub fn new(store: Store, settings: Settings) -> Self {
        let sender = Sender::new(&settings.sms);
        let mailer = Mailer::new(&settings.email, ThreadKeys::new(&settings.auth));
        // Every series shows (at zero) from the first scrape.
        if let Some(c) = &*DROPPED {
            for (channel, reason) in [
                ("sms", NOT_ALLOWED),
                ("sms", DAILY_CAP),
                ("email", DAILY_CAP),
            ] {
                let _ = c.with_label_values(&[channel, reason]);
            }
        }
        Self {
            store,
            settings,
            sender,
            mailer,
        }
    }
}

/// Where a message for a request goes.
#[derive(Debug, PartialEq)]
pub enum Route {
    Sms(String),
    Email(String),
    /// No contact to answer on.
    Nowhere,
}

pub fn route(r: &Request) -> Route {
    route_on(r, r.channel)
}

/// The route for a message about `r` answering a contact made on `channel`.
pub fn route_on(r: &Request, channel: Channel) -> Route {
    let msisdn = r.customer.msisdn.as_ref().map(|m| m.as_str().to_owned());
    let email = r.customer.email.as_ref().map(|e| e.as_str().to_owned());
    match channel {
        Channel::Sms | Channel::CallCenter | Channel::FrontOffice => {
            msisdn.map(Route::Sms).unwrap_or(Route::Nowhere)
        }
        Channel::Web | Channel::Email => match (email, msisdn) {
            (Some(e), _) => Route::Email(e),
            (None, Some(m)) => Route::Sms(m),
            (None, None) => Route::Nowhere,
        },
    }
}

/// The survey invitation, in the request's language.
pub fn invitation(lang: Lang, number: &RequestNumber, link: &str) -> String {
    komek_i18n::customer::survey_invitation(lang, number, link)
}

fn payload<P: for<'de> serde::Deserialize<'de>>(env: &Envelope) -> Result<P, HandleError> {
    env.payload()
        .map_err(|e| HandleError::Reject(format!("{} payload: {e}", env.kind)))
}

/// The text the customer gets for `env`, or `None` when the event carries nothing to send.
async fn text_for(
    n: &Notifier,
    env: &Envelope,
    r: &Request,
) -> Result<Option<String>, HandleError> {
    Ok(match env.kind.as_str() {
        kind::REQUEST_CREATED | kind::REQUEST_LINKED => r
            .messages
            .iter()
            .find(|m| m.kind == MessageKind::Acknowledgment)
            .map(|m| m.text.clone()),
        kind::REQUEST_REPLIED => payload::<RequestChanged>(env)?
            .detail
            .map(|t| format!("{}: {t}", r.number)),
        kind::REQUEST_RESOLVED => {
            let p: RequestResolved = payload(env)?;
            Some(format!("{}: {}", r.number, p.resolution))
        }
        kind::SURVEY_CREATED => crate::links::survey_link(&n.store, &n.settings, r.id)
            .await
            .map_err(|e| HandleError::Retry(e.to_string()))?
            .map(|link| invitation(r.language, &r.number, &link)),
        other => {
            return Err(HandleError::Reject(format!(
                "intake does not handle {other}"
            )));
        }
    })
}

fn status_event(
    kind: &str,
    r: &Request,
    channel: &str,
    recipient: &str,
    about: &str,
    detail: Option<String>,
) -> Envelope {
    let mut e = Envelope::new(
        kind,
        r.id,
        &NotificationStatus {
            channel: channel.to_owned(),
            recipient: mask(recipient),
            event_type: about.to_owned(),
            detail,
        },
        OffsetDateTime::now_utc(),
    );
    komek_bus::stamp(&mut e);
    e
}

/// Records a delivery (or its failure) once: the marker and the status event together.
async fn record(n: &Notifier, marker: &str, event: &Envelope) -> Result<(), HandleError> {
    n.store
        .mark_with_event(marker, MARKER_TTL_SECS, event)
        .await
        .map_err(|e| HandleError::Retry(e.to_string()))
}

pub async fn handle(n: Arc<Notifier>, env: Envelope) -> Result<(), HandleError> {
    if !n.sender.enabled() && !n.mailer.enabled() {
        tracing::debug!(event_type = %env.kind, "notifications off (sms.sendsms_url and email.relay_host are empty)");
        return Ok(());
    }
    let r = match n.store.request(env.request_id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(HandleError::Reject(format!(
                "request {} does not exist",
                env.request_id
            )));
        }
        Err(e) => return Err(HandleError::Retry(e.to_string())),
    };
    let Some(text) = text_for(&n, &env, &r).await? else {
        tracing::info!(event_type = %env.kind, request_id = %r.id, "nothing to tell the customer");
        return Ok(());
    };
    let keys = n.store.keys();
    // A linked contact is acknowledged on the channel it came by.
    let channel = if env.kind == kind::REQUEST_LINKED {
        payload::<komek_domain::events::CustomerMessage>(&env)?.channel
    } else {
        r.channel
    };
    match route_on(&r, channel) {
        Route::Nowhere => {
            tracing::warn!(event_type = %env.kind, request_id = %r.id, "no contact to notify");
            Ok(())
        }
        Route::Email(to) => {
            if !n.mailer.enabled() {
                tracing::debug!(event_type = %env.kind, "outbound email off (email.relay_host is empty)");
                return Ok(());
            }
            let marker = keys.sent(env.id, &to);
            if already_sent(&n, &env, &marker).await? {
                return Ok(());
            }
            let Some(lease) = claim(&n, &env, &to, &marker, n.settings.email.timeout).await? else {
                return Ok(());
            };
            let done = async {
                if over_daily_cap(&n, &env, "email", &to, n.settings.email.daily_per_recipient)
                    .await?
                {
                    return not_sent(&n, &env, &r, "email", &to, &marker, DAILY_CAP).await;
                }
                let text = if env.kind == kind::REQUEST_CREATED {
                    // The acknowledgment carries a status link of its own (finding 1): a token
                    // issued now (only its hash is kept; a request may have several).
                    let token = crate::links::issue_status_token(&n.store, r.id)
                        .await
                        .map_err(|e| HandleError::Retry(e.to_string()))?;
                    let link = n.settings.web.status_link(&token);
                    format!(
                        "{text}\n\n{}",
                        komek_i18n::customer::status_link_line(r.language, &link)
                    )
                } else {
                    text
                };
                let mail = mail_for(&n.mailer, &env, &r, &to, text);
                let sent = n.mailer.send(&mail).await;
                settle(&n, &env, &r, "email", &to, &marker, sent).await
            }
            .await;
            release(&n, &lease).await;
            done
        }
        Route::Sms(to) => {
            if !n.sender.enabled() {
                tracing::debug!(event_type = %env.kind, "outbound SMS off (sms.sendsms_url is empty)");
                return Ok(());
            }
            let marker = keys.sent(env.id, &to);
            if already_sent(&n, &env, &marker).await? {
                return Ok(());
            }
            let Some(lease) = claim(&n, &env, &to, &marker, n.settings.sms.timeout).await? else {
                return Ok(());
            };
            let done = async {
                if !n.settings.sms.allows(&to) {
                    return not_sent(&n, &env, &r, "sms", &to, &marker, NOT_ALLOWED).await;
                }
                if over_daily_cap(&n, &env, "sms", &to, n.settings.sms.daily_per_recipient).await? {
                    return not_sent(&n, &env, &r, "sms", &to, &marker, DAILY_CAP).await;
                }
                let sent = n.sender.send(&to, &text).await;
                settle(&n, &env, &r, "sms", &to, &marker, sent).await
            }
            .await;
            release(&n, &lease).await;
            done
        }
    }
}

/// The mail for `env`: the acknowledgment opens the request's thread, every later one answers it.
pub fn mail_for(m: &Mailer, env: &Envelope, r: &Request, to: &str, text: String) -> Outgoing {
    let about = match env.kind.as_str() {
        kind::REQUEST_CREATED => About::Acknowledgment,
        kind::REQUEST_RESOLVED => About::Resolution,
        kind::SURVEY_CREATED => About::Survey,
        _ => About::Reply,
    };
    let thread = email::thread_id(r.id, &m.threads, &m.domain);
    let (message_id, in_reply_to) = if about == About::Acknowledgment {
        (thread, None)
    } else {
        (
            email::message_id(env.id, r.id, &m.threads, &m.domain),
            Some(thread),
        )
    };
    Outgoing {
        to: to.to_owned(),
        name: r.customer.name.clone(),
        subject: email::subject(r.language, &r.number, about),
        text: format!("{text}\n\n--\n{}", email::footer(r.language)),
        message_id,
        in_reply_to,
    }
}

/// Whether this event's message already went to this recipient (its `sent:` marker).
async fn already_sent(n: &Notifier, env: &Envelope, marker: &str) -> Result<bool, HandleError> {
    let sent = n
        .store
        .exists(marker)
        .await
        .map_err(|e| HandleError::Retry(e.to_string()))?;
    if sent {
        tracing::info!(event_type = %env.kind, event_id = %env.id, "already sent; not again");
    }
    Ok(sent)
}

/// Takes the sending of this event's message to `to` (the lease `sending:{event}:{recipient}`,
/// for the way out's `timeout` and a margin). The outbox relay may publish an event twice, and two
/// copies handled at the same moment would both pass [`already_sent`]: the one without the lease
/// retries (and then finds the marker); a lease left by a crashed process expires. `None` when the
/// marker appeared meanwhile (sent by the other copy).
async fn claim(
    n: &Notifier,
    env: &Envelope,
    to: &str,
    marker: &str,
    timeout: std::time::Duration,
) -> Result<Option<String>, HandleError> {
    let lease = n.store.keys().sending(env.id, to);
    let ttl_ms = u64::try_from(timeout.as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(10_000);
    let taken = n
        .store
        .claim_send(&lease, ttl_ms)
        .await
        .map_err(|e| HandleError::Retry(e.to_string()))?;
    if !taken {
        return Err(HandleError::Retry(
            "another delivery of this event is sending it".into(),
        ));
    }
    if already_sent(n, env, marker).await? {
        release(n, &lease).await;
        return Ok(None);
    }
    Ok(Some(lease))
}

/// Gives the lease back; if Redis is away it expires on its own.
async fn release(n: &Notifier, lease: &str) {
    if let Err(e) = n.store.release_send(lease).await {
        tracing::debug!(error = %e, "sending lease not released; it expires");
    }
}

/// Whether `to` has had `cap` messages on `channel` today already (0: no cap). This event is
/// counted once however often it is delivered, and a retried send keeps its place.
async fn over_daily_cap(
    n: &Notifier,
    env: &Envelope,
    channel: &str,
    to: &str,
    cap: u64,
) -> Result<bool, HandleError> {
    if cap == 0 {
        return Ok(false);
    }
    let day = OffsetDateTime::now_utc()
        .unix_timestamp()
        .div_euclid(86_400);
    let key = n.store.keys().daily_sent(channel, to, day);
    let rank = n
        .store
        .daily_rank(&key, env.id, cap, DAILY_TTL_SECS)
        .await
        .map_err(|e| HandleError::Retry(e.to_string()))?;
    Ok(rank > cap)
}

/// A message not sent on purpose (`reason`: [`NOT_ALLOWED`] or [`DAILY_CAP`]): logged without the
/// full recipient, counted, recorded as `notification.failed` with its marker, and acknowledged.
async fn not_sent(
    n: &Notifier,
    env: &Envelope,
    r: &Request,
    channel: &str,
    to: &str,
    marker: &str,
    reason: &str,
) -> Result<(), HandleError> {
    let why = if reason == NOT_ALLOWED {
        "not sent: number outside sms.allowed_prefixes"
    } else if channel == "sms" {
        "not sent: sms.daily_per_recipient reached today"
    } else {
        "not sent: email.daily_per_recipient reached today"
    };
    tracing::info!(event_type = %env.kind, request_id = %r.id, to = %mask(to), channel, reason, "{why}");
    dropped(channel, reason);
    let e = status_event(
        kind::NOTIFICATION_FAILED,
        r,
        channel,
        to,
        &env.kind,
        Some(why.to_owned()),
    );
    record(n, marker, &e).await
}

/// The gateway's or relay's answer as a `notification.sent` / `.failed` recorded with the marker,
/// or a retry when it was unavailable. Same for both ways out (`channel` = `sms` or `email`).
async fn settle(
    n: &Notifier,
    env: &Envelope,
    r: &Request,
    channel: &str,
    to: &str,
    marker: &str,
    sent: Result<String, SendError>,
) -> Result<(), HandleError> {
    let (kind, detail) = match sent {
        Ok(answer) => {
            tracing::info!(event_type = %env.kind, request_id = %r.id, to = %mask(to), %answer, channel, "message handed on");
            (
                kind::NOTIFICATION_SENT,
                Some(answer).filter(|a| !a.is_empty()),
            )
        }
        Err(SendError::Refused(why)) => {
            tracing::warn!(event_type = %env.kind, request_id = %r.id, to = %mask(to), reason = %why, channel, "message refused");
            (kind::NOTIFICATION_FAILED, Some(why))
        }
        Err(SendError::Unavailable(why)) => {
            tracing::warn!(event_type = %env.kind, request_id = %r.id, reason = %why, channel, "way out unavailable; will retry");
            return Err(HandleError::Retry(why));
        }
    };
    let e = status_event(kind, r, channel, to, &env.kind, detail);
    record(n, marker, &e).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use komek_domain::{Customer, Email, Msisdn};

    fn req(channel: Channel, msisdn: Option<&str>, email: Option<&str>) -> Request {
        let mut r: Request = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::now_v7(), "number": "KM-000001", "version": 1, "channel": "web",
            "customer": {}, "language": "kk", "category": "other", "priority": "normal",
            "text": "x", "status": "new",
            "due": {"first_response": "2026-11-26T10:00:00Z", "resolution": "2026-11-27T10:00:00Z"},
            "created_at": "2026-11-26T09:00:00Z", "messages": [], "notes": []
        }))
        .unwrap();
        r.channel = channel;
        r.customer = Customer {
            msisdn: msisdn.map(|m| Msisdn::parse(m).unwrap()),
            email: email.map(|e| Email::parse(e).unwrap()),
            name: None,
        };
        r
    }

    #[test]
    fn phone_and_desk_requests_are_answered_by_sms() {
        for ch in [Channel::Sms, Channel::CallCenter, Channel::FrontOffice] {
            assert_eq!(
                route(&req(ch, Some("+77011234567"), Some("a@b.kz"))),
                Route::Sms("+77011234567".into())
            );
            assert_eq!(route(&req(ch, None, Some("a@b.kz"))), Route::Nowhere);
        }
    }

    #[test]
    fn web_and_email_use_sms_only_without_an_email() {
        assert_eq!(
            route(&req(Channel::Web, Some("+77011234567"), None)),
            Route::Sms("+77011234567".into())
        );
        assert_eq!(
            route(&req(Channel::Email, Some("+77011234567"), Some("a@b.kz"))),
            Route::Email("a@b.kz".into())
        );
    }

    #[test]
    fn invitations_carry_number_and_link() {
        let n = RequestNumber::format("KM", 7);
        let t = invitation(Lang::Kk, &n, "http://x/s/t");
        assert!(t.contains("KM-000007") && t.contains("http://x/s/t") && t.contains("бағалаңыз"));
    }
}
