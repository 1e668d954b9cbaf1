//! Abuse of the ways in (docs/security.md, findings 3 and 4): a loop of `POST /api/v1/requests`
//! from one address, and the SMTP listener: its answer, what a reply may join, per-sender and
//! per-address limits, slow clients.

use std::net::SocketAddr;
use std::time::Duration;

use komek_domain::events::{CustomerMessage, Envelope, kind};
use komek_intake::email::{ThreadKeys, thread_id};
use komek_intake::smtp::{ACCEPTED, DEFERRED};
use komek_settings::Settings;
use komek_testkit::eventually;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{IntakeCalls, TestApp, WAIT, problem, spawn_app_with};

/// Finding 3: only a per-contact limit existed, so one client looping over phone numbers made
/// each one get an acknowledgment SMS. With `web.api_per_address` = 3, the fourth request from the
/// same address (another number each time) gets 429 problem+json with Retry-After and creates
/// nothing; a retry of an accepted request with its Idempotency-Key is still answered (200).
#[tokio::test(flavor = "multi_thread")]
async fn a_loop_over_phone_numbers_from_one_address_gets_429() {
    let mut s = komek_testkit::test_settings("intake-api-addr");
    s.web.api_per_address = 3;
    let mut app = spawn_app_with(s).await;
    let body = |i: u32| {
        json!({
            "channel": "web",
            "customer": { "msisdn": format!("+7701555{i:04}") },
            "text": "Не работает интернет",
        })
    };
    let first = app.post_request_with_key("loop-0", &body(0)).await;
    assert_eq!(first.status().as_u16(), 201);
    for i in 1..3 {
        let r = app.post_request(&body(i)).await;
        assert_eq!(r.status().as_u16(), 201, "request {i}");
    }
    let r = app.post_request(&body(3)).await;
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let p = problem(r, 429).await;
    assert_eq!(p["code"], "rate_limited");
    let seq = app.store.keys().number_seq();
    assert_eq!(
        app.store.get_string(&seq).await.unwrap().as_deref(),
        Some("3"),
        "the refused request was not numbered"
    );
    let again = app.post_request_with_key("loop-0", &body(0)).await;
    assert_eq!(again.status().as_u16(), 200, "a replay creates nothing");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A free port below the kernel's ephemeral range (32768 on), so no outgoing connection of
/// another test is handed it between this check and the listener binding it.
fn free_port() -> u16 {
    let seed = std::process::id() as usize + uuid::Uuid::new_v4().as_u128() as usize;
    (0..12_768)
        .map(|i| 20_000 + ((seed + i * 7919) % 12_768) as u16)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port in 20000-32767")
}

/// Test settings with intake's SMTP listener on a port of its own.
fn smtp_settings(tag: &str) -> Settings {
    let mut s = komek_testkit::test_settings(tag);
    s.email.smtp_port = free_port();
    s
}

/// intake with a broker it cannot reach: its relay never takes events from the outbox, so the
/// test reads the customer messages there.
async fn spawn_without_broker(mut s: Settings) -> TestApp {
    s.amqp.url = "amqp://guest:guest@127.0.0.1:1/%2f".to_owned().into();
    spawn_app_with(s).await
}

async fn cleanup_without_broker(app: &mut TestApp) {
    app.stop().await;
    let mut s = app.settings.clone();
    s.amqp.url = komek_testkit::test_settings("x").amqp.url;
    komek_testkit::cleanup(&s).await;
}

/// The customer messages in the outbox, oldest first.
async fn customer_messages(app: &TestApp) -> Vec<(Envelope, CustomerMessage)> {
    app.store.ensure_relay_group().await.unwrap();
    let mut conn = app
        .store
        .dedicated(Duration::from_millis(100))
        .await
        .unwrap();
    let mut out = Vec::new();
    loop {
        let entries = app
            .store
            .read_outbox(&mut conn, "test", 100, 50)
            .await
            .unwrap();
        if entries.is_empty() {
            return out;
        }
        for e in entries {
            if e.kind == kind::REQUEST_CUSTOMER_MESSAGE {
                let env = Envelope::decode(&e.event).unwrap();
                let p: CustomerMessage = env.payload().unwrap();
                out.push((env, p));
            }
        }
    }
}

/// How many requests intake has numbered (every request of these tests came by mail).
async fn numbered(app: &TestApp) -> u64 {
    let seq = app.store.keys().number_seq();
    app.store
        .get_string(&seq)
        .await
        .unwrap()
        .map_or(0, |n| n.parse().unwrap())
}

/// One SMTP client connection to intake's listener.
struct Smtp {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
}

impl Smtp {
    async fn connect(port: u16) -> Self {
        Self::from_stream(TcpStream::connect(("127.0.0.1", port)).await.unwrap())
    }

    /// A connection from another loopback address (127.0.0.x), as another client would be.
    async fn connect_from(source: [u8; 4], port: u16) -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::from((source, 0)))
            .expect("bind a 127.0.0.x source address");
        let stream = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .unwrap();
        Self::from_stream(stream)
    }

    fn from_stream(s: TcpStream) -> Self {
        let (r, w) = s.into_split();
        Self {
            r: BufReader::new(r),
            w,
        }
    }

    /// The next reply (a multi-line one joined), within [`WAIT`]; empty when the server closed.
    async fn answer(&mut self) -> String {
        tokio::time::timeout(WAIT, async {
            let mut all = String::new();
            loop {
                let mut line = String::new();
                if self.r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return all.trim_end().to_owned();
                }
                all.push_str(&line);
                if line.len() < 4 || line.as_bytes()[3] != b'-' {
                    return all.trim_end().to_owned();
                }
            }
        })
        .await
        .expect("an SMTP answer in time")
    }

    /// Sends one command line; its answer.
    async fn cmd(&mut self, line: &str) -> String {
        let _ = self.w.write_all(format!("{line}\r\n").as_bytes()).await;
        self.answer().await
    }

    /// One mail transaction after the greeting was read: the first refusal, or the answer to DATA.
    async fn mail(&mut self, from: &str, raw: &str) -> String {
        for (cmd, want) in [
            ("EHLO mail.kz".to_owned(), "250"),
            (format!("MAIL FROM:<{from}>"), "250"),
            ("RCPT TO:<support@komek.kz>".to_owned(), "250"),
            ("DATA".to_owned(), "354"),
        ] {
            let got = self.cmd(&cmd).await;
            if !got.starts_with(want) {
                return got;
            }
        }
        let mut body = String::new();
        for line in raw.split("\r\n") {
            if line.starts_with('.') {
                body.push('.');
            }
            body.push_str(line);
            body.push_str("\r\n");
        }
        body.push_str(".\r\n");
        self.w.write_all(body.as_bytes()).await.unwrap();
        self.answer().await
    }
}

