//! Intake's inbound SMTP listener (`email.smtp_port` on `http.host`): a small SMTP server
//! (RFC 5321 subset: HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, VRFY, QUIT; no TLS, no AUTH, no
//! relaying: every recipient is Komek's) in front of [`crate::email::parse`].
//!
//! A mail is answered only after it was stored, so the sending server keeps it until then:
//! - a new mail → a request with channel `email` (the same [`crate::intake::accept`] as every
//!   channel; its Message-ID is the idempotency key, so a mail sent twice is one request) → 250;
//! - a reply in a request's thread (one of Komek's own Message-IDs with its thread token in
//!   In-Reply-To/References, see [`crate::email::ThreadKeys`]) from that request's sender, the
//!   request not closed → its text without the quoted history becomes a
//!   `request.customer_message` ([`crate::messages::send`]) → 250. Anything else, a bare
//!   `KM-123` in the subject included, becomes a new request;
//! - over `email.max_bytes` (the SIZE parameter, or counted while reading DATA) → 552, nothing kept;
//! - broken MIME, no sender, no text, an attachment → 554 with the reason; nothing is written;
//! - Redis unavailable → 451 (the sender retries later).
//!
//! Both 250s are the same line ([`ACCEPTED`]): the answer never says whether a mail joined a
//! request, so it tells nobody which requests an address has (docs/security.md, finding 4).
//!
//! Abuse (finding 4): more than `email.per_address` transactions from one connecting address, or
//! `email.per_sender` mails from one `From:` address, in `email.rate_window_secs` → 451 (a real
//! mail server retries later). A client silent for `email.idle_timeout_secs` or connected for
//! `email.session_timeout_secs` is sent 421 and disconnected; at most `email.max_connections`
//! are served at once and `email.max_connections_per_address` from one address, one more is
//! answered 421 and closed at once (it is not left waiting for a slot).
//!
//! Every refusal is a `warn` log line with the reason.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use komek_domain::calendar::Calendar;
use komek_domain::{Channel, Status};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use komek_web::ApiError;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tracing::Instrument;

use crate::email::{self, Inbound, Refusal, ThreadKeys};
use crate::intake::{self, CustomerIn, Submission};
use crate::sms::mask;

/// Longest command line accepted.
const MAX_LINE: u64 = 2048;
const MAX_RECIPIENTS: usize = 50;
/// How long a goodbye (421) may take to write to a client that does not read.
const GOODBYE: Duration = Duration::from_secs(2);

/// The answer to every mail that was stored, whatever it became.
pub const ACCEPTED: &str = "250 2.0.0 message accepted";
/// Over `email.per_address` or `email.per_sender`: a temporary failure, the sender retries later.
pub const DEFERRED: &str = "451 4.7.1 too many messages, try again later";

/// What handling one mail needs.
pub struct Context {
    pub store: Store,
    pub settings: Settings,
    pub calendar: Calendar,
    /// What recognises Komek's own Message-IDs in a reply.
    pub threads: ThreadKeys,
}

/// Binds the listener; the bound address is logged (port 0 picks a free one).
pub async fn bind(settings: &Settings) -> std::io::Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind((settings.http.host.as_str(), settings.email.smtp_port)).await?;
    let addr = l.local_addr()?;
    tracing::info!(%addr, max_bytes = settings.email.max_bytes, "SMTP listener bound");
    Ok((l, addr))
}

/// Connections held per client address; a [`Held`] gives its place back when dropped.
type PerAddress = Arc<Mutex<HashMap<IpAddr, usize>>>;

struct Held {
    map: PerAddress,
    ip: IpAddr,
}

