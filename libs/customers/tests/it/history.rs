//! A customer's requests from every channel and contact, newest first, and the 360 view.

use komek_customers::{Contact, DirectorySource, customer_view};
use komek_domain::Channel;
use time::{Duration, OffsetDateTime};

use crate::helpers::{cleanup, request, store};

/// Asqar wrote by SMS and on the web from his phone, and by email from his address; someone else
/// wrote too. Found by his phone, by his email, or both, the view lists his three requests newest
/// first (the email one through the directory's profile, which knows both contacts), with his
/// profile and newest charges; an unknown contact gets its requests, no profile, source "none".
#[tokio::test]
async fn the_view_unites_every_contact_of_the_customer() {
    let (store, settings) = store("cust-history").await;
    let dir = DirectorySource::new(store.clone());
    komek_customers::demo::seed_demo(&dir).await.unwrap();
    let t0 = OffsetDateTime::now_utc() - Duration::hours(3);
    let phone = "+77011234567";
    let email = "askar.nurlanuly@example.kz";
    let sms = request(&store, Some(phone), None, Channel::Sms, "Интернет жоқ", t0).await;
    let mail = request(
        &store,
        None,
        Some(email),
        Channel::Email,
        &"Шот туралы сұрақ. ".repeat(20),
        t0 + Duration::hours(1),
    )
    .await;
    let web = request(
        &store,
        Some(phone),
        Some(email),
        Channel::Web,
        "Ақша екі рет алынды",
        t0 + Duration::hours(2),
    )
    .await;
    let other = request(
        &store,
        Some("+77051112233"),
        None,
        Channel::Web,
        "Другое",
        t0,
    )
    .await;

    let numbers = |v: &komek_customers::CustomerView| {
        v.requests
            .iter()
            .map(|r| r.number.clone())
            .collect::<Vec<_>>()
    };
    let expected = vec![
        web.number.0.clone(),
        mail.number.0.clone(),
        sms.number.0.clone(),
    ];
    for contacts in [
        vec![Contact::parse(phone).unwrap()],
        vec![Contact::parse(email).unwrap()],
        vec![
            Contact::parse(email).unwrap(),
            Contact::parse(phone).unwrap(),
        ],
    ] {
        let v = customer_view(&dir, &store, &contacts).await.unwrap();
        assert_eq!(numbers(&v), expected, "{contacts:?}");
        assert_eq!(v.requests_total, 3);
        assert_eq!((v.source, v.degraded), ("directory", false));
        assert_eq!(v.profile.as_ref().unwrap().name, "Асқар Нұрланұлы");
        assert!(v.charges.windows(2).all(|w| w[0].date >= w[1].date));
    }
    let v = customer_view(&dir, &store, &[Contact::parse(email).unwrap()])
        .await
        .unwrap();
    let snippet = &v.requests[1].snippet;
    assert!(
        snippet.ends_with('…') && snippet.chars().count() == 160,
        "{snippet}"
    );
    assert_eq!(v.requests[1].channel, Channel::Email);

    let unknown = customer_view(&dir, &store, &[Contact::parse("+77051112233").unwrap()])
        .await
        .unwrap();
    assert!(unknown.profile.is_some(), "Olga is a demo customer");
    assert_eq!(numbers(&unknown), vec![other.number.0.clone()]);
    let nobody = customer_view(&dir, &store, &[Contact::parse("+77000000001").unwrap()])
        .await
        .unwrap();
    assert_eq!(
        (nobody.source, nobody.degraded, nobody.requests.len()),
        ("none", false, 0)
    );
    assert!(nobody.profile.is_none());
    cleanup(&settings).await;
}
