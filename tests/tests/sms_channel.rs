//! The SMS channel over real Kannel: Debian's bearerbox + smsbox with the fake SMSC of
//! `kannel-extras` (`fakesmsc`), started per test on free ports with a generated configuration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use komek_e2e::{Mesh, MeshOptions, WAIT, free_port, poll_json};
use komek_testkit::eventually;
use lapin::options::BasicGetOptions;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

const SECRET: &str = "test-inbound-secret-0123";
const CUSTOMER: &str = "+77011234567";

fn fakesmsc_bin() -> PathBuf {
    let known = PathBuf::from("/usr/lib/kannel/test/fakesmsc");
    if known.exists() {
        return known;
    }
    let out = Command::new("dpkg")
        .args(["-L", "kannel-extras"])
        .output()
        .expect("dpkg -L kannel-extras: run scripts/deps.sh kannel (make test does)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.ends_with("/fakesmsc"))
        .map(PathBuf::from)
        .expect("fakesmsc not found: run scripts/deps.sh kannel")
}

/// bearerbox + smsbox + fakesmsc of one test; killed on drop.
struct Kannel {
    dir: PathBuf,
    smsc_port: u16,
    children: Vec<Child>,
}

struct KannelPorts {
    admin: u16,
    smsbox: u16,
    smsc: u16,
    sendsms: u16,
}

impl KannelPorts {
    fn pick() -> Self {
        Self {
            admin: free_port(),
            smsbox: free_port(),
            smsc: free_port(),
            sendsms: free_port(),
        }
    }
    fn sendsms_url(&self) -> String {
        format!("http://127.0.0.1:{}/cgi-bin/sendsms", self.sendsms)
    }
}

async fn port_open(port: u16) -> Option<()> {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()
        .map(|_| ())
}

impl Kannel {
    /// Based on /work/shared/kannel/kannel-test.conf: logs in `dir`, get-url to `intake_port`.
    async fn start(dir: &Path, p: &KannelPorts, intake_port: u16) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let d = dir.display();
        let conf = format!(
            r#"group = core
admin-port = {admin}
admin-password = adm
smsbox-port = {smsbox}
log-file = "{d}/bearer.log"
log-level = 1
box-allow-ip = 127.0.0.1

group = smsc
smsc = fake
smsc-id = FAKE
port = {smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms}
log-file = "{d}/smsbox.log"
log-level = 1
mo-recode = true

group = sendsms-user
username = komek
password = secret
max-messages = 10
concatenation = true

group = sms-service
keyword = default
get-url = "http://127.0.0.1:{intake_port}/api/v1/channels/sms/inbound?secret={SECRET}&from=%p&to=%P&text=%a&coding=%c&id=%I"
max-messages = 0
accept-x-kannel-headers = true
"#,
            admin = p.admin,
            smsbox = p.smsbox,
            smsc = p.smsc,
            sendsms = p.sendsms,
        );
        let conf_path = dir.join("kannel.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut k = Kannel {
            dir: dir.to_owned(),
            smsc_port: p.smsc,
            children: Vec::new(),
        };
        k.spawn(
            "/usr/sbin/bearerbox",
            &[conf_path.to_str().unwrap()],
            "bearerbox.out",
        );
        eventually(Duration::from_secs(15), "bearerbox listens", || {
            port_open(p.smsbox)
        })
        .await;
        k.spawn(
            "/usr/sbin/smsbox",
            &[conf_path.to_str().unwrap()],
            "smsbox.out",
        );
        eventually(Duration::from_secs(15), "smsbox sendsms listens", || {
            port_open(p.sendsms)
        })
        .await;
        eventually(
            Duration::from_secs(15),
            "the fake SMSC port listens",
            || port_open(p.smsc),
        )
        .await;
        k
    }

    fn spawn(&mut self, bin: &str, args: &[&str], out: &str) {
        let log = std::fs::File::create(self.dir.join(out)).unwrap();
        let child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("{bin}: {e} (run scripts/deps.sh kannel)"));
        self.children.push(child);
    }

    /// The phone: fakesmsc sends `text` from `from` once, then stays connected and prints
    /// every message the SMSC delivers to it.
    fn phone_sends(&mut self, from: &str, text: &str) {
        let port = self.smsc_port.to_string();
        let msg = format!("{from} 1414 text {text}");
        let bin = fakesmsc_bin();
        self.spawn(
            bin.to_str().unwrap(),
            &["-H", "127.0.0.1", "-r", &port, "-i", "0.1", "-m", "1", &msg],
            "fakesmsc.out",
        );
    }

    /// Whole messages the phone received so far (concatenated parts joined), in arrival order.
    fn received(&self) -> Vec<(String, String)> {
        let out = std::fs::read_to_string(self.dir.join("fakesmsc.out")).unwrap_or_default();
        parse_fakesmsc(&out)
    }
}