impl Held {
    /// A place for `ip`, unless it holds `max` connections already.
    fn take(map: &PerAddress, ip: IpAddr, max: usize) -> Option<Self> {
        let mut m = map.lock().unwrap_or_else(PoisonError::into_inner);
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Self {
            map: map.clone(),
            ip,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Accepts connections until shutdown.
pub async fn serve(listener: TcpListener, ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(ctx.settings.email.max_connections));
    let per_address: PerAddress = Arc::default();
    let per_address_max = ctx.settings.email.max_connections_per_address;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let ip = peer.ip().to_canonical();
                    let place = slots
                        .clone()
                        .try_acquire_owned()
                        .ok()
                        .and_then(|permit| Held::take(&per_address, ip, per_address_max).map(|held| (permit, held)));
                    let Some((permit, held)) = place else {
                        tracing::warn!(%peer, "SMTP connection refused: no free slot (email.max_connections, email.max_connections_per_address)");
                        tokio::spawn(busy(stream));
                        continue;
                    };
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        connection(stream, ip, &ctx).await;
                        drop(held);
                        drop(permit);
                    }.instrument(tracing::info_span!("smtp session", %peer)));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// 421 to a connection there is no slot for, then closed; a client that does not read is dropped.
async fn busy(mut stream: TcpStream) {
    let _ = tokio::time::timeout(GOODBYE, async {
        stream
            .write_all(b"421 4.7.0 too many connections, try again later\r\n")
            .await?;
        stream.shutdown().await
    })
    .await;
}

/// One connection within `email.session_timeout`; a timeout ends it with 421.
async fn connection(stream: TcpStream, ip: IpAddr, ctx: &Context) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let total = ctx.settings.email.session_timeout;
    let why = match tokio::time::timeout(total, session(&mut r, &mut w, ip, ctx)).await {
        Ok(Ok(())) => return,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => "idle",
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "SMTP session ended");
            return;
        }
        Err(_) => "session",
    };
    tracing::warn!(
        timeout = why,
        "SMTP client disconnected: email.{why}_timeout_secs passed"
    );
    let line = format!("421 4.4.2 {why} timeout, closing");
    let _ = tokio::time::timeout(GOODBYE, reply(&mut w, &line)).await;
}

