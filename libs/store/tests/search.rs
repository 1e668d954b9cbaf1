//! The search index against the machine's real Redis: kept in the same commit as every request
//! change, each search filter, paging and ordering, and similar resolved requests.
//!
//! Every test works under its own key prefix (`komek_testkit::test_settings`) and removes its keys
//! at the end (`komek_testkit::cleanup`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use komek_domain::events::{Envelope, RequestCreated, kind};
use komek_domain::{
    Category, Channel, Customer, Email, Msisdn, Request, RequestId, RequestNumber, Status,
    TransitionError,
};
use komek_store::requests::{Created, Mutation, UpdateError};
use komek_store::search::{SearchQuery, index_ops};
use komek_store::{Op, Store};
use time::OffsetDateTime;
use time::macros::datetime;

async fn connect(tag: &str) -> (komek_settings::Settings, Store) {
    let settings = komek_testkit::test_settings(tag);
    let store = Store::connect(&settings.redis)
        .await
        .expect("the test Redis at 127.0.0.1:6379 answers");
    (settings, store)
}

/// What differs between the requests of a test; everything else is a plain new web request.
#[derive(Clone)]
struct Spec {
    seq: u64,
    text: &'static str,
    subject: Option<&'static str>,
    msisdn: Option<&'static str>,
    email: Option<&'static str>,
    channel: Channel,
    category: Category,
    created_at: OffsetDateTime,
}

impl Spec {
    fn new(seq: u64, text: &'static str) -> Self {
        Self {
            seq,
            text,
            subject: None,
            msisdn: Some("+77011234567"),
            email: None,
            channel: Channel::Web,
            category: Category::Other,
            created_at: datetime!(2026-03-01 09:00 UTC)
                + time::Duration::minutes(i64::try_from(seq).unwrap()),
        }
    }
}

