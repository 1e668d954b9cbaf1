//! `komek-admin` against the real Redis and RabbitMQ, each test under its own prefix: the first
//! supervisor of an empty installation signs in on the workspace; staff changes are checked and
//! audited; a parked message is listed without being lost and replayed to its queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use clap::Parser;
use komek_admin::{Cli, CliError};
use komek_settings::Settings;
use lapin::options::{BasicGetOptions, BasicNackOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const PASSWORD: &str = "first-supervisor-pass";

/// Runs one command in-process with `stdin` as standard input; returns what it printed.
async fn admin(settings: &Settings, args: &[&str], stdin: &str) -> Result<String, CliError> {
    let cli =
        Cli::try_parse_from(std::iter::once("komek-admin").chain(args.iter().copied())).unwrap();
    let mut out = Vec::new();
    let mut input = std::io::Cursor::new(stdin.as_bytes().to_vec());
    komek_admin::run(cli, settings, &mut input, &mut out)
        .await
        .map(|()| String::from_utf8(out).unwrap())
}

fn settings(tag: &str) -> Settings {
    let mut s = komek_testkit::test_settings(tag);
    // An empty installation: no demo staff.
    s.seed.demo = false;
    s
}

async fn sign_in(app: &komek_web::testing::TestApp, login: &str, password: &str) -> u16 {
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({ "login": login, "password": password }),
    )
    .await
    .status()
    .as_u16()
}

/// The "done when": on an empty installation, `first-supervisor` makes a supervisor who
/// signs in on the workspace; a second run changes nothing.
#[tokio::test]
async fn the_first_supervisor_signs_in_and_a_second_run_is_refused() {
    let s = settings("admin-first");
    let said = admin(
        &s,
        &["first-supervisor", "--login", "chief", "--name", "Chief"],
        &format!("{PASSWORD}\n"),
    )
    .await
    .unwrap();
    assert!(said.contains("chief"), "{said}");

    let again = admin(
        &s,
        &["first-supervisor", "--login", "other", "--name", "Other"],
        &format!("{PASSWORD}\n"),
    )
    .await
    .unwrap_err();
    assert_eq!(again.exit_code(), 1, "{again}");
    assert!(again.to_string().contains("already exists"), "{again}");

    let mut app = komek_web::testing::spawn(s.clone(), komek_workspace::startup::build).await;
    let resp = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "chief", "password": PASSWORD }),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["role"], "supervisor");
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(sign_in(&app, "other", PASSWORD).await, 401);
    // The creation is audited in the outbox (relayed by the workspace meanwhile or still there):
    // the store's staff set names the supervisor.
    assert!(app.store.user("chief").await.unwrap().unwrap().active);
    app.stop().await;
    komek_testkit::cleanup(&s).await;
}