async fn reply(w: &mut (impl AsyncWriteExt + Unpin), line: &str) -> std::io::Result<()> {
    w.write_all(line.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    w.flush().await
}

/// One line (up to `max` bytes) within `idle`; `None` at end of stream.
async fn read_line(
    r: &mut BufReader<OwnedReadHalf>,
    max: u64,
    idle: Duration,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = tokio::time::timeout(idle, (&mut *r).take(max).read_until(b'\n', &mut buf))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
    Ok((n > 0).then_some(buf))
}

/// Counts one hit for `who` (`scope`: `addr` or `sender`) against `limit` (0: off); the answer
/// when it is over, or when Redis cannot count.
async fn limited(ctx: &Context, scope: &str, who: String, limit: u64) -> Option<String> {
    if limit == 0 {
        return None;
    }
    match crate::antispam::count(
        &ctx.store,
        "mail",
        scope,
        &[who],
        limit,
        ctx.settings.email.rate_window,
    )
    .await
    {
        Ok(None) => None,
        Ok(Some(l)) => {
            tracing::warn!(
                scope,
                limit,
                retry_after_secs = l.retry_after_secs,
                "inbound mail deferred: over its limit"
            );
            Some(DEFERRED.to_owned())
        }
        Err(e) => Some(unavailable(&e)),
    }
}

/// The value of `SIZE=` in a MAIL command, if given.
fn size_param(args: &str) -> Option<usize> {
    args.split_whitespace()
        .find_map(|p| {
            p.get(..5)
                .filter(|k| k.eq_ignore_ascii_case("SIZE="))
                .map(|_| &p[5..])
        })
        .and_then(|v| v.parse().ok())
}

async fn session(
    r: &mut BufReader<OwnedReadHalf>,
    w: &mut OwnedWriteHalf,
    ip: IpAddr,
    ctx: &Context,
) -> std::io::Result<()> {
    let domain = ctx.settings.email.domain.clone();
    let max = ctx.settings.email.max_bytes;
    let idle = ctx.settings.email.idle_timeout;
    reply(w, &format!("220 {domain} Komek ESMTP")).await?;
    let mut helo = false;
    let mut mail_from: Option<String> = None;
    let mut rcpts = 0usize;
    loop {
        let Some(line) = read_line(r, MAX_LINE, idle).await? else {
            return Ok(());
        };
        if !line.ends_with(b"\n") {
            reply(w, "500 5.5.2 line too long").await?;
            // Drop the rest of the overlong line.
            while let Some(more) = read_line(r, MAX_LINE, idle).await? {
                if more.ends_with(b"\n") {
                    break;
                }
            }
            continue;
        }
        let line = String::from_utf8_lossy(&line).trim_end().to_owned();
        let (verb, args) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "HELO" => {
                helo = true;
                reply(w, &format!("250 {domain}")).await?;
            }
            "EHLO" => {
                helo = true;
                mail_from = None;
                rcpts = 0;
                reply(
                    w,
                    &format!("250-{domain}\r\n250-SIZE {max}\r\n250-8BITMIME\r\n250 SMTPUTF8"),
                )
                .await?;
            }
            "MAIL" => {
                if !helo {
                    reply(w, "503 5.5.1 send HELO or EHLO first").await?;
                } else if mail_from.is_some() {
                    reply(w, "503 5.5.1 sender already given").await?;
                } else if !args.to_ascii_uppercase().starts_with("FROM:") {
                    reply(w, "501 5.5.4 syntax: MAIL FROM:<address>").await?;
                } else if size_param(args).is_some_and(|s| s > max) {
                    tracing::warn!(
                        reason = "over email.max_bytes (SIZE)",
                        "inbound mail refused"
                    );
                    reply(w, &format!("552 5.3.4 message size exceeds {max} bytes")).await?;
                } else if let Some(answer) = limited(
                    ctx,
                    "addr",
                    crate::antispam::address_key(ip),
                    ctx.settings.email.per_address,
                )
                .await
                {
                    reply(w, &answer).await?;
                } else {
                    mail_from = Some(args[5..].trim().to_owned());
                    rcpts = 0;
                    reply(w, "250 2.1.0 OK").await?;
                }
            }
            "RCPT" => {
                if mail_from.is_none() {
                    reply(w, "503 5.5.1 send MAIL first").await?;
                } else if !args.to_ascii_uppercase().starts_with("TO:") {
                    reply(w, "501 5.5.4 syntax: RCPT TO:<address>").await?;
                } else if rcpts >= MAX_RECIPIENTS {
                    reply(w, "452 4.5.3 too many recipients").await?;
                } else {
                    rcpts += 1;
                    reply(w, "250 2.1.5 OK").await?;
                }
            }
            "DATA" => {
                if mail_from.is_none() || rcpts == 0 {
                    reply(w, "503 5.5.1 send MAIL and RCPT first").await?;
                    continue;
                }
                reply(w, "354 end data with <CR><LF>.<CR><LF>").await?;
                let data = read_data(r, max, idle).await?;
                mail_from = None;
                rcpts = 0;
                let answer = match data {
                    None => {
                        tracing::warn!(
                            reason = "over email.max_bytes",
                            max,
                            "inbound mail refused"
                        );
                        format!("552 5.3.4 message size exceeds {max} bytes")
                    }
                    Some(raw) => {
                        let span = tracing::info_span!("smtp DATA", bytes = raw.len());
                        handle(ctx, &raw).instrument(span).await
                    }
                };
                reply(w, &answer).await?;
            }
            "RSET" => {
                mail_from = None;
                rcpts = 0;
                reply(w, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(w, "250 2.0.0 OK").await?,
            "VRFY" => reply(w, "252 2.5.2 cannot verify").await?,
            "QUIT" => {
                reply(w, &format!("221 2.0.0 {domain} closing")).await?;
                return Ok(());
            }
            _ => reply(w, "502 5.5.2 command not recognized").await?,
        }
    }
}

/// The message after DATA, dot-unstuffed; `None` when it was over `max` bytes (read to its end
/// and dropped, so the session can go on).
async fn read_data(
    r: &mut BufReader<OwnedReadHalf>,
    max: usize,
    idle: Duration,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut over = false;
    let mut line_start = true;
    loop {
        let Some(chunk) = read_line(r, 8192, idle).await? else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed in DATA",
            ));
        };
        let ends_line = chunk.ends_with(b"\n");
        if line_start && (chunk == b".\r\n" || chunk == b".\n") {
            return Ok((!over).then_some(buf));
        }
        let piece = if line_start && chunk.starts_with(b".") {
            &chunk[1..]
        } else {
            &chunk[..]
        };
        if !over {
            if buf.len() + piece.len() > max {
                over = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(piece);
            }
        }
        line_start = ends_line;
    }
}