/// One mail on a connection of its own: the answer to it.
async fn send(port: u16, from: &str, raw: &str) -> String {
    let mut c = Smtp::connect(port).await;
    let greeting = c.answer().await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    let answer = c.mail(from, raw).await;
    let _ = c.cmd("QUIT").await;
    answer
}

fn mail(from: &str, subject: &str, headers: &str, id: &str, text: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@komek.kz\r\nSubject: {subject}\r\nMessage-ID: <{id}@mail.kz>\r\n{headers}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}"
    )
}

/// Finding 4: the listener trusted `From:` and a `KM-N` in the subject, and its answer said which
/// (`added to KM-N` / `accepted as KM-M`), so anyone could learn which request numbers an address
/// has and post into them. Now every stored mail gets the same answer; a bare number, or
/// Komek's Message-ID without its thread token, opens a new request; only Komek's own thread id
/// (with its token), from the request's own sender, joins the request.
#[tokio::test(flavor = "multi_thread")]
async fn smtp_answers_alike_and_joins_only_with_the_thread_token() {
    let mut app = spawn_without_broker(smtp_settings("intake-smtp-thread")).await;
    let port = app.settings.email.smtp_port;
    let customer = "aliya@mail.kz";

    let first = send(
        port,
        customer,
        &mail(customer, "Internet", "", "m1", "Не работает интернет"),
    )
    .await;
    assert_eq!(first, ACCEPTED);
    assert_eq!(numbered(&app).await, 1);
    let request = app
        .store
        .request_by_number("KM-000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.customer.email.as_ref().unwrap().as_str(), customer);

    // Someone else writes as the customer, naming the number: the same answer, a new request.
    let guessed = send(
        port,
        customer,
        &mail(
            customer,
            &format!("Re: [{}] Ваше обращение принято", request.number),
            "",
            "m2",
            "Покажите мою переписку",
        ),
    )
    .await;
    assert_eq!(guessed, first, "no oracle");
    assert_eq!(numbered(&app).await, 2);

    // Komek's Message-ID without its token (the request id alone): a new request.
    let bare_id = send(
        port,
        customer,
        &mail(
            customer,
            "Re: Internet",
            &format!("In-Reply-To: <{}@komek>\r\n", request.id),
            "m3",
            "Ответ без токена",
        ),
    )
    .await;
    assert_eq!(bare_id, first);
    assert_eq!(numbered(&app).await, 3);

    // The real thread id from another address: a new request too.
    let thread = thread_id(
        request.id,
        &ThreadKeys::new(&app.settings.auth),
        &app.settings.email.domain,
    );
    let other = send(
        port,
        "bob@mail.kz",
        &mail(
            "bob@mail.kz",
            "Re: Internet",
            &format!("In-Reply-To: {thread}\r\nReferences: {thread}\r\n"),
            "m4",
            "Я не тот клиент",
        ),
    )
    .await;
    assert_eq!(other, first);
    assert_eq!(numbered(&app).await, 4);

    // The customer's reply in the thread: the same answer, and it joins the request.
    let joined = send(
        port,
        customer,
        &mail(
            customer,
            "Re: Internet",
            &format!("In-Reply-To: {thread}\r\nReferences: {thread}\r\n"),
            "m5",
            "Перезагрузил, не помогло.",
        ),
    )
    .await;
    assert_eq!(joined, first);
    assert_eq!(numbered(&app).await, 4, "no new request");
    let messages = customer_messages(&app).await;
    let texts: Vec<(String, &str)> = messages
        .iter()
        .map(|(env, p)| (env.request_id.to_string(), p.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [(request.id.to_string(), "Перезагрузил, не помогло.")],
        "only the token-bearing reply joined"
    );

    cleanup_without_broker(&mut app).await;
}

/// Finding 4: per-sender and per-address limits. With `email.per_sender` = 2 the third mail from
/// one `From:` gets 451 (temporary: a real server retries later) and is not stored; with
/// `email.per_address` = 3 the fourth transaction from one connecting address is refused at
/// `MAIL FROM` with 451.
#[tokio::test(flavor = "multi_thread")]
async fn smtp_limits_mail_per_sender_and_per_address() {
    let mut s = smtp_settings("intake-smtp-limits");
    s.email.per_sender = 2;
    s.email.per_address = 3;
    let mut app = spawn_app_with(s).await;
    let port = app.settings.email.smtp_port;
    let a = "asqar@mail.kz";
    for i in 0..2 {
        let raw = mail(a, "Internet", "", &format!("l{i}"), "Интернет жоқ");
        assert_eq!(send(port, a, &raw).await, ACCEPTED, "mail {i}");
    }
    let raw = mail(a, "Internet", "", "l2", "Интернет әлі жоқ");
    assert_eq!(send(port, a, &raw).await, DEFERRED);
    assert_eq!(numbered(&app).await, 2, "the third was not kept");

    let b = "bota@mail.kz";
    let mut c = Smtp::connect(port).await;
    c.answer().await;
    assert!(c.cmd("EHLO mail.kz").await.starts_with("250"));
    let refused = c.cmd(&format!("MAIL FROM:<{b}>")).await;
    assert_eq!(refused, DEFERRED, "the fourth transaction from 127.0.0.1");
    assert!(c.cmd("RCPT TO:<support@komek.kz>").await.starts_with("503"));
    drop(c);
    assert_eq!(numbered(&app).await, 2);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Finding 4: slow senders cannot hold the listener. A client silent for `email.idle_timeout_secs`
/// is sent 421 and disconnected; one that keeps talking is cut at `email.session_timeout_secs`.
#[tokio::test(flavor = "multi_thread")]
async fn smtp_disconnects_idle_and_endless_clients() {
    let mut s = smtp_settings("intake-smtp-slow");
    s.email.idle_timeout = Duration::from_secs(1);
    s.email.session_timeout = Duration::from_secs(3);
    let mut app = spawn_app_with(s).await;
    let port = app.settings.email.smtp_port;

    let mut idle = Smtp::connect(port).await;
    assert!(idle.answer().await.starts_with("220 "));
    assert_eq!(idle.answer().await, "421 4.4.2 idle timeout, closing");
    assert_eq!(idle.answer().await, "", "closed");

    // A client talking just often enough never idles: the session deadline ends it.
    let mut busy = Smtp::connect(port).await;
    assert!(busy.answer().await.starts_with("220 "));
    let started = std::time::Instant::now();
    let cut = loop {
        assert!(started.elapsed() < WAIT, "the session deadline never came");
        let got = busy.cmd("NOOP").await;
        if got.starts_with("421") {
            break got;
        }
        assert_eq!(got, "250 2.0.0 OK");
        // Slower than a command at a time, faster than the idle timeout: a slowloris client.
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(cut, "421 4.4.2 session timeout, closing");
    assert!(started.elapsed() >= Duration::from_secs(2), "not before");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Finding 4: connection slots. With `email.max_connections` = 3 and
/// `email.max_connections_per_address` = 2, a third connection from one address is answered 421
/// and closed at once (not left waiting), another address still gets in, and once every slot is
/// taken any address gets 421; a slot given back is free again.
#[tokio::test(flavor = "multi_thread")]
async fn smtp_connection_slots_are_capped_in_all_and_per_address() {
    let mut s = smtp_settings("intake-smtp-slots");
    s.email.max_connections = 3;
    s.email.max_connections_per_address = 2;
    let mut app = spawn_app_with(s).await;
    let port = app.settings.email.smtp_port;
    let busy = "421 4.7.0 too many connections, try again later";

    let mut one = Smtp::connect(port).await;
    assert!(one.answer().await.starts_with("220 "));
    let mut two = Smtp::connect(port).await;
    assert!(two.answer().await.starts_with("220 "));
    let mut third = Smtp::connect(port).await;
    assert_eq!(third.answer().await, busy, "a third from 127.0.0.1");
    assert_eq!(third.answer().await, "", "closed");

    let mut other = Smtp::connect_from([127, 0, 0, 2], port).await;
    assert!(other.answer().await.starts_with("220 "), "another address");
    let mut full = Smtp::connect_from([127, 0, 0, 3], port).await;
    assert_eq!(full.answer().await, busy, "every slot is taken");

    assert!(one.cmd("QUIT").await.starts_with("221"));
    eventually(WAIT, "the slot given back is free again", || async move {
        let mut c = Smtp::connect_from([127, 0, 0, 3], port).await;
        c.answer().await.starts_with("220 ").then_some(())
    })
    .await;
    drop((two, other));

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