/// Stores a new request as intake would (status new), through `create_request`.
async fn create(store: &Store, s: Spec) -> Request {
    let customer = Customer {
        msisdn: s.msisdn.map(|m| Msisdn::parse(m).unwrap()),
        email: s.email.map(|e| Email::parse(e).unwrap()),
        name: None,
    };
    let r = Request {
        channel: s.channel,
        language: komek_domain::lang::detect(s.text),
        category: s.category,
        subject: s.subject.map(str::to_owned),
        text: s.text.to_owned(),
        ..komek_testkit::new_request(RequestNumber::format("KM", s.seq), customer, s.created_at)
    };
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

/// Changes a stored request with `f` through `update_request`, with no event and no extra ops.
async fn change(
    store: &Store,
    id: RequestId,
    f: impl Fn(&mut Request) -> Result<komek_domain::HistoryEntry, TransitionError>,
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

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn queue(store: &Store, id: RequestId) -> Request {
    change(store, id, |r| {
        r.move_to(Status::Queued, "system:test", "queued", None, now())
    })
    .await
}

async fn assign(store: &Store, id: RequestId, agent: &'static str) -> Request {
    change(store, id, move |r| r.assign(agent, now())).await
}

async fn resolve(
    store: &Store,
    id: RequestId,
    agent: &'static str,
    resolution: &'static str,
) -> Request {
    queue(store, id).await;
    assign(store, id, agent).await;
    change(store, id, move |r| r.resolve(agent, resolution, now())).await
}

/// The members of an index key: a word set, or a sorted set scored by creation time.
async fn members(store: &Store, key: &str) -> BTreeSet<String> {
    let mut c = store.conn();
    let kind: String = redis::cmd("TYPE")
        .arg(key)
        .query_async(&mut c)
        .await
        .unwrap();
    let read = if kind == "zset" {
        redis::cmd("ZRANGE").arg(key).arg(0).arg(-1).clone()
    } else {
        redis::cmd("SMEMBERS").arg(key).clone()
    };
    read.query_async(&mut c).await.unwrap()
}

async fn is_member(store: &Store, key: &str, r: &Request) -> bool {
    members(store, key).await.contains(&r.id.to_string())
}

/// Keys under this test's prefix matching `pattern` (a glob after the prefix).
async fn scan(store: &Store, pattern: &str) -> Vec<String> {
    let mut c = store.conn();
    let pattern = format!("{}:{pattern}", store.keys().prefix());
    let mut cursor: u64 = 0;
    let mut out = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await
            .unwrap();
        out.extend(keys);
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}

/// The numbers a search finds, in its order.
async fn numbers(store: &Store, q: SearchQuery) -> Vec<String> {
    store
        .search(&q)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.number.0)
        .collect()
}

fn nums(seqs: &[u64]) -> Vec<String> {
    seqs.iter()
        .map(|s| RequestNumber::format("KM", *s).0)
        .collect()
}

/// A new request is indexed by its words (subject and text), contact, status, category, channel
/// and creation time in the commit that creates it. Queueing it moves it from `status:new` to
/// `status:queued`; assigning it is one commit whose ops both remove it from `status:queued` and
/// add it to `status:assigned` (and `owner:aigerim`), and after that commit it is in exactly the
/// new sets. A refused commit (its precondition fails) moves nothing. Resolving adds it to the
/// resolved set; a reopening takes it out again.
#[tokio::test]
async fn index_follows_every_change_in_the_same_commit() {
    let (settings, store) = connect("ix-maint").await;
    let k = store.keys().clone();
    let mut spec = Spec::new(1, "Не работает мобильный интернет");
    spec.subject = Some("Интернет жоқ");
    spec.email = Some("Olga@Mail.kz");
    spec.category = Category::Internet;
    spec.channel = Channel::CallCenter;
    let r = create(&store, spec).await;

    for key in [
        k.ix_word("работает"),
        k.ix_word("мобильный"),
        k.ix_word("интернет"),
        k.ix_word("жоқ"),
        k.ix_phone("+77011234567"),
        k.ix_email("olga@mail.kz"),
        k.ix_status("new"),
        k.ix_category("internet"),
        k.ix_channel("call_center"),
    ] {
        assert!(is_member(&store, &key, &r).await, "{key}");
    }
    assert!(
        !is_member(&store, &k.ix_word("не"), &r).await,
        "stop words are not indexed"
    );
    // Every sorted set of the index is scored by the creation time (ms).
    let mut c = store.conn();
    for key in [
        k.ix_created(),
        k.ix_status("new"),
        k.ix_phone("+77011234567"),
    ] {
        let score: Option<i64> = redis::cmd("ZSCORE")
            .arg(&key)
            .arg(r.id.to_string())
            .query_async(&mut c)
            .await
            .unwrap();
        let created = datetime!(2026-03-01 09:01 UTC).unix_timestamp() * 1000;
        assert_eq!(score, Some(created), "{key}");
    }

    let queued = queue(&store, r.id).await;
    assert!(!is_member(&store, &k.ix_status("new"), &r).await);
    assert!(is_member(&store, &k.ix_status("queued"), &r).await);

    // The assignment's own ops: out of `queued` and into `assigned` together, nothing else moves.
    let mut assigned = queued.clone();
    assigned.assign("aigerim", now()).unwrap();
    let ops = index_ops(&k, Some(&queued), &assigned);
    let described: BTreeSet<String> = ops
        .iter()
        .map(|op| match op {
            Op::SAdd { key, .. } | Op::ZAdd { key, .. } => format!("+{key}"),
            Op::SRem { key, .. } | Op::ZRem { key, .. } => format!("-{key}"),
            other => format!("{other:?}"),
        })
        .collect();
    let expected: BTreeSet<String> = [
        format!("-{}", k.ix_status("queued")),
        format!("+{}", k.ix_status("assigned")),
        format!("+{}", k.ix_owner("aigerim")),
    ]
    .into();
    assert_eq!(described, expected);

    // A commit refused by its precondition (a claim of a queue entry that is not there) moves
    // nothing.
    let refused = store
        .update_request(r.id, None, |r| {
            let change = r.assign("aigerim", now())?;
            Ok::<_, TransitionError>(Mutation {
                change,
                event: None,
                ops: vec![Op::ZRemMust {
                    key: k.queue(),
                    member: "not-waiting".into(),
                }],
            })
        })
        .await;
    assert!(
        matches!(refused, Err(UpdateError::Precondition(0))),
        "{refused:?}"
    );
    assert!(is_member(&store, &k.ix_status("queued"), &r).await);
    assert!(!is_member(&store, &k.ix_status("assigned"), &r).await);

    assign(&store, r.id, "aigerim").await;
    assert!(!is_member(&store, &k.ix_status("queued"), &r).await);
    assert!(is_member(&store, &k.ix_status("assigned"), &r).await);
    assert!(is_member(&store, &k.ix_owner("aigerim"), &r).await);
    let statuses = scan(&store, "ix:status:*").await;
    assert_eq!(
        statuses,
        vec![k.ix_status("assigned")],
        "empty status sets are gone"
    );

    change(&store, r.id, |r| {
        r.resolve("aigerim", "APN настроен", now())
    })
    .await;
    assert!(is_member(&store, &k.ix_resolved(), &r).await);
    assert!(is_member(&store, &k.ix_status("resolved"), &r).await);
    change(&store, r.id, |r| r.reopen("customer:survey", None, now())).await;
    assert!(!is_member(&store, &k.ix_resolved(), &r).await);
    assert!(is_member(&store, &k.ix_status("reopened"), &r).await);
    assert!(
        is_member(&store, &k.ix_word("интернет"), &r).await,
        "words stay while the text is the same"
    );

    komek_testkit::cleanup(&settings).await;
}

/// Six requests differing in phone, email, channel, category, words, status, owner and creation
/// time. Each filter alone, and some together, find exactly the expected ones; a phone number in
/// its national spelling finds the same as in E.164; a number finds its one request unless another
/// filter excludes it; an unknown number, word or owner finds nothing. No scratch key is left.
#[tokio::test]
async fn each_filter_finds_exactly_its_requests() {
    let (settings, store) = connect("ix-filter").await;
    let mut s1 = Spec::new(1, "Почему списали деньги с баланса?");
    s1.category = Category::Billing;
    let mut s2 = Spec::new(2, "Менің шотымнан ақша екі рет алынды");
    s2.category = Category::Billing;
    s2.msisdn = Some("+77051112233");
    s2.channel = Channel::Sms;
    let mut s3 = Spec::new(3, "Roaming does not work in Turkey, no internet");
    s3.category = Category::Roaming;
    s3.msisdn = None;
    s3.email = Some("john@example.com");
    s3.channel = Channel::Email;
    let mut s4 = Spec::new(4, "Не работает интернет дома");
    s4.category = Category::Internet;
    s4.channel = Channel::CallCenter;
    let mut s5 = Spec::new(5, "Интернет очень медленный, деньги списали");
    s5.category = Category::Internet;
    s5.msisdn = Some("+77051112233");
    let mut s6 = Spec::new(6, "Нет связи в Шымкенте");
    s6.category = Category::Network;
    s6.channel = Channel::FrontOffice;
    s6.created_at = datetime!(2026-04-01 10:00 UTC);
    for s in [s1, s2, s3, s4, s5, s6] {
        create(&store, s).await;
    }
    let ids: Vec<RequestId> = store
        .search(&SearchQuery::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| r.id)
        .collect();
    // Newest first: 6, 5, 4, 3, 2, 1.
    let id = |seq: usize| ids[6 - seq];
    queue(&store, id(4)).await;
    assign(&store, id(4), "aigerim").await;
    resolve(&store, id(5), "daniyar", "Скорость восстановлена").await;

    let q = SearchQuery::default;
    assert_eq!(numbers(&store, q()).await, nums(&[6, 5, 4, 3, 2, 1]));
    assert_eq!(store.search(&q()).await.unwrap().total, 6);

    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                number: Some("KM-000003".into()),
                ..q()
            }
        )
        .await,
        nums(&[3])
    );
    assert!(
        numbers(
            &store,
            SearchQuery {
                number: Some("KM-999999".into()),
                ..q()
            }
        )
        .await
        .is_empty()
    );
    let excluded = SearchQuery {
        number: Some("KM-000003".into()),
        category: Some(Category::Billing),
        ..q()
    };
    assert!(numbers(&store, excluded).await.is_empty());

    for spelling in ["+77051112233", "8 705 111 22 33", "+7 (705) 111-22-33"] {
        let phone = Some(Msisdn::parse(spelling).unwrap());
        assert_eq!(
            numbers(&store, SearchQuery { phone, ..q() }).await,
            nums(&[5, 2]),
            "{spelling}"
        );
    }
    let email = Some(Email::parse("JOHN@example.com").unwrap());
    assert_eq!(
        numbers(&store, SearchQuery { email, ..q() }).await,
        nums(&[3])
    );

    let w = |ws: &[&str]| ws.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                words: w(&["интернет"]),
                ..q()
            }
        )
        .await,
        nums(&[5, 4])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                words: w(&["ИНТЕРНЕТ", "деньги"]),
                ..q()
            }
        )
        .await,
        nums(&[5])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                words: w(&["деньги списали"]),
                ..q()
            }
        )
        .await,
        nums(&[5, 1])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                words: w(&["ақша"]),
                ..q()
            }
        )
        .await,
        nums(&[2])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                words: w(&["Internet"]),
                ..q()
            }
        )
        .await,
        nums(&[3])
    );
    assert!(
        numbers(
            &store,
            SearchQuery {
                words: w(&["интернет", "роуминг"]),
                ..q()
            }
        )
        .await
        .is_empty()
    );

    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                status: Some(Status::New),
                ..q()
            }
        )
        .await,
        nums(&[6, 3, 2, 1])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                status: Some(Status::Assigned),
                ..q()
            }
        )
        .await,
        nums(&[4])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                status: Some(Status::Resolved),
                ..q()
            }
        )
        .await,
        nums(&[5])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                category: Some(Category::Billing),
                ..q()
            }
        )
        .await,
        nums(&[2, 1])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                channel: Some(Channel::Web),
                ..q()
            }
        )
        .await,
        nums(&[5, 1])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                channel: Some(Channel::CallCenter),
                ..q()
            }
        )
        .await,
        nums(&[4])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                owner: Some("aigerim".into()),
                ..q()
            }
        )
        .await,
        nums(&[4])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                owner: Some("daniyar".into()),
                ..q()
            }
        )
        .await,
        nums(&[5])
    );
    assert!(
        numbers(
            &store,
            SearchQuery {
                owner: Some("nobody".into()),
                ..q()
            }
        )
        .await
        .is_empty()
    );

    let april = Some(datetime!(2026-04-01 00:00 UTC));
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                created_from: april,
                ..q()
            }
        )
        .await,
        nums(&[6])
    );
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                created_to: april,
                ..q()
            }
        )
        .await,
        nums(&[5, 4, 3, 2, 1])
    );
    // Both ends are inclusive, to the millisecond, in any offset.
    let from = Some(datetime!(2026-03-01 14:02 +5));
    let to = Some(datetime!(2026-03-01 09:04 UTC));
    assert_eq!(
        numbers(
            &store,
            SearchQuery {
                created_from: from,
                created_to: to,
                ..q()
            }
        )
        .await,
        nums(&[4, 3, 2])
    );
    assert!(
        numbers(
            &store,
            SearchQuery {
                created_from: to,
                created_to: from,
                ..q()
            }
        )
        .await
        .is_empty()
    );

    let combined = SearchQuery {
        phone: Some(Msisdn::parse("+77011234567").unwrap()),
        words: w(&["интернет"]),
        status: Some(Status::Assigned),
        category: Some(Category::Internet),
        channel: Some(Channel::CallCenter),
        owner: Some("aigerim".into()),
        created_from: Some(datetime!(2026-03-01 00:00 UTC)),
        created_to: Some(datetime!(2026-03-02 00:00 UTC)),
        ..q()
    };
    let page = store.search(&combined).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].id, id(4));
    assert_eq!(
        page.items[0].status,
        Status::Assigned,
        "items are the stored requests as they are now"
    );

    assert!(
        scan(&store, "ix:tmp:*").await.is_empty(),
        "no scratch key outlives its search"
    );
    komek_testkit::cleanup(&settings).await;
}