fn refused(r: &Refusal, from: &str) -> String {
    tracing::warn!(code = r.code, reason = %r.reason, from = %mask(from), "inbound mail refused");
    format!("{} {} {}", r.code, r.enhanced, r.reason)
}

fn unavailable(e: &dyn std::fmt::Display) -> String {
    tracing::warn!(error = %e, "inbound mail not stored; the sender will retry");
    "451 4.3.0 temporarily unavailable, try again later".to_owned()
}

/// Stores one mail and returns the SMTP answer.
pub async fn handle(ctx: &Context, raw: &[u8]) -> String {
    let m = match email::parse(raw, &ctx.settings.email.domain, &ctx.threads) {
        Ok(m) => m,
        Err(r) => return refused(&r, ""),
    };
    if let Some(answer) =
        limited(ctx, "sender", m.from.clone(), ctx.settings.email.per_sender).await
    {
        return answer;
    }
    if let Some(id) = m.thread {
        match ctx.store.request(id).await {
            Err(e) => return unavailable(&e),
            Ok(Some(r)) if r.customer.has_contact(&m.from) && r.status != Status::Closed => {
                return add_to(ctx, &m, &r).await;
            }
            Ok(_) => {
                tracing::info!(from = %mask(&m.from), "mail answers a thread that is not the sender's or is closed: a new request");
            }
        }
    }
    create(ctx, &m).await
}

async fn add_to(ctx: &Context, m: &Inbound, r: &komek_domain::Request) -> String {
    let text = match crate::messages::text(&email::strip_quoted(&m.text)) {
        Ok(t) => t,
        Err(e) => {
            return refused(
                &Refusal::new(554, "5.6.0", format!("text: {}", e.message())),
                &m.from,
            );
        }
    };
    match crate::messages::send(&ctx.store, r, Channel::Email, &text).await {
        Ok(_) => {
            tracing::info!(request_id = %r.id, number = %r.number, from = %mask(&m.from), "inbound mail added to its request");
            ACCEPTED.to_owned()
        }
        Err(e) => unavailable(&e),
    }
}

async fn create(ctx: &Context, m: &Inbound) -> String {
    let submission = Submission {
        channel: Channel::Email,
        customer: CustomerIn {
            msisdn: None,
            email: Some(m.from.clone()),
            name: m.name.clone(),
        },
        subject: m.subject.clone(),
        text: m.text.clone(),
        language: None,
    };
    // A mail delivered twice (the sender lost our 250) is one request.
    let key = m
        .message_id
        .as_deref()
        .map(|id| format!("email:{}", hex::encode(Sha256::digest(id.as_bytes()))));
    match intake::accept(
        &ctx.store,
        &ctx.settings,
        &ctx.calendar,
        &submission,
        key.as_deref(),
    )
    .await
    {
        Ok(Created::New(r)) => {
            tracing::info!(request_id = %r.id, number = %r.number, from = %mask(&m.from), "inbound mail accepted");
            ACCEPTED.to_owned()
        }
        Ok(Created::Replayed(_)) | Ok(Created::KeyReused) => {
            tracing::info!(from = %mask(&m.from), "inbound mail seen before");
            ACCEPTED.to_owned()
        }
        Err(ApiError::Invalid(errs)) => {
            let why = intake::why_invalid(&errs);
            refused(&Refusal::new(554, "5.6.0", why), &m.from)
        }
        Err(e) => unavailable(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_size_parameter() {
        assert_eq!(
            size_param("FROM:<a@b.kz> SIZE=1000 BODY=8BITMIME"),
            Some(1000)
        );
        assert_eq!(size_param("FROM:<a@b.kz> size=7"), Some(7));
        assert_eq!(size_param("FROM:<a@b.kz>"), None);
    }
}