/// Staff commands: a short password is a usage error naming the field (exit 2) and writes
/// nothing; a created agent signs in; a deactivated one cannot, with the wrong-password answer.
#[tokio::test]
async fn staff_are_created_checked_and_deactivated() {
    let s = settings("admin-staff");
    // Before the workspace's relay publishes what the CLI writes to the outbox.
    let tap = komek_testkit::tap(&s).await;
    let dir = std::env::temp_dir().join(komek_testkit::unique("pw"));
    std::fs::create_dir_all(&dir).unwrap();
    let pw = dir.join("pw");
    std::fs::File::create(&pw)
        .unwrap()
        .write_all(b"agent-password-1\n")
        .unwrap();

    let short = admin(
        &s,
        &[
            "staff", "create", "--login", "ali", "--name", "Ali", "--role", "agent",
        ],
        "short\n",
    )
    .await
    .unwrap_err();
    assert_eq!(short.exit_code(), 2);
    assert!(short.to_string().starts_with("password:"), "{short}");

    let bad_level = admin(
        &s,
        &[
            "staff",
            "create",
            "--login",
            "ali",
            "--name",
            "Ali",
            "--role",
            "agent",
            "--level",
            "7",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(bad_level.exit_code(), 2);
    assert!(bad_level.to_string().contains("level"), "{bad_level}");

    let made = admin(
        &s,
        &[
            "staff",
            "create",
            "--login",
            "ali",
            "--name",
            "Ali",
            "--role",
            "agent",
            "--skills",
            "billing,roaming",
            "--languages",
            "kk,ru",
            "--level",
            "2",
            "--capacity",
            "5",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        "",
    )
    .await
    .unwrap();
    assert!(made.contains("ali\tagent"), "{made}");
    let u = komek_store::Store::connect(&s.redis)
        .await
        .unwrap()
        .user("ali")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.capacity, 5);
    assert_eq!(u.level, 2);
    assert_eq!(u.categories.len(), 2);

    let updated = admin(&s, &["staff", "update", "ali", "--capacity", "7"], "")
        .await
        .unwrap();
    assert!(updated.contains("capacity 7"), "{updated}");

    let mut app = komek_web::testing::spawn(s.clone(), komek_workspace::startup::build).await;
    assert_eq!(sign_in(&app, "ali", "agent-password-1").await, 200);
    admin(&s, &["staff", "deactivate", "ali"], "")
        .await
        .unwrap();
    assert_eq!(sign_in(&app, "ali", "agent-password-1").await, 401);
    let listed = admin(&s, &["staff", "list"], "").await.unwrap();
    assert!(listed.contains("inactive"), "{listed}");
    admin(&s, &["staff", "activate", "ali"], "").await.unwrap();
    admin(&s, &["staff", "password", "ali"], "agent-password-2\n")
        .await
        .unwrap();
    assert_eq!(sign_in(&app, "ali", "agent-password-1").await, 401);
    assert_eq!(sign_in(&app, "ali", "agent-password-2").await, 200);

    // Every change is in the audit trail: created, updated, deactivated, activated, reset.
    audited(
        &s,
        &tap,
        &[
            "created",
            "updated",
            "deactivated",
            "activated",
            "password_reset",
        ],
    )
    .await;
    let unknown = admin(&s, &["staff", "deactivate", "nobody"], "")
        .await
        .unwrap_err();
    assert_eq!(unknown.exit_code(), 1);
    app.stop().await;
    komek_testkit::cleanup(&s).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Waits until the test's tap queue (every published event) holds a `staff.changed` event for
/// each of `actions`, published by the workspace's relay from the outbox the CLI wrote to.
async fn audited(s: &Settings, tap: &str, actions: &[&str]) {
    let conn = Connection::connect(s.amqp.url.expose_secret(), Default::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    komek_testkit::eventually(komek_web::testing::WAIT, "every change audited", || {
        let (ch, tap, seen) = (ch.clone(), tap.to_owned(), seen.clone());
        async move {
            while let Some(m) = ch
                .basic_get(tap.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .unwrap()
            {
                let v: Value = serde_json::from_slice(&m.delivery.data).unwrap();
                if v["type"] == "staff.changed" {
                    seen.lock()
                        .unwrap()
                        .push(v["payload"]["action"].as_str().unwrap().to_owned());
                }
            }
            let seen = seen.lock().unwrap();
            actions
                .iter()
                .all(|a| seen.iter().any(|x| x == a))
                .then_some(())
        }
    })
    .await;
    let _ = conn.close(200, "bye".into()).await;
}

/// The binary itself: a usage error is exit code 2 with one line naming the field.
#[test]
fn the_binary_exits_2_naming_the_field() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_komek-admin"))
        .args([
            "staff",
            "create",
            "--login",
            "BAD LOGIN",
            "--name",
            "X",
            "--role",
            "agent",
        ])
        .env("KOMEK_ENV", "test")
        .env("KOMEK_CONFIG_DIR", komek_settings::repo_config_dir())
        .env("KOMEK__REDIS__PREFIX", komek_testkit::unique("admin-bin"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("komek-admin: login:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A message a consumer rejected is listed (and still parked afterwards), then replayed to the
/// queue it came from, without the broker's dead-letter headers.
#[tokio::test]
async fn a_parked_message_is_listed_and_replayed() {
    let s = settings("admin-parked");
    let names = komek_bus::Names::new(&s.amqp.prefix);
    let conn = Connection::connect(s.amqp.url.expose_secret(), Default::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    komek_bus::topology::declare(&ch, &names, s.amqp.delivery_limit)
        .await
        .unwrap();
    let queue = names.queue("workspace");
    let id = uuid::Uuid::now_v7().to_string();
    let body = json!({ "v": 1, "id": id, "type": "request.created" }).to_string();
    ch.basic_publish(
        names.exchange.as_str().into(),
        "request.created".into(),
        BasicPublishOptions::default(),
        body.as_bytes(),
        BasicProperties::default().with_delivery_mode(2),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    // Park it the way a consumer does: nack without requeue.
    let got = komek_testkit::eventually(komek_web::testing::WAIT, "the event in its queue", || {
        let ch = ch.clone();
        let queue = queue.clone();
        async move {
            ch.basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .unwrap()
        }
    })
    .await;
    got.delivery
        .nack(BasicNackOptions {
            requeue: false,
            ..Default::default()
        })
        .await
        .unwrap();
    komek_testkit::eventually(komek_web::testing::WAIT, "the event parked", || {
        let ch = ch.clone();
        let parking = names.parking.clone();
        async move { (count(&ch, &parking).await == 1).then_some(()) }
    })
    .await;

    // More listings than a quorum queue's default delivery limit (20): none counts as a failed
    // delivery, so none drops the message.
    for _ in 0..25 {
        let listed = admin(&s, &["parked", "list"], "").await.unwrap();
        assert!(listed.contains(&queue), "{listed}");
        assert!(listed.contains(&id), "{listed}");
        assert!(listed.contains("1 parked"), "{listed}");
    }
    komek_testkit::eventually(komek_web::testing::WAIT, "listing loses nothing", || {
        let ch = ch.clone();
        let parking = names.parking.clone();
        async move { (count(&ch, &parking).await == 1).then_some(()) }
    })
    .await;

    let other = admin(&s, &["parked", "replay", "--queue", "elsewhere"], "")
        .await
        .unwrap();
    assert!(other.contains("0 replayed, 1 left parked"), "{other}");
    komek_testkit::eventually(komek_web::testing::WAIT, "still parked", || {
        let ch = ch.clone();
        let parking = names.parking.clone();
        async move { (count(&ch, &parking).await == 1).then_some(()) }
    })
    .await;
    let replayed = admin(&s, &["parked", "replay"], "").await.unwrap();
    assert!(replayed.contains("1 replayed"), "{replayed}");
    assert_eq!(count(&ch, &names.parking).await, 0);
    let back = komek_testkit::eventually(komek_web::testing::WAIT, "the event replayed", || {
        let ch = ch.clone();
        let queue = queue.clone();
        async move {
            ch.basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(back.delivery.data, body.as_bytes());
    let headers = back
        .delivery
        .properties
        .headers()
        .clone()
        .unwrap_or_default();
    assert!(!headers.inner().contains_key("x-death"));
    let _ = conn.close(200, "bye".into()).await;
    komek_testkit::cleanup(&s).await;
}

/// Messages ready in `queue` (a passive declare).
async fn count(ch: &lapin::Channel, queue: &str) -> u32 {
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            passive: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap()
    .message_count()
}

/// `customers import` reads the demo file's format (a bad header is a usage error naming the
/// file); `outbox` counts what waits for the broker (nothing relays here).
#[tokio::test]
async fn customers_are_imported_and_the_outbox_is_counted() {
    let s = settings("admin-import");
    let demo = komek_settings::repo_config_dir().join("demo-customers.csv");
    let said = admin(&s, &["customers", "import", demo.to_str().unwrap()], "")
        .await
        .unwrap();
    assert!(said.starts_with("added "), "{said}");
    assert!(!said.starts_with("added 0"), "{said}");
    let again = admin(&s, &["customers", "import", demo.to_str().unwrap()], "")
        .await
        .unwrap();
    assert!(again.starts_with("added 0, updated 0"), "{again}");

    let dir = std::env::temp_dir().join(komek_testkit::unique("csv"));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "phone,name\n+77011234567,X\n").unwrap();
    let e = admin(&s, &["customers", "import", bad.to_str().unwrap()], "")
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().starts_with("file:"), "{e}");

    let empty = admin(&s, &["outbox"], "").await.unwrap();
    assert!(empty.contains(": 0 entries"), "{empty}");
    admin(
        &s,
        &["first-supervisor", "--login", "chief", "--name", "Chief"],
        &format!("{PASSWORD}\n"),
    )
    .await
    .unwrap();
    let one = admin(&s, &["outbox"], "").await.unwrap();
    assert!(one.contains(": 1 entries, oldest "), "{one}");
    komek_testkit::cleanup(&s).await;
    let _ = std::fs::remove_dir_all(dir);
}
