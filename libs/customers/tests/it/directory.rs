//! The built-in directory: CSV import, lookups by phone and email, the demo seed.

use komek_customers::demo::{DEMO_CSV, seed_demo};
use komek_customers::directory::Written;
use komek_customers::{Contact, CustomerSource, DirectorySource, ImportError, RejectedLine};
use komek_domain::{Lang, Msisdn};
use redis::AsyncCommands;

use crate::helpers::{cleanup, store};

fn contact(raw: &str) -> Contact {
    Contact::parse(raw).unwrap()
}

/// A file with two good rows and a bad phone imports the two and names the bad line; the same
/// file again changes nothing; a changed row updates the profile, moves the email index and keeps
/// the customer's charges; an email another customer has is refused; a header without the
/// required columns refuses the whole file and writes nothing.
#[tokio::test]
async fn csv_import_adds_updates_and_reports() {
    let (store, settings) = store("cust-import").await;
    let dir = DirectorySource::new(store.clone());
    let file = "msisdn,name,language,region,tariff,email,segment,balance_tenge\n\
                +77011234567,Асқар Нұрланұлы,kk,Almaty,Komek Unlimited,askar@example.kz,mass,1250\n\
                8 705 111 22 33,Ольга Петрова,ru,Astana,Komek Smart 15,,vip,-340\n\
                +7 bad,Nobody,ru,Astana,Smart,,,\n";
    let report = dir.import_csv(file.as_bytes()).await.unwrap();
    assert_eq!((report.added, report.updated, report.unchanged), (2, 0, 0));
    assert_eq!(
        report.rejected,
        vec![RejectedLine {
            line: 4,
            reason: "msisdn: must be a phone number in E.164 form, e.g. +77011234567".into()
        }]
    );
    let again = dir.import_csv(file.as_bytes()).await.unwrap();
    assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 2));

    let askar = dir
        .lookup(&contact("askar@example.kz"))
        .await
        .unwrap()
        .expect("found by email");
    assert_eq!(askar.profile.msisdn.as_str(), "+77011234567");
    assert_eq!(
        (askar.profile.language, askar.profile.balance_tenge),
        (Lang::Kk, 1250)
    );
    let olga = dir.lookup(&contact("+77051112233")).await.unwrap().unwrap();
    assert_eq!(
        (olga.profile.segment.as_str(), olga.profile.email),
        ("vip", None)
    );
    assert!(
        dir.lookup(&contact("+77770000000"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        dir.lookup(&contact("who@example.kz"))
            .await
            .unwrap()
            .is_none()
    );

    // Give Asqar a charge, then change his email and tariff by import: the charge stays.
    let m = Msisdn::parse("+77011234567").unwrap();
    let charge: komek_customers::Movement = serde_json::from_value(serde_json::json!(
        {"date": "2026-03-01", "amount_tenge": 2990, "description": "Айлық төлем"}
    ))
    .unwrap();
    let written = dir
        .update(&m, |cur| {
            let mut r = cur?;
            r.charges = vec![charge.clone()];
            Some(r)
        })
        .await
        .unwrap();
    assert_eq!(written, Written::Updated);
    let changed = dir
        .import_csv(
            "msisdn,name,language,region,tariff,email\n\
             +77011234567,Асқар Нұрланұлы,kk,Almaty,Komek Max,askar.n@example.kz\n\
             +77051112233,Ольга Петрова,ru,Astana,Komek Smart 15,askar.n@example.kz\n"
                .as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!((changed.added, changed.updated), (0, 1));
    assert_eq!(changed.rejected.len(), 1);
    assert_eq!(changed.rejected[0].line, 3);
    assert_eq!(
        changed.rejected[0].reason,
        "email: already the email of +77011234567"
    );
    let askar = dir
        .lookup(&contact("askar.n@example.kz"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(askar.profile.tariff, "Komek Max");
    assert_eq!(askar.profile.balance_tenge, 1250, "absent column kept");
    assert_eq!(askar.charges, vec![charge]);
    assert!(
        dir.lookup(&contact("askar@example.kz"))
            .await
            .unwrap()
            .is_none(),
        "the old email no longer finds him"
    );

    let refused = dir
        .import_csv("msisdn,name\n+77011234567,X\n".as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(refused, ImportError::Header(_)));
    assert!(
        refused
            .to_string()
            .starts_with("missing columns: language, region, tariff")
    );
    assert_eq!(
        dir.lookup(&contact("+77011234567"))
            .await
            .unwrap()
            .unwrap()
            .profile
            .name,
        "Асқар Нұрланұлы"
    );
    cleanup(&settings).await;
}

/// Records written by the older seed (msisdn, name, language, region, tariff) are read with the
/// newer fields' defaults, and the older reader still reads the records written now.
#[tokio::test]
async fn older_records_stay_readable_both_ways() {
    let (store, settings) = store("cust-compat").await;
    store.seed_demo(|_| "x".to_owned()).await.unwrap();
    let dir = DirectorySource::new(store.clone());
    let john = dir.lookup(&contact("+77771234567")).await.unwrap().unwrap();
    assert_eq!(john.profile.name, "John Smith");
    assert_eq!(john.profile.segment, "");
    assert!(john.charges.is_empty());

    let report = seed_demo(&dir).await.unwrap();
    assert_eq!((report.added, report.updated), (2, 3), "{report:?}");
    let old = store
        .directory_customer("+77771234567")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.tariff, "Komek Travel");
    cleanup(&settings).await;
}

/// The demo seed gives every demo customer a profile and the walk-through's three their charges,
/// payments and services; seeding again (another replica, a restart) changes nothing.
#[tokio::test]
async fn the_demo_seed_is_idempotent() {
    let (store, settings) = store("cust-demo").await;
    let dir = DirectorySource::new(store.clone());
    let first = seed_demo(&dir).await.unwrap();
    let rows = DEMO_CSV.lines().count() as u32 - 1;
    assert_eq!((first.added, first.updated), (rows, 0));
    assert!(first.rejected.is_empty(), "{:?}", first.rejected);
    let mut c = store.conn();
    let before: std::collections::HashMap<String, String> =
        c.hgetall(store.keys().customers()).await.unwrap();

    let second = seed_demo(&dir).await.unwrap();
    assert_eq!(
        (second.added, second.updated, second.unchanged),
        (0, 0, rows)
    );
    let after: std::collections::HashMap<String, String> =
        c.hgetall(store.keys().customers()).await.unwrap();
    assert_eq!(before, after);

    for (phone, charges, services) in [
        ("+77011234567", 4, 2),
        ("+77051112233", 3, 2),
        ("+77771234567", 2, 2),
    ] {
        let c = dir.lookup(&contact(phone)).await.unwrap().unwrap();
        assert_eq!(
            (c.charges.len(), c.services.len()),
            (charges, services),
            "{phone}"
        );
        assert!(!c.payments.is_empty());
        assert!(c.profile.email.is_some());
    }
    cleanup(&settings).await;
}
