//! The request's bookkeeping keys against the machine's real Redis: queue, offer, owner-set and
//! deadline entries follow the request through its lifecycle, derived by the store from the
//! request before and after each change; the callers here change only the request.
//!
//! Every test works under its own key prefix (`komek_testkit::test_settings`) and removes its keys
//! at the end (`komek_testkit::cleanup`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use komek_domain::events::{Envelope, RequestCreated, kind};
use komek_domain::staff::{Role, User};
use komek_domain::{
    Customer, HistoryEntry, Lang, Msisdn, Priority, Request, RequestId, RequestNumber, Status,
    TransitionError,
};
use komek_store::requests::{Created, Mutation};
use komek_store::{Keys, Store};
use time::OffsetDateTime;

/// A store with the test settings' deadline policy on their calendar, as the workspace has it.
async fn connect(tag: &str) -> (komek_settings::Settings, Store) {
    let settings = komek_testkit::test_settings(tag);
    let calendar = settings.calendar.clone();
    let store = Store::connect(&settings.redis)
        .await
        .expect("the test Redis at 127.0.0.1:6379 answers")
        .with_deadlines(settings.deadlines.clone(), calendar);
    (settings, store)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn create(store: &Store, seq: u64) -> Request {
    let at = now();
    let customer = Customer {
        msisdn: Some(Msisdn::parse("+77011234567").unwrap()),
        email: None,
        name: None,
    };
    let r = komek_testkit::new_request(RequestNumber::format("KM", seq), customer, at);
    let history = Request::record("customer:web", "created", None, r.created_at);
    let event = Envelope::new(
        kind::REQUEST_CREATED,
        r.id,
        &RequestCreated {
            number: r.number.clone(),
            channel: r.channel,
            language: r.language,
            category: r.category,
            priority: r.priority,
            msisdn: None,
        },
        r.created_at,
    );
    match store
        .create_request(&r, &history, &event, None, 3600)
        .await
        .unwrap()
    {
        Created::New(stored) => stored,
        other => panic!("expected a new request, got {other:?}"),
    }
}

/// Changes the request with `f` alone: no ops of the caller's.
async fn change(
    store: &Store,
    id: RequestId,
    f: impl Fn(&mut Request) -> Result<HistoryEntry, TransitionError>,
) -> Request {
    store
        .update_request(id, None, |r| {
            Ok::<_, TransitionError>(Mutation {
                change: f(r)?,
                event: None,
                ops: vec![],
            })
        })
        .await
        .unwrap()
}

fn agent(login: &str) -> User {
    User {
        login: login.into(),
        name: login.into(),
        role: Role::Agent,
        department: None,
        languages: vec![Lang::Ru],
        categories: vec![],
        capacity: 10,
        level: 2,
        password_hash: String::new(),
        active: true,
        sessions_after: 0,
    }
}

/// Where one request stands in every bookkeeping key.
#[derive(Debug, PartialEq)]
struct Standing {
    queued: bool,
    /// Its score in its skill queue, if it is there.
    skill: Option<i64>,
    offered_to: Option<String>,
    in_offers: bool,
    /// Owner sets it is in.
    owners: Vec<String>,
    /// Deadline index: kind -> fire time (ms).
    deadlines: BTreeMap<String, i64>,
}

async fn standing(store: &Store, r: &Request, logins: &[&str]) -> Standing {
    let k: &Keys = store.keys();
    let mut c = store.conn();
    let id = r.id.to_string();
    let queued: Option<f64> = redis::AsyncCommands::zscore(&mut c, k.queue(), &id)
        .await
        .unwrap();
    let skill: Option<f64> = redis::AsyncCommands::zscore(
        &mut c,
        k.skill_queue(r.category.as_str(), r.language.as_str()),
        &id,
    )
    .await
    .unwrap();
    let in_offers: Option<f64> = redis::AsyncCommands::zscore(&mut c, k.offers(), &id)
        .await
        .unwrap();
    let mut owners = Vec::new();
    for login in logins {
        let member: bool = redis::AsyncCommands::sismember(&mut c, k.owned_by(login), &id)
            .await
            .unwrap();
        if member {
            owners.push((*login).to_owned());
        }
    }
    let all: Vec<(String, f64)> =
        redis::AsyncCommands::zrange_withscores(&mut c, k.deadlines(), 0, -1)
            .await
            .unwrap();
    let deadlines = all
        .into_iter()
        .filter_map(|(m, score)| {
            let mut parts = m.split('|');
            (parts.next() == Some(id.as_str()))
                .then(|| (parts.next().unwrap().to_owned(), score as i64))
        })
        .collect();
    Standing {
        queued: queued.is_some(),
        skill: skill.map(|s| s as i64),
        offered_to: store.offered_to(r.id).await.unwrap(),
        in_offers: in_offers.is_some(),
        owners,
        deadlines,
    }
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap()
}

fn kinds(s: &Standing) -> Vec<&str> {
    s.deadlines.keys().map(String::as_str).collect()
}

/// queued -> offered -> assigned -> first reply -> waiting for the customer -> in progress ->
/// resolved -> reopened -> handed back: each step's keys follow from the request alone.
#[tokio::test]
async fn keys_follow_the_request_through_its_lifecycle() {
    let (settings, store) = connect("bookkeeping_lifecycle").await;
    let calendar = settings.calendar.clone();
    let r = create(&store, 1).await;
    let logins = ["aigerim", "dana"];

    // New: in no queue, no owner set, no deadline.
    let s = standing(&store, &r, &logins).await;
    assert!(!s.queued && s.skill.is_none() && s.owners.is_empty() && s.deadlines.is_empty());

    // Queued: both queues, all four deadline entries, warnings placed by the policy.
    let r = change(&store, r.id, |r| {
        r.move_to(Status::Queued, "system:test", "queued", None, now())
    })
    .await;
    let s = standing(&store, &r, &logins).await;
    assert!(s.queued);
    assert_eq!(s.skill, Some(komek_store::routing::urgency(&r)));
    assert_eq!(
        kinds(&s),
        ["fr_breach", "fr_warn", "res_breach", "res_warn"]
    );
    let warn = settings
        .deadlines
        .warnings_for(&calendar, r.priority, r.created_at, &r.due);
    assert_eq!(s.deadlines["fr_warn"], ms(warn.first_response));
    assert_eq!(s.deadlines["fr_breach"], ms(r.due.first_response));
    assert_eq!(s.deadlines["res_warn"], ms(warn.resolution));
    assert_eq!(s.deadlines["res_breach"], ms(r.due.resolution));

    // Offered: out of the skill queue only; a raised priority does not put it back.
    let offered = store
        .make_offer(r.id, "aigerim", ms(now()) + 60_000, 120, |r| {
            (
                Request::record("system:test", "offered", None, now()),
                Envelope::new(kind::OFFER_MADE, r.id, &(), now()),
            )
        })
        .await
        .unwrap();
    let r = change(&store, offered.id, |r| {
        r.priority = Priority::High;
        Ok(Request::record("system:test", "raised", None, now()))
    })
    .await;
    let s = standing(&store, &r, &logins).await;
    assert!(s.queued && s.skill.is_none() && s.in_offers);
    assert_eq!(s.offered_to.as_deref(), Some("aigerim"));

    // Withdrawn: back in its skill queue at its (new) urgency, the offer gone.
    let put_back = store
        .withdraw_offer(r.id, |r| {
            (
                Request::record("aigerim", "offer_declined", None, now()),
                Envelope::new(kind::OFFER_DECLINED, r.id, &(), now()),
            )
        })
        .await
        .unwrap();
    assert!(put_back);
    let s = standing(&store, &r, &logins).await;
    assert_eq!(s.skill, Some(komek_store::routing::urgency(&r)));
    assert!(s.offered_to.is_none() && !s.in_offers);

    // Offered again, then assigned: out of both queues, the offer gone, in the owner's set.
    store
        .make_offer(r.id, "aigerim", ms(now()) + 60_000, 120, |r| {
            (
                Request::record("system:test", "offered", None, now()),
                Envelope::new(kind::OFFER_MADE, r.id, &(), now()),
            )
        })
        .await
        .unwrap();
    let r = store
        .assign(r.id, &agent("aigerim"), &|_: &mut Envelope, _: &Request| {})
        .await
        .unwrap();
    let s = standing(&store, &r, &logins).await;
    assert!(!s.queued && s.skill.is_none());
    assert!(s.offered_to.is_none() && !s.in_offers, "{s:?}");
    assert_eq!(s.owners, ["aigerim"]);
    assert_eq!(kinds(&s).len(), 4, "assignment keeps the deadlines");

    // The first reply: the first-response entries go.
    let r = change(&store, r.id, |r| r.reply("aigerim", "Проверяем", now())).await;
    let s = standing(&store, &r, &logins).await;
    assert_eq!(kinds(&s), ["res_breach", "res_warn"]);

    // Waiting for the customer: the resolution clock stops, its entries go.
    let r = change(&store, r.id, |r| {
        r.ask_customer("aigerim", "Какой у вас роутер?", now())
    })
    .await;
    let s = standing(&store, &r, &logins).await;
    assert!(s.deadlines.is_empty());
    assert_eq!(s.owners, ["aigerim"], "still hers while waiting");

    // The clock resumes with its deadline moved: the moved deadline is watched.
    let r = change(&store, r.id, |r| {
        let change = r.reply("aigerim", "Спасибо", now())?;
        r.resume_clock(now(), |_, _| 30, |t, m| t + time::Duration::minutes(m));
        Ok(change)
    })
    .await;
    let s = standing(&store, &r, &logins).await;
    assert_eq!(kinds(&s), ["res_breach", "res_warn"]);
    assert_eq!(s.deadlines["res_breach"], ms(r.due.resolution));

    // Resolved: out of the owner's set, no deadline left (due or claimed).
    let r = change(&store, r.id, |r| {
        r.resolve("aigerim", "Настроили APN", now())
    })
    .await;
    let s = standing(&store, &r, &logins).await;
    assert!(s.owners.is_empty() && s.deadlines.is_empty(), "{s:?}");
    let claimed: u64 =
        redis::AsyncCommands::zcard(&mut store.conn(), store.keys().deadlines_claimed())
            .await
            .unwrap();
    assert_eq!(claimed, 0);

    // Reopened with a new resolution deadline: back in the owner's set, its clock counted from
    // the reopening.
    let reopened_at = now();
    let r = change(&store, r.id, |r| {
        let change = r.reopen("customer:survey", Some("CSAT 1".into()), reopened_at)?;
        r.due.resolution = reopened_at + time::Duration::hours(24);
        Ok(change)
    })
    .await;
    let s = standing(&store, &r, &logins).await;
    assert_eq!(s.owners, ["aigerim"]);
    assert_eq!(kinds(&s), ["res_breach", "res_warn"]);
    let warn = settings
        .deadlines
        .warnings_for(&calendar, r.priority, reopened_at, &r.due);
    assert_eq!(s.deadlines["res_warn"], ms(warn.resolution));

    // Reassigned: from one owner's set to the other's.
    let r = change(&store, r.id, |r| Ok(r.reassign("dana", "boss", now()))).await;
    let s = standing(&store, &r, &logins).await;
    assert_eq!(s.owners, ["dana"]);

    komek_testkit::cleanup(&settings).await;
}

/// An untouched request handed back goes into its queues and out of its owner's set; one that
/// leaves the queue by another way than an assignment (resolved with its problem) leaves the
/// queues, any offer and the deadline index.
#[tokio::test]
async fn handing_back_and_resolving_from_the_queue() {
    let (settings, store) = connect("bookkeeping_queue").await;
    let logins = ["aigerim"];
    let r = create(&store, 1).await;
    change(&store, r.id, |r| {
        r.move_to(Status::Queued, "system:test", "queued", None, now())
    })
    .await;
    let r = store
        .assign(r.id, &agent("aigerim"), &|_: &mut Envelope, _: &Request| {})
        .await
        .unwrap();
    let r = change(&store, r.id, |r| r.hand_back(now())).await;
    let s = standing(&store, &r, &logins).await;
    assert!(
        s.queued && s.skill.is_some() && s.owners.is_empty(),
        "{s:?}"
    );
    assert_eq!(kinds(&s).len(), 4);

    store
        .make_offer(r.id, "aigerim", ms(now()) + 60_000, 120, |r| {
            (
                Request::record("system:test", "offered", None, now()),
                Envelope::new(kind::OFFER_MADE, r.id, &(), now()),
            )
        })
        .await
        .unwrap();
    let r = change(&store, r.id, |r| {
        r.resolve_by_problem("boss", "PR-1", "Авария устранена", now())
    })
    .await;
    let s = standing(&store, &r, &logins).await;
    assert_eq!(
        s,
        Standing {
            queued: false,
            skill: None,
            offered_to: None,
            in_offers: false,
            owners: vec![],
            deadlines: BTreeMap::new(),
        }
    );

    komek_testkit::cleanup(&settings).await;
}