/// 25 requests, one a minute. Pages of 10 are newest first and cut at the right places; the last
/// page is short, a page past the end is empty with the same total; a filter pages the same way;
/// `per_page` above the maximum is held to 100.
#[tokio::test]
async fn pages_are_newest_first() {
    let (settings, store) = connect("ix-paging").await;
    for seq in 1..=25 {
        let mut s = Spec::new(
            seq,
            if seq % 2 == 0 {
                "even интернет"
            } else {
                "odd интернет"
            },
        );
        s.category = if seq % 2 == 0 {
            Category::Internet
        } else {
            Category::Other
        };
        create(&store, s).await;
    }
    let page = |page, per_page| SearchQuery {
        page,
        per_page,
        ..SearchQuery::default()
    };
    let p1 = store.search(&page(1, 10)).await.unwrap();
    assert_eq!(p1.total, 25);
    assert_eq!(
        p1.items
            .iter()
            .map(|r| r.number.0.clone())
            .collect::<Vec<_>>(),
        nums(&[25, 24, 23, 22, 21, 20, 19, 18, 17, 16])
    );
    assert_eq!(
        numbers(&store, page(2, 10)).await,
        nums(&[15, 14, 13, 12, 11, 10, 9, 8, 7, 6])
    );
    assert_eq!(numbers(&store, page(3, 10)).await, nums(&[5, 4, 3, 2, 1]));
    let past = store.search(&page(4, 10)).await.unwrap();
    assert_eq!((past.total, past.items.len()), (25, 0));

    let even = |p| SearchQuery {
        page: p,
        per_page: 5,
        words: vec!["even".into()],
        ..SearchQuery::default()
    };
    let e1 = store.search(&even(1)).await.unwrap();
    assert_eq!(e1.total, 12);
    assert_eq!(
        e1.items
            .iter()
            .map(|r| r.number.0.clone())
            .collect::<Vec<_>>(),
        nums(&[24, 22, 20, 18, 16])
    );
    assert_eq!(numbers(&store, even(3)).await, nums(&[4, 2]));
    let internet = SearchQuery {
        category: Some(Category::Internet),
        words: vec!["интернет".into()],
        ..page(2, 4)
    };
    assert_eq!(numbers(&store, internet).await, nums(&[16, 14, 12, 10]));

    assert_eq!(store.search(&page(1, 1000)).await.unwrap().items.len(), 25);
    assert!(scan(&store, "ix:tmp:*").await.is_empty());
    komek_testkit::cleanup(&settings).await;
}