impl Drop for Kannel {
    fn drop(&mut self) {
        // fakesmsc first, then smsbox, then bearerbox.
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn url_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else if b[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn ucs2(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).unwrap()
}

/// fakesmsc prints `Got message N: <from to type [udh] data>`; type `text` is plain, `ucs-2` is
/// url-encoded UTF-16BE, `udh <udh> data <bytes>` is one part of a concatenated UCS-2 message.
fn parse_fakesmsc(out: &str) -> Vec<(String, String)> {
    let mut done = Vec::new();
    let mut parts: BTreeMap<(String, u8), BTreeMap<u8, String>> = BTreeMap::new();
    for line in out.lines().filter(|l| l.contains("Got message")) {
        let (Some(a), Some(b)) = (line.find('<'), line.rfind('>')) else {
            continue;
        };
        let body = &line[a + 1..b];
        let f: Vec<&str> = body.splitn(4, ' ').collect();
        if f.len() < 4 {
            continue;
        }
        let to = f[1].to_owned();
        match f[2] {
            "text" => done.push((to, f[3].to_owned())),
            "ucs-2" => done.push((to, ucs2(&url_decode(f[3])))),
            "udh" => {
                let rest: Vec<&str> = f[3].splitn(3, ' ').collect();
                let udh = url_decode(rest[0]);
                let text = ucs2(&url_decode(rest.get(2).copied().unwrap_or("")));
                // 05 | 00 03 ref total seq (concatenation, 8-bit reference)
                let (r, total, seq) = (udh[3], udh[4], udh[5]);
                let key = (format!("{to}#{r}"), total);
                let e = parts.entry(key.clone()).or_default();
                e.insert(seq, text);
                if e.len() == usize::from(total) {
                    let whole: String = e.values().cloned().collect();
                    parts.remove(&key);
                    done.push((to, whole));
                }
            }
            _ => {}
        }
    }
    done
}

/// An inbound Kazakh SMS becomes an `sms` request; its Kazakh acknowledgment comes back to the
/// phone intact (UCS-2) and its history says `notified`; a long Russian reply by an agent arrives
/// whole (concatenated parts); the same event delivered again sends nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_in_and_out_through_kannel() {
    assert!(
        Path::new("/usr/sbin/bearerbox").exists(),
        "Kannel is missing: run scripts/deps.sh kannel (make test does)"
    );
    let (mesh, mut kannel) = with_kannel("sms", vec![]).await;
    // A copy of every event from here on, to find the reply's event below.
    let tap = komek_testkit::tap(&mesh.settings).await;
    let http = reqwest::Client::new();

    // A wrong secret is refused (nothing is created).
    let r = http
        .get(mesh.url(
            "intake",
            "/api/v1/channels/sms/inbound?secret=nope&from=%2B77011234567&to=1414&text=hi&coding=0",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The customer writes in Kazakh.
    kannel.phone_sends(CUSTOMER, "Сәлем, интернет жұмыс істемейді");

    let store = komek_store::Store::connect(&mesh.settings.redis)
        .await
        .unwrap();
    let key = store.keys().ix_channel("sms");
    let id: String = eventually(WAIT, "a request with channel sms exists", || {
        let mut c = store.conn();
        let key = key.clone();
        async move {
            let ids: Vec<String> = redis::AsyncCommands::zrange(&mut c, &key, 0, -1)
                .await
                .ok()?;
            ids.into_iter().next()
        }
    })
    .await;
    let request = store.request(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(request.customer.msisdn.as_ref().unwrap().as_str(), CUSTOMER);
    assert_eq!(request.language.as_str(), "kk");
    assert_eq!(request.text, "Сәлем, интернет жұмыс істемейді");
    let number = request.number.0.clone();

    // The Kazakh acknowledgment reaches the phone, Cyrillic intact.
    let ack = eventually(WAIT, "the acknowledgment reaches the phone", || {
        let got = kannel
            .received()
            .into_iter()
            .find(|(to, t)| to == CUSTOMER && t.contains(&number))
            .map(|(_, t)| t);
        async move { got }
    })
    .await;
    assert_eq!(ack, request.messages[0].text);
    assert!(ack.contains("өтінішіңіз қабылданды"), "{ack}");

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
    assert!(
        detail.contains("sms to ****4567: request.created"),
        "{detail}"
    );
    assert!(!detail.contains("7011234567"), "masked: {detail}");

    // A long Russian reply: more than one UCS-2 part.
    let taken = mesh.take_next(&http, &agent).await;
    assert_eq!(taken["id"], id.as_str());
    let reply = "Здравствуйте! Мы проверили вашу линию: на базовой станции в вашем районе шли \
                 плановые работы, сейчас интернет восстановлен. Перезагрузите, пожалуйста, телефон.";
    assert!(reply.chars().count() > 140);
    let r = http
        .post(mesh.url("workspace", &format!("/api/v1/requests/{id}/replies")))
        .bearer_auth(&agent)
        .json(&json!({ "text": reply }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let want = format!("{}: {reply}", request.number);
    eventually(WAIT, "the long reply reaches the phone whole", || {
        let got = kannel.received();
        let want = want.clone();
        async move { got.iter().any(|(_, t)| *t == want).then_some(()) }
    })
    .await;
    let fakesmsc_out = std::fs::read_to_string(kannel.dir.join("fakesmsc.out")).unwrap();
    assert!(
        fakesmsc_out.contains(" udh %05%00%03"),
        "the reply came as concatenated parts"
    );
    poll_json(&http, &view_url, Some(&agent), "two notified lines", |v| {
        let n = v["history"]
            .as_array()?
            .iter()
            .filter(|h| h["action"] == "notified")
            .count();
        (n == 2).then_some(())
    })
    .await;

    // The same reply event once more (as a redelivery would bring it): not sent twice.
    let replied = tapped_event(&mesh, &tap, "request.replied").await;
    store.enqueue_event(&replied).await.unwrap();
    eventually(WAIT, "intake sees the repeated event", || {
        let log = mesh.log("intake");
        async move { log.contains("already sent; not again").then_some(()) }
    })
    .await;
    let count = kannel.received().iter().filter(|(_, t)| *t == want).count();
    assert_eq!(count, 1, "the reply went out once");
    assert_eq!(kannel.received().len(), 2, "acknowledgment and reply only");

    // Bad input is refused with a clear status; a flood from one number is cut at the limit (5 a minute).
    let inbound = |query: &str| {
        http.get(mesh.url(
            "intake",
            &format!("/api/v1/channels/sms/inbound?secret={SECRET}&to=1414&coding=0&{query}"),
        ))
        .send()
    };
    let r = inbound("from=12&text=hi").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().starts_with("from:"));
    let r = inbound("from=%2B77051112233&text=+").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for i in 1..=5 {
        let r = inbound(&format!("from=%2B77051112233&text=flood+{i}"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "message {i}");
        assert!(
            r.text().await.unwrap().is_empty(),
            "an empty body: no reply of Kannel's own"
        );
    }
    let r = inbound("from=%2B77051112233&text=flood+6").await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    drop(kannel);
    mesh.finish().await;
}

/// The first event of type `kind` in the test's tap queue (every event since the tap reaches it).
async fn tapped_event(mesh: &Mesh, tap: &str, kind: &str) -> komek_domain::events::Envelope {
    let conn =
        lapin::Connection::connect(mesh.settings.amqp.url.expose_secret(), Default::default())
            .await
            .unwrap();
    let ch = conn.create_channel().await.unwrap();
    loop {
        let msg = ch
            .basic_get(tap.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no {kind} in the tap"));
        let env = komek_domain::events::Envelope::decode(&msg.delivery.data).unwrap();
        if env.kind == kind {
            return env;
        }
    }
}

#[test]
fn parses_fakesmsc_output() {
    let out = "x Got message 1: <1414 +77011234567 udh %05%00%03%07%02%01 data %04%21>\n\
               x Got message 2: <1414 +77011234567 udh %05%00%03%07%02%02 data %04%D9>\n\
               x Got message 3: <1414 +77011234567 text Hello there>\n\
               x Got message 4: <1414 +77011234567 ucs-2 %04!%04%D9>";
    let got = parse_fakesmsc(out);
    assert_eq!(got[0].1, "Сә");
    assert_eq!(got[1].1, "Hello there");
    assert_eq!(got[2].1, "Сә");
}

/// The mesh with outbound SMS through a Kannel of its own (bearerbox, smsbox, fake SMSC) whose
/// get-url points at this mesh's intake; `env` adds settings.
async fn with_kannel(tag: &'static str, mut env: Vec<(String, String)>) -> (Mesh, Kannel) {
    let ports = KannelPorts::pick();
    env.extend([
        ("KOMEK__SMS__SENDSMS_URL".into(), ports.sendsms_url()),
        ("KOMEK__SMS__INBOUND_SECRET".into(), SECRET.into()),
        ("KOMEK__SMS__FROM".into(), "1414".into()),
    ]);
    let mesh = Mesh::start(MeshOptions {
        tag,
        env,
        ..Default::default()
    })
    .await;
    let kannel = Kannel::start(&mesh.logs.join("kannel"), &ports, mesh.ports[0][0]).await;
    (mesh, kannel)
}

/// One inbound SMS in `text` from `from`, through a Kannel of its own: the request is in
/// `language`, and its acknowledgment reaches the phone whole, with the number and `phrase`.
async fn acknowledged_in(tag: &'static str, from: &str, text: &str, language: &str, phrase: &str) {
    let (mesh, mut kannel) = with_kannel(tag, vec![]).await;
    let sent = std::time::Instant::now();
    kannel.phone_sends(from, text);
    let store = komek_store::Store::connect(&mesh.settings.redis)
        .await
        .unwrap();
    let key = store.keys().ix_channel("sms");
    let id: String = eventually(WAIT, "a request with channel sms exists", || {
        let mut c = store.conn();
        let key = key.clone();
        async move {
            let ids: Vec<String> = redis::AsyncCommands::zrange(&mut c, &key, 0, -1)
                .await
                .ok()?;
            ids.into_iter().next()
        }
    })
    .await;
    let request = store.request(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(request.language.as_str(), language);
    let number = request.number.0.clone();
    let ack = eventually(WAIT, "the acknowledgment reaches the phone", || {
        let got = kannel
            .received()
            .into_iter()
            .find(|(to, t)| to == from && t.contains(&number))
            .map(|(_, t)| t);
        async move { got }
    })
    .await;
    // A figure for the notes, not an assertion: phone → Kannel → intake → notifier → Kannel → phone.
    eprintln!(
        "sms {language}: phone to acknowledgment on the phone in {} ms",
        sent.elapsed().as_millis()
    );
    assert_eq!(ack, request.messages[0].text);
    assert!(ack.contains(phrase), "{ack}");
    drop(kannel);
    mesh.finish().await;
}

/// A Russian SMS is acknowledged in Russian (Cyrillic, UCS-2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_sms_is_acknowledged_in_russian() {
    acknowledged_in(
        "sms-ru",
        "+77051112233",
        "Здравствуйте, не работает мобильный интернет",
        "ru",
        "Ваше обращение принято",
    )
    .await;
}

/// An English SMS is acknowledged in English (the GSM 7-bit alphabet, no UCS-2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_english_sms_is_acknowledged_in_english() {
    acknowledged_in(
        "sms-en",
        "+77771234567",
        "Hello, my mobile internet does not work",
        "en",
        "Your request has been received",
    )
    .await;
}

/// The same customer writes on the web form (phone given, no email: answered by SMS) and then sends
/// the same thing by SMS within the duplicate window: no second request; the SMS is linked to the
/// first request and the phone is answered with the first request's number a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_thing_by_sms_joins_the_web_request() {
    let (mesh, mut kannel) = with_kannel(
        "sms-link",
        vec![(
            "KOMEK__REQUESTS__DUPLICATE_WINDOW_MINUTES".into(),
            "60".into(),
        )],
    )
    .await;
    let http = reqwest::Client::new();
    let phone = "+77011239999";
    let text = "Не работает мобильный интернет третий день";
    let r = http
        .post(mesh.url("intake", "/api/v1/requests"))
        .json(&json!({"channel": "web", "customer": {"msisdn": phone}, "text": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let first: serde_json::Value = r.json().await.unwrap();
    let number = first["number"].as_str().unwrap().to_owned();
    kannel.phone_sends(phone, text);
    // Two acknowledgments with the same number: the web request's, then the linked SMS's.
    eventually(
        WAIT,
        "the SMS contact is acknowledged with the first number",
        || {
            let n = kannel
                .received()
                .iter()
                .filter(|(to, t)| to == phone && t.contains(&number))
                .count();
            async move { (n >= 2).then_some(()) }
        },
    )
    .await;
    let store = komek_store::Store::connect(&mesh.settings.redis)
        .await
        .unwrap();
    let mut c = store.conn();
    let sms_requests: u64 = redis::AsyncCommands::zcard(&mut c, store.keys().ix_channel("sms"))
        .await
        .unwrap();
    assert_eq!(sms_requests, 0, "no second request");
    // The acknowledgment (intake's notifier) and the customer message on the request (the
    // workspace's consumer) come from the same `request.linked` by two consumers: either may be
    // first, so the message is waited for.
    let id: komek_domain::RequestId = first["id"].as_str().unwrap().parse().unwrap();
    eventually(
        WAIT,
        "the SMS is a customer message on the web request",
        || {
            let store = store.clone();
            async move {
                let request = store.request(id).await.unwrap().unwrap();
                request
                    .messages
                    .iter()
                    .any(|m| m.kind == komek_domain::MessageKind::Customer && m.text == text)
                    .then_some(())
            }
        },
    )
    .await;
    drop(kannel);
    mesh.finish().await;
}

/// Finding 3 (SMS pumping): a request is accepted for any valid number, but its acknowledgment
/// goes out only to the ranges of `sms.allowed_prefixes` (Kazakhstan's mobile codes by default),
/// and at most `sms.daily_per_recipient` SMS reach one number a day. A UK number gets no SMS
/// (Kannel never sees it); of three requests from one Kazakh number (cap 2) two are acknowledged;
/// both refusals are in the request's history and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_go_only_to_allowed_ranges_and_a_few_a_day() {
    let (mesh, mut kannel) = with_kannel(
        "sms-abuse",
        vec![("KOMEK__SMS__DAILY_PER_RECIPIENT".into(), "2".into())],
    )
    .await;
    let http = reqwest::Client::new();
    // The phone connects to the fake SMSC (its own SMS is acknowledged like any other).
    let phone = "+77021110000";
    kannel.phone_sends(phone, "Hello, no signal");
    eventually(WAIT, "the phone's own acknowledgment", || {
        let got = kannel.received().iter().any(|(to, _)| to == phone);
        async move { got.then_some(()) }
    })
    .await;

    let abroad = "+447700900123";
    let capped = "+77011230001";
    let post = |msisdn: &'static str, text: &'static str| {
        let (http, mesh) = (&http, &mesh);
        async move {
            mesh.post_request(
                http,
                &json!({"channel": "web", "customer": {"msisdn": msisdn}, "text": text}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let uk = post(abroad, "My roaming does not work").await;
    let mut kz = Vec::new();
    for text in [
        "Не работает интернет",
        "Пропали деньги с баланса",
        "Не могу позвонить",
    ] {
        kz.push(post(capped, text).await);
    }

    let agent = mesh.login(&http, "aigerim", "komek-agent").await;
    let outcome = |id: String| {
        let (http, mesh, agent) = (&http, &mesh, &agent);
        async move {
            let url = mesh.url("workspace", &format!("/api/v1/requests/{id}"));
            poll_json(http, &url, Some(agent), "the notifier's outcome", |v| {
                v["history"]
                    .as_array()?
                    .iter()
                    .find(|h| h["action"] == "notified" || h["action"] == "notification_failed")
                    .cloned()
            })
            .await
        }
    };
    let uk_line = outcome(uk).await;
    assert_eq!(uk_line["action"], "notification_failed", "{uk_line}");
    let detail = uk_line["detail"].as_str().unwrap();
    assert!(
        detail.contains("outside sms.allowed_prefixes") && detail.contains("****0123"),
        "{detail}"
    );
    assert!(!detail.contains("7700900123"), "masked: {detail}");
    let mut failed = Vec::new();
    for id in kz {
        let line = outcome(id).await;
        if line["action"] == "notification_failed" {
            failed.push(line);
        }
    }
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]["detail"]
            .as_str()
            .unwrap()
            .contains("sms.daily_per_recipient reached today"),
        "{}",
        failed[0]
    );

    eventually(WAIT, "two acknowledgments reach the Kazakh phone", || {
        let n = kannel
            .received()
            .iter()
            .filter(|(to, _)| to == capped)
            .count();
        async move { (n >= 2).then_some(()) }
    })
    .await;
    let received = kannel.received();
    assert_eq!(
        received.iter().filter(|(to, _)| to == capped).count(),
        2,
        "the third was not sent"
    );
    assert!(
        !received.iter().any(|(to, _)| to == abroad),
        "nothing went abroad"
    );
    let smsbox = std::fs::read_to_string(kannel.dir.join("smsbox.log")).unwrap_or_default();
    assert!(!smsbox.contains("447700900123"), "Kannel never saw it");
    let metrics = http
        .get(mesh.url("intake", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        "komek_notifications_dropped_total{channel=\"sms\",reason=\"not_allowed\"} 1",
        "komek_notifications_dropped_total{channel=\"sms\",reason=\"daily_cap\"} 1",
    ] {
        assert!(metrics.contains(series), "{series}\n{metrics}");
    }
    drop(kannel);
    mesh.finish().await;
}