/// An open request about mobile internet that does not work at home. Resolved requests sharing
/// four, two and one of its words come back in that order with those scores; a resolved request
/// sharing none, an open one sharing four, and the request itself (once resolved too) do not. A limit keeps the best ones, and a request with no searchable words has no suggestions.
#[tokio::test]
async fn similar_resolved_requests_are_ranked_by_shared_words() {
    let (settings, store) = connect("ix-similar").await;
    let open = create(&store, Spec::new(1, "Мобильный интернет не работает дома")).await;
    let four = create(
        &store,
        Spec::new(2, "Дома не работает мобильный интернет, помогите"),
    )
    .await;
    let one = create(&store, Spec::new(3, "Дома нет света")).await;
    let two = create(&store, Spec::new(4, "Интернет медленно работает")).await;
    let none = create(&store, Spec::new(5, "Списали деньги за роуминг")).await;
    let unresolved = create(
        &store,
        Spec::new(6, "Мобильный интернет не работает дома, снова"),
    )
    .await;
    for (r, text) in [
        (&four, "Сбросили настройки APN"),
        (&one, "Не наш вопрос"),
        (&two, "Сменили тариф"),
        (&none, "Вернули деньги"),
    ] {
        resolve(&store, r.id, "aigerim", text).await;
    }

    let found = store.similar(&open, 5).await.unwrap();
    let ranked: Vec<(RequestId, f64)> = found.iter().map(|(r, s)| (r.id, *s)).collect();
    assert_eq!(ranked, vec![(four.id, 4.0), (two.id, 2.0), (one.id, 1.0)]);
    assert_eq!(
        found[0].0.resolution.as_deref(),
        Some("Сбросили настройки APN")
    );
    assert!(
        !ranked
            .iter()
            .any(|(id, _)| *id == unresolved.id || *id == none.id)
    );

    let top = store.similar(&open, 2).await.unwrap();
    assert_eq!(
        top.iter().map(|(r, _)| r.id).collect::<Vec<_>>(),
        vec![four.id, two.id]
    );

    // The request itself is never its own suggestion, even once resolved.
    let resolved_open = resolve(&store, open.id, "aigerim", "Перезагрузили").await;
    let again = store.similar(&resolved_open, 5).await.unwrap();
    assert!(!again.iter().any(|(r, _)| r.id == open.id));
    assert_eq!(again.len(), 3);

    let mut blank = open.clone();
    blank.text = "и в на".into();
    assert!(store.similar(&blank, 5).await.unwrap().is_empty());
    assert!(scan(&store, "ix:tmp:*").await.is_empty());
    komek_testkit::cleanup(&settings).await;
}
